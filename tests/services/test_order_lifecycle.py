"""An order's life past step 1: declined, provider unreachable, crashes, recovery, free plans.

Each test swaps the billing provider for one that answers as scripted (on top of the real
ledger, so a charge that "went through" is booked and replayed by its key).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.domain.errors import BillingNotSetUp, OrderPending
from bot.integrations.billing import (
    BillingRefused,
    BillingUnavailable,
    ChargeDeclined,
    ChargeRequest,
    LedgerBilling,
)
from bot.models import Account, AuditEntry, LedgerCharge, Order, OutboxEntry
from bot.services.context import ServiceContext
from bot.services.orders import (
    NOT_CHARGEABLE,
    RESUME_AFTER,
    _reserve,
    charge_key,
    get_receipt,
    place_order,
    resume_pending_orders,
)
from tests.services.test_orders import ANN, account_entry, at, count, licenses_of, seed

MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)
DECLINED = "Your card was declined."


class LostAnswer(Exception):
    """Scripted outcome: the charge is booked, then the answer is lost on the way back."""


BOOK = "book"


class ScriptedBilling(LedgerBilling):
    """The ledger, but each charge attempt first takes the next scripted outcome.

    An exception is raised (nothing booked); LostAnswer books the charge, then raises
    BillingUnavailable; BOOK (and an empty script) books it as the ledger does.
    """

    local = False  # charged as a remote provider is: through `charge`, between transactions

    def __init__(self, ctx: ServiceContext, *outcomes: Any, needs_customer: bool = False) -> None:
        super().__init__(ctx.sessions)
        self.outcomes = list(outcomes)
        self.requests: list[ChargeRequest] = []
        self.needs_customer = needs_customer

    async def charge(self, request: ChargeRequest) -> str:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else BOOK
        if outcome is LostAnswer:
            await super().charge(request)
            raise BillingUnavailable("connection reset after the request was sent")
        if isinstance(outcome, BaseException):
            raise outcome
        return await super().charge(request)


def with_provider(ctx: ServiceContext, provider: ScriptedBilling) -> ServiceContext:
    return dataclasses.replace(ctx, billing_provider=provider)


async def ledger_charges(ctx: ServiceContext) -> list[LedgerCharge]:
    async with ctx.sessions() as session:
        return list((await session.scalars(select(LedgerCharge))).all())


async def audits(ctx: ServiceContext, action: str) -> list[AuditEntry]:
    async with ctx.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list((await session.scalars(query)).all())


async def outbox(ctx: ServiceContext, kind: str) -> list[dict[str, Any]]:
    async with ctx.sessions() as session:
        query = select(OutboxEntry.payload).where(OutboxEntry.kind == kind)
        return [dict(payload) for payload in (await session.scalars(query)).all()]


# --- our own ledger ----------------------------------------------------------------------


async def test_a_ledger_order_is_booked_and_recorded_in_one_transaction(
    ctx: ServiceContext,
) -> None:
    # Nothing to wait for between the charge and its record: no moment a crash could
    # leave the order half done, and one write for SQLite's single writer.
    await seed(ctx)
    ctx = at(ctx, MID_NOVEMBER)
    writes = 0
    sessions = ctx.sessions

    def counted() -> Any:
        nonlocal writes
        writes += 1
        return sessions()

    ctx = dataclasses.replace(ctx, sessions=counted)  # type: ignore[arg-type]

    receipt = await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert writes == 1
    assert (receipt.status, receipt.licenses_before, receipt.licenses_after) == ("paid", 10, 13)
    [charge] = await ledger_charges(ctx)
    assert (charge.reference, charge.amount_minor) == (
        receipt.charge_reference,
        receipt.charged_minor,
    )
    assert await licenses_of(ctx) == 13
    assert [entry["reference"] for entry in await outbox(ctx, "order.receipt")] == [
        receipt.reference
    ]


# --- a declined card ---------------------------------------------------------------------


async def test_a_declined_card_fails_the_order_and_tells_the_admin_why(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(ctx, ChargeDeclined(DECLINED, "card_declined"))
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)

    receipt = await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert receipt.status == "failed"
    assert receipt.failure_message == DECLINED
    assert receipt.charge_reference is None
    assert await licenses_of(ctx) == 10
    assert await ledger_charges(ctx) == []
    assert await audits(ctx, "order.placed") == []
    [failed] = await audits(ctx, "order.failed")
    assert failed.detail["order"] == receipt.reference
    assert failed.detail["reason"] == DECLINED
    assert failed.actor == "U0ANN"
    # The admin is told by DM: queued with the outcome, no receipt.
    assert [entry["reference"] for entry in await outbox(ctx, "order.failed")] == [
        receipt.reference
    ]
    assert await outbox(ctx, "order.receipt") == []
    stored = await get_receipt(ctx, receipt.reference)
    assert (stored.status, stored.failure_message) == ("failed", DECLINED)


async def test_a_declined_order_is_not_retried_by_its_key_and_does_not_block_a_new_one(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(ctx, ChargeDeclined(DECLINED, "card_declined"))
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)
    failed = await place_order(ctx, "acme", ANN, 3, "key-1", None)
    assert failed.status == "failed"

    # The same click again (a retried request): the failed receipt, no second attempt.
    again = await place_order(ctx, "acme", ANN, 3, "key-1", None)
    assert again.replayed
    assert (again.reference, again.status, again.failure_message) == (
        failed.reference,
        "failed",
        DECLINED,
    )
    assert len(provider.requests) == 1
    # The recovery job does not pick it up either.
    later = at(ctx, MID_NOVEMBER + timedelta(minutes=5))
    assert await resume_pending_orders(later) == []
    assert len(provider.requests) == 1

    # A new click (new key) after the card was fixed is accepted and paid.
    paid = await place_order(later, "acme", ANN, 3, "key-2", None)
    assert paid.status == "paid"
    assert paid.reference != failed.reference
    assert (paid.licenses_before, paid.licenses_after) == (10, 13)
    assert await licenses_of(ctx) == 13
    [charge] = await ledger_charges(ctx)
    assert charge.reference == paid.charge_reference
    assert charge.idempotency_key == charge_key(paid.reference)

    # And the failed one still replays as failed, charging nothing.
    replay = await place_order(later, "acme", ANN, 3, "key-1", None)
    assert (replay.status, replay.replayed) == ("failed", True)
    assert len(provider.requests) == 2
    assert await count(ctx, LedgerCharge) == 1
    assert await licenses_of(ctx) == 13


async def test_a_request_the_provider_refuses_fails_as_a_setup_problem(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(
        ctx, BillingRefused("Stripe HTTP 400 resource_missing: No such customer")
    )
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)

    receipt = await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert receipt.status == "failed"
    assert receipt.failure_message == NOT_CHARGEABLE
    assert "Support" in (receipt.failure_message or "")
    # The provider's own words stay in the log, not in what the admin reads.
    assert "No such customer" not in (receipt.failure_message or "")
    assert await licenses_of(ctx) == 10
    assert await count(ctx, LedgerCharge) == 0
    assert len(await audits(ctx, "order.failed")) == 1
    assert len(await outbox(ctx, "order.failed")) == 1
    # Nothing blocks the next order.
    provider.outcomes = []
    assert (await place_order(ctx, "acme", ANN, 1, "key-2", None)).status == "paid"


# --- the provider cannot be reached --------------------------------------------------------


async def test_an_unreachable_provider_leaves_the_order_pending_until_recovery_pays_it(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(
        ctx, BillingUnavailable("timed out"), BillingUnavailable("still down")
    )
    ctx = with_provider(ctx, provider)

    pending = await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "key-1", None)

    assert pending.status == "pending"
    assert pending.failure_message is None
    assert await licenses_of(ctx) == 10
    assert await count(ctx, LedgerCharge) == 0
    assert await audits(ctx, "order.failed") == []

    # One order at a time: another one is refused and names the one being charged.
    with pytest.raises(OrderPending) as blocked:
        await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 2, "key-2", None)
    assert pending.reference in str(blocked.value)
    assert "3 licenses" in str(blocked.value)
    assert await count(ctx, Order) == 1
    assert len(provider.requests) == 1

    # Younger than RESUME_AFTER: still in the hands of whoever placed it.
    early = at(ctx, MID_NOVEMBER + RESUME_AFTER - timedelta(seconds=1))
    assert await resume_pending_orders(early) == []
    assert len(provider.requests) == 1

    # The provider is still down at the first recovery run: it stays pending.
    later = at(ctx, MID_NOVEMBER + timedelta(seconds=61))
    assert await resume_pending_orders(later) == []
    assert (await get_receipt(ctx, pending.reference)).status == "pending"
    assert await licenses_of(ctx) == 10

    # The provider is back.
    [paid] = await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(seconds=122)))

    assert paid.reference == pending.reference
    assert paid.status == "paid"
    assert (paid.licenses_before, paid.licenses_after) == (10, 13)
    assert await licenses_of(ctx) == 13
    [charge] = await ledger_charges(ctx)
    assert paid.charge_reference == charge.reference
    assert charge.amount_minor == pending.charged_minor == 7350
    assert [request.idempotency_key for request in provider.requests] == [
        charge_key(pending.reference)
    ] * 3
    assert len(await audits(ctx, "order.placed")) == 1
    assert [entry["reference"] for entry in await outbox(ctx, "order.receipt")] == [
        pending.reference
    ]

    # Nothing left to do, and licenses are raised once only.
    assert await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(minutes=10))) == []
    assert await licenses_of(ctx) == 13
    assert len(provider.requests) == 3
    # The account takes orders again.
    assert (await place_order(ctx, "acme", ANN, 2, "key-2", None)).licenses_after == 15


async def test_recovery_waits_sixty_seconds_from_when_the_order_was_placed(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(ctx, BillingUnavailable("timed out"))
    ctx = with_provider(ctx, provider)
    pending = await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "key-1", None)

    assert await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(seconds=30))) == []
    assert len(provider.requests) == 1
    [paid] = await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(seconds=61)))
    assert paid.reference == pending.reference
    assert paid.status == "paid"
    assert len(provider.requests) == 2


# --- crashes -------------------------------------------------------------------------------


async def test_a_charge_whose_answer_was_lost_is_recovered_without_charging_twice(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(ctx, LostAnswer)
    ctx = with_provider(ctx, provider)

    pending = await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "key-1", None)

    assert pending.status == "pending"
    assert await licenses_of(ctx) == 10
    [booked] = await ledger_charges(ctx)  # the money was taken

    [paid] = await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(seconds=61)))

    assert paid.status == "paid"
    assert paid.charge_reference == booked.reference
    assert [charge.reference for charge in await ledger_charges(ctx)] == [booked.reference]
    assert await licenses_of(ctx) == 13
    assert {request.idempotency_key for request in provider.requests} == {
        charge_key(pending.reference)
    }
    assert len(provider.requests) == 2
    [placed] = await audits(ctx, "order.placed")
    assert placed.detail["charge_reference"] == booked.reference


async def test_an_order_reserved_before_a_crash_is_charged_once_and_replays_as_paid(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(ctx)
    ctx = with_provider(ctx, provider)

    # Step 1 committed, then the process died before charging.
    reserved, _, _ = await _reserve(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "key-1", None, None)
    assert reserved.status == "pending"
    assert provider.requests == []
    assert await licenses_of(ctx) == 10

    [paid] = await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(seconds=61)))

    assert (paid.reference, paid.status) == (reserved.reference, "paid")
    assert await licenses_of(ctx) == 13
    [charge] = await ledger_charges(ctx)
    assert paid.charge_reference == charge.reference
    assert [request.idempotency_key for request in provider.requests] == [
        charge_key(reserved.reference)
    ]

    # The PlaceOrder effect runs again after the restart: the paid order, not a new one.
    replay = await place_order(
        at(ctx, MID_NOVEMBER + timedelta(seconds=90)), "acme", ANN, 3, "key-1", None
    )
    assert replay.replayed
    assert (replay.reference, replay.status) == (reserved.reference, "paid")
    assert replay.charge_reference == charge.reference
    assert (replay.licenses_before, replay.licenses_after) == (10, 13)
    assert len(provider.requests) == 1
    assert await count(ctx, LedgerCharge) == 1
    assert await count(ctx, Order) == 1
    assert await licenses_of(ctx) == 13
    assert len(await audits(ctx, "order.placed")) == 1


async def test_a_rerun_of_an_order_reserved_before_a_crash_finishes_it(
    ctx: ServiceContext,
) -> None:
    # The PlaceOrder effect may run again before the recovery job does: it charges it.
    await seed(ctx)
    provider = ScriptedBilling(ctx)
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)
    reserved, _, _ = await _reserve(ctx, "acme", ANN, 3, "key-1", None, None)

    rerun = await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert (rerun.reference, rerun.status, rerun.replayed) == (reserved.reference, "paid", True)
    assert await licenses_of(ctx) == 13
    assert await count(ctx, LedgerCharge) == 1
    assert await resume_pending_orders(at(ctx, MID_NOVEMBER + timedelta(minutes=5))) == []
    assert len(provider.requests) == 1


# --- billing set up, and free plans ------------------------------------------------------


async def test_an_account_without_a_billing_customer_is_refused_and_nothing_is_written(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    provider = ScriptedBilling(ctx, needs_customer=True)
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)
    audits_before = await count(ctx, AuditEntry)
    outbox_before = await count(ctx, OutboxEntry)

    with pytest.raises(BillingNotSetUp) as refused:
        await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert "Acme Corp" in str(refused.value)
    assert "Nothing was charged" in str(refused.value)
    assert provider.requests == []
    assert await count(ctx, Order) == 0
    assert await count(ctx, LedgerCharge) == 0
    assert await count(ctx, AuditEntry) == audits_before
    assert await count(ctx, OutboxEntry) == outbox_before
    assert await licenses_of(ctx) == 10


async def test_a_customer_without_a_subscription_is_refused_too(ctx: ServiceContext) -> None:
    await seed(ctx)
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == "acme").values(stripe_customer="cus_acme")
        )
    provider = ScriptedBilling(ctx, needs_customer=True)
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)

    with pytest.raises(BillingNotSetUp):
        await place_order(ctx, "acme", ANN, 3, "key-1", None)
    assert await count(ctx, Order) == 0
    assert provider.requests == []


async def test_an_account_with_its_billing_customer_is_charged_as_that_customer(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(Account)
            .where(Account.id == "acme")
            .values(stripe_customer="cus_acme", stripe_subscription="sub_acme")
        )
    provider = ScriptedBilling(ctx, needs_customer=True)
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)

    receipt = await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert receipt.status == "paid"
    [request] = provider.requests
    assert request.customer == "cus_acme"
    assert request.amount_minor == 7350
    # The subscription is then made to bill the new count.
    assert await outbox(ctx, "billing.quantity") == [{"team_id": None, "account_id": "acme"}]


async def test_a_free_order_is_paid_without_calling_the_provider(ctx: ServiceContext) -> None:
    await seed(ctx, account_entry(plan="freemium", price_per_license=None))
    provider = ScriptedBilling(ctx, BillingUnavailable("must not be called"))
    ctx = at(with_provider(ctx, provider), MID_NOVEMBER)

    receipt = await place_order(ctx, "acme", ANN, 4, "key-1", None)

    assert provider.requests == []
    assert receipt.status == "paid"
    assert receipt.charged_minor == 0
    assert receipt.charge_reference is None
    assert receipt.licenses_after == 14
    assert await licenses_of(ctx) == 14
    assert await count(ctx, LedgerCharge) == 0
    assert [entry["reference"] for entry in await outbox(ctx, "order.receipt")] == [
        receipt.reference
    ]
