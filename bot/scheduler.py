"""Scheduled jobs. The database is the source of truth: the scheduler only ticks.

Each tick claims its rows (FOR UPDATE SKIP LOCKED on PostgreSQL), so a restart loses
nothing and two scheduler processes never act on the same row twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.bootstrap import Runtime
from bot.services.orders import resume_pending_orders
from bot.services.reminders import ADD_REQUESTS, REMOVALS, escalate_overdue, send_due_reminders
from bot.services.removals import apply_due_removals

log = logging.getLogger(__name__)

OUTBOX_SECONDS = 15
ORDERS_SECONDS = 60
REMOVALS_SECONDS = 60
# Reminders and escalations: at least once a minute, so a fractional REMOVAL_REMINDER_HOURS
# (0.5) keeps its rhythm to the minute.
REMINDERS_SECONDS = 60


async def apply_removals_job(runtime: Runtime) -> None:
    applied = await apply_due_removals(runtime.services)
    if applied:
        log.info("applied %d removal(s)", len(applied))
        await runtime.effects.drain()


async def reminders_job(runtime: Runtime) -> None:
    """Reminders of requests waiting for a CSM (removals, and more licenses), then
    escalations of those past their last one."""
    acted = False
    for kind in (REMOVALS, ADD_REQUESTS):
        reminded = await send_due_reminders(runtime.services, kind)
        escalated = await escalate_overdue(runtime.services, kind)
        if escalated:
            log.info("escalated %d request(s) (%s)", len(escalated), kind.escalated)
        acted = acted or bool(reminded or escalated)
    if acted:
        await runtime.effects.drain()


async def pending_orders_job(runtime: Runtime) -> None:
    """Orders a crash or an unreachable provider left pending, charged with the same keys."""
    resolved = await resume_pending_orders(runtime.services)
    if resolved:
        log.info("resolved %d pending order(s)", len(resolved))
        await runtime.effects.drain()


async def outbox_job(runtime: Runtime) -> None:
    await runtime.effects.drain()


async def run_due_work(runtime: Runtime) -> None:
    """Everything the jobs do, once, in order (also used by tests that travel in time)."""
    await pending_orders_job(runtime)
    await apply_removals_job(runtime)
    await reminders_job(runtime)
    await outbox_job(runtime)


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    jobs: tuple[tuple[str, Callable[[Runtime], Awaitable[Any]], int], ...] = (
        ("outbox", outbox_job, OUTBOX_SECONDS),
        ("pending_orders", pending_orders_job, ORDERS_SECONDS),
        ("apply_removals", apply_removals_job, REMOVALS_SECONDS),
        ("removal_reminders", reminders_job, REMINDERS_SECONDS),
    )
    for job_id, job, seconds in jobs:
        scheduler.add_job(
            job, "interval", seconds=seconds, id=job_id, args=(runtime,), replace_existing=True
        )
    return scheduler
