"""Requests nobody decides: reminded in their thread one REMOVAL_REMINDER_HOURS after they
were made, then one each interval, 3 times at most, then escalated once. Removal requests
and requests for more licenses to the CSM alike."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select

from bot.domain.policy import RequestStatus, Route
from bot.domain.removal import MAX_REMINDERS, RemovalStatus, escalation_due, reminder_due
from bot.models import AddRequest, RemovalRequest
from bot.services import audit
from bot.services.accounts import load_account
from bot.services.context import ServiceContext
from bot.services.outbox import (
    Effect,
    EscalateAddRequest,
    EscalateRemoval,
    RemindAddRequest,
    ReplyReminder,
    enqueue,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Waiting:
    """One kind of request that waits for a CSM: which rows wait, and the effects that
    remind of one (request id, number) and escalate it (request id, channel, user)."""

    model: Any  # RemovalRequest or AddRequest: the columns used here are named alike
    waiting: tuple[ColumnElement[bool], ...]
    reminder: Callable[[int, int], Effect]
    escalation: Callable[[int, str | None, str | None], Effect]
    escalated: str  # the audit entry's action


REMOVALS = Waiting(
    RemovalRequest,
    (RemovalRequest.status == RemovalStatus.PENDING.value,),
    lambda request, number: ReplyReminder(request_id=request, number=number),
    lambda request, channel, user: EscalateRemoval(
        request_id=request, channel=channel, user_id=user
    ),
    "removal.escalated",
)
ADD_REQUESTS = Waiting(
    AddRequest,
    (AddRequest.status == RequestStatus.PENDING.value, AddRequest.route == Route.CSM.value),
    lambda request, number: RemindAddRequest(request_id=request, number=number),
    lambda request, channel, user: EscalateAddRequest(
        request_id=request, channel=channel, user_id=user
    ),
    "request.escalated",
)


def reminder_interval(ctx: ServiceContext) -> timedelta:
    """REMOVAL_REMINDER_HOURS: request → 1st reminder → … → 3rd → escalation, one each."""
    return timedelta(hours=ctx.settings.removal_reminder_hours)


async def send_due_reminders(ctx: ServiceContext, kind: Waiting = REMOVALS) -> list[int]:
    """Pending requests nobody decided: remind the CSM in the thread, one interval after the
    request, then one each interval, at most 3 times. Returns the ids reminded."""
    now = ctx.clock()
    interval = reminder_interval(ctx)
    model = kind.model
    reminded: list[int] = []
    async with ctx.sessions() as session, session.begin():
        pending = await session.scalars(
            select(model)
            .where(
                *kind.waiting,
                model.reminders_sent < MAX_REMINDERS,
                model.created_at <= now - interval,
            )
            .order_by(model.id)
            .with_for_update(skip_locked=True)
        )
        for row in pending:
            if not reminder_due(
                row.created_at, row.reminders_sent, row.last_reminder_at, now, interval
            ):
                continue
            row.reminders_sent += 1
            row.last_reminder_at = now
            enqueue(session, kind.reminder(row.id, row.reminders_sent), now)
            reminded.append(row.id)
    return reminded


def escalation_targets(
    ctx: ServiceContext, account_csm: str | None
) -> list[tuple[str | None, str | None]]:
    """ESCALATION_CHANNEL_ID if set, else each of CSM_USER_IDS by DM, else the account's
    CSM: as (channel, user) pairs."""
    channel = ctx.settings.escalation_channel_id
    if channel is not None:
        return [(channel, None)]
    users = sorted(ctx.settings.csm_user_id_set) or ([account_csm] if account_csm else [])
    return [(None, user) for user in users]


async def escalate_overdue(ctx: ServiceContext, kind: Waiting = REMOVALS) -> list[int]:
    """Requests still pending one interval after their last reminder: escalated, once.

    The row is marked in the transaction that queues the messages, and rows are claimed
    (SKIP LOCKED), so several schedulers, restarts and retries escalate a request once.
    """
    now = ctx.clock()
    interval = reminder_interval(ctx)
    model = kind.model
    escalated: list[int] = []
    async with ctx.sessions() as session, session.begin():
        overdue = list(
            await session.scalars(
                select(model)
                .where(
                    *kind.waiting,
                    model.escalated_at.is_(None),
                    model.reminders_sent >= MAX_REMINDERS,
                    model.last_reminder_at <= now - interval,
                )
                .order_by(model.id)
                .with_for_update(skip_locked=True)
            )
        )
        for row in overdue:
            if not escalation_due(
                row.reminders_sent, row.last_reminder_at, row.escalated_at, now, interval
            ):
                continue
            row.escalated_at = now
            account = await load_account(session, row.account_id)
            targets = escalation_targets(ctx, account.csm_slack_user_id)
            if not targets:
                log.warning(
                    "%s escalated with nobody to tell: set ESCALATION_CHANNEL_ID or CSM_USER_IDS",
                    row.reference,
                )
            audit.record(
                session,
                row.account_id,
                "scheduler",
                kind.escalated,
                request=row.reference,
                to=[channel or user for channel, user in targets],
            )
            for channel, user in targets:
                enqueue(session, kind.escalation(row.id, channel, user), now)
            escalated.append(row.id)
    return escalated
