"""Scheduled jobs. The database is the source of truth: the scheduler only ticks.

Each tick claims its rows (FOR UPDATE SKIP LOCKED on PostgreSQL), so a restart loses
nothing and two scheduler processes never act on the same row twice.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.effects import Effects
from bot.services.context import ServiceContext
from bot.services.removals import apply_due_removals, send_due_reminders

log = logging.getLogger(__name__)

OUTBOX_SECONDS = 15
REMOVALS_SECONDS = 60
REMINDERS_SECONDS = 300


async def apply_removals_job(services: ServiceContext, effects: Effects) -> None:
    applied = await apply_due_removals(services)
    if applied:
        log.info("applied %d removal(s)", len(applied))
        await effects.drain()


async def reminders_job(services: ServiceContext, effects: Effects) -> None:
    if await send_due_reminders(services):
        await effects.drain()


async def outbox_job(effects: Effects) -> None:
    await effects.drain()


async def run_due_work(services: ServiceContext, effects: Effects) -> None:
    """Everything the jobs do, once, in order (also used by tests that travel in time)."""
    await apply_removals_job(services, effects)
    await reminders_job(services, effects)
    await outbox_job(effects)


def build_scheduler(services: ServiceContext, effects: Effects) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    jobs = (
        ("outbox", outbox_job, (effects,), OUTBOX_SECONDS),
        ("apply_removals", apply_removals_job, (services, effects), REMOVALS_SECONDS),
        ("removal_reminders", reminders_job, (services, effects), REMINDERS_SECONDS),
    )
    for job_id, func, args, seconds in jobs:
        scheduler.add_job(
            func, "interval", seconds=seconds, id=job_id, args=args, replace_existing=True
        )
    return scheduler
