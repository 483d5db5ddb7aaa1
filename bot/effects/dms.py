"""Direct messages: opening the DM with a user, then posting in it; the requester's updates."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks.removal import requester_update_text
from bot.effects.context import EffectDeps
from bot.services.outbox import NotifyRequester


async def send_dm(
    client: AsyncWebClient, user_id: str, text: str, blocks: list[Any] | None = None
) -> None:
    opened = await client.conversations_open(users=user_id)
    await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks or None)


async def notify_requester(deps: EffectDeps, effect: NotifyRequester) -> None:
    view = await deps.removal(effect)
    await send_dm(deps.client, view.requested_by, requester_update_text(view, effect.stage))


HANDLERS = {NotifyRequester: notify_requester}
