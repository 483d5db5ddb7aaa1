"""Running the bot in OAuth mode against the fake Slack, and installing it the real way."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bot.bootstrap import bootstrap
from bot.models import utcnow
from bot.sandbox import installing
from bot.sandbox.demo import VENDOR_TEAM, demo_accounts, demo_settings, furnish
from bot.sandbox.fake_slack import FakeSlack
from bot.server import start_http
from bot.services.accounts import import_accounts
from tests.slack.driver import BOT_TOKEN, SIGNING_SECRET, FakeClock, Workspace

TOKEN_KEY = Fernet.generate_key().decode()


async def start_oauth_workspace(
    database_url: str, tmp_path: Path, **settings_overrides: Any
) -> AsyncIterator[Workspace]:
    """The demo served in OAuth mode: no bot token, each workspace installs licensebot."""
    async with FakeSlack(bot_token=BOT_TOKEN) as slack:
        furnish(slack)
        overrides: dict[str, Any] = {
            "slack_bot_token": None,
            "slack_client_id": slack.client_id,
            "slack_client_secret": slack.client_secret,
            "slack_oauth_authorize_url": slack.authorize_url,
            "token_encryption_key": TOKEN_KEY,
            "vendor_team_id": VENDOR_TEAM,
            **settings_overrides,
        }
        settings = demo_settings(database_url, slack, SIGNING_SECRET, **overrides)
        clock = FakeClock(utcnow)
        async with bootstrap(settings, clock=clock) as runtime:
            await import_accounts(runtime.services, demo_accounts(), actor="tests")
            runner = await start_http(runtime, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            slack.oauth_redirect_uri = f"{url}/slack/oauth_redirect"
            try:
                async with aiohttp.ClientSession(cookie_jar=installing.cookie_jar()) as http:
                    yield Workspace(slack, url, runtime, http, clock)
            finally:
                await runner.cleanup()


async def start_install(ws: Workspace) -> str:
    return await installing.start_install(ws.http, ws.url)


async def finish_install(ws: Workspace, **query: str) -> tuple[int, str]:
    return await installing.finish_install(ws.http, ws.url, **query)


async def install(ws: Workspace, team_id: str) -> tuple[int, str]:
    return await installing.install(ws.http, ws.url, ws.slack, team_id)


def page_text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(page)).split())
