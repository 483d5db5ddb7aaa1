"""Small Slack chores the listeners share: who is asking, opening views, App Home refresh."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.home import build_home, build_home_message
from blocks.messages import not_linked_text
from bot.deps import AppDeps
from bot.services.access import Access, resolve_access
from bot.services.orders import recent_orders
from bot.services.removals import removals_of

log = logging.getLogger(__name__)


def team_of(body: dict[str, Any]) -> str:
    """The workspace of a request, whatever its payload type."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or "")


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(body.get("user_id") or body.get("event", {}).get("user") or "")


async def access_of(deps: AppDeps, body: dict[str, Any]) -> Access:
    return await resolve_access(deps.services, deps.directory, team_of(body), user_of(body))


async def show_modal(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """From inside a modal push on top of it (Back returns); from anywhere else open one."""
    if body.get("view", {}).get("type") == "modal":
        await client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def publish_home(client: AsyncWebClient, deps: AppDeps, access: Access) -> None:
    if access.overview is None:
        view = build_home_message(not_linked_text(access.team_id, deps.settings.support_url))
    elif not access.is_admin:
        view = build_home_message(
            f"Only license admins of *{access.overview.name}* can manage licenses here.",
            access.overview.account_id,
        )
    else:
        account_id = access.overview.account_id
        orders = await recent_orders(deps.services, account_id)
        removals = await removals_of(deps.services, account_id)
        view = build_home(access.overview, orders, removals)
    try:
        await client.views_publish(user_id=access.user_id, view=view)
    except SlackApiError as exc:
        log.warning("views.publish failed for %s: %s", access.user_id, exc.response.get("error"))


async def refresh_home(client: AsyncWebClient, deps: AppDeps, team_id: str, user_id: str) -> None:
    access = await resolve_access(deps.services, deps.directory, team_id, user_id)
    await publish_home(client, deps, access)
