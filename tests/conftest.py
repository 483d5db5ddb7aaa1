"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).

Every FakeSlack of the tests also checks Block Kit against the strict schema when it is there.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade
from bot.sandbox.fake_slack import FakeSlack
from bot.services.context import ServiceContext
from tests import blockkit_schema
from tests.databases import postgres_schema


@pytest.fixture(autouse=True, scope="session")
def _block_kit_schema_in_fake_slack() -> Iterator[None]:
    """Every FakeSlack of the tests also holds what the bot sends to the strict JSON schema.

    Only when the schema is there (see tests/blockkit_schema.py); the tests that need it
    skip without it, or fail in CI.
    """
    if not blockkit_schema.schema_available():
        yield
        return
    check = partial(blockkit_schema.schema_errors, path=blockkit_schema.schema_path())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeSlack, "default_block_checks", (check,))
        yield


def postgres_base_url() -> str:
    """The PostgreSQL server for tests; in CI its absence is an error, not a skip."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: TEST_DATABASE_URL is not set")
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema on the test server, dropped afterwards."""
    with postgres_schema(postgres_base_url()) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'licensebot.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=database_url, **overrides)  # type: ignore[call-arg]


@pytest.fixture
async def ctx(database_url: str) -> AsyncIterator[ServiceContext]:
    """Services on a migrated database (each backend in turn)."""
    upgrade(database_url)
    engine = create_engine(database_url)
    yield ServiceContext(session_factory(engine), make_settings(database_url))
    await engine.dispose()
