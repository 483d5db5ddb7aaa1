"""The whole stack on loopback: the fake Slack Web API, the bot's HTTP app, a database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.bootstrap import bootstrap
from bot.models import utcnow
from bot.sandbox.demo import demo_accounts, demo_settings, furnish
from bot.sandbox.fake_slack import FakeSlack
from bot.server import start_http
from bot.services.accounts import import_accounts
from tests.slack.driver import BOT_TOKEN, SIGNING_SECRET, FakeClock, Workspace

ACCOUNTS = demo_accounts()


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(yaml.safe_dump(ACCOUNTS))
    return path


async def start_workspace(
    database_url: str,
    tmp_path: Path,
    parts: dict[str, Any] | None = None,
    accounts: dict[str, Any] | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[Workspace]:
    """The demo workspace served by the bot; `parts` swaps bootstrap's parts (directory…),
    `accounts` the demo accounts file."""
    async with FakeSlack(bot_token=BOT_TOKEN) as slack:
        furnish(slack)
        settings = demo_settings(database_url, slack, SIGNING_SECRET, **settings_overrides)
        clock = FakeClock(utcnow)
        async with bootstrap(settings, clock=clock, **(parts or {})) as runtime:
            await import_accounts(runtime.services, accounts or ACCOUNTS, actor="tests")
            runner = await start_http(runtime, "127.0.0.1", 0)
            port = runner.addresses[0][1]
            try:
                async with aiohttp.ClientSession() as http:
                    yield Workspace(slack, f"http://127.0.0.1:{port}", runtime, http, clock)
            finally:
                await runner.cleanup()


@pytest.fixture
async def workspace(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """The bot on SQLite, as `licensebot serve --http` runs it."""
    async for ws in start_workspace(sqlite_url, tmp_path):
        yield ws


@pytest.fixture
async def pg_workspace(postgres_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """The same on PostgreSQL, for races between concurrent requests."""
    async for ws in start_workspace(postgres_url, tmp_path):
        yield ws
