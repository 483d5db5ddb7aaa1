"""`licensebot sandbox`: the real bot, a fake Slack and a browser page, in one process."""

from __future__ import annotations

import asyncio
import secrets
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web
from sqlalchemy import select

from bot.app import build_app, build_deps
from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade
from bot.models import Account
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_side import SlackSide
from bot.scheduler import build_scheduler
from bot.server import Runtime, start_http
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext

DEMO_ACCOUNTS = Path(__file__).parent / "demo_accounts.yml"
GENERAL, CSM_CHANNEL = "C0GENERAL", "C0CSM"


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    name: str
    email: str
    team_id: str
    role: str


DEMO_USERS = [
    DemoUser("U0ANN", "Ann", "ann@acme.example", "T0ACME", "admin of Acme Corp (Pro, monthly)"),
    DemoUser("U0BOB", "Bob", "bob@acme.example", "T0ACME", "member of Acme Corp, not an admin"),
    DemoUser(
        "U0GIL", "Gil", "gil@globex.example", "T0GLOBEX", "admin of Globex (Enterprise, 3 licenses)"
    ),
    DemoUser(
        "U0IRA",
        "Ira",
        "ira@initech.example",
        "T0INITECH",
        "admin of Initech (Enterprise, 12 licenses)",
    ),
    DemoUser(
        "U0UMA", "Uma", "uma@umbrella.example", "T0UMBRELLA", "admin of Umbrella (Gong Edition)"
    ),
    DemoUser("U0CSM", "Casey", "casey@vendor.example", "T0ACME", "Customer Success Manager"),
]


def sandbox_settings(data_dir: Path, slack: FakeSlack, signing_secret: str) -> Settings:
    """Everything explicit: the sandbox never reads real credentials from the environment."""
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{data_dir / 'sandbox.db'}",
        slack_bot_token=slack.bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=slack.url,
        csm_channel_id=CSM_CHANNEL,
        csm_user_ids="U0CSM",
        sales_email="sales@vendor.example",
        support_url="https://support.vendor.example",
        zendesk_url=None,
        zendesk_email=None,
        zendesk_api_token=None,
    )


@dataclass
class Sandbox:
    slack: FakeSlack
    side: SlackSide
    runtime: Runtime
    users: list[DemoUser]


async def seed(services: ServiceContext) -> bool:
    """Demo accounts on first start only, so what people did survives a restart."""
    async with services.reading() as session:
        if await session.scalar(select(Account.id).limit(1)) is not None:
            return False
    await import_accounts(services, yaml.safe_load(DEMO_ACCOUNTS.read_text()), actor="sandbox")
    return True


@asynccontextmanager
async def sandbox(data_dir: Path) -> AsyncIterator[Sandbox]:
    """The fake Slack, the bot on it (HTTP, signed) and the scheduler; stopped on exit.

    `data_dir` must exist; the SQLite file in it is created and seeded on first start.
    """
    slack = FakeSlack(bot_token=f"xoxb-sandbox-{secrets.token_hex(8)}", team_id="T0ACME")
    await slack.start()
    for user in DEMO_USERS:
        slack.add_user(
            user.user_id,
            user.name.lower(),
            email=user.email,
            team_id=user.team_id,
            real_name=user.name,
        )
    slack.add_channel(GENERAL, "general")
    slack.add_channel(CSM_CHANNEL, "csm-requests")
    signing_secret = secrets.token_hex(16)
    settings = sandbox_settings(data_dir, slack, signing_secret)
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    services = ServiceContext(session_factory(engine), settings)
    await seed(services)
    deps = build_deps(settings, services)
    runtime = Runtime(settings, engine, services, deps, build_app(deps))
    bot_runner = await start_http(runtime, "127.0.0.1", 0)
    scheduler = build_scheduler(services, deps.effects)
    scheduler.start()
    events_url = f"http://127.0.0.1:{bot_runner.addresses[0][1]}/slack/events"
    try:
        async with aiohttp.ClientSession() as http:
            yield Sandbox(
                slack, SlackSide(slack, events_url, signing_secret, http), runtime, DEMO_USERS
            )
    finally:
        scheduler.shutdown(wait=False)
        await bot_runner.cleanup()
        await deps.close()
        await engine.dispose()
        await slack.stop()


async def run_sandbox(port: int, data_dir: Path, open_browser: bool) -> None:
    from bot.sandbox.web import build_page_app
    from bot.server import wait_for_stop

    async with sandbox(data_dir) as box:
        runner = web.AppRunner(build_page_app(box), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}"
        print(f"licensebot sandbox: open {url} (a local Slack workspace; Ctrl-C stops it)")
        for user in box.users:
            print(f"  {user.name:<6} {user.role}")
        print(f"  data: {data_dir / 'sandbox.db'}", flush=True)
        if open_browser:
            webbrowser.open(url)
        try:
            await wait_for_stop()
        finally:
            await runner.cleanup()
