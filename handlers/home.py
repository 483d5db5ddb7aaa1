"""App Home: published whenever a user opens the tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bootstrap import Runtime
from bot.services.outbox import PublishHome, enqueue_now
from handlers.middleware import Caller, listener


async def on_home_opened(event: dict[str, Any], caller: Caller, runtime: Runtime) -> None:
    if event.get("tab", "home") == "home":
        home = PublishHome(team_id=caller.team_id, user_id=caller.user_id)
        await enqueue_now(runtime.services, home)
        runtime.drain_soon()


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(listener(on_home_opened))
