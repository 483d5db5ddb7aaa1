"""The whole stack on loopback: the fake Slack Web API, the bot's HTTP app, a database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.app import build_app, build_deps
from bot.db import create_engine, session_factory, upgrade
from bot.models import utcnow
from bot.sandbox.fake_slack import FakeSlack
from bot.server import Runtime, start_http
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from tests.accounts import account
from tests.conftest import make_settings
from tests.slack.driver import (
    BOT_TOKEN,
    CSM_CHANNEL,
    GENERAL,
    SIGNING_SECRET,
    FakeClock,
    Workspace,
)

ACCOUNTS: dict[str, Any] = {
    "accounts": [
        account(admins=["U0ANN", "erin@acme.example"]),
        {
            "id": "globex",
            "name": "Globex",
            "slack_team_id": "T0GLOBEX",
            "plan": "enterprise",
            "billing_interval": "annual",
            "licenses": 3,
            "price_per_license": "1200.00",
            "period_start": "2026-01-01T00:00:00Z",
            "admins": ["U0GIL"],
            "csm": {"name": "Casey Doe", "slack_user_id": "U0CSM"},
        },
        {
            "id": "initech",
            "name": "Initech",
            "slack_team_id": "T0INITECH",
            "plan": "enterprise",
            "billing_interval": "annual",
            "licenses": 12,
            "price_per_license": "1100.00",
            "period_start": "2026-03-01T00:00:00Z",
            "admins": ["U0IRA"],
            "csm": {"name": "Casey Doe", "slack_user_id": "U0CSM"},
        },
        {
            "id": "umbrella",
            "name": "Umbrella",
            "slack_team_id": "T0UMBRELLA",
            "plan": "gong",
            "billing_interval": "annual",
            "licenses": 40,
            "period_start": "2026-06-15T00:00:00Z",
            "admins": ["U0UMA"],
            "csm": {"name": "Casey Doe", "slack_user_id": "U0CSM"},
        },
    ]
}

USERS = [
    ("U0ANN", "ann", "ann@acme.example", "T0ACME"),
    ("U0BOB", "bob", "bob@acme.example", "T0ACME"),
    ("U0ERIN", "erin", "Erin@Acme.example", "T0ACME"),
    ("U0GIL", "gil", "gil@globex.example", "T0GLOBEX"),
    ("U0IRA", "ira", "ira@initech.example", "T0INITECH"),
    ("U0UMA", "uma", "uma@umbrella.example", "T0UMBRELLA"),
    ("U0CSM", "casey", "casey@vendor.example", "T0ACME"),
    ("U0CSM2", "chris", "chris@vendor.example", "T0ACME"),
    ("U0NOBODY", "nobody", "nobody@else.example", "T0ELSEWHERE"),
]


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(yaml.safe_dump(ACCOUNTS))
    return path


async def start_workspace(
    database_url: str, tmp_path: Path, **settings_overrides: Any
) -> AsyncIterator[Workspace]:
    async with FakeSlack(bot_token=BOT_TOKEN) as slack:
        for user_id, name, email, team in USERS:
            slack.add_user(user_id, name, email=email, team_id=team)
        slack.add_channel(GENERAL, "general")
        slack.add_channel(CSM_CHANNEL, "csm-requests")
        settings = make_settings(
            database_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.url,
            csm_channel_id=CSM_CHANNEL,
            csm_user_ids="U0CSM,U0CSM2",
            sales_email="sales@vendor.example",
            support_url="https://support.vendor.example",
            **settings_overrides,
        )
        upgrade(database_url)
        engine = create_engine(database_url)
        clock = FakeClock(utcnow)
        services = ServiceContext(session_factory(engine), settings, clock=clock)
        await import_accounts(services, ACCOUNTS, actor="tests")
        deps = build_deps(settings, services)
        runtime = Runtime(settings, engine, services, deps, build_app(deps))
        runner = await start_http(runtime, "127.0.0.1", 0)
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http:
                yield Workspace(slack, f"http://127.0.0.1:{port}", deps, http, clock)
        finally:
            await runner.cleanup()
            await deps.close()
            await engine.dispose()


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
