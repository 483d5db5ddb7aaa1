"""Requests for more licenses nobody decides: reminded and escalated as removal requests are.

On SQLite and PostgreSQL, with REMOVAL_REMINDER_HOURS=0.5; the scheduler is stood in by
calling its job once a minute of the test clock, and Slack by the sandbox's fake Web API.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import create_engine, session_factory
from bot.domain.policy import Route
from bot.domain.removal import Timing
from bot.models import AuditEntry
from bot.sandbox.fake_slack import FakeSlack, permalink
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from bot.services.reminders import ADD_REQUESTS, REMOVALS, escalate_overdue, send_due_reminders
from bot.services.removals import request_removal
from bot.services.requests import deny_add_request, request_licenses
from tests.accounts import account
from tests.clocks import Clock
from tests.services.test_escalation import (
    ANN,
    CASEY,
    ESCALATIONS,
    NOW,
    STEP,
    NoPermalinkSlack,
    entries,
    shown,
    stage,
    with_settings,
)
from tests.services.test_escalation import escalated_at as removal_escalated_at
from tests.services.test_escalation import tick as removal_tick

REMIND, ESCALATE = "route.thread_reminder", "route.escalate"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def svc(ctx: ServiceContext, clock: Clock) -> ServiceContext:
    """Acme imported (its CSM: U0CSM; CSM_USER_IDS: U0CSM2, U0CSM3); escalations to C0ESC."""
    services = with_settings(ctx, clock, escalation_channel_id=ESCALATIONS)
    await import_accounts(services, {"accounts": [account()]}, actor="tests")
    return services


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def ask(svc: ServiceContext, route: Route = Route.CSM, wanted: int = 2) -> int:
    """Ann (Acme's admin) asks for `wanted` more licenses: LR-00001, LR-00002, …"""
    return (await request_licenses(svc, "acme", ANN, "T0ACME", route, wanted)).id


async def deny(svc: ServiceContext, request_id: int) -> None:
    await deny_add_request(svc, request_id, CASEY, "Not before the renewal.")


async def tick(svc: ServiceContext, clock: Clock, until: timedelta) -> dict[str, list[datetime]]:
    return await removal_tick(svc, clock, until, ADD_REQUESTS)


async def escalated_at(svc: ServiceContext, request_id: int) -> datetime | None:
    return await removal_escalated_at(svc, request_id, ADD_REQUESTS)


# --- when: reminders, then one escalation ----------------------------------------------------


async def test_reminded_every_half_hour_three_times_then_escalated_once_never_again(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)

    queued = await tick(svc, clock, until=24 * STEP)  # 12 hours

    assert queued["reminded"] == [NOW + STEP, NOW + 2 * STEP, NOW + 3 * STEP]
    assert queued["escalated"] == [NOW + 4 * STEP]
    assert await entries(svc, REMIND) == [
        {"team_id": None, "request_id": request_id, "number": n} for n in (1, 2, 3)
    ]
    assert await entries(svc, ESCALATE) == [
        {"team_id": None, "request_id": request_id, "channel": ESCALATIONS, "user_id": None}
    ]
    assert await escalated_at(svc, request_id) == NOW + 4 * STEP
    async with svc.sessions() as session:
        audit = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "request.escalated")
            )
        )
    assert [(e.actor, e.detail["request"], e.detail["to"]) for e in audit] == [
        ("scheduler", "LR-00001", [ESCALATIONS])
    ]
    # The removal kind neither reminds nor escalates a request for more licenses.
    assert await send_due_reminders(svc, REMOVALS) == []
    assert await entries(svc, "removal.thread_reminder") == []


async def test_decided_and_sales_requests_are_never_reminded_or_escalated(
    svc: ServiceContext, clock: Clock
) -> None:
    waiting, denied_early, denied_late = await ask(svc), await ask(svc), await ask(svc)
    sales = await ask(svc, Route.SALES)
    clock.travel(minutes=10)
    await deny(svc, denied_early)  # before its first reminder
    await tick(svc, clock, until=3 * STEP)
    clock.now = NOW + 4 * STEP - timedelta(minutes=1)
    await deny(svc, denied_late)  # reminded three times, a minute before its escalation

    await tick(svc, clock, until=20 * STEP)

    reminded = [e["request_id"] for e in await entries(svc, REMIND)]
    assert sorted(reminded) == sorted([waiting, denied_late] * 3)
    assert [e["request_id"] for e in await entries(svc, ESCALATE)] == [waiting]
    for never in (denied_early, denied_late, sales):
        assert await escalated_at(svc, never) is None


@pytest.mark.parametrize(
    ("settings", "targets"),
    [
        ({"escalation_channel_id": ESCALATIONS}, [(ESCALATIONS, None)]),
        ({}, [(None, "U0CSM2"), (None, "U0CSM3")]),  # each of CSM_USER_IDS by DM
        ({"csm_user_ids": ""}, [(None, "U0CSM")]),  # else the account's CSM
    ],
)
async def test_escalated_to_the_channel_else_each_csm_by_dm(
    ctx: ServiceContext, clock: Clock, settings: dict[str, Any], targets: list[tuple[Any, Any]]
) -> None:
    svc = with_settings(ctx, clock, **settings)
    await import_accounts(svc, {"accounts": [account()]}, actor="tests")
    request_id = await ask(svc)

    await tick(svc, clock, until=8 * STEP)

    assert await entries(svc, ESCALATE) == [
        {"team_id": None, "request_id": request_id, "channel": channel, "user_id": user}
        for channel, user in targets
    ]


async def test_several_schedulers_and_a_restart_escalate_a_request_once(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)
    await tick(svc, clock, until=3 * STEP)
    clock.now = NOW + 4 * STEP
    # Three scheduler processes, each with its own engine, tick at the same moment.
    engines = [create_engine(svc.settings.database_url) for _ in range(3)]
    try:
        instances = [dataclasses.replace(svc, sessions=session_factory(e)) for e in engines]
        results = await asyncio.gather(*(escalate_overdue(s, ADD_REQUESTS) for s in instances))
        clock.travel(days=1)  # a scheduler started a day later finds it done
        assert await escalate_overdue(instances[0], ADD_REQUESTS) == []
    finally:
        for engine in engines:
            await engine.dispose()

    assert sorted(id_ for result in results for id_ in result) == [request_id]
    assert len(await entries(svc, ESCALATE)) == 1


# --- what the CSMs see in Slack --------------------------------------------------------------


async def test_the_reminders_reply_under_the_post_and_the_escalation_links_it(
    svc: ServiceContext, clock: Clock, slack: FakeSlack
) -> None:
    on = await stage(svc, slack)
    await ask(svc)
    await on.effects.drain()
    [post] = on.messages("C0CSM")

    while clock.now <= NOW + 10 * STEP:
        await on.run_job()
        clock.travel(minutes=1)

    replies = [m["text"] for m in slack.messages["C0CSM"] if m.get("thread_ts") == post["ts"]]
    assert replies == [
        f":bell: <@U0CSM>, LR-00001 from <@U0ANN> is still waiting for a decision "
        f"(reminder {n} of 3)."
        for n in (1, 2, 3)
    ]
    [escalation] = on.messages(ESCALATIONS)
    link = permalink("C0CSM", post["ts"])
    assert escalation["text"] == (
        ":rotating_light: Escalated: request for more licenses LR-00001 for Acme Corp "
        "(add 2 licenses, asked by <@U0ANN>) has been open for 2 hours without a decision. " + link
    )
    seen = shown(escalation)
    assert "request for more licenses LR-00001* for *Acme Corp*" in seen
    assert "*Account*\nAcme Corp (Pro)" in seen
    assert "*Requested by*\n<@U0ANN>" in seen
    assert "*Licenses to add*\n2 more licenses" in seen
    # 2 × $49.00 for the 14.6 of November's 30 days left, then 12 licenses a month.
    assert "*Price when asked*\n$47.78 due today, then $588.00 per month" in seen
    assert "*Open for*\n2 hours" in seen  # open since NOW, escalated at NOW + 4 × 30 minutes
    assert "*Reference*\nLR-00001" in seen
    assert f"<{link}|Open LR-00001 in the CSM channel>" in seen


async def test_without_a_channel_each_csm_gets_one_dm(
    ctx: ServiceContext, clock: Clock, slack: FakeSlack
) -> None:
    svc = with_settings(ctx, clock)
    await import_accounts(svc, {"accounts": [account()]}, actor="tests")
    on = await stage(svc, slack)
    await ask(svc)

    while clock.now <= NOW + 10 * STEP:
        await on.run_job()
        clock.travel(minutes=1)

    for user in ("U0CSM2", "U0CSM3"):
        [dm] = on.messages(slack.dm_channel(user))
        assert "LR-00001" in dm["text"] and "Acme Corp" in shown(dm)
    assert on.messages(ESCALATIONS) == []


async def test_without_a_link_to_the_post_the_escalation_points_to_the_queue(
    svc: ServiceContext, clock: Clock
) -> None:
    async with NoPermalinkSlack() as plain_slack:
        on = await stage(svc, plain_slack)
        await ask(svc)
        while clock.now <= NOW + 10 * STEP:
            await on.run_job()
            clock.travel(minutes=1)

        [escalation] = on.messages(ESCALATIONS)
        assert (
            "LR-00001 has no post in the CSM channel to link to: "
            "decide it from the CSM queue (`/licenses`)."
        ) in shown(escalation)
        assert "archives" not in shown(escalation) + escalation["text"]


async def test_a_request_decided_while_its_escalation_waits_is_not_announced(
    svc: ServiceContext, clock: Clock, slack: FakeSlack
) -> None:
    on = await stage(svc, slack)
    request_id = await ask(svc)
    await on.effects.drain()
    await tick(svc, clock, until=4 * STEP)  # reminders and escalation queued, none carried out
    assert len(await entries(svc, ESCALATE)) == 1
    await deny(svc, request_id)

    await on.effects.drain()

    assert on.messages(ESCALATIONS) == []
    assert [m for m in slack.messages["C0CSM"] if m.get("thread_ts")] == []  # nor reminded


async def test_the_reminders_job_handles_removals_and_add_requests_in_one_tick(
    svc: ServiceContext, clock: Clock, slack: FakeSlack
) -> None:
    on = await stage(svc, slack)
    await request_removal(svc, "acme", ANN, 2, "Two people left.", Timing.RENEWAL, "Ann Admin")
    await ask(svc)
    await on.effects.drain()

    clock.now = NOW + STEP
    await on.run_job()  # one run: both first reminders, carried out

    assert [e["number"] for e in await entries(svc, "removal.thread_reminder")] == [1]
    assert [e["number"] for e in await entries(svc, REMIND)] == [1]
    threaded = [m["text"] for m in slack.messages["C0CSM"] if m.get("thread_ts")]
    assert sorted(t.split(" from ")[0] for t in threaded) == [
        ":bell: <@U0CSM>, LR-00001",
        ":bell: <@U0CSM>, RR-00001",
    ]
    clock.now = NOW + 2 * STEP
    await on.run_job()
    clock.now = NOW + 3 * STEP
    await on.run_job()
    clock.now = NOW + 4 * STEP
    await on.run_job()  # one run: both escalated

    escalations = [m["text"] for m in on.messages(ESCALATIONS)]
    assert sorted(t.split(" for Acme")[0] for t in escalations) == [
        ":rotating_light: Escalated: removal request RR-00001",
        ":rotating_light: Escalated: request for more licenses LR-00001",
    ]
