"""POST /stripe/webhook over HTTP: the real bot, a fake Slack, Stripe's API mocked with respx.

Only signed events are applied, each once; payment events settle pending orders (the admin
gets the receipt or the reason by DM), subscription events write Stripe's values onto the
account as read fresh from Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from sqlalchemy import func, select, update

from bot.models import Account, AuditEntry, Order, StripeEvent
from bot.readmodels import AdminIdentity, Receipt
from bot.services.orders import _reserve, charge_key, place_order
from tests.slack.conftest import start_workspace
from tests.slack.driver import Workspace, block_text

STRIPE_URL = "https://stripe.test"
WEBHOOK_SECRET = "whsec_test"
ANN = "U0ANN"
CUSTOMER, SUBSCRIPTION, ITEM = "cus_acme", "sub_acme", "si_acme"
# Acme's period as the demo account has it: only the quantity differs unless a test says so.
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 12, 1, tzinfo=UTC)


class FakeStripe:
    """Acme's subscription as Stripe has it, served on the mocked API."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        self.quantity = 10
        self.quantities_set: list[int] = []
        self.intents: list[httpx.Request] = []
        router.get(f"/v1/subscriptions/{SUBSCRIPTION}").mock(side_effect=self._subscription)
        router.post(f"/v1/subscription_items/{ITEM}").mock(side_effect=self._set_quantity)
        router.get(f"/v1/customers/{CUSTOMER}").mock(
            return_value=httpx.Response(
                200,
                json={
                    "id": CUSTOMER,
                    "object": "customer",
                    "invoice_settings": {"default_payment_method": "pm_card_visa"},
                },
            )
        )
        router.post("/v1/payment_intents").mock(side_effect=self._payment_intent)

    def subscription(self) -> dict[str, Any]:
        start, end = int(PERIOD_START.timestamp()), int(PERIOD_END.timestamp())
        return {
            "id": SUBSCRIPTION,
            "object": "subscription",
            "status": "active",
            "customer": CUSTOMER,
            "current_period_start": start,
            "current_period_end": end,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": ITEM,
                        "object": "subscription_item",
                        "quantity": self.quantity,
                        "price": {
                            "id": "price_pro_monthly",
                            "unit_amount": 4900,
                            "currency": "usd",
                            "recurring": {"interval": "month", "interval_count": 1},
                        },
                        "current_period_start": start,
                        "current_period_end": end,
                    }
                ],
            },
        }

    def _subscription(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=self.subscription())

    def _set_quantity(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        self.quantity = int(form["quantity"])
        self.quantities_set.append(self.quantity)
        return httpx.Response(200, json={"id": ITEM, "quantity": self.quantity})

    def _payment_intent(self, request: httpx.Request) -> httpx.Response:
        self.intents.append(request)
        form = dict(parse_qsl(request.content.decode()))
        body = {
            "id": f"pi_{len(self.intents)}",
            "object": "payment_intent",
            "status": "succeeded",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "metadata": {"order": form["metadata[order]"], "account": form["metadata[account]"]},
        }
        return httpx.Response(200, json=body)

    def reads(self) -> int:
        return sum(
            1
            for call in self.router.calls
            if call.request.method == "GET" and call.request.url.path.endswith(SUBSCRIPTION)
        )


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    # Only Stripe's host is mocked: the fake Slack and the bot's own server speak aiohttp.
    with respx.mock(base_url=STRIPE_URL, assert_all_called=False) as router:
        yield FakeStripe(router)


@pytest.fixture
async def ws(sqlite_url: str, tmp_path: Path, stripe: FakeStripe) -> AsyncIterator[Workspace]:
    async for workspace in start_workspace(
        sqlite_url,
        tmp_path,
        billing_provider="stripe",
        stripe_api_key="sk_test_x",
        stripe_api_url=STRIPE_URL,
        stripe_webhook_secret=WEBHOOK_SECRET,
    ):
        async with workspace.services.sessions() as session, session.begin():
            await session.execute(
                update(Account)
                .where(Account.id == "acme")
                .values(stripe_customer=CUSTOMER, stripe_subscription=SUBSCRIPTION)
            )
        yield workspace


# --- Stripe's side ----------------------------------------------------------------------


def sign(body: bytes, timestamp: int | None = None, secret: str = WEBHOOK_SECRET) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def intent_event(kind: str, order: Receipt, **fields: Any) -> dict[str, Any]:
    return event(
        kind,
        {
            "id": fields.pop("id", "pi_1"),
            "object": "payment_intent",
            "amount": order.charged_minor,
            "currency": order.currency.lower(),
            "customer": CUSTOMER,
            "metadata": {"order": order.reference, "account": "acme"},
            **fields,
        },
    )


def subscription_event(kind: str, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    obj = {"id": SUBSCRIPTION, "object": "subscription", "customer": CUSTOMER, **fields}
    return event(kind, obj, event_id)


async def post(ws: Workspace, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """Stripe's delivery; then the bot's work after its answer (DMs, App Homes) is awaited."""
    headers = {"Content-Type": "application/json", **headers}
    async with ws.http.post(f"{ws.url}/stripe/webhook", data=body, headers=headers) as response:
        status, answer = response.status, await response.json(content_type=None)
    await ws.settle()
    return status, answer


async def deliver(ws: Workspace, payload: dict[str, Any]) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    return await post(ws, body, {"Stripe-Signature": sign(body)})


# --- what the admin and the database show ----------------------------------------------


async def pending_order(ws: Workspace, add: int = 3, key: str = "webhook-1") -> Receipt:
    """An order written down as pending (step 1), its charge not settled by the bot."""
    receipt, _, _ = await _reserve(ws.services, "acme", AdminIdentity(ANN), add, key, None, None)
    assert receipt.status == "pending"
    return receipt


async def order(ws: Workspace, reference: str) -> Order:
    async with ws.services.sessions() as session:
        found = await session.scalar(select(Order).where(Order.reference == reference))
    assert found is not None
    return found


async def acme(ws: Workspace) -> Account:
    async with ws.services.sessions() as session:
        found = await session.get(Account, "acme")
    assert found is not None
    return found


async def audits(ws: Workspace, action: str) -> list[AuditEntry]:
    async with ws.services.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.scalars(query)).all())


async def events_recorded(ws: Workspace) -> int:
    async with ws.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(StripeEvent)) or 0)


def dms_to(ws: Workspace, user: str) -> list[str]:
    return [message["text"] for message in ws.slack.messages.get(ws.slack.dm_channel(user), [])]


def home_of(ws: Workspace, user: str) -> str:
    return block_text(ws.slack.homes[user]["blocks"])


# --- signatures ---------------------------------------------------------------------------


async def test_only_a_correctly_signed_recent_event_is_applied(
    ws: Workspace, stripe: FakeStripe
) -> None:
    placed = await pending_order(ws)
    payload = intent_event("payment_intent.succeeded", placed, status="succeeded")
    body = json.dumps(payload).encode()
    stale = int(time.time()) - 6 * 60

    for headers in (
        {"Stripe-Signature": sign(body, secret="whsec_someone_else")},
        {"Stripe-Signature": sign(body + b" ")},  # signed, then the body was changed
        {"Stripe-Signature": sign(body, timestamp=stale)},
        {"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"},
        {"Stripe-Signature": "garbage"},
        {},
    ):
        status, answer = await post(ws, body, headers)
        assert (status, headers) == (400, headers)
        assert "error" in answer

    assert (await order(ws, placed.reference)).status == "pending"
    assert (await acme(ws)).licenses == 10
    assert await events_recorded(ws) == 0
    assert dms_to(ws, ANN) == []
    assert stripe.router.calls.call_count == 0

    status, answer = await post(ws, body, {"Stripe-Signature": sign(body)})

    assert status == 200
    assert answer["received"] is True
    assert (await order(ws, placed.reference)).status == "paid"
    assert (await acme(ws)).licenses == 13


async def test_a_stale_timestamp_is_refused_even_with_a_good_signature(ws: Workspace) -> None:
    placed = await pending_order(ws)
    body = json.dumps(intent_event("payment_intent.succeeded", placed)).encode()

    status, answer = await post(
        ws, body, {"Stripe-Signature": sign(body, timestamp=int(time.time()) - 301)}
    )

    assert status == 400
    assert "tolerance" in answer["error"]
    assert (await order(ws, placed.reference)).status == "pending"


async def test_a_missing_signature_header_is_refused(ws: Workspace) -> None:
    placed = await pending_order(ws)
    body = json.dumps(intent_event("payment_intent.succeeded", placed)).encode()

    status, answer = await post(ws, body, {})

    assert status == 400
    assert "missing" in answer["error"]
    assert (await order(ws, placed.reference)).status == "pending"
    assert (await acme(ws)).licenses == 10


# --- payments -------------------------------------------------------------------------------


async def test_a_succeeded_payment_pays_the_pending_order_and_sends_the_receipt(
    ws: Workspace, stripe: FakeStripe
) -> None:
    placed = await pending_order(ws)

    status, answer = await deliver(
        ws, intent_event("payment_intent.succeeded", placed, status="succeeded")
    )

    assert status == 200
    assert answer["outcome"] == f"order {placed.reference} is paid"
    paid = await order(ws, placed.reference)
    assert (paid.status, paid.charge_reference) == ("paid", "pi_1")
    assert (paid.licenses_before, paid.licenses_after) == (10, 13)
    assert (await acme(ws)).licenses == 13
    [receipt] = dms_to(ws, ANN)
    assert receipt.startswith("You added 3 licenses (10 → 13)")
    assert placed.reference in receipt
    assert "+3 (10 → 13)" in home_of(ws, ANN)
    # Stripe's subscription now bills the new count from the next cycle.
    assert stripe.quantities_set == [13]
    assert len(await audits(ws, "order.placed")) == 1


async def test_a_succeeded_payment_delivered_twice_pays_once_and_sends_one_receipt(
    ws: Workspace, stripe: FakeStripe
) -> None:
    placed = await pending_order(ws)
    payload = intent_event("payment_intent.succeeded", placed, status="succeeded")

    first = await deliver(ws, payload)
    again = await deliver(ws, payload)

    assert (first[0], again[0]) == (200, 200)
    assert again[1]["outcome"] == "already applied"
    assert (await acme(ws)).licenses == 13
    assert len(dms_to(ws, ANN)) == 1
    assert len(await audits(ws, "order.placed")) == 1
    assert stripe.quantities_set == [13]


async def test_the_payment_webhook_for_an_order_the_bot_charged_itself_changes_nothing(
    ws: Workspace, stripe: FakeStripe
) -> None:
    # Every charge the bot makes is followed by Stripe's own payment_intent.succeeded.
    paid = await place_order(ws.services, "acme", AdminIdentity(ANN), 3, "webhook-1", None)
    await ws.runtime.effects.drain()
    assert (paid.status, paid.charge_reference) == ("paid", "pi_1")
    [charge] = stripe.intents
    assert charge.headers["Idempotency-Key"] == charge_key(paid.reference)
    assert (await acme(ws)).licenses == 13
    assert len(dms_to(ws, ANN)) == 1

    status, answer = await deliver(
        ws, intent_event("payment_intent.succeeded", paid, id="pi_1", status="succeeded")
    )

    assert status == 200
    assert answer["outcome"] == f"order {paid.reference} is paid"
    assert (await acme(ws)).licenses == 13
    assert len(dms_to(ws, ANN)) == 1
    assert len(await audits(ws, "order.placed")) == 1
    assert stripe.quantities_set == [13]
    assert len(stripe.intents) == 1


async def test_a_failed_payment_fails_the_pending_order_and_tells_the_admin_why(
    ws: Workspace, stripe: FakeStripe
) -> None:
    placed = await pending_order(ws)
    why = "Your card has insufficient funds."

    status, answer = await deliver(
        ws,
        intent_event(
            "payment_intent.payment_failed",
            placed,
            id="pi_2",
            status="requires_payment_method",
            last_payment_error={
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": why,
            },
        ),
    )

    assert status == 200
    assert answer["outcome"] == f"order {placed.reference} is failed"
    failed = await order(ws, placed.reference)
    assert (failed.status, failed.failure_message) == ("failed", why)
    assert (await acme(ws)).licenses == 10
    [told] = dms_to(ws, ANN)
    assert why in told
    assert "was not placed" in told
    assert "You added" not in told
    [audit] = await audits(ws, "order.failed")
    assert audit.detail["reason"] == why
    assert stripe.quantities_set == []
    # The account can order again.
    assert (await pending_order(ws, key="webhook-2")).status == "pending"


# --- subscriptions ------------------------------------------------------------------------


async def test_a_subscription_changed_in_stripe_is_read_fresh_and_shown_to_the_admins(
    ws: Workspace, stripe: FakeStripe
) -> None:
    stripe.quantity = 25
    # The event's own copy is stale on purpose: Stripe's current subscription is what counts.
    payload = subscription_event(
        "customer.subscription.updated",
        items={"data": [{"id": ITEM, "quantity": 11}]},
    )

    status, answer = await deliver(ws, payload)

    assert status == 200
    assert answer["outcome"] == "changed licenses"
    assert stripe.reads() == 1
    assert (await acme(ws)).licenses == 25
    [changed] = await audits(ws, "account.changed")
    assert changed.actor == "stripe"
    assert changed.detail["source"] == "changed in Stripe"
    assert (changed.detail["field"], changed.detail["before"], changed.detail["after"]) == (
        "licenses",
        10,
        25,
    )
    assert "*Licenses*\n25" in home_of(ws, ANN)
    # Nothing is written back to Stripe: the count came from there.
    assert stripe.quantities_set == []


async def test_a_cancelled_subscription_leaves_the_account_without_licenses(
    ws: Workspace, stripe: FakeStripe
) -> None:
    status, _ = await deliver(
        ws, subscription_event("customer.subscription.deleted", status="canceled")
    )

    assert status == 200
    account = await acme(ws)
    assert account.licenses == 0
    assert account.stripe_subscription is None
    assert account.stripe_customer == CUSTOMER
    [cancelled] = await audits(ws, "subscription.cancelled")
    assert cancelled.detail["subscription"] == SUBSCRIPTION
    assert cancelled.detail["source"] == "changed in Stripe"
    assert "*Licenses*\n0" in home_of(ws, ANN)
    assert stripe.reads() == 0


async def test_the_same_subscription_event_delivered_twice_is_applied_once(
    ws: Workspace, stripe: FakeStripe
) -> None:
    stripe.quantity = 25
    payload = subscription_event("customer.subscription.updated", event_id="evt_once")
    assert (await deliver(ws, payload))[0] == 200
    assert (await acme(ws)).licenses == 25
    changes = len(await audits(ws, "account.changed"))

    # Stripe's subscription moves on; the replayed event must not re-apply it.
    stripe.quantity = 30
    status, answer = await deliver(ws, payload)

    assert status == 200
    assert answer["outcome"] == "already applied"
    assert (await acme(ws)).licenses == 25
    assert len(await audits(ws, "account.changed")) == changes
    assert await events_recorded(ws) == 1

    # A new event for the same change is applied.
    await deliver(ws, subscription_event("customer.subscription.updated"))
    assert (await acme(ws)).licenses == 30


async def test_an_event_type_we_do_not_handle_is_acknowledged_and_changes_nothing(
    ws: Workspace, stripe: FakeStripe
) -> None:
    placed = await pending_order(ws)
    audits_before = len(await audits(ws, "account.changed"))

    for kind, obj in (
        ("invoice.paid", {"id": "in_1", "object": "invoice", "subscription": SUBSCRIPTION}),
        (
            "payment_intent.created",
            {"id": "pi_1", "metadata": {"order": placed.reference, "account": "acme"}},
        ),
    ):
        status, answer = await deliver(ws, event(kind, obj))
        assert status == 200
        assert answer["outcome"] == "ignored"

    assert (await acme(ws)).licenses == 10
    assert (await order(ws, placed.reference)).status == "pending"
    assert len(await audits(ws, "account.changed")) == audits_before
    assert await events_recorded(ws) == 0
    assert stripe.router.calls.call_count == 0
    assert dms_to(ws, ANN) == []


@pytest.mark.parametrize(
    "mismatch", [{"amount": 1}, {"metadata": {"order": "", "account": "globex"}}]
)
async def test_a_payment_that_does_not_match_its_order_changes_nothing(
    ws: Workspace, mismatch: dict[str, Any]
) -> None:
    placed = await pending_order(ws)
    payload = intent_event("payment_intent.succeeded", placed, status="succeeded")
    obj = payload["data"]["object"]
    if "metadata" in mismatch:
        obj["metadata"] = {**mismatch["metadata"], "order": placed.reference}
    else:
        obj.update(mismatch)

    status, answer = await deliver(ws, payload)

    assert (status, answer["outcome"]) == (200, "not an order of ours")
    assert (await order(ws, placed.reference)).status == "pending"
    assert (await acme(ws)).licenses == 10
