"""build_app: wiring only — the error handler and the listeners.

Each request enters with the runtime in its context (bot.server), so no middleware
runs: Bolt builds every listener argument anew for each middleware it calls.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.oauth import oauth_settings
from handlers import (
    add_decisions,
    add_licenses,
    errors,
    home,
    installs,
    licenses_command,
    plan_actions,
    removal,
)

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

    errors.register(app, runtime)
    # Bolt tries listeners in this order, each try costing about what a middleware does:
    # the most frequent requests first (/licenses, then the live quote and Order Now).
    for module in (
        licenses_command,
        add_licenses,
        plan_actions,
        removal,
        add_decisions,
        home,
        installs,
    ):
        module.register(app)
    return app
