"""Removal requests nobody decides: reminders every REMOVAL_REMINDER_HOURS, then one escalation.

On SQLite and PostgreSQL; the scheduler is stood in by calling its job once a minute of
the test clock, and Slack by the sandbox's fake Web API.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.bootstrap import Runtime
from bot.db import create_engine, session_factory
from bot.domain.removal import Timing, Verdict
from bot.effects import EffectDeps, Effects
from bot.integrations.slack_directory import SlackDirectory
from bot.integrations.tickets import BuiltinTickets
from bot.integrations.workspaces import OneWorkspace
from bot.models import AuditEntry, OutboxEntry
from bot.readmodels import AdminIdentity, SlackUser
from bot.sandbox.fake_slack import FakeSlack, JsonDict, permalink
from bot.scheduler import build_scheduler, reminders_job
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from bot.services.reminders import REMOVALS, Waiting, escalate_overdue, send_due_reminders
from bot.services.removals import decide_removal, request_removal
from tests.accounts import account
from tests.clocks import Clock
from tests.conftest import make_settings

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
ANN = AdminIdentity("U0ANN")
CASEY = SlackUser("U0CSM", "T0VENDOR")
CSMS = "U0CSM2,U0CSM3"
ESCALATIONS = "C0ESC"
# REMOVAL_REMINDER_HOURS=0.5 in these tests: one step every half hour.
STEP = timedelta(minutes=30)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def with_settings(ctx: ServiceContext, clock: Clock, **overrides: Any) -> ServiceContext:
    values: dict[str, Any] = {
        "csm_user_ids": CSMS,
        "csm_channel_id": "C0CSM",
        "removal_reminder_hours": 0.5,
        **overrides,
    }
    settings = make_settings(ctx.settings.database_url, **values)
    return dataclasses.replace(ctx, settings=settings, clock=clock)


@pytest.fixture
async def svc(ctx: ServiceContext, clock: Clock) -> ServiceContext:
    """Acme imported; escalations go to C0ESC."""
    services = with_settings(ctx, clock, escalation_channel_id=ESCALATIONS)
    await import_accounts(services, {"accounts": [account()]}, actor="tests")
    return services


async def ask(svc: ServiceContext, count: int = 2) -> int:
    view = await request_removal(
        svc, "acme", ANN, count, "Two people left.", Timing.RENEWAL, "Ann Admin"
    )
    return view.id


async def tick(
    svc: ServiceContext, clock: Clock, until: timedelta, kind: Waiting = REMOVALS
) -> dict[str, list[datetime]]:
    """The reminders of `kind` once a minute from now to NOW + `until`: when each thing was
    queued."""
    queued: dict[str, list[datetime]] = {"reminded": [], "escalated": []}
    while clock.now <= NOW + until:
        if await send_due_reminders(svc, kind):
            queued["reminded"].append(clock.now)
        if await escalate_overdue(svc, kind):
            queued["escalated"].append(clock.now)
        clock.travel(minutes=1)
    return queued


async def entries(svc: ServiceContext, kind: str) -> list[dict[str, Any]]:
    async with svc.sessions() as session:
        rows = await session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind == kind).order_by(OutboxEntry.id)
        )
        return [dict(row.payload) for row in rows]


async def escalated_at(
    svc: ServiceContext, request_id: int, kind: Waiting = REMOVALS
) -> datetime | None:
    async with svc.sessions() as session:
        row = await session.get(kind.model, request_id)
        assert row is not None
        return row.escalated_at


# --- reminders ---------------------------------------------------------------------------


async def test_reminders_come_every_interval_from_the_request_three_at_most(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)

    queued = await tick(svc, clock, until=6 * STEP)

    assert queued["reminded"] == [NOW + STEP, NOW + 2 * STEP, NOW + 3 * STEP]
    assert await entries(svc, "removal.thread_reminder") == [
        {"team_id": None, "request_id": request_id, "number": n} for n in (1, 2, 3)
    ]


def test_the_reminder_job_runs_at_least_once_a_minute() -> None:
    scheduler = build_scheduler(cast(Runtime, None))
    job = scheduler.get_job("removal_reminders")

    assert job is not None
    assert job.trigger.interval <= timedelta(minutes=1)


# --- escalation: when, where, once --------------------------------------------------------


async def test_an_undecided_request_is_escalated_once_one_interval_after_the_last_reminder(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)

    queued = await tick(svc, clock, until=12 * STEP)

    assert queued["reminded"][-1] == NOW + 3 * STEP
    assert queued["escalated"] == [NOW + 4 * STEP]
    assert await entries(svc, "removal.escalate") == [
        {"team_id": None, "request_id": request_id, "channel": ESCALATIONS, "user_id": None}
    ]
    assert await escalated_at(svc, request_id) == NOW + 4 * STEP
    async with svc.sessions() as session:
        audit = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "removal.escalated")
            )
        )
    assert [entry.detail["request"] for entry in audit] == ["RR-00001"]


async def test_without_an_escalation_channel_every_csm_gets_a_dm(
    ctx: ServiceContext, clock: Clock
) -> None:
    svc = with_settings(ctx, clock)
    await import_accounts(svc, {"accounts": [account()]}, actor="tests")
    request_id = await ask(svc)

    await tick(svc, clock, until=5 * STEP)

    assert await entries(svc, "removal.escalate") == [
        {"team_id": None, "request_id": request_id, "channel": None, "user_id": user}
        for user in ("U0CSM2", "U0CSM3")
    ]


async def test_a_request_decided_before_its_escalation_is_never_escalated(
    svc: ServiceContext, clock: Clock
) -> None:
    approved, denied, waiting = await ask(svc, 1), await ask(svc, 1), await ask(svc, 1)
    await tick(svc, clock, until=3 * STEP)  # all three reminded three times
    clock.now = NOW + 4 * STEP - timedelta(minutes=1)
    await decide_removal(svc, approved, CASEY, Verdict.APPROVE)
    await decide_removal(svc, denied, CASEY, Verdict.DENY, note="Contract minimum.")

    await tick(svc, clock, until=20 * STEP)

    assert [e["request_id"] for e in await entries(svc, "removal.escalate")] == [waiting]
    assert await escalated_at(svc, approved) is None
    assert await escalated_at(svc, denied) is None


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
        results = await asyncio.gather(*(escalate_overdue(s) for s in instances))
    finally:
        for engine in engines:
            await engine.dispose()

    assert sorted(id_ for result in results for id_ in result) == [request_id]
    # A scheduler started afterwards, a day later, finds it done.
    restarted_engine = create_engine(svc.settings.database_url)
    try:
        restarted = dataclasses.replace(svc, sessions=session_factory(restarted_engine))
        clock.travel(days=1)
        assert await escalate_overdue(restarted) == []
    finally:
        await restarted_engine.dispose()
    assert len(await entries(svc, "removal.escalate")) == 1


# --- escalation: what the CSMs see in Slack ------------------------------------------------


class NoPermalinkSlack(FakeSlack):
    """A Slack that refuses chat.getPermalink (unknown_method), as a limited token might."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        del self._methods["chat.getPermalink"]


@dataclasses.dataclass
class Stage:
    svc: ServiceContext
    slack: FakeSlack
    effects: Effects

    async def run_job(self) -> None:
        """The scheduled reminders job, as build_scheduler runs it."""
        await reminders_job(cast(Runtime, SimpleNamespace(services=self.svc, effects=self.effects)))

    def messages(self, channel: str) -> list[JsonDict]:
        return [m for m in self.slack.messages.get(channel, []) if not m.get("thread_ts")]


async def stage(svc: ServiceContext, slack: FakeSlack) -> Stage:
    slack.add_channel("C0CSM", "csm-requests")
    slack.add_channel(ESCALATIONS, "csm-escalations")
    for user, name in [
        ("U0ANN", "Ann Admin"),
        ("U0CSM", "Casey Doe"),
        ("U0CSM2", "Chris"),
        ("U0CSM3", "Dana"),
    ]:
        slack.add_user(user, name)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.url)
    workspaces = OneWorkspace(client)
    tickets = BuiltinTickets(svc.sessions)
    return Stage(
        svc, slack, Effects(EffectDeps(svc, workspaces, tickets, SlackDirectory(workspaces)))
    )


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def shown(message: JsonDict) -> str:
    """Everything a person reads in a message: its blocks' texts, else its text."""
    texts: list[str] = []
    for block in message.get("blocks") or []:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [field["text"] for field in block.get("fields", [])]
        texts += [element.get("text", "") for element in block.get("elements", [])]
    return "\n".join(texts) or message["text"]


async def test_the_escalation_channel_hears_what_and_since_when_with_a_link_to_the_request(
    svc: ServiceContext, clock: Clock, slack: FakeSlack
) -> None:
    on = await stage(svc, slack)
    await ask(svc)
    await on.effects.drain()
    [post] = on.messages("C0CSM")

    while clock.now <= NOW + 10 * STEP:
        await on.run_job()
        clock.travel(minutes=1)

    [escalation] = on.messages(ESCALATIONS)
    seen = shown(escalation)
    assert "Acme Corp" in seen  # which account
    assert "Ann Admin" in seen and "<@U0ANN>" in seen  # who asked
    assert "2 licenses" in seen and "10 → 8" in seen  # how many go
    assert "2 hours" in seen  # open since NOW, escalated at NOW + 4 × 30 minutes
    assert "RR-00001" in seen  # the reference
    assert f"<{permalink('C0CSM', post['ts'])}|" in seen  # the request's post
    assert "RR-00001" in escalation["text"] and "Acme Corp" in escalation["text"]
    # The three reminders went to the request's thread, as before.
    replies = [m for m in slack.messages["C0CSM"] if m.get("thread_ts") == post["ts"]]
    assert [m["text"].endswith(f"(reminder {n} of 3).") for n, m in enumerate(replies, 1)] == [
        True
    ] * 3


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
        assert "RR-00001" in shown(dm) and "Acme Corp" in shown(dm)
    assert on.messages(slack.dm_channel("U0CSM")) == []  # not in CSM_USER_IDS


async def test_without_chat_get_permalink_the_escalation_still_goes_out(
    svc: ServiceContext, clock: Clock
) -> None:
    """Slack refuses chat.getPermalink: the escalation goes without a link."""
    async with NoPermalinkSlack() as plain_slack:
        on = await stage(svc, plain_slack)
        await ask(svc)
        while clock.now <= NOW + 10 * STEP:
            await on.run_job()
            clock.travel(minutes=1)

        [escalation] = on.messages(ESCALATIONS)
        assert "RR-00001" in shown(escalation)
        assert "archives" not in shown(escalation)
        assert "no post in the CSM channel to link to" in shown(escalation)


async def test_a_request_decided_while_its_escalation_waits_is_not_announced(
    svc: ServiceContext, clock: Clock, slack: FakeSlack
) -> None:
    on = await stage(svc, slack)
    request_id = await ask(svc)
    await tick(svc, clock, until=4 * STEP)  # queued, not yet carried out
    assert len(await entries(svc, "removal.escalate")) == 1
    await decide_removal(svc, request_id, CASEY, Verdict.APPROVE)

    await on.effects.drain()

    assert on.messages(ESCALATIONS) == []
