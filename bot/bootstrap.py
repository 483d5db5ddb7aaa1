"""The one composition root: settings in, a running bot's parts out.

`serve`, `scheduler`, `sandbox`, the tests and the bench all build the bot here. Tests
swap parts through the keyword arguments (clock, Slack directory, tickets, billing);
the Slack Web API URL and everything else come from the settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.data import open_services
from bot.effects import EffectDeps, Effects
from bot.integrations.billing import BillingProvider
from bot.integrations.installations import BadTokenKey, installation_store, token_cipher
from bot.integrations.slack_directory import Directory, SlackDirectory
from bot.integrations.tickets import BuiltinTickets, TicketProvider
from bot.integrations.workspaces import InstalledWorkspaces, OneWorkspace, Workspaces, web_client
from bot.integrations.zendesk import zendesk_from_settings
from bot.models import utcnow
from bot.services.accounts import enterprise_of
from bot.services.context import ServiceContext

log = logging.getLogger(__name__)

AFTER_ACK_CONCURRENCY = 32
DRAIN_BATCH = 50


class BackgroundWork:
    """What the bot still does after answering Slack: listeners past their ack, drains.

    `settle()` is the public way to wait for it (tests, shutdown).
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def soon(self, work: Coroutine[Any, Any, Any]) -> None:
        self.track(asyncio.ensure_future(work))

    async def settle(self) -> None:
        current = asyncio.current_task()
        while waiting := [task for task in self._tasks if task is not current]:
            await asyncio.gather(*waiting, return_exceptions=True)


@dataclass
class Runtime:
    """Everything a listener, a job or a command needs, built once."""

    settings: Settings
    services: ServiceContext
    # Bolt's client: SLACK_BOT_TOKEN's, or tokenless in OAuth mode (Bolt adds the token of
    # each request's workspace).
    client: AsyncWebClient
    workspaces: Workspaces
    directory: Directory
    effects: Effects
    # OAuth mode: where installations are kept (encrypted); None with SLACK_BOT_TOKEN.
    installations: AsyncInstallationStore | None = None
    socket_mode: bool = False
    work: BackgroundWork = field(default_factory=BackgroundWork)
    # Listeners' work after their ack, at most this many at once: under overload it
    # queues here, while acks (which come before) keep going out.
    after_ack: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(AFTER_ACK_CONCURRENCY)
    )
    _draining: bool = field(default=False, init=False)
    _drain_again: bool = field(default=False, init=False)

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.services.sessions.kw["bind"]
        return engine

    @property
    def effect_deps(self) -> EffectDeps:
        return self.effects.deps

    @cached_property
    def app(self) -> AsyncApp:
        from bot.app import build_app

        return build_app(self)

    def drain_soon(self) -> None:
        """Carry out what a user action queued, without holding up the listener.

        Many actions at once make one drain, and one more after it (for what they queued
        while it ran), not one drain each.
        """
        if self._drain_again:
            return
        self._drain_again = True
        if not self._draining:
            self.work.soon(self._drain())

    async def _drain(self) -> None:
        self._draining = True
        try:
            while self._drain_again:
                self._drain_again = False
                try:
                    # A full batch means more may be due: keep going.
                    while await self.effects.drain(DRAIN_BATCH) == DRAIN_BATCH:
                        pass
                except Exception:
                    # The scheduler retries whatever is left in the outbox.
                    log.exception("draining the outbox failed")
        finally:
            self._draining = False

    async def settle(self) -> None:
        await self.work.settle()

    async def close(self) -> None:
        await self.settle()
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()


def slack_client(settings: Settings) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # One HTTP session for every Web API call: without it each call opens a connection.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    return web_client(settings.slack_api_url, token, session)


def oauth_problem(settings: Settings) -> str | None:
    """Why OAuth mode can't start with these settings, in one line; None when it can."""
    if not settings.vendor_team_id:
        return "OAuth mode needs VENDOR_TEAM_ID: the vendor's workspace, where the CSMs work"
    secret = settings.token_encryption_key
    try:
        token_cipher(secret.get_secret_value() if secret else None)
    except BadTokenKey as exc:
        return str(exc)
    return None


def installed_workspaces(
    settings: Settings, services: ServiceContext, session: aiohttp.ClientSession
) -> tuple[InstalledWorkspaces, AsyncInstallationStore]:
    problem = oauth_problem(settings)
    if problem is not None:
        raise ValueError(problem)
    assert settings.slack_client_id and settings.vendor_team_id and settings.token_encryption_key
    cipher = token_cipher(settings.token_encryption_key.get_secret_value())
    engine: AsyncEngine = services.sessions.kw["bind"]
    store = installation_store(settings.slack_client_id, engine, cipher)
    workspaces = InstalledWorkspaces(
        store,
        settings.slack_api_url,
        session,
        settings.vendor_team_id,
        enterprise_of=partial(enterprise_of, services),
    )
    return workspaces, store


@asynccontextmanager
async def bootstrap(
    settings: Settings,
    *,
    socket_mode: bool = False,
    migrate: bool = True,
    clock: Callable[[], datetime] = utcnow,
    directory: Directory | None = None,
    tickets: TicketProvider | None = None,
    billing: BillingProvider | None = None,
) -> AsyncIterator[Runtime]:
    """The services, the Slack client, the outbox and (on first use) the Bolt app."""
    async with open_services(settings, migrate=migrate, clock=clock, billing=billing) as services:
        client = slack_client(settings)
        workspaces: Workspaces = OneWorkspace(client)
        installations = None
        if settings.oauth_mode:
            assert client.session is not None
            workspaces, installations = installed_workspaces(settings, services, client.session)
        directory = directory or SlackDirectory(workspaces)
        tickets = tickets or zendesk_from_settings(settings) or BuiltinTickets(services.sessions)
        effects = Effects(EffectDeps(services, workspaces, tickets, directory))
        runtime = Runtime(
            settings,
            services,
            client,
            workspaces,
            directory,
            effects,
            installations=installations,
            socket_mode=socket_mode,
        )
        try:
            yield runtime
        finally:
            await runtime.close()
