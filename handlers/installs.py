"""The app leaving a workspace: its tokens are forgotten, its account link is kept."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bootstrap import Runtime
from bot.services.installs import record_uninstall
from handlers.middleware import listener


async def on_uninstalled(event: dict[str, Any], body: dict[str, Any], runtime: Runtime) -> None:
    if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return  # only user tokens went, and licensebot keeps none
    team_id = body.get("team_id") if not body.get("is_enterprise_install") else None
    enterprise_id = body.get("enterprise_id")
    if runtime.installations is not None:
        await runtime.installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
    if team_id:
        runtime.workspaces.forget(team_id)
    await record_uninstall(runtime.services, team_id, enterprise_id, str(event.get("type")))
    runtime.drain_soon()


def register(app: AsyncApp) -> None:
    app.event("app_uninstalled")(listener(on_uninstalled))
    app.event("tokens_revoked")(listener(on_uninstalled))
