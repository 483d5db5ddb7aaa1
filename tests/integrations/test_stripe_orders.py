"""Orders charged through Stripe's API (mocked with respx): what a crash, a timeout or a
retry leaves behind is one charge, with one idempotency key, and a settled order."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from sqlalchemy import update

from bot.integrations.billing import StripeBilling
from bot.integrations.stripe import StripeClient
from bot.models import Account
from bot.readmodels import AdminIdentity
from bot.services.accounts import import_accounts, show_account
from bot.services.context import ServiceContext
from bot.services.orders import (
    RESUME_AFTER,
    UNCONFIRMED,
    charge_key,
    place_order,
    resume_pending_orders,
)
from tests.accounts import account

BASE = "https://stripe.test"
ANN = AdminIdentity("U0ANN")
MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = MID_NOVEMBER

    def __call__(self) -> datetime:
        return self.now


class FakeStripe:
    """Stripe's PaymentIntent endpoint as far as an order needs it, keyed like Stripe."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.intents: dict[str, dict[str, Any]] = {}  # idempotency key → intent
        # What the next POSTs meet before reaching Stripe's logic: "timeout", 429, 500, or
        # "lost" (Stripe charges, the answer never arrives).
        self.faults: list[str | int] = []
        self.reads: list[str] = []

    def customer(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"id": "cus_1", "invoice_settings": {"default_payment_method": "pm_1"}}
        )

    def create_intent(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode()))
        key = request.headers["Idempotency-Key"]
        self.posts.append({"key": key, **params})
        fault = self.faults.pop(0) if self.faults else None
        if fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault in (429, 500):
            return httpx.Response(
                int(fault), headers={"Retry-After": "1"}, json={"error": {"message": "busy"}}
            )
        intent = self.intents.setdefault(
            key,
            {
                "id": f"pi_{len(self.intents) + 1}",
                "object": "payment_intent",
                "status": "succeeded",
                "amount": int(params["amount"]),
                "currency": params["currency"],
                "metadata": {
                    "order": params["metadata[order]"],
                    "account": params["metadata[account]"],
                },
            },
        )
        if fault == "processing":
            intent["status"] = "processing"
        if fault == "lost":
            raise httpx.ReadTimeout("answer lost", request=request)
        if fault == "changed":
            # Stripe compares a replayed key's parameters with its first request's.
            return httpx.Response(
                400,
                json={
                    "error": {
                        "type": "idempotency_error",
                        "message": "Keys for "
                        "idempotent requests can only be used with the same parameters",
                    }
                },
            )
        return httpx.Response(200, json=intent)

    def get_intent(self, request: httpx.Request, intent_id: str) -> httpx.Response:
        self.reads.append(intent_id)
        [intent] = [i for i in self.intents.values() if i["id"] == intent_id]
        return httpx.Response(200, json=intent)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/v1/customers/cus_1").mock(side_effect=fake.customer)
        router.post("/v1/payment_intents").mock(side_effect=fake.create_intent)
        router.get(path__regex=r"^/v1/payment_intents/(?P<intent_id>pi_\w+)$").mock(
            side_effect=fake.get_intent
        )
        yield fake


@pytest.fixture
async def stripe_ctx(ctx: ServiceContext) -> AsyncIterator[ServiceContext]:
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    client = StripeClient("sk_test_x", BASE, sleep=no_sleep, max_attempts=3)
    billed = dataclasses.replace(ctx, billing_provider=StripeBilling(client), clock=Clock())
    await import_accounts(billed, {"accounts": [account()]}, actor="test")
    async with billed.sessions() as session, session.begin():
        await session.execute(
            update(Account)
            .where(Account.id == "acme")
            .values(stripe_customer="cus_1", stripe_subscription="sub_1")
        )
    yield billed
    await client.aclose()


async def licenses(ctx: ServiceContext) -> int:
    return (await show_account(ctx, "acme")).terms.licenses


@pytest.mark.parametrize("fault", ["timeout", 429, 500])
async def test_a_passing_fault_is_retried_with_the_same_key_and_charges_once(
    stripe_ctx: ServiceContext, fake_stripe: FakeStripe, fault: str | int
) -> None:
    fake_stripe.faults = [fault]

    receipt = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)

    assert (receipt.status, receipt.charge_reference) == ("paid", "pi_1")
    assert [post["key"] for post in fake_stripe.posts] == [charge_key(receipt.reference)] * 2
    assert len(fake_stripe.intents) == 1
    assert await licenses(stripe_ctx) == 13


async def test_a_charge_whose_answer_was_lost_is_recovered_not_repeated(
    stripe_ctx: ServiceContext, fake_stripe: FakeStripe
) -> None:
    # Stripe charged; every answer of this attempt was lost (as if the process had died).
    fake_stripe.faults = ["lost", "timeout", "timeout"]

    pending = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)

    assert pending.status == "pending"
    assert await licenses(stripe_ctx) == 10
    assert len(fake_stripe.intents) == 1

    clock = stripe_ctx.clock
    assert isinstance(clock, Clock)
    clock.now += RESUME_AFTER + timedelta(seconds=1)
    [resolved] = await resume_pending_orders(stripe_ctx)

    assert (resolved.reference, resolved.status) == (pending.reference, "paid")
    assert resolved.charge_reference == "pi_1"
    assert {post["key"] for post in fake_stripe.posts} == {charge_key(pending.reference)}
    assert len(fake_stripe.intents) == 1
    assert int(fake_stripe.posts[-1]["amount"]) == pending.charged_minor
    assert await licenses(stripe_ctx) == 13
    assert await resume_pending_orders(stripe_ctx) == []


async def test_the_same_click_replayed_is_answered_from_the_order_without_calling_stripe(
    stripe_ctx: ServiceContext, fake_stripe: FakeStripe
) -> None:
    first = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)
    again = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)

    assert again.replayed and again.reference == first.reference
    assert len(fake_stripe.posts) == 1
    assert await licenses(stripe_ctx) == 13


async def test_a_key_stripe_still_has_in_flight_leaves_the_order_pending_not_failed(
    stripe_ctx: ServiceContext,
) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/v1/customers/cus_1").mock(side_effect=FakeStripe().customer)
        router.post("/v1/payment_intents").mock(
            return_value=httpx.Response(
                409,
                json={"error": {"type": "idempotency_error", "code": "idempotency_key_in_use"}},
            )
        )
        receipt = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)

    assert receipt.status == "pending"
    assert await licenses(stripe_ctx) == 10


def later(ctx: ServiceContext, delta: timedelta) -> None:
    clock = ctx.clock
    assert isinstance(clock, Clock)
    clock.now += delta


async def test_a_payment_still_processing_is_followed_by_its_id_never_charged_again(
    stripe_ctx: ServiceContext, fake_stripe: FakeStripe
) -> None:
    fake_stripe.faults = ["processing"]

    pending = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)

    assert (pending.status, pending.charge_reference) == ("pending", "pi_1")
    later(stripe_ctx, RESUME_AFTER + timedelta(seconds=1))
    assert await resume_pending_orders(stripe_ctx) == []  # still processing
    fake_stripe.intents[charge_key(pending.reference)]["status"] = "succeeded"
    later(stripe_ctx, RESUME_AFTER)

    [paid] = await resume_pending_orders(stripe_ctx)

    assert (paid.status, paid.charge_reference) == ("paid", "pi_1")
    assert len(fake_stripe.posts) == 1
    assert fake_stripe.reads == ["pi_1", "pi_1"]
    assert await licenses(stripe_ctx) == 13


async def test_a_key_replayed_with_other_parameters_leaves_the_order_pending(
    stripe_ctx: ServiceContext, fake_stripe: FakeStripe
) -> None:
    # The first attempt's answer was lost; by the retry, Stripe compares and refuses.
    fake_stripe.faults = ["lost", "changed", "changed"]

    receipt = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)

    assert receipt.status == "pending"
    assert await licenses(stripe_ctx) == 10


async def test_after_a_day_without_an_answer_no_retry_is_sent_and_the_order_fails(
    stripe_ctx: ServiceContext, fake_stripe: FakeStripe
) -> None:
    fake_stripe.faults = ["timeout"] * 3
    pending = await place_order(stripe_ctx, "acme", ANN, 3, "modal-1", None)
    assert pending.status == "pending"
    later(stripe_ctx, timedelta(hours=24))

    [failed] = await resume_pending_orders(stripe_ctx)

    assert (failed.status, failed.failure_message) == ("failed", UNCONFIRMED)
    assert len(fake_stripe.posts) == 3  # the first attempt's, none since
    assert await licenses(stripe_ctx) == 10
