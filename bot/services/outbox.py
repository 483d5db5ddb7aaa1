"""The outbox: effects on the outside world, written in the same transaction as the change.

Rows are claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), so two workers never
run one entry at once, and an entry whose worker died is picked up again when its lease
ends. Effects may therefore run more than once after a crash; each one is written to be
harmless when repeated (updates by id, DMs that restate the state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OutboxEntry
from bot.services.context import ServiceContext

LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(minutes=15)
# After this many failures an entry is set aside as "dead" and logged loudly.
MAX_ATTEMPTS = 30


def enqueue(session: AsyncSession, kind: str, now: datetime, **payload: Any) -> None:
    session.add(OutboxEntry(kind=kind, payload=payload, status="pending", next_attempt_at=now))


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


async def complete(ctx: ServiceContext, entry_id: int) -> None:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(OutboxEntry, entry_id)
        if row is not None:
            row.status = "done"
            row.done_at = ctx.clock()
            row.last_error = None


async def fail(ctx: ServiceContext, claimed: Claimed, error: str) -> None:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(OutboxEntry, claimed.id)
        if row is None:
            return
        row.last_error = error[:2000]
        if claimed.attempts >= MAX_ATTEMPTS:
            row.status = "dead"
        else:
            row.next_attempt_at = ctx.clock() + backoff(claimed.attempts)


async def pending_count(ctx: ServiceContext) -> int:
    async with ctx.sessions() as session, session.begin():
        rows = await session.scalars(select(OutboxEntry.id).where(OutboxEntry.status == "pending"))
        return len(list(rows))
