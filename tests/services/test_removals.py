"""Removal use-cases on SQLite and PostgreSQL: request, decide, apply, remind, the outbox."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, text, update

from bot.db import create_engine, session_factory, upgrade
from bot.domain.errors import NotAnAdmin
from bot.domain.removal import RemovalStatus, Timing, Verdict
from bot.effects import EFFECTS, EffectDeps, Effects
from bot.integrations.slack_directory import SlackDirectory
from bot.integrations.tickets import BuiltinTickets
from bot.integrations.workspaces import OneWorkspace
from bot.models import Account, AuditEntry, OutboxEntry, RemovalRequest
from bot.readmodels import RemovalView, SlackUser
from bot.services import outbox
from bot.services.accounts import import_accounts, show_account
from bot.services.context import ServiceContext
from bot.services.home import home_lists
from bot.services.orders import AdminIdentity
from bot.services.reminders import send_due_reminders
from bot.services.removals import (
    InvalidRemoval,
    NotACsm,
    RemovalNotFound,
    apply_due_removals,
    decide_removal,
    get_removal,
    record_message,
    record_ticket,
    request_removal,
)
from tests.accounts import account
from tests.clocks import Clock
from tests.conftest import make_settings

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
RENEWAL = datetime(2026, 12, 1, tzinfo=UTC)
ANN = AdminIdentity("U0ANN")
CASEY, CHRIS = SlackUser("U0CSM", "T0VENDOR"), SlackUser("U0CSM2", "T0VENDOR")
ACME = account()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def svc(ctx: ServiceContext, clock: Clock) -> ServiceContext:
    """Acme (CSM U0CSM) imported; U0CSM2 is a CSM through CSM_USER_IDS."""
    settings = make_settings(ctx.settings.database_url, csm_user_ids="U0CSM2")
    services = dataclasses.replace(ctx, settings=settings, clock=clock)
    await import_accounts(services, {"accounts": [ACME]}, actor="tests")
    return services


async def ask(
    svc: ServiceContext,
    count: int = 2,
    timing: Timing = Timing.RENEWAL,
    reason: str = "Two people left the team.",
) -> int:
    view = await request_removal(svc, "acme", ANN, count, reason, timing, "Ann Admin")
    return view.id


async def licenses_of(svc: ServiceContext) -> int:
    return (await show_account(svc, "acme")).terms.licenses


async def outbox_kinds(
    svc: ServiceContext, status: str = "pending"
) -> list[tuple[str, dict[str, Any]]]:
    async with svc.sessions() as session:
        rows = await session.scalars(
            select(OutboxEntry).where(OutboxEntry.status == status).order_by(OutboxEntry.id)
        )
        return [(row.kind, dict(row.payload)) for row in rows]


async def audit_actions(svc: ServiceContext) -> list[tuple[str, str, dict[str, Any]]]:
    async with svc.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("removal.%")).order_by(AuditEntry.id)
        )
        return [(row.actor, row.action, dict(row.detail)) for row in rows]


async def clear_outbox(svc: ServiceContext) -> None:
    async with svc.sessions() as session, session.begin():
        await session.execute(update(OutboxEntry).values(status="done"))


# --- asking ------------------------------------------------------------------------------


async def test_a_request_is_stored_pending_with_its_ticket_post_and_dm_queued(
    svc: ServiceContext,
) -> None:
    created = await request_removal(
        svc, "acme", ANN, 3, "  Team shrank.\n", Timing.RENEWAL, "Ann Admin"
    )

    assert created.reference == "RR-00001"
    assert created.status is RemovalStatus.PENDING
    assert (created.licenses_at_request, created.remove_count, created.licenses_after) == (10, 3, 7)
    assert created.reason == "Team shrank."
    assert created.requested_effective_at == RENEWAL
    assert created.created_at == NOW
    assert (created.account_name, created.plan_name, created.csm_user_id) == (
        "Acme Corp",
        "Pro",
        "U0CSM",
    )
    assert await outbox_kinds(svc) == [
        ("ticket.create", {"team_id": None, "request_id": created.id}),
        ("removal.post", {"team_id": None, "request_id": created.id}),
        (
            "removal.notify_requester",
            {"team_id": "T0ACME", "request_id": created.id, "stage": "received"},
        ),
    ]
    assert await audit_actions(svc) == [
        (
            "U0ANN",
            "removal.requested",
            {
                "request": "RR-00001",
                "remove": 3,
                "licenses": 10,
                "timing": "renewal",
                "reason": "Team shrank.",
            },
        )
    ]
    # Asking changes nothing yet.
    assert await licenses_of(svc) == 10


async def test_a_request_shows_the_renewal_at_the_accounts_price_and_count_now(
    svc: ServiceContext,
) -> None:
    created = await request_removal(svc, "acme", ANN, 2, "Team shrank.", Timing.RENEWAL)
    assert created.renewal is not None
    assert (created.renewal.before_minor, created.renewal.after_minor) == (49000, 39200)

    # Twelve licenses, billed annually at $480.00 each, by the time a CSM looks at it.
    await import_accounts(
        svc,
        {"accounts": [account(licenses=12, billing_interval="annual", price_per_license="480.00")]},
        actor="tests",
    )
    renewal = (await get_removal(svc, created.id)).renewal
    assert renewal is not None
    assert (renewal.licenses_before, renewal.licenses_after) == (12, 10)
    assert (renewal.before_minor, renewal.after_minor) == (576000, 480000)
    assert (renewal.price.currency, renewal.price.interval.value) == ("USD", "annual")


async def test_as_soon_as_possible_asks_for_now(svc: ServiceContext) -> None:
    request_id = await ask(svc, timing=Timing.ASAP)

    assert (await get_removal(svc, request_id)).requested_effective_at == NOW


async def test_an_admin_listed_by_email_may_ask(svc: ServiceContext) -> None:
    view = await request_removal(
        svc, "acme", AdminIdentity("U0ERIN", "Erin@Acme.example"), 1, "x", Timing.ASAP
    )

    assert view.requested_by == "U0ERIN"


async def test_only_admins_may_ask(svc: ServiceContext) -> None:
    with pytest.raises(NotAnAdmin):
        await request_removal(svc, "acme", AdminIdentity("U0BOB"), 1, "x", Timing.ASAP)
    with pytest.raises(NotAnAdmin):
        await request_removal(
            svc, "acme", AdminIdentity("U0BOB", "bob@acme.example"), 1, "x", Timing.ASAP
        )

    assert await removals_on_home(svc) == []
    assert await outbox_kinds(svc) == []


@pytest.mark.parametrize(
    ("count", "reason", "field", "words"),
    [
        (10, "ok", "count", "at most 9 can be removed"),
        (25, "ok", "count", "at most 9 can be removed"),
        (0, "ok", "count", "at least 1"),
        ("3", "ok", "count", "whole number"),
        (2, "", "reason", "why you want to remove"),
        (2, "   ", "reason", "why you want to remove"),
        (2, "x" * 1001, "reason", "under 1000 characters (it has 1001)"),
    ],
)
async def test_invalid_requests_are_refused_before_anything_is_written(
    svc: ServiceContext, count: Any, reason: str, field: str, words: str
) -> None:
    with pytest.raises(InvalidRemoval) as asked:
        await request_removal(svc, "acme", ANN, count, reason, Timing.RENEWAL)

    assert asked.value.field == field
    assert words in str(asked.value)
    assert await removals_on_home(svc) == []
    assert await audit_actions(svc) == []


async def test_a_reason_of_exactly_1000_characters_is_taken(svc: ServiceContext) -> None:
    request_id = await ask(svc, reason="x" * 1000)

    assert len((await get_removal(svc, request_id)).reason) == 1000


async def test_a_request_overlapping_a_pending_one_is_refused(svc: ServiceContext) -> None:
    await ask(svc, count=6)

    with pytest.raises(InvalidRemoval) as refused:
        await ask(svc, count=4)

    assert refused.value.field == "count"
    assert "Requests already open would remove 6 of 10" in str(refused.value)
    assert "At most 3 more can be requested" in str(refused.value)
    # Up to what is left is fine: several requests per account.
    await ask(svc, count=3)
    assert [view.remove_count for view in await removals_on_home(svc)] == [3, 6]


async def test_approved_requests_still_count_and_denied_ones_do_not(svc: ServiceContext) -> None:
    approved = await ask(svc, count=5)
    await decide_removal(svc, approved, CASEY, Verdict.APPROVE)
    with pytest.raises(InvalidRemoval):
        await ask(svc, count=5)

    denied = await ask(svc, count=4)
    await decide_removal(svc, denied, CASEY, Verdict.DENY, note="Contract says no.")

    await ask(svc, count=4)


async def test_two_requests_at_once_cannot_together_take_every_license(
    svc: ServiceContext,
) -> None:
    results = await asyncio.gather(ask(svc, count=6), ask(svc, count=6), return_exceptions=True)

    assert sorted(type(result).__name__ for result in results) == ["InvalidRemoval", "int"]
    assert [view.remove_count for view in await removals_on_home(svc)] == [6]


# --- deciding ----------------------------------------------------------------------------


async def test_approving_defaults_to_the_requested_date_and_queues_the_news(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)
    await clear_outbox(svc)
    clock.travel(hours=3)

    outcome = await decide_removal(svc, request_id, CASEY, Verdict.APPROVE, note="  ")

    assert outcome.won
    view = outcome.view
    assert view.status is RemovalStatus.APPROVED
    assert (view.decided_by, view.decided_at) == ("U0CSM", NOW + timedelta(hours=3))
    assert view.effective_at == RENEWAL
    assert view.decision_note is None
    assert [kind for kind, _ in await outbox_kinds(svc)] == [
        "removal.refresh",
        "removal.thread_decision",
        "removal.notify_requester",
        "ticket.resolve",
    ]
    assert (await audit_actions(svc))[-1] == (
        "U0CSM",
        "removal.approved",
        {
            "request": "RR-00001",
            "remove": 2,
            "note": None,
            "effective_at": "2026-12-01T00:00:00Z",
        },
    )
    # Approved is not applied: the count drops on the date.
    assert await licenses_of(svc) == 10


async def test_the_csm_may_choose_another_date(svc: ServiceContext) -> None:
    request_id = await ask(svc)
    chosen = datetime(2026, 11, 20, tzinfo=UTC)

    outcome = await decide_removal(
        svc, request_id, CHRIS, Verdict.APPROVE, effective_at=chosen, note="Early is fine."
    )

    assert outcome.view.effective_at == chosen
    assert outcome.view.decision_note == "Early is fine."


async def test_denying_needs_a_reason(svc: ServiceContext) -> None:
    request_id = await ask(svc)

    for note in (None, "", "  "):
        with pytest.raises(InvalidRemoval) as refused:
            await decide_removal(svc, request_id, CASEY, Verdict.DENY, note=note)
        assert refused.value.field == "note"

    assert (await get_removal(svc, request_id)).status is RemovalStatus.PENDING
    outcome = await decide_removal(svc, request_id, CASEY, Verdict.DENY, note="Under contract.")
    assert outcome.won
    assert outcome.view.status is RemovalStatus.DENIED
    assert outcome.view.effective_at is None
    assert outcome.view.decision_note == "Under contract."
    assert (await audit_actions(svc))[-1][:2] == ("U0CSM", "removal.denied")


@pytest.mark.parametrize("user", ["U0BOB", "U0ANN", "U0NOBODY"])
async def test_only_csms_decide(svc: ServiceContext, user: str) -> None:
    request_id = await ask(svc)
    await clear_outbox(svc)

    for verdict in Verdict:
        with pytest.raises(NotACsm):
            await decide_removal(svc, request_id, SlackUser(user, "T0ACME"), verdict, note="no")

    assert (await get_removal(svc, request_id)).status is RemovalStatus.PENDING
    assert await outbox_kinds(svc) == []
    assert [action for _, action, _ in await audit_actions(svc)] == ["removal.requested"]


async def test_the_second_decision_loses_and_learns_who_decided(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)
    first = await decide_removal(svc, request_id, CASEY, Verdict.APPROVE)
    await clear_outbox(svc)
    clock.travel(minutes=1)

    again = await decide_removal(svc, request_id, CASEY, Verdict.APPROVE)
    other = await decide_removal(svc, request_id, CHRIS, Verdict.DENY, note="No.")

    assert first.won and not again.won and not other.won
    for lost in (again, other):
        assert lost.view.status is RemovalStatus.APPROVED
        assert (lost.view.decided_by, lost.view.decided_at) == ("U0CSM", NOW)
    assert await outbox_kinds(svc) == []
    assert [action for _, action, _ in await audit_actions(svc)] == [
        "removal.requested",
        "removal.approved",
    ]


async def test_concurrent_decisions_end_in_exactly_one(svc: ServiceContext) -> None:
    request_id = await ask(svc)

    outcomes = await asyncio.gather(
        decide_removal(svc, request_id, CASEY, Verdict.APPROVE),
        decide_removal(svc, request_id, CHRIS, Verdict.DENY, note="No."),
        decide_removal(svc, request_id, CASEY, Verdict.APPROVE),
    )

    winners = [outcome for outcome in outcomes if outcome.won]
    assert len(winners) == 1
    final = await get_removal(svc, request_id)
    for outcome in outcomes:
        assert outcome.view.status is final.status
        assert outcome.view.decided_by == final.decided_by
    decisions = [a for _, a, _ in await audit_actions(svc) if a != "removal.requested"]
    assert decisions == [f"removal.{final.status.value}"]


async def test_an_unknown_request(svc: ServiceContext) -> None:
    with pytest.raises(RemovalNotFound):
        await get_removal(svc, 999)
    with pytest.raises(RemovalNotFound):
        await decide_removal(svc, 999, CASEY, Verdict.APPROVE)


# --- applying ----------------------------------------------------------------------------


async def test_an_approved_removal_applies_on_its_date_exactly_once(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc, count=2)
    await decide_removal(svc, request_id, CASEY, Verdict.APPROVE)
    await clear_outbox(svc)

    clock.now = RENEWAL - timedelta(seconds=1)
    assert await apply_due_removals(svc) == []
    assert await licenses_of(svc) == 10

    clock.now = RENEWAL
    applied = await apply_due_removals(svc)

    assert [view.id for view in applied] == [request_id]
    view = await get_removal(svc, request_id)
    assert view.status is RemovalStatus.APPLIED
    assert view.applied_at == RENEWAL
    assert view.licenses_left == 8
    overview = await show_account(svc, "acme")
    assert overview.terms.licenses == 8
    assert overview.next_cycle_minor == 8 * 4900
    assert overview.to_json()["next_cycle_amount"] == "392.00"
    assert await outbox_kinds(svc) == [
        ("removal.refresh", {"team_id": None, "request_id": request_id}),
        ("removal.thread_applied", {"team_id": None, "request_id": request_id}),
        (
            "removal.notify_requester",
            {"team_id": "T0ACME", "request_id": request_id, "stage": "applied"},
        ),
        ("home.refresh", {"team_id": "T0ACME", "request_id": request_id}),
    ]
    assert (await audit_actions(svc))[-1] == (
        "scheduler",
        "removal.applied",
        {"request": "RR-00001", "licenses_before": 10, "licenses_after": 8},
    )

    clock.travel(days=40)
    assert await apply_due_removals(svc) == []
    assert await licenses_of(svc) == 8
    assert [a for _, a, _ in await audit_actions(svc)].count("removal.applied") == 1


async def test_pending_and_denied_requests_never_apply(svc: ServiceContext, clock: Clock) -> None:
    await ask(svc, count=2, timing=Timing.ASAP)
    denied = await ask(svc, count=3, timing=Timing.ASAP)
    await decide_removal(svc, denied, CASEY, Verdict.DENY, note="No.")
    clock.travel(days=60)

    assert await apply_due_removals(svc) == []
    assert await licenses_of(svc) == 10


async def test_several_removals_each_report_the_count_they_left(
    svc: ServiceContext, clock: Clock
) -> None:
    first = await ask(svc, count=3)
    second = await ask(svc, count=2)
    for request_id in (first, second):
        await decide_removal(svc, request_id, CASEY, Verdict.APPROVE)
    clock.now = RENEWAL

    applied = await apply_due_removals(svc)

    assert [view.licenses_left for view in applied] == [7, 5]
    assert (await get_removal(svc, first)).licenses_left == 7
    assert (await get_removal(svc, second)).licenses_left == 5
    # What each request asked for stays as it was asked.
    assert (await get_removal(svc, second)).licenses_after == 8
    assert await licenses_of(svc) == 5


async def test_a_removal_never_leaves_fewer_than_one_license(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc, count=9, timing=Timing.ASAP)
    await decide_removal(svc, request_id, CASEY, Verdict.APPROVE)
    # The account shrank some other way in between.
    async with svc.sessions() as session, session.begin():
        await session.execute(update(Account).values(licenses=4))

    await apply_due_removals(svc)

    assert await licenses_of(svc) == 1
    assert (await get_removal(svc, request_id)).licenses_left == 1


# --- reminders ---------------------------------------------------------------------------


async def test_reminders_after_the_wait_then_daily_at_most_three(
    svc: ServiceContext, clock: Clock
) -> None:
    request_id = await ask(svc)
    await clear_outbox(svc)

    clock.travel(hours=23, minutes=59)
    assert await send_due_reminders(svc) == []

    sent: list[int] = []
    clock.travel(minutes=1)
    for _ in range(6):
        if await send_due_reminders(svc):
            sent.append(len(sent) + 1)
        assert await send_due_reminders(svc) == []  # once per day, however often it ticks
        clock.travel(days=1)

    assert sent == [1, 2, 3]
    assert await outbox_kinds(svc) == [
        ("removal.thread_reminder", {"team_id": None, "request_id": request_id, "number": n})
        for n in (1, 2, 3)
    ]
    async with svc.sessions() as session:
        row = await session.get(RemovalRequest, request_id)
        assert row is not None
        assert row.reminders_sent == 3
        assert row.last_reminder_at == NOW + timedelta(days=3)


async def test_the_reminder_wait_comes_from_the_settings(svc: ServiceContext, clock: Clock) -> None:
    settings = make_settings(svc.settings.database_url, removal_reminder_hours=2)
    fast = dataclasses.replace(svc, settings=settings)
    request_id = await ask(fast)

    clock.travel(hours=1)
    assert await send_due_reminders(fast) == []
    clock.travel(hours=1)
    assert await send_due_reminders(fast) == [request_id]


async def test_decided_requests_are_not_reminded(svc: ServiceContext, clock: Clock) -> None:
    approved = await ask(svc, count=1)
    denied = await ask(svc, count=1)
    waiting = await ask(svc, count=1)
    await decide_removal(svc, approved, CASEY, Verdict.APPROVE)
    await decide_removal(svc, denied, CASEY, Verdict.DENY, note="No.")
    clock.travel(days=2)

    assert await send_due_reminders(svc) == [waiting]


# --- ticket and message bookkeeping ------------------------------------------------------


async def test_a_ticket_recorded_after_the_post_refreshes_the_message(
    svc: ServiceContext,
) -> None:
    request_id = await ask(svc)
    await clear_outbox(svc)

    await record_message(svc, request_id, "C0CSM", "1700000000.000100")
    assert await outbox_kinds(svc) == []
    view = await record_ticket(svc, request_id, "#35436", "https://z.example/agent/tickets/35436")

    assert (view.ticket_reference, view.ticket_url) == (
        "#35436",
        "https://z.example/agent/tickets/35436",
    )
    assert (view.channel_id, view.message_ts) == ("C0CSM", "1700000000.000100")
    assert await outbox_kinds(svc) == [
        ("removal.refresh", {"team_id": None, "request_id": request_id})
    ]
    assert (await audit_actions(svc))[-1][:2] == ("tickets", "removal.ticket")


async def test_a_post_recorded_after_the_ticket_refreshes_the_message(
    svc: ServiceContext,
) -> None:
    request_id = await ask(svc)
    await clear_outbox(svc)

    await record_ticket(svc, request_id, "LB-00001", None)
    assert await outbox_kinds(svc) == []
    await record_message(svc, request_id, "C0CSM", "1700000000.000100")

    assert await outbox_kinds(svc) == [
        ("removal.refresh", {"team_id": None, "request_id": request_id})
    ]


# --- the outbox --------------------------------------------------------------------------


async def test_claimed_entries_are_leased_completed_or_retried_with_backoff(
    svc: ServiceContext, clock: Clock
) -> None:
    await ask(svc)

    claimed = await outbox.claim_due(svc)
    assert [entry.kind for entry in claimed] == [
        "ticket.create",
        "removal.post",
        "removal.notify_requester",
    ]
    assert all(entry.attempts == 1 for entry in claimed)
    # Leased: nobody else gets them while they run.
    assert await outbox.claim_due(svc) == []

    ticket, post, _dm = claimed
    await outbox.complete(svc, ticket.id)
    await outbox.fail(svc, post, "SlackApiError: internal_error")
    assert await outbox.pending_count(svc) == 2
    async with svc.sessions() as session:
        row = await session.get(OutboxEntry, post.id)
        assert row is not None
        assert row.last_error == "SlackApiError: internal_error"
        assert row.next_attempt_at == NOW + timedelta(seconds=10)

    # The DM's worker died: its lease runs out and someone else takes it.
    clock.travel(seconds=10)
    (again,) = await outbox.claim_due(svc)
    assert (again.kind, again.attempts) == ("removal.post", 2)
    await outbox.complete(svc, again.id)
    clock.travel(minutes=2)
    retried = await outbox.claim_due(svc)
    assert [(entry.kind, entry.attempts) for entry in retried] == [("removal.notify_requester", 2)]

    async with svc.sessions() as session:
        retried_post = await session.get(OutboxEntry, post.id)
        assert retried_post is not None
        assert (retried_post.status, retried_post.last_error) == ("done", None)
        done = await session.get(OutboxEntry, ticket.id)
        assert done is not None and done.status == "done" and done.done_at == NOW


def test_backoff_doubles_from_ten_seconds_up_to_fifteen_minutes() -> None:
    assert [outbox.backoff(n).total_seconds() for n in range(1, 9)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        900,
    ]
    assert outbox.backoff(0) == timedelta(seconds=10)
    assert outbox.backoff(outbox.MAX_ATTEMPTS) == timedelta(minutes=15)


async def test_a_failed_entry_waits_its_backoff(svc: ServiceContext, clock: Clock) -> None:
    async with svc.sessions() as session, session.begin():
        outbox.enqueue(session, outbox.PostRemoval(request_id=1), NOW)

    for attempt, wait in ((1, 10), (2, 20), (3, 40)):
        (entry,) = await outbox.claim_due(svc)
        assert entry.attempts == attempt
        await outbox.fail(svc, entry, "down")
        clock.travel(seconds=wait - 1)
        assert await outbox.claim_due(svc) == []
        clock.travel(seconds=1)


async def test_an_entry_failing_too_often_is_set_aside(svc: ServiceContext, clock: Clock) -> None:
    async with svc.sessions() as session, session.begin():
        outbox.enqueue(session, outbox.PostRemoval(request_id=1), NOW)
        await session.flush()
        await session.execute(update(OutboxEntry).values(attempts=outbox.MAX_ATTEMPTS - 1))

    (entry,) = await outbox.claim_due(svc)
    await outbox.fail(svc, entry, "still down")
    clock.travel(days=1)

    assert await outbox.claim_due(svc) == []
    assert await outbox.pending_count(svc) == 0
    assert [kind for kind, _ in await outbox_kinds(svc, "dead")] == ["removal.post"]


async def test_concurrent_claims_never_share_an_entry(svc: ServiceContext) -> None:
    async with svc.sessions() as session, session.begin():
        for n in range(30):
            outbox.enqueue(session, outbox.PostRemoval(request_id=n), NOW)

    batches = await asyncio.gather(*(outbox.claim_due(svc, limit=7) for _ in range(6)))

    ids = [entry.id for batch in batches for entry in batch]
    assert len(ids) == len(set(ids)) == 30


# --- PostgreSQL: the loser of a real race --------------------------------------------------


@pytest.fixture
async def pg_svc(postgres_url: str, clock: Clock) -> AsyncIterator[ServiceContext]:
    upgrade(postgres_url)
    engine = create_engine(postgres_url)
    settings = make_settings(postgres_url, csm_user_ids="U0CSM2")
    services = ServiceContext(session_factory(engine), settings, clock=clock)
    await import_accounts(services, {"accounts": [ACME]}, actor="tests")
    yield services
    await engine.dispose()


async def test_the_loser_of_a_race_on_postgresql_learns_who_won(pg_svc: ServiceContext) -> None:
    """Both deciders read the request while it is pending, then queue on its row lock."""
    request_id = await ask(pg_svc)
    async with pg_svc.sessions() as blocker, blocker.begin():
        await blocker.execute(
            select(RemovalRequest.id).where(RemovalRequest.id == request_id).with_for_update()
        )
        approve = asyncio.ensure_future(decide_removal(pg_svc, request_id, CASEY, Verdict.APPROVE))
        deny = asyncio.ensure_future(
            decide_removal(pg_svc, request_id, CHRIS, Verdict.DENY, note="No.")
        )
        for _ in range(500):
            # A new session each time: pg_stat_activity is a snapshot within a transaction.
            async with pg_svc.sessions() as probe:
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                )
            if waiting == 2:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the two decisions never queued on the row lock")
    outcomes = await asyncio.gather(approve, deny)

    assert sorted(outcome.won for outcome in outcomes) == [False, True]
    winner = next(outcome for outcome in outcomes if outcome.won)
    loser = next(outcome for outcome in outcomes if not outcome.won)
    assert loser.view.status is winner.view.status
    assert loser.view.decided_by == winner.view.decided_by
    assert loser.view.decided_at == winner.view.decided_at
    async with pg_svc.sessions() as session:
        decisions = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.in_(["removal.approved", "removal.denied"]))
        )
    assert decisions == 1


def effects_on(svc: ServiceContext) -> Effects:
    """The outbox runner with a Slack client that is never reached in these tests."""
    client = AsyncWebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
    workspaces = OneWorkspace(client)
    tickets = BuiltinTickets(svc.sessions)
    return Effects(EffectDeps(svc, workspaces, tickets, SlackDirectory(workspaces)))


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("removal.fax_the_csm", {"request_id": 1}),  # a kind no version of the bot knows
        ("removal.post", {"request": 1}),  # a known kind whose payload has the wrong shape
    ],
)
async def test_an_entry_that_can_never_run_is_set_aside_at_once(
    svc: ServiceContext, kind: str, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with svc.sessions() as session, session.begin():
        session.add(OutboxEntry(kind=kind, payload=payload, status="pending", next_attempt_at=NOW))

    assert await effects_on(svc).drain() == 0

    assert await outbox_kinds(svc, "dead") == [(kind, payload)]
    assert await outbox.pending_count(svc) == 0
    assert any(r.levelname == "ERROR" and kind in r.getMessage() for r in caplog.records)


async def test_every_kind_is_stored_as_its_value_with_its_typed_payload(
    svc: ServiceContext,
) -> None:
    reminder = outbox.ReplyReminder(request_id=7, number=2)
    async with svc.sessions() as session, session.begin():
        outbox.enqueue(session, reminder, NOW)

    assert await outbox_kinds(svc) == [
        ("removal.thread_reminder", {"team_id": None, "request_id": 7, "number": 2})
    ]
    (claimed,) = await outbox.claim_due(svc)
    payload, _ = EFFECTS[outbox.Kind(claimed.kind)]
    assert payload.model_validate(claimed.payload) == reminder


async def removals_on_home(svc: ServiceContext) -> list[RemovalView]:
    """The removal requests Acme's admins see listed in App Home."""
    return (await home_lists(svc, "acme"))[1]
