"""Order Now through Stripe (a stateful stand-in): the amount shown is the amount charged.

The bot runs with BILLING_PROVIDER=stripe against localstripe behind our proxy
(tests/stripe_stand_in.py); each test makes its own customer and subscription.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.models import Order
from bot.scheduler import run_due_work
from bot.services.orders import order_history
from tests.slack.conftest import ACCOUNTS, start_workspace
from tests.slack.driver import Workspace, assert_calls_ok, block_text
from tests.slack.removal_helpers import APPROVE, CSM, ask, decide, licenses, travel_past_renewal
from tests.slack.test_add_licenses import ANN, open_add_modal, submit_view, type_count
from tests.stripe_stand_in import StripeStandIn

pytest_plugins = ("tests.stripe_fixtures",)

DECLINED_AT_CHARGE = "4000000000000341"


def accounts_with(acme: dict[str, Any]) -> dict[str, Any]:
    accounts = copy.deepcopy(ACCOUNTS)
    for entry in accounts["accounts"]:
        if entry["id"] == "acme":
            entry.update(acme)
    return accounts


async def stripe_workspace(
    stand_in: StripeStandIn,
    database_url: str,
    tmp_path: Path,
    *,
    card: str = "4242424242424242",
    unit_amount_minor: int = 4900,
    **acme: Any,
) -> AsyncIterator[tuple[Workspace, str, str]]:
    """Acme billed through a subscription of 10 licenses; yields (workspace, customer, sub)."""
    customer = stand_in.customer(card=card)
    subscription, _ = stand_in.subscription(
        customer, unit_amount_minor=unit_amount_minor, quantity=10
    )
    entry = {"stripe_customer": customer, "stripe_subscription": subscription, **acme}
    async for ws in start_workspace(
        database_url,
        tmp_path,
        accounts=accounts_with(entry),
        billing_provider="stripe",
        stripe_api_key=stand_in.api_key,
        stripe_api_url=stand_in.url,
        stripe_webhook_secret="whsec_test",
    ):
        yield ws, customer, subscription


def charges_of(stand_in: StripeStandIn, customer: str) -> list[dict[str, Any]]:
    """PaymentIntents licensebot made (a subscription's own invoices have theirs)."""
    return [pi for pi in stand_in.payment_intents(customer) if pi.get("invoice") is None]


async def order(ws: Workspace, count: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ann types `count` and presses Order Now; returns (the quoted view, the final modal)."""
    await open_add_modal(ws)
    view = await type_count(ws, count)
    await submit_view(ws, ANN, view)
    await ws.settle()
    await ws.runtime.effects.drain()
    await ws.settle()
    return view, ws.modal(ANN)


async def test_order_now_charges_exactly_the_shown_amount_once_and_sets_the_quantity(
    stripe_stand_in: StripeStandIn, sqlite_url: str, tmp_path: Path
) -> None:
    async for ws, customer, subscription in stripe_workspace(stripe_stand_in, sqlite_url, tmp_path):
        stripe_stand_in.clear_requests()
        view, done = await order(ws, "3")

        [placed] = await order_history(ws.services, "acme")
        [intent] = charges_of(stripe_stand_in, customer)
        assert intent["status"] == "succeeded"
        assert intent["amount"] == placed.charged_minor
        assert placed.charged_minor == ws.metadata(view)["quote"]["due_today_minor"]
        assert intent["metadata"] == {"order": placed.reference, "account": "acme"}
        assert intent["currency"] == "usd"
        assert (placed.status, placed.charge_reference) == ("paid", intent["id"])
        assert stripe_stand_in.subscription_item_quantity(subscription) == 13
        assert done["title"]["text"] == "Order placed"
        assert "*Licenses*\n10 → 13" in block_text(done["blocks"])

        sent = stripe_stand_in.requests()
        posts = [r for r in sent if r["method"] == "POST"]
        assert posts and all(r["idempotency_key"] for r in posts)
        [quantity] = [r for r in posts if r["path"].startswith("/v1/subscription_items/")]
        assert quantity["params"] == {"quantity": "13", "proration_behavior": "none"}
        [charge] = [r for r in posts if r["path"] == "/v1/payment_intents"]
        assert charge["params"]["confirm"] == "true" and charge["params"]["off_session"] == "true"

        # Nothing is charged again when the outbox or the recovery job runs later.
        ws.clock.travel(minutes=5)
        await run_due_work(ws.runtime)
        assert len(charges_of(stripe_stand_in, customer)) == 1
        assert_calls_ok(ws)


async def test_a_declined_card_changes_nothing_and_tells_the_admin_why(
    stripe_stand_in: StripeStandIn, sqlite_url: str, tmp_path: Path
) -> None:
    async for ws, customer, subscription in stripe_workspace(
        stripe_stand_in, sqlite_url, tmp_path, card=DECLINED_AT_CHARGE
    ):
        _, done = await order(ws, "3")

        assert done["title"]["text"] == "Payment declined"
        shown = block_text(done["blocks"])
        assert "Your card was declined." in shown
        assert "Nothing was charged, and you still have 10 licenses." in shown
        [failed] = await order_history(ws.services, "acme")
        assert (failed.status, failed.failure_message) == ("failed", "Your card was declined.")
        assert await licenses(ws) == 10
        assert stripe_stand_in.subscription_item_quantity(subscription) == 10
        assert not [
            pi for pi in charges_of(stripe_stand_in, customer) if pi["status"] == "succeeded"
        ]
        [dm] = ws.slack.messages[ws.slack.dm_channel(ANN)]
        assert "Your card was declined." in dm["text"]
        assert "Add licenses" in str(dm["blocks"])

        # Nothing is retried without a new click, even by the recovery job.
        ws.clock.travel(minutes=5)
        await run_due_work(ws.runtime)
        assert len(charges_of(stripe_stand_in, customer)) <= 1
        async with ws.services.sessions() as session:
            statuses = list(await session.scalars(select(Order.status)))
        assert statuses == ["failed"]


async def test_a_free_order_charges_nothing_but_raises_the_quantity(
    stripe_stand_in: StripeStandIn, sqlite_url: str, tmp_path: Path
) -> None:
    async for ws, customer, subscription in stripe_workspace(
        stripe_stand_in,
        sqlite_url,
        tmp_path,
        unit_amount_minor=0,
        plan="freemium",
        price_per_license="0.00",
    ):
        _, done = await order(ws, "2")

        [placed] = await order_history(ws.services, "acme")
        assert (placed.status, placed.charged_minor) == ("paid", 0)
        assert charges_of(stripe_stand_in, customer) == []
        assert stripe_stand_in.subscription_item_quantity(subscription) == 12
        assert done["title"]["text"] == "Order placed"


async def test_an_approved_removal_lowers_the_quantity_on_its_date(
    stripe_stand_in: StripeStandIn, sqlite_url: str, tmp_path: Path
) -> None:
    async for ws, customer, subscription in stripe_workspace(stripe_stand_in, sqlite_url, tmp_path):
        await ask(ws, count="2")
        await decide(ws, CSM, APPROVE)
        await run_due_work(ws.runtime)
        assert stripe_stand_in.subscription_item_quantity(subscription) == 10

        stripe_stand_in.clear_requests()
        await travel_past_renewal(ws)
        await run_due_work(ws.runtime)
        await run_due_work(ws.runtime)

        assert await licenses(ws) == 8
        assert stripe_stand_in.subscription_item_quantity(subscription) == 8
        [lowered] = [
            r
            for r in stripe_stand_in.requests()
            if r["method"] == "POST" and r["path"].startswith("/v1/subscription_items/")
        ]
        assert lowered["params"]["proration_behavior"] == "none"
        # No refund: nothing was paid back or charged.
        assert charges_of(stripe_stand_in, customer) == []
