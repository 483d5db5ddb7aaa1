"""build_app: wiring only — settings, services, middleware, the error handler, listeners."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.deps import AppDeps
from bot.integrations.slack_directory import Directory, SlackDirectory
from bot.services.context import ServiceContext
from bot.services.errors import ServiceError
from handlers import add_licenses, home, licenses_command, plan_actions

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    ":warning: Something went wrong on our side and nothing was changed. Please try again in a "
    "minute."
)


def build_app(
    settings: Settings,
    services: ServiceContext,
    *,
    client: AsyncWebClient | None = None,
    directory: Directory | None = None,
) -> AsyncApp:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    client = client or AsyncWebClient(token=token, base_url=settings.slack_api_url)
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        # Socket Mode has no signatures; HTTP mode always verifies them.
        request_verification_enabled=secret is not None,
    )
    deps = AppDeps(services, directory or SlackDirectory(client), settings)

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
            opened = await client.conversations_open(users=user)
            await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
        except Exception:
            log.exception("could not tell %s about an error", user)

    for module in (licenses_command, add_licenses, plan_actions, home):
        module.register(app)
    return app
