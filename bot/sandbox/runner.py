"""`licensebot sandbox`: the real bot, a fake Slack and a browser page, in one process."""

from __future__ import annotations

import secrets
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.bootstrap import Runtime, bootstrap
from bot.models import Account
from bot.sandbox.demo import DEMO_USERS, DemoUser, demo_accounts, demo_settings, furnish
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_side import SlackSide
from bot.scheduler import build_scheduler
from bot.server import start_http
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext


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
    await import_accounts(services, demo_accounts(), actor="sandbox")
    return True


@asynccontextmanager
async def sandbox(data_dir: Path) -> AsyncIterator[Sandbox]:
    """The fake Slack, the bot on it (HTTP, signed) and the scheduler; stopped on exit.

    `data_dir` must exist; the SQLite file in it is created and seeded on first start.
    """
    slack = FakeSlack(bot_token=f"xoxb-sandbox-{secrets.token_hex(8)}", team_id="T0ACME")
    await slack.start()
    furnish(slack)
    signing_secret = secrets.token_hex(16)
    try:
        database_url = f"sqlite:///{data_dir / 'sandbox.db'}"
        settings = demo_settings(database_url, slack, signing_secret)
        async with bootstrap(settings) as runtime:
            await seed(runtime.services)
            bot_runner = await start_http(runtime, "127.0.0.1", 0)
            scheduler = build_scheduler(runtime)
            scheduler.start()
            events_url = f"http://127.0.0.1:{bot_runner.addresses[0][1]}/slack/events"
            try:
                async with aiohttp.ClientSession() as http:
                    side = SlackSide(slack, events_url, signing_secret, http)
                    yield Sandbox(slack, side, runtime, DEMO_USERS)
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
