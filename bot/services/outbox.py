"""The outbox: effects on the outside world, written in the same transaction as the change.

Rows are claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), so two workers never
run one entry at once, and an entry whose worker died is picked up again when its lease
ends. Effects may therefore run more than once after a crash; each one is written to be
harmless when repeated (updates by id, DMs that restate the state).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.pricing import Quote
from bot.models import OutboxEntry
from bot.readmodels import Receipt
from bot.services.context import ServiceContext

LEASE = timedelta(minutes=2)
# How long work held by a listener is left to it before the scheduler takes it over.
HOLD = timedelta(seconds=30)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(minutes=15)
# After this many failures an entry is set aside as "dead" and logged loudly.
MAX_ATTEMPTS = 30


class Kind(StrEnum):
    """Every kind of effect; the value is what the outbox row stores."""

    TICKET_CREATE = "ticket.create"
    TICKET_RESOLVE = "ticket.resolve"
    TICKET_ROUTE = "ticket.route"
    CSM_REQUEST_POST = "route.csm_post"
    ADD_REQUEST_NOTIFY = "route.notify_requester"
    ADD_REQUEST_REFRESH = "route.csm_refresh"
    ADD_REQUEST_REMIND = "route.thread_reminder"
    ADD_REQUEST_ESCALATE = "route.escalate"
    REMOVAL_POST = "removal.post"
    REMOVAL_REFRESH = "removal.refresh"
    THREAD_DECISION = "removal.thread_decision"
    THREAD_APPLIED = "removal.thread_applied"
    THREAD_REMINDER = "removal.thread_reminder"
    REMOVAL_ESCALATE = "removal.escalate"
    NOTIFY_REQUESTER = "removal.notify_requester"
    HOME_REFRESH = "home.refresh"
    HOME_PUBLISH = "home.publish"
    DM_SEND = "dm.send"
    RECEIPT_SEND = "order.receipt"
    ORDER_PLACE = "order.place"
    CSM_NOTICE = "csm.notice"
    ORDER_FAILED = "order.failed"
    BILLING_QUANTITY = "billing.quantity"
    HOME_ADMINS = "home.admins"


class Effect(BaseModel):
    """The payload of one outbox entry; each subclass is one kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[Kind]
    # The Slack workspace the effect speaks to; None is the vendor's (CSM channel, CSMs).
    team_id: str | None = None


class RemovalEffect(Effect):
    request_id: int


class CreateRemovalTicket(RemovalEffect):
    kind = Kind.TICKET_CREATE


class ResolveRemovalTicket(RemovalEffect):
    kind = Kind.TICKET_RESOLVE


class PostRemoval(RemovalEffect):
    """The request in the CSM channel, with Approve / Deny."""

    kind = Kind.REMOVAL_POST


class RefreshRemoval(RemovalEffect):
    """The channel message redrawn in place (ticket known, decided, applied)."""

    kind = Kind.REMOVAL_REFRESH


class ReplyDecision(RemovalEffect):
    kind = Kind.THREAD_DECISION


class ReplyApplied(RemovalEffect):
    kind = Kind.THREAD_APPLIED


class ReplyReminder(RemovalEffect):
    kind = Kind.THREAD_REMINDER
    number: int


class EscalateRemoval(RemovalEffect):
    """A request nobody decided after its last reminder, to ESCALATION_CHANNEL_ID (channel
    set) or to one CSM by DM (`user_id` set), in the vendor's workspace."""

    kind = Kind.REMOVAL_ESCALATE
    channel: str | None = None
    user_id: str | None = None


class RequesterStage(StrEnum):
    RECEIVED = "received"
    DECIDED = "decided"
    APPLIED = "applied"


class NotifyRequester(RemovalEffect):
    """The admin who asked hears of each step by DM."""

    kind = Kind.NOTIFY_REQUESTER
    stage: RequesterStage = RequesterStage.DECIDED


class RefreshRequesterHome(RemovalEffect):
    kind = Kind.HOME_REFRESH


class RoutedRequest(Effect):
    """An admin's request for licenses that the plan rules send to someone.

    `request_id` is its record (bot/services/requests.py), which the effect draws from;
    entries queued before requests were recorded have none and record theirs when run.
    """

    account_id: str
    requester: str
    wanted: int | None = None
    request_id: int | None = None


class OpenRouteTicket(RoutedRequest):
    """A ticket for Sales; the requester gets its reference by DM."""

    kind = Kind.TICKET_ROUTE
    route: str
    # Stable across retries: a ticket POST that timed out but went through is not repeated.
    key: str


class PostCsmRequest(RoutedRequest):
    """ "Ask my CSM": the request in the CSM channel (or the CSM's DMs)."""

    kind = Kind.CSM_REQUEST_POST


class NotifyAddRequester(Effect):
    """The admin who asked their CSM hears what was asked, of whom, and its reference;
    `decided`: then what the CSM decided."""

    kind = Kind.ADD_REQUEST_NOTIFY
    request_id: int
    decided: bool = False


class RefreshAddRequest(Effect):
    """The CSM's post of a request for more licenses redrawn: its buttons become the
    decision once there is one."""

    kind = Kind.ADD_REQUEST_REFRESH
    request_id: int


class RemindAddRequest(Effect):
    """A reminder in the thread of the CSM's post of a request nobody decided yet."""

    kind = Kind.ADD_REQUEST_REMIND
    request_id: int
    number: int


class EscalateAddRequest(Effect):
    """A request for more licenses nobody decided after its last reminder, to
    ESCALATION_CHANNEL_ID (`channel`) or to one CSM by DM (`user_id`)."""

    kind = Kind.ADD_REQUEST_ESCALATE
    request_id: int
    channel: str | None = None
    user_id: str | None = None


class PublishHome(Effect):
    """A user's App Home drawn again from what is true when it runs (the last one wins)."""

    kind = Kind.HOME_PUBLISH
    team_id: str
    user_id: str


class SendDm(Effect):
    """A direct message whose words were settled when it was queued."""

    kind = Kind.DM_SEND
    user_id: str
    text: str
    blocks: list[dict[str, Any]] | None = None


class NotifyCsmChannel(Effect):
    """A line for the CSMs in the CSM channel (a workspace linked, an app uninstalled)."""

    kind = Kind.CSM_NOTICE
    text: str


class SendReceipt(Effect):
    """An order's receipt to the admin who placed it, once the order is recorded."""

    kind = Kind.RECEIPT_SEND
    reference: str
    # The paid order as it was recorded (it doesn't change after): drawn without a read.
    receipt: Receipt | None = None


class SendOrderFailed(Effect):
    """Why an order failed (a declined card), to the admin who placed it."""

    kind = Kind.ORDER_FAILED
    reference: str


class SyncSubscription(Effect):
    """The billing provider's subscription made to bill the account's license count.

    The count is read when it runs, so the last one to run writes what is true then.
    """

    kind = Kind.BILLING_QUANTITY
    account_id: str


class PublishAdminHomes(Effect):
    """Every admin's App Home of an account drawn again (a change made outside Slack)."""

    kind = Kind.HOME_ADMINS
    account_id: str


class PlaceOrder(Effect):
    """An Order Now the admin confirmed, written before the ack: a crash can't lose it."""

    kind = Kind.ORDER_PLACE
    account_id: str
    team_id: str
    user_id: str
    email: str | None = None
    add: int
    idempotency_key: str
    # The quote the admin confirmed (sealed in the modal, so it is the one the bot showed).
    quote: Quote | None
    confirmed_at: datetime
    # The add modal's own id: its "placing" screen is replaced with the outcome.
    modal_id: str


# Kinds whose entries for the same payload are one piece of work: a drain runs the last.
COALESCED = frozenset(
    {Kind.HOME_PUBLISH, Kind.HOME_REFRESH, Kind.HOME_ADMINS, Kind.BILLING_QUANTITY}
)


def enqueue(session: AsyncSession, effect: Effect, now: datetime) -> None:
    """Written in the caller's transaction: the effect happens if and only if it commits."""
    session.add(
        OutboxEntry(
            kind=effect.kind.value,
            payload=effect.model_dump(mode="json"),
            status="pending",
            next_attempt_at=now,
        )
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


def backoff(attempts: int) -> timedelta:
    delay: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_RETRY)


async def claim_due(ctx: ServiceContext, limit: int = 20) -> list[Claimed]:
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        rows = list(
            await session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.status == "pending", OutboxEntry.next_attempt_at <= now)
                .order_by(OutboxEntry.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
        return [Claimed(row.id, row.kind, dict(row.payload), row.attempts) for row in rows]


async def enqueue_now(ctx: ServiceContext, *effects: Effect) -> None:
    """Effects that belong to no other change, queued in a transaction of their own."""
    async with ctx.sessions() as session, session.begin():
        for effect in effects:
            enqueue(session, effect, ctx.clock())


async def hold_in(session: AsyncSession, effect: Effect, now: datetime) -> Claimed:
    """Queue an effect already claimed by the caller, who carries it out right away, in the
    caller's transaction: held if and only if the change commits.

    If the caller dies first, the scheduler finds it when the hold ends and carries it out.
    """
    row = OutboxEntry(
        kind=effect.kind.value,
        payload=effect.model_dump(mode="json"),
        status="pending",
        attempts=1,
        next_attempt_at=now + HOLD,
    )
    session.add(row)
    await session.flush()
    return Claimed(row.id, row.kind, dict(row.payload), row.attempts)


async def mark_done(session: AsyncSession, entry_id: int, now: datetime) -> None:
    """An entry's work finished in the caller's transaction: done if and only if it commits."""
    await session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id)
        .values(status="done", done_at=now, last_error=None)
    )


def superseded(claimed: list[Claimed]) -> list[Claimed]:
    """Entries of a coalesced kind that a later claimed entry with the same payload repeats."""

    def key(entry: Claimed) -> tuple[str, str]:
        return entry.kind, json.dumps(entry.payload, sort_keys=True)

    last = {key(entry): entry.id for entry in claimed if entry.kind in COALESCED}
    return [entry for entry in claimed if key(entry) in last and last[key(entry)] != entry.id]


async def complete(ctx: ServiceContext, *entry_ids: int) -> None:
    """These entries are done, in one transaction."""
    if not entry_ids:
        return
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(entry_ids))
            .values(status="done", done_at=ctx.clock(), last_error=None)
        )


async def fail(ctx: ServiceContext, claimed: Claimed, error: str, *, final: bool = False) -> None:
    """Retry later with backoff; `final` (or too many attempts) sets the entry aside."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(OutboxEntry, claimed.id)
        if row is None:
            return
        row.last_error = error[:2000]
        if final or claimed.attempts >= MAX_ATTEMPTS:
            row.status = "dead"
        else:
            row.next_attempt_at = ctx.clock() + backoff(claimed.attempts)


async def pending_count(ctx: ServiceContext) -> int:
    async with ctx.sessions() as session, session.begin():
        rows = await session.scalars(select(OutboxEntry.id).where(OutboxEntry.status == "pending"))
        return len(list(rows))
