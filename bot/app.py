"""build_app: wiring only — settings, services, middleware, the error handler, listeners."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.deps import AppDeps
from bot.effects import Effects
from bot.integrations.slack_directory import Directory, SlackDirectory
from bot.integrations.slack_dm import send_dm
from bot.integrations.tickets import BuiltinTickets, TicketProvider
from bot.integrations.zendesk import zendesk_from_settings
from bot.services.context import ServiceContext
from bot.services.errors import ServiceError
from handlers import add_licenses, home, licenses_command, plan_actions, removal
from handlers.common import refresh_home

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    ":warning: Something went wrong on our side and nothing was changed. Please try again in a "
    "minute."
)


class _SameTokenNotice(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN and warns that our client's token wins: it is the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_SameTokenNotice())


def ticket_provider(settings: Settings, services: ServiceContext) -> TicketProvider:
    """Zendesk when its three settings are present, else the built-in tickets."""
    return zendesk_from_settings(settings) or BuiltinTickets(services.sessions)


def build_deps(
    settings: Settings,
    services: ServiceContext,
    *,
    client: AsyncWebClient | None = None,
    directory: Directory | None = None,
    tickets: TicketProvider | None = None,
) -> AppDeps:
    if client is None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # One HTTP session for every Web API call: without it each call opens a connection.
        client = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            session=aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)),
        )
    effects = Effects(services, client, tickets or ticket_provider(settings, services))
    deps = AppDeps(services, directory or SlackDirectory(client), settings, effects, client)
    effects.publish_home = lambda team_id, user_id: refresh_home(client, deps, team_id, user_id)
    return deps


def build_app(deps: AppDeps, *, socket_mode: bool = False) -> AsyncApp:
    secret = deps.settings.slack_signing_secret
    if not socket_mode and secret is None:
        raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests")
    app = AsyncApp(
        client=deps.client,
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode has no signatures to check; HTTP mode always checks them.
        request_verification_enabled=not socket_mode,
    )

    @app.middleware
    async def inject_deps(context: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
        context["deps"] = deps
        await next()

    @app.error
    async def tell_the_user(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Typed errors become their sentence; anything else a calm apology, logged in full."""
        if isinstance(error, ServiceError):
            text = f":warning: {error}"
        else:
            log.error("unhandled error in a listener", exc_info=error)
            text = SOMETHING_WENT_WRONG
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if not user:
            return
        try:
            await send_dm(client, user, text)
        except Exception:
            log.exception("could not tell %s about an error", user)

    for module in (licenses_command, add_licenses, plan_actions, removal, home):
        module.register(app)
    return app
