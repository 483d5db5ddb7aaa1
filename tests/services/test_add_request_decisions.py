"""A CSM approves or denies an admin's request for more licenses, on SQLite and PostgreSQL.

Approving places the requester's order at the quote the CSM saw, once, whatever else
happens at the same time; denying needs a reason; only a CSM, in the vendor's workspace,
decides.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.domain.errors import (
    AddRequestNotFound,
    DecidedInVendorWorkspace,
    NotACsm,
    QuoteNotHonoured,
    RefusedByRules,
    RequestAlreadyDecided,
    ServiceError,
)
from bot.domain.policy import RequestStatus, Route
from bot.domain.pricing import Quote
from bot.domain.removal import Timing
from bot.integrations.billing import ChargeDeclined
from bot.models import AuditEntry, LedgerCharge, Order, OutboxEntry
from bot.readmodels import AddRequestView, AdminIdentity, Receipt, SlackUser
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from bot.services.orders import place_order, settle_paid
from bot.services.queue import csm_queue
from bot.services.removals import request_removal
from bot.services.requests import (
    DENIAL_NEEDS_A_REASON,
    Approval,
    approval_quote,
    deny_add_request,
    get_add_request,
    open_add_decision,
    request_licenses,
)
from tests.accounts import account
from tests.clocks import Clock
from tests.conftest import make_settings
from tests.services.test_order_lifecycle import DECLINED, ScriptedBilling, with_provider
from tests.services.test_orders import count, licenses_of

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
ANN = AdminIdentity("U0ANN")
VENDOR = "T0VENDOR"
# Acme's own CSM; a CSM through CSM_USER_IDS; someone who is neither.
CASEY, CHRIS, EVE = (
    SlackUser("U0CSM", VENDOR),
    SlackUser("U0CSM2", VENDOR),
    SlackUser("U0EVE", VENDOR),
)
# Enterprise above 5 licenses: more licenses only through the CSM.
ENTERPRISE = account(plan="enterprise", licenses=6)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def svc(ctx: ServiceContext, clock: Clock) -> ServiceContext:
    settings = make_settings(
        ctx.settings.database_url, csm_user_ids="U0CSM2", vendor_team_id=VENDOR
    )
    services = dataclasses.replace(ctx, settings=settings, clock=clock)
    await import_accounts(services, {"accounts": [ENTERPRISE]}, actor="tests")
    return services


async def ask(svc: ServiceContext, wanted: int = 4, route: Route = Route.CSM) -> AddRequestView:
    return await request_licenses(svc, "acme", ANN, "T0ACME", route, wanted)


async def approve(
    svc: ServiceContext,
    request_id: int,
    key: str,
    add: int = 4,
    shown: Quote | None = None,
    note: str | None = None,
) -> Receipt:
    """The CSM's Approve and charge: the requester's order, at the quote the modal showed."""
    shown = shown or await approval_quote(svc, "acme", add)
    approval = Approval(request_id, CASEY.user_id, note)
    return await place_order(svc, "acme", ANN, add, key, shown, approval=approval)


async def totals(svc: ServiceContext) -> tuple[int, int, int]:
    """Licenses, orders and ledger charges."""
    return await licenses_of(svc), await count(svc, Order), await count(svc, LedgerCharge)


async def pending_outbox(svc: ServiceContext) -> list[tuple[str, dict[str, Any]]]:
    async with svc.sessions() as session:
        rows = await session.scalars(
            select(OutboxEntry).where(OutboxEntry.status == "pending").order_by(OutboxEntry.id)
        )
        return [(row.kind, dict(row.payload)) for row in rows]


async def clear_outbox(svc: ServiceContext) -> None:
    async with svc.sessions() as session, session.begin():
        await session.execute(update(OutboxEntry).values(status="done"))


async def audits(svc: ServiceContext, action: str) -> list[AuditEntry]:
    async with svc.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.scalars(query)).all())


def decision_effects(request_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("route.csm_refresh", {"team_id": None, "request_id": request_id}),
        (
            "route.notify_requester",
            {"team_id": "T0ACME", "request_id": request_id, "decided": True},
        ),
        ("home.publish", {"team_id": "T0ACME", "user_id": "U0ANN"}),
    ]


async def assert_still_pending(
    svc: ServiceContext, request_id: int, order_reference: str | None = None
) -> None:
    """Waiting for a CSM; `order_reference`: the declined order it remembers, if any."""
    view = await get_add_request(svc, request_id)
    assert view.status is RequestStatus.PENDING and view.awaits_csm
    assert view.order_reference == order_reference


# --- approving ---------------------------------------------------------------------------


async def test_approving_places_the_requesters_order_at_the_quote_shown(
    svc: ServiceContext, clock: Clock
) -> None:
    asked = await ask(svc, wanted=4)
    assert (asked.reference, asked.status) == ("LR-00001", RequestStatus.PENDING)
    # The admin may not order it themselves: the rules route Enterprise above 5 to the CSM.
    with pytest.raises(RefusedByRules) as refused:
        await place_order(svc, "acme", ANN, 4, "admin-key", None)
    assert refused.value.decision.route is Route.CSM
    await clear_outbox(svc)
    clock.travel(minutes=3)
    shown = await approval_quote(svc, "acme", 4)
    clock.travel(minutes=2)

    receipt = await approve(svc, asked.id, "csm-key", shown=shown, note="  Renewal agreed. ")

    assert (receipt.status, receipt.ordered_by, receipt.added) == ("paid", "U0ANN", 4)
    assert (receipt.licenses_before, receipt.licenses_after) == (6, 10)
    assert receipt.charged_minor == shown.due_today_minor > 0
    assert await totals(svc) == (10, 1, 1)
    async with svc.sessions() as session:
        [charge] = (await session.scalars(select(LedgerCharge))).all()
    assert (charge.amount_minor, charge.reference) == (
        shown.due_today_minor,
        receipt.charge_reference,
    )
    decided = await get_add_request(svc, asked.id)
    assert decided.status is RequestStatus.APPROVED and not decided.awaits_csm
    assert (decided.decided_by, decided.decided_at) == ("U0CSM", clock.now)
    assert (decided.decision_note, decided.order_reference) == (
        "Renewal agreed.",
        receipt.reference,
    )
    [audit] = await audits(svc, "request.approved")
    assert (audit.actor, audit.account_id) == ("U0CSM", "acme")
    assert audit.detail["request"] == "LR-00001"
    assert (audit.detail["order"], audit.detail["wanted"]) == (receipt.reference, 4)
    [placed] = await audits(svc, "order.placed")
    assert placed.actor == "U0ANN"
    effects = await pending_outbox(svc)
    assert effects[:3] == decision_effects(asked.id)
    assert [kind for kind, _ in effects[3:]] == ["order.receipt", "home.publish"]


async def test_a_second_approval_charges_nothing_and_the_same_key_replays_the_order(
    svc: ServiceContext, clock: Clock
) -> None:
    asked = await ask(svc)
    first = await approve(svc, asked.id, "csm-key")
    clock.travel(minutes=1)

    with pytest.raises(RequestAlreadyDecided) as again:
        await approve(svc, asked.id, "another-key")

    assert "LR-00001 was already approved by <@U0CSM>" in str(again.value)
    assert await totals(svc) == (10, 1, 1)
    replay = await approve(svc, asked.id, "csm-key")
    assert replay.replayed
    assert dataclasses.replace(replay, replayed=False) == first
    assert await totals(svc) == (10, 1, 1)
    assert len(await audits(svc, "request.approved")) == 1


async def test_concurrent_approvals_place_exactly_one_order(svc: ServiceContext) -> None:
    asked = await ask(svc, wanted=3)
    shown = await approval_quote(svc, "acme", 3)

    results = await asyncio.gather(
        *(approve(svc, asked.id, f"csm-key-{n}", add=3, shown=shown) for n in range(5)),
        return_exceptions=True,
    )

    paid = [result for result in results if isinstance(result, Receipt)]
    lost = [result for result in results if isinstance(result, RequestAlreadyDecided)]
    assert (len(paid), len(lost)) == (1, 4), results
    assert paid[0].status == "paid" and paid[0].charged_minor == shown.due_today_minor
    assert await totals(svc) == (9, 1, 1)
    assert (await get_add_request(svc, asked.id)).order_reference == paid[0].reference
    assert len(await audits(svc, "request.approved")) == 1


async def test_a_stale_quote_is_not_charged_and_the_request_stays_pending(
    svc: ServiceContext, clock: Clock
) -> None:
    asked = await ask(svc)
    shown = await approval_quote(svc, "acme", 4)
    clock.travel(seconds=svc.settings.quote_ttl_seconds + 1)

    with pytest.raises(QuoteNotHonoured) as stale:
        await approve(svc, asked.id, "csm-key", shown=shown)

    assert "expired" in str(stale.value)
    assert await totals(svc) == (6, 0, 0)
    await assert_still_pending(svc, asked.id)
    assert await audits(svc, "request.approved") == []
    # The price the CSM is shown next is charged.
    receipt = await approve(svc, asked.id, "csm-key", shown=stale.value.fresh)
    assert receipt.charged_minor == stale.value.fresh.due_today_minor
    assert (await get_add_request(svc, asked.id)).status is RequestStatus.APPROVED


@pytest.mark.parametrize("add", [0, 1001])
async def test_a_count_outside_one_order_is_refused_and_the_request_stays_pending(
    svc: ServiceContext, add: int
) -> None:
    asked = await ask(svc)
    approval = Approval(asked.id, CASEY.user_id)

    with pytest.raises(RefusedByRules) as refused:
        await place_order(svc, "acme", ANN, add, "csm-key", None, approval=approval)

    assert refused.value.decision.route is None
    assert await totals(svc) == (6, 0, 0)
    await assert_still_pending(svc, asked.id)


# --- denying -----------------------------------------------------------------------------


async def test_a_denial_needs_a_reason_then_blocks_any_approval(
    svc: ServiceContext, clock: Clock
) -> None:
    asked = await ask(svc)
    await clear_outbox(svc)

    with pytest.raises(ServiceError) as blank:
        await deny_add_request(svc, asked.id, CASEY, "  \n ")
    assert str(blank.value) == DENIAL_NEEDS_A_REASON
    await assert_still_pending(svc, asked.id)
    assert await pending_outbox(svc) == []

    clock.travel(minutes=5)
    denied = await deny_add_request(svc, asked.id, CHRIS, "  Budget is frozen until Q1. ")

    assert denied.status is RequestStatus.DENIED
    assert (denied.decided_by, denied.decided_at) == ("U0CSM2", clock.now)
    assert denied.decision_note == "Budget is frozen until Q1."
    assert (await get_add_request(svc, asked.id)).decision_note == "Budget is frozen until Q1."
    [audit] = await audits(svc, "request.denied")
    assert (audit.actor, audit.detail["note"]) == ("U0CSM2", "Budget is frozen until Q1.")
    assert await pending_outbox(svc) == decision_effects(asked.id)

    with pytest.raises(RequestAlreadyDecided):
        await approve(svc, asked.id, "csm-key")
    with pytest.raises(RequestAlreadyDecided):
        await deny_add_request(svc, asked.id, CASEY, "Twice.")
    assert await totals(svc) == (6, 0, 0)
    assert (await get_add_request(svc, asked.id)).decided_by == "U0CSM2"


async def test_a_request_approved_cannot_be_denied(svc: ServiceContext) -> None:
    asked = await ask(svc)
    receipt = await approve(svc, asked.id, "csm-key")

    with pytest.raises(RequestAlreadyDecided):
        await deny_add_request(svc, asked.id, CHRIS, "Too late.")

    view = await get_add_request(svc, asked.id)
    assert (view.status, view.order_reference) == (RequestStatus.APPROVED, receipt.reference)
    assert await audits(svc, "request.denied") == []


# --- who decides -------------------------------------------------------------------------


async def test_only_a_csm_in_the_vendor_workspace_decides(svc: ServiceContext) -> None:
    asked = await ask(svc)
    assert (await open_add_decision(svc, asked.id, CASEY)).id == asked.id
    assert (await open_add_decision(svc, asked.id, CHRIS)).id == asked.id

    with pytest.raises(NotACsm, match="requests for more licenses"):
        await open_add_decision(svc, asked.id, EVE)
    with pytest.raises(NotACsm):
        await deny_add_request(svc, asked.id, EVE, "Not mine to decide.")
    elsewhere = SlackUser(CASEY.user_id, "T0ACME")
    with pytest.raises(DecidedInVendorWorkspace, match="vendor's Slack workspace"):
        await open_add_decision(svc, asked.id, elsewhere)
    with pytest.raises(DecidedInVendorWorkspace):
        await deny_add_request(svc, asked.id, elsewhere, "From the customer's workspace.")

    await assert_still_pending(svc, asked.id)
    assert await audits(svc, "request.denied") == []


async def test_a_request_to_sales_is_not_decided_here(svc: ServiceContext) -> None:
    asked = await ask(svc, route=Route.SALES)

    with pytest.raises(AddRequestNotFound):
        await open_add_decision(svc, asked.id, CASEY)
    with pytest.raises(AddRequestNotFound):
        await deny_add_request(svc, asked.id, CASEY, "No.")
    with pytest.raises(AddRequestNotFound):
        await approve(svc, asked.id, "csm-key")
    assert await totals(svc) == (6, 0, 0)


# --- the CSM queue -----------------------------------------------------------------------


async def test_the_queue_lists_pending_requests_oldest_first_and_drops_decided_ones(
    svc: ServiceContext, clock: Clock
) -> None:
    first = await ask(svc)
    clock.travel(minutes=1)
    await request_removal(svc, "acme", ANN, 2, "Two left.", Timing.RENEWAL, "Ann Admin")
    clock.travel(minutes=1)
    await ask(svc, route=Route.SALES)
    clock.travel(minutes=1)
    last = await ask(svc, wanted=2)

    for csm in ("U0CSM", "U0CSM2"):
        queue = await csm_queue(svc, csm)
        listed = [view.reference for view in queue.requests]
        assert listed == ["LR-00001", "RR-00001", "LR-00003"]
    assert (await csm_queue(svc, "U0EVE")).requests == []

    await deny_add_request(svc, first.id, CASEY, "Not this quarter.")
    await approve(svc, last.id, "csm-key", add=2)
    assert [view.reference for view in (await csm_queue(svc, "U0CSM")).requests] == ["RR-00001"]


# --- a declined card ---------------------------------------------------------------------


async def test_a_declined_charge_reopens_the_request_for_another_approval(
    svc: ServiceContext, clock: Clock
) -> None:
    provider = ScriptedBilling(svc, ChargeDeclined(DECLINED, "card_declined"))
    svc = with_provider(svc, provider)
    asked = await ask(svc)

    failed = await approve(svc, asked.id, "csm-key")

    assert (failed.status, failed.failure_message) == ("failed", DECLINED)
    assert await totals(svc) == (6, 1, 0)
    await assert_still_pending(svc, asked.id, failed.reference)
    [reopened] = await audits(svc, "request.reopened")
    assert reopened.detail == {"request": "LR-00001", "order": failed.reference}
    # The same click again replays the failed order: no second attempt.
    assert (await approve(svc, asked.id, "csm-key")).replayed
    assert len(provider.requests) == 1

    clock.travel(minutes=10)
    paid = await approve(svc, asked.id, "csm-key-2")

    assert paid.status == "paid" and paid.reference != failed.reference
    assert await totals(svc) == (10, 2, 1)
    view = await get_add_request(svc, asked.id)
    assert (view.status, view.order_reference) == (RequestStatus.APPROVED, paid.reference)
    assert view.decided_at == clock.now


async def test_a_declined_charge_paid_after_all_approves_the_request_once(
    svc: ServiceContext,
) -> None:
    """The provider reports the declined charge as paid later: the licenses are given, the
    request is approved by that order again, and no second approval charges for it."""
    provider = ScriptedBilling(svc, ChargeDeclined(DECLINED, "card_declined"))
    declining = with_provider(svc, provider)
    asked = await ask(declining)
    failed = await approve(declining, asked.id, "csm-key")
    assert failed.status == "failed"

    late = await settle_paid(declining, failed.reference, "pi_late")

    assert late.status == "paid"
    view = await get_add_request(svc, asked.id)
    assert (view.status, view.order_reference) == (RequestStatus.APPROVED, failed.reference)
    with pytest.raises(RequestAlreadyDecided):
        await approve(declining, asked.id, "csm-key-2")
    assert await totals(svc) == (10, 1, 0)
