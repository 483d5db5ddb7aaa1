"""App Home: published whenever a user opens the tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import deps_of
from bot.services.access import resolve_access
from handlers.common import publish_home


async def on_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    if event.get("tab", "home") != "home":
        return
    deps = deps_of(context)
    team_id = body.get("team_id") or event.get("view", {}).get("team_id", "")
    access = await resolve_access(deps.services, deps.directory, team_id, event["user"])
    await publish_home(client, deps, access)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)
