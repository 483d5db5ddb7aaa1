"""App Home: published whenever a user opens the tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bootstrap import Runtime
from bot.effects.home import refresh_home_now
from handlers.middleware import Caller, listener


async def on_home_opened(event: dict[str, Any], caller: Caller, runtime: Runtime) -> None:
    if event.get("tab", "home") == "home":
        await refresh_home_now(runtime.effect_deps, caller.team_id, caller.user_id)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(listener(on_home_opened))
