"""Where a listener answers: modals opened or pushed, ephemeral replies, DMs."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.effects.dms import send_dm


async def show_modal(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """From inside a modal push on top of it (Back returns); from anywhere else open one."""
    if (body.get("view") or {}).get("type") == "modal":
        await client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def tell(client: AsyncWebClient, body: dict[str, Any], user_id: str, text: str) -> None:
    """Only the user sees it: ephemeral where they clicked or typed, else by DM."""
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if not channel:
        channel = (body.get("container") or {}).get("channel_id")
    if channel and body.get("type") != "view_submission":
        await client.chat_postEphemeral(channel=channel, user=user_id, text=text)
    else:
        await send_dm(client, user_id, text)
