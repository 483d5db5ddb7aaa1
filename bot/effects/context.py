"""What every effect needs: the services, each workspace's Slack client, tickets, the directory."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.policy import Route
from bot.integrations.slack_directory import Directory
from bot.integrations.tickets import TicketProvider
from bot.integrations.workspaces import Workspaces
from bot.readmodels import RemovalView
from bot.seal import sealed_view
from bot.services.context import ServiceContext
from bot.services.outbox import RemovalEffect, RoutedRequest
from bot.services.removals import get_removal
from bot.services.requests import record_queued_request

# The outbox entry being carried out, and which attempt: its posts are marked with it, so
# that a retry after an answer lost on the way back finds the post instead of repeating it.
CURRENT_ENTRY: ContextVar[tuple[int, int] | None] = ContextVar("outbox_entry", default=None)
LOOK_BACK_MESSAGES = 50


async def record_queued(
    deps: EffectDeps, effect: RoutedRequest, route: Route, team_id: str | None
) -> None:
    """An entry queued before requests were recorded: its request is recorded now, once
    (keyed by the entry), and carried out as a new one is, by the entries that records."""
    entry = CURRENT_ENTRY.get()
    key = f"outbox-{entry[0]}" if entry else f"outbox-{uuid.uuid4().hex}"
    await record_queued_request(
        deps.services, effect.account_id, effect.requester, team_id, route, effect.wanted, key
    )


class NotYet(Exception):
    """A step this entry depends on has not happened yet; try again later."""


@dataclass(frozen=True)
class EffectDeps:
    services: ServiceContext
    workspaces: Workspaces
    tickets: TicketProvider
    directory: Directory

    async def slack(self, team_id: str | None) -> AsyncWebClient:
        """The client with `team_id`'s token; None is the vendor's workspace."""
        return await self.workspaces.client_for(team_id)

    async def removal(self, effect: RemovalEffect) -> RemovalView:
        return await get_removal(self.services, effect.request_id)

    async def update_modal(self, team_id: str, view: dict[str, Any], external_id: str) -> None:
        sealed = sealed_view(view, self.services.settings.seal_key)
        await (await self.slack(team_id)).views_update(view=sealed, external_id=external_id)

    async def post(
        self,
        team_id: str | None,
        channel: str,
        text: str,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        """chat.postMessage at most once per outbox entry; returns (channel, ts).

        Each post carries its entry's id as message metadata. A retry of the same entry
        looks for it first (in the conversation, or in the thread for a reply): Slack may
        have posted it while its answer was lost.
        """
        client = await self.slack(team_id)
        current = CURRENT_ENTRY.get()
        metadata = None
        if current is not None:
            entry, attempt = current
            metadata = {"event_type": "licensebot_post", "event_payload": {"entry": entry}}
            found = await _posted(client, channel, entry, thread_ts) if attempt > 1 else None
            if found is not None:
                return found
        posted = await client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks or None,
            thread_ts=thread_ts,
            metadata=metadata,
        )
        return str(posted["channel"]), str(posted["ts"])


async def _posted(
    client: AsyncWebClient, channel: str, entry: int, thread_ts: str | None
) -> tuple[str, str] | None:
    if thread_ts is None:
        found = await client.conversations_history(
            channel=channel, limit=LOOK_BACK_MESSAGES, include_all_metadata=True
        )
    else:
        found = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=LOOK_BACK_MESSAGES, include_all_metadata=True
        )
    for message in found.get("messages") or []:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("entry") == entry:
            return channel, str(message["ts"])
    return None
