"""build_app: wiring only — the runtime in the context, the error handler, the listeners."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.oauth import oauth_settings
from handlers import (
    add_licenses,
    errors,
    home,
    installs,
    licenses_command,
    plan_actions,
    removal,
)
from handlers.surfaces import RUNTIME_KEY

if TYPE_CHECKING:
    from bot.bootstrap import Runtime


class _SameTokenNotice(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN and warns that our client's token wins: it is the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_SameTokenNotice())


def build_app(runtime: Runtime) -> AsyncApp:
    secret = runtime.settings.slack_signing_secret
    if not runtime.socket_mode and secret is None:
        raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests")
    app = AsyncApp(
        client=runtime.client,
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode has no signatures to check; HTTP mode always checks them.
        request_verification_enabled=not runtime.socket_mode,
        # OAuth mode: each request's workspace token comes from its installation.
        oauth_settings=oauth_settings(runtime) if runtime.installations is not None else None,
    )

    @app.middleware
    async def with_runtime(context: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
        context[RUNTIME_KEY] = runtime
        await next()

    @app.middleware
    async def once_per_event(
        body: dict[str, Any], request: AsyncBoltRequest, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Slack redelivers an event it thinks we missed; the first delivery does the work."""
        if body.get("type") == "event_callback" and request.headers.get("x-slack-retry-num"):
            return BoltResponse(status=200, body="")
        await next()
        return None

    errors.register(app, runtime)
    for module in (licenses_command, add_licenses, plan_actions, removal, home, installs):
        module.register(app)
    return app
