"""`licensebot sandbox`: the real bot, a fake Slack and a browser page, in one process.

The bot runs as a distributed app (OAuth mode): every demo workspace installs it through
the bot's own Add to Slack routes, except Hooli, which the person at the page installs.
"""

from __future__ import annotations

import os
import secrets
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from sqlalchemy import select

from bot.bootstrap import Runtime, bootstrap
from bot.models import Account
from bot.oauth import REDIRECT_PATH
from bot.sandbox import installing
from bot.sandbox.demo import (
    DEMO_USERS,
    NOT_YET_INSTALLED,
    TEAMS,
    VENDOR_TEAM,
    DemoUser,
    demo_accounts,
    demo_settings,
    furnish,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_side import SlackSide
from bot.scheduler import build_scheduler
from bot.server import start_http
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext

# Beside the database: the tokens stored in it are encrypted under this key.
TOKEN_KEY_FILE = "token-key"


@dataclass
class Sandbox:
    slack: FakeSlack
    side: SlackSide
    runtime: Runtime
    users: list[DemoUser]
    teams: dict[str, str]  # workspace id -> name, in the order the page lists them
    bot_url: str  # the bot's HTTP server: Add to Slack starts at its /slack/install

    def installed(self, team_id: str) -> bool:
        """Whether Slack has licensebot in this workspace (the sandbox never uninstalls it)."""
        return any(i.team_id == team_id for i in self.slack.installations.values())


async def seed(services: ServiceContext) -> list[str]:
    """The demo accounts the database does not have yet (all of them on first start); the
    ones it has are left as they are, so what people did survives a restart, and a data
    folder from an older sandbox gets the demo accounts added since. Returns the ids added.
    """
    async with services.reading() as session:
        rows = await session.execute(select(Account.id, Account.slack_team_id))
        known = rows.tuples().all()
    ids = {account_id for account_id, _ in known}
    teams = {team_id for _, team_id in known if team_id}
    data = demo_accounts()
    missing = [
        entry
        for entry in data["accounts"]
        if entry["id"] not in ids and entry.get("slack_team_id") not in teams
    ]
    if missing:
        await import_accounts(services, {**data, "accounts": missing}, actor="sandbox")
    return [entry["id"] for entry in missing]


def token_key(data_dir: Path) -> str:
    """The Fernet key for the stored tokens: made on first start, readable by its owner only."""
    path = data_dir / TOKEN_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = Fernet.generate_key().decode()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key)
    return key


def general_channel_id(team_id: str) -> str:
    return f"C0{team_id.removeprefix('T0')}"


def furnish_generals(slack: FakeSlack) -> None:
    """A #general in every workspace that has none, as Slack makes one with each workspace:
    somewhere to type /licenses there.
    """
    having = {c["context_team_id"] for c in slack.channels.values() if c["name"] == "general"}
    for team_id in (team_id for team_id in TEAMS if team_id not in having):
        slack.add_channel(general_channel_id(team_id), "general", team_id=team_id)


async def teams_to_install(store: AsyncInstallationStore) -> list[str]:
    """Every demo workspace but those not installed yet, unless an earlier run installed
    them: the fake Slack is new on each start, so each installation is made again.
    """
    return [
        team_id
        for team_id in TEAMS
        if team_id not in NOT_YET_INSTALLED
        or await store.async_find_bot(enterprise_id=None, team_id=team_id) is not None
    ]


@asynccontextmanager
async def sandbox(data_dir: Path) -> AsyncIterator[Sandbox]:
    """The fake Slack, the bot on it (OAuth mode, HTTP, signed) and the scheduler; stopped
    on exit.

    `data_dir` must exist; the SQLite file and the token key in it are made on first start.
    """
    # Never used by the bot, which speaks with each workspace's own token.
    slack = FakeSlack(bot_token=f"xoxb-sandbox-{secrets.token_hex(8)}")
    await slack.start()
    furnish(slack)
    furnish_generals(slack)
    signing_secret = secrets.token_hex(16)
    try:
        settings = demo_settings(
            f"sqlite:///{data_dir / 'sandbox.db'}",
            slack,
            signing_secret,
            slack_bot_token=None,
            slack_client_id=slack.client_id,
            slack_client_secret=slack.client_secret,
            slack_oauth_authorize_url=slack.authorize_url,
            token_encryption_key=token_key(data_dir),
            vendor_team_id=VENDOR_TEAM,
        )
        async with bootstrap(settings) as runtime:
            assert runtime.installations is not None
            await seed(runtime.services)
            bot_runner = await start_http(runtime, "127.0.0.1", 0)
            bot_url = f"http://127.0.0.1:{bot_runner.addresses[0][1]}"
            slack.oauth_redirect_uri = f"{bot_url}{REDIRECT_PATH}"
            scheduler = build_scheduler(runtime)
            scheduler.start()
            try:
                async with aiohttp.ClientSession(cookie_jar=installing.cookie_jar()) as http:
                    for team_id in await teams_to_install(runtime.installations):
                        status, page = await installing.install(http, bot_url, slack, team_id)
                        if status != 200:
                            raise RuntimeError(f"installing in {team_id} failed: {page}")
                    side = SlackSide(slack, f"{bot_url}/slack/events", signing_secret, http)
                    yield Sandbox(slack, side, runtime, DEMO_USERS, TEAMS, bot_url)
            finally:
                scheduler.shutdown(wait=False)
                await bot_runner.cleanup()
    finally:
        await slack.stop()


async def run_sandbox(port: int, data_dir: Path, open_browser: bool) -> None:
    from bot.sandbox.web import build_page_app
    from bot.server import wait_for_stop

    async with sandbox(data_dir) as box:
        runner = web.AppRunner(build_page_app(box), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}"
        print(f"licensebot sandbox: open {url} (local Slack workspaces; Ctrl-C stops it)")
        for team_id, team in box.teams.items():
            people = ", ".join(u.name for u in box.users if u.team_id == team_id)
            note = "" if box.installed(team_id) else "  (licensebot not installed: Add to Slack)"
            print(f"  {team:<10} {people}{note}")
        print(f"  data: {data_dir / 'sandbox.db'}", flush=True)
        if open_browser:
            webbrowser.open(url)
        try:
            await wait_for_stop()
        finally:
            await runner.cleanup()
