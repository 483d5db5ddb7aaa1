"""Direct messages from the bot: open the DM with a user, then post in it."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


async def send_dm(
    client: AsyncWebClient, user_id: str, text: str, blocks: list[Any] | None = None
) -> None:
    opened = await client.conversations_open(users=user_id)
    await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks or None)
