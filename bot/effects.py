"""Carrying out outbox entries: Slack messages, tickets, App Home — retried until done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks.removal import (
    build_removal_message,
    removal_message_text,
    requester_update_text,
)
from bot.domain.removal import RemovalStatus
from bot.integrations.slack_dm import send_dm
from bot.integrations.tickets import NewTicket, TicketProvider
from bot.services import outbox
from bot.services.accounts import show_account
from bot.services.context import ServiceContext
from bot.services.removals import (
    RemovalView,
    get_removal,
    record_message,
    record_ticket,
    requester_contact,
)

log = logging.getLogger(__name__)

HomePublisher = Callable[[str, str], Awaitable[None]]


def _verdict(view: RemovalView) -> str:
    """What the CSM decided; by the time this is sent an approval may already have applied."""
    return "denied" if view.status is RemovalStatus.DENIED else "approved"


class NotYet(Exception):
    """A step this entry depends on has not happened yet; try again later."""


class Effects:
    def __init__(
        self,
        services: ServiceContext,
        client: AsyncWebClient,
        tickets: TicketProvider,
        publish_home: HomePublisher | None = None,
    ) -> None:
        self.services = services
        self.client = client
        self.tickets = tickets
        self.settings = services.settings
        self.publish_home = publish_home
        self._lock = asyncio.Lock()
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "ticket.create": self._create_ticket,
            "ticket.resolve": self._resolve_ticket,
            "ticket.route": self._route_ticket,
            "removal.post": self._post_request,
            "removal.refresh": self._refresh_message,
            "removal.thread_decision": self._thread_decision,
            "removal.thread_applied": self._thread_applied,
            "removal.thread_reminder": self._thread_reminder,
            "removal.notify_requester": self._notify_requester,
            "home.refresh": self._refresh_home,
        }

    async def drain(self, limit: int = 50) -> int:
        """Run what is due now; returns how many entries succeeded."""
        # One drain at a time per process; other processes are kept apart by row claims.
        async with self._lock:
            done = 0
            for claimed in await outbox.claim_due(self.services, limit):
                handler = self._handlers.get(claimed.kind)
                try:
                    if handler is None:
                        raise RuntimeError(f"unknown outbox entry kind {claimed.kind}")
                    await handler(claimed.payload)
                except Exception as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "outbox %s #%s failed (attempt %s): %s",
                        claimed.kind,
                        claimed.id,
                        claimed.attempts,
                        reason,
                    )
                    await outbox.fail(self.services, claimed, reason)
                else:
                    await outbox.complete(self.services, claimed.id)
                    done += 1
            return done

    async def _view(self, payload: dict[str, Any]) -> RemovalView:
        return await get_removal(self.services, int(payload["request_id"]))

    async def _create_ticket(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        if view.ticket_reference:
            return
        name, email = await requester_contact(self.services, view.id)
        ref = await self.tickets.create(
            NewTicket(
                account_id=view.account_id,
                requester_name=name,
                requester_email=email,
                subject=f"Remove {view.remove_count} license(s) from {view.account_name} ({view.reference})",
                body=(
                    f"Account: {view.account_name} ({view.account_id}), plan {view.plan_name}\n"
                    f"Licenses now: {view.licenses_at_request}\n"
                    f"Requested: remove {view.remove_count}, leaving {view.licenses_after}\n"
                    f"Timing: {view.timing.label} ({view.requested_effective_at.date().isoformat()})\n"
                    f"Requested by Slack user {view.requested_by}\n\n"
                    f"Reason:\n{view.reason}\n"
                ),
            ),
            # Stable across retries: a POST that timed out but went through is not repeated.
            idempotency_key=f"licensebot-{view.reference}",
        )
        await record_ticket(self.services, view.id, ref.reference, ref.url)

    async def _route_ticket(self, payload: dict[str, Any]) -> None:
        """A ticket for a request routed to Sales; the requester gets its reference."""
        overview = await show_account(self.services, str(payload["account_id"]))
        requester = str(payload["requester"])
        wanted = payload.get("wanted")
        what = f"{wanted} more licenses" if wanted else "more licenses"
        ref = await self.tickets.create(
            NewTicket(
                account_id=overview.account_id,
                requester_name=None,
                requester_email=None,
                subject=f"{overview.name} asks for {what} ({payload['route']})",
                body=(
                    f"Account: {overview.name} ({overview.account_id}), plan {overview.plan_name}, "
                    f"{overview.terms.licenses} licenses\n"
                    f"Requested by Slack user {requester}: {what}\n"
                    f"Not self-serve: {overview.capacity.reason or 'routed by the plan rules'}\n"
                ),
                tags=("licensebot", f"license_{payload['route']}"),
            ),
            idempotency_key=str(payload["key"]),
        )
        link = f"<{ref.url}|{ref.reference}>" if ref.url else ref.reference
        await send_dm(
            self.client,
            requester,
            f"Your request for {what} for {overview.name} is with Sales: ticket {link}.",
        )

    async def _resolve_ticket(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        if not view.ticket_reference:
            raise NotYet("the ticket has not been created yet")
        note = f" Note: {view.decision_note}" if view.decision_note else ""
        await self.tickets.resolve(
            view.ticket_reference,
            f"{_verdict(view).capitalize()} in Slack by {view.decided_by}.{note}",
        )

    async def _post_request(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        if view.message_ts:
            return
        channel = self.settings.csm_channel_id
        if channel is None and view.csm_user_id:
            opened = await self.client.conversations_open(users=view.csm_user_id)
            channel = opened["channel"]["id"]
        if channel is None:
            log.warning(
                "no CSM_CHANNEL_ID and no CSM for %s: %s waits in App Home and the ticket",
                view.account_id,
                view.reference,
            )
            return
        posted = await self.client.chat_postMessage(
            channel=channel, text=removal_message_text(view), blocks=build_removal_message(view)
        )
        await record_message(self.services, view.id, posted["channel"], posted["ts"])

    async def _refresh_message(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        if view.message_ts and view.channel_id:
            await self.client.chat_update(
                channel=view.channel_id,
                ts=view.message_ts,
                text=removal_message_text(view),
                blocks=build_removal_message(view),
            )

    async def _reply(self, view: RemovalView, text: str) -> None:
        """A reply in the request's thread, once the request has been posted."""
        if view.message_ts and view.channel_id:
            await self.client.chat_postMessage(
                channel=view.channel_id, thread_ts=view.message_ts, text=text
            )
        elif self.settings.csm_channel_id is not None or view.csm_user_id:
            raise NotYet("the channel message has not been posted yet")

    async def _thread_decision(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        note = f" Note: {view.decision_note}" if view.decision_note else ""
        when = f", effective {view.effective_at.date().isoformat()}" if view.effective_at else ""
        await self._reply(view, f"<@{view.decided_by}> {_verdict(view)} this request{when}.{note}")

    async def _thread_applied(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        await self._reply(
            view,
            f"Applied: {view.remove_count:,} license(s) removed; {view.account_name} now has "
            f"{view.licenses_left:,}.",
        )

    async def _thread_reminder(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        who = f"<@{view.csm_user_id}>" if view.csm_user_id else "CSM team"
        await self._reply(
            view,
            f":bell: {who}, {view.reference} from <@{view.requested_by}> is still waiting for a "
            f"decision (reminder {payload.get('number', 1)} of 3).",
        )

    async def _notify_requester(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        text = requester_update_text(view, str(payload.get("stage", "decided")))
        await send_dm(self.client, view.requested_by, text)

    async def _refresh_home(self, payload: dict[str, Any]) -> None:
        view = await self._view(payload)
        if self.publish_home and view.team_id:
            await self.publish_home(view.team_id, view.requested_by)
