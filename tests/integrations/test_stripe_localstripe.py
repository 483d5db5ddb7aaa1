"""StripeClient against a stateful stand-in (localstripe behind our proxy, see
tests/stripe_stand_in.py): charges, declines and quantities that persist across calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.integrations.stripe import (
    PaymentIntent,
    StripeClient,
    StripeDeclined,
    StripeRequestError,
)
from tests.stripe_stand_in import StandInError, StripeStandIn

pytest_plugins = ("tests.stripe_fixtures",)

ORDER = {"order": "ORD-1", "account": "acme"}


def new_key(what: str) -> str:
    # The stand-in lives for the whole session: keys must not collide across tests.
    return f"{what}-{uuid.uuid4().hex}"


@pytest.fixture
def stand_in(stripe_stand_in: StripeStandIn) -> StripeStandIn:
    stripe_stand_in.clear_requests()
    return stripe_stand_in


@pytest.fixture
async def client(stand_in: StripeStandIn) -> AsyncIterator[StripeClient]:
    # One attempt: a stand-in failure should fail the test, not be retried into a duplicate.
    async with StripeClient(stand_in.api_key, stand_in.url, max_attempts=1) as stripe:
        yield stripe


async def charge(
    client: StripeClient, customer: str, amount_minor: int, key: str, **extra: str
) -> PaymentIntent:
    return await client.create_payment_intent(
        amount_minor=amount_minor,
        currency="USD",
        customer=customer,
        payment_method=await client.default_payment_method(customer),
        metadata=ORDER,
        idempotency_key=key,
        **extra,
    )


def own_intents(stand_in: StripeStandIn, customer: str) -> list[dict[str, Any]]:
    """The customer's PaymentIntents that are not paying a subscription's invoice."""
    return [pi for pi in stand_in.payment_intents(customer) if pi["invoice"] is None]


def posts_to(stand_in: StripeStandIn, path: str) -> list[dict[str, Any]]:
    return [r for r in stand_in.requests() if (r["method"], r["path"]) == ("POST", path)]


async def test_payment_intent_of_exactly_the_amount_succeeds_and_keeps_metadata(
    stand_in: StripeStandIn, client: StripeClient
) -> None:
    customer = stand_in.customer()
    method = await client.default_payment_method(customer)
    assert method is not None and method.startswith("pm_")

    pi = await charge(client, customer, 4917, new_key("order"))

    assert (pi.status, pi.amount_minor, pi.currency) == ("succeeded", 4917, "USD")
    assert await client.get_payment_intent(pi.id) == pi
    [held] = own_intents(stand_in, customer)
    assert held["id"] == pi.id
    assert held["metadata"] == ORDER
    assert held["payment_method"] == method
    paid = held["latest_charge"]
    assert (paid["amount"], paid["status"], paid["paid"]) == (4917, "succeeded", True)
    # The parameters an order needs, as Stripe documents them, and nothing the proxy drops.
    [sent] = posts_to(stand_in, "/v1/payment_intents")
    assert sent["params"] == {
        "amount": "4917",
        "currency": "usd",
        "customer": customer,
        "payment_method": method,
        "confirm": "true",
        "off_session": "true",
        "metadata[order]": ORDER["order"],
        "metadata[account]": ORDER["account"],
    }


async def test_card_declined_at_charge_time_is_a_decline_with_stripes_message(
    stand_in: StripeStandIn, client: StripeClient
) -> None:
    customer = stand_in.customer(card="4000000000000341")  # attaches, declines when charged

    with pytest.raises(StripeDeclined) as caught:
        await charge(client, customer, 4917, new_key("order"))

    assert str(caught.value) == "Your card was declined."
    assert caught.value.code == "card_declined"
    # Like Stripe, the intent stays behind waiting for another payment method.
    [held] = own_intents(stand_in, customer)
    assert held["status"] == "requires_payment_method"
    assert held["latest_charge"]["status"] == "failed"


def test_card_declined_at_attach_time_cannot_become_a_default(stand_in: StripeStandIn) -> None:
    # The helper's own error: the card never gets as far as licensebot.
    with pytest.raises(StandInError, match=r"attach: HTTP 402(.|\n)*card_declined"):
        stand_in.customer(card="4000000000000002")


async def test_set_quantity_makes_the_new_total_without_proration_and_every_post_is_keyed(
    stand_in: StripeStandIn, client: StripeClient
) -> None:
    customer = stand_in.customer()
    sub_id, item_id = stand_in.subscription(customer, unit_amount_minor=4900, quantity=3)
    stand_in.clear_requests()

    # What licensebot does for 2 more seats: charge the prorated part, then raise the count.
    await charge(client, customer, 3267, new_key("order-ORD-2"))
    assert await client.set_quantity(item_id, 5, idempotency_key=new_key("order-ORD-2-qty")) == 5

    assert stand_in.subscription_item_quantity(sub_id) == 5
    assert (await client.get_subscription(sub_id)).quantity == 5
    posts = [r for r in stand_in.requests() if r["method"] == "POST"]
    assert [r["path"] for r in posts] == [
        "/v1/payment_intents",
        f"/v1/subscription_items/{item_id}",
    ]
    assert all(r["idempotency_key"] for r in posts), posts
    assert len({r["idempotency_key"] for r in posts}) == len(posts)
    assert posts[1]["params"] == {"quantity": "5", "proration_behavior": "none"}


async def test_repeated_idempotency_key_does_not_charge_twice(
    stand_in: StripeStandIn, client: StripeClient
) -> None:
    customer = stand_in.customer()
    key = new_key("order")

    first = await charge(client, customer, 4917, key)
    again = await charge(client, customer, 4917, key)

    assert again == first
    assert [pi["id"] for pi in own_intents(stand_in, customer)] == [first.id]
    sent = posts_to(stand_in, "/v1/payment_intents")
    assert [r["replayed"] for r in sent] == [False, True]


async def test_idempotency_key_reused_for_another_amount_is_refused(
    stand_in: StripeStandIn, client: StripeClient
) -> None:
    customer = stand_in.customer()
    key = new_key("order")
    first = await charge(client, customer, 4917, key)

    with pytest.raises(StripeRequestError, match="same parameters") as caught:
        await charge(client, customer, 9834, key)

    assert caught.value.status == 400
    assert [pi["id"] for pi in own_intents(stand_in, customer)] == [first.id]


@pytest.mark.parametrize(
    ("interval", "currency", "shortest", "longest"),
    [("month", "eur", 28, 31), ("year", "usd", 365, 366)],
)
async def test_get_subscription_reads_a_plan_based_subscription(
    stand_in: StripeStandIn,
    client: StripeClient,
    interval: str,
    currency: str,
    shortest: int,
    longest: int,
) -> None:
    customer = stand_in.customer()
    sub_id, item_id = stand_in.subscription(
        customer, unit_amount_minor=4900, currency=currency, interval=interval, quantity=7
    )

    sub = await client.get_subscription(sub_id)

    assert (sub.id, sub.item_id, sub.status) == (sub_id, item_id, "active")
    assert (sub.quantity, sub.unit_amount_minor) == (7, 4900)
    assert (sub.currency, sub.interval) == (currency.upper(), interval)
    period = sub.current_period_end - sub.current_period_start
    assert timedelta(days=shortest) <= period <= timedelta(days=longest)


# --- the proxy itself: gaps licensebot does not reach today -------------------------


def test_proxy_drops_proration_behavior_on_subscription_updates(stand_in: StripeStandIn) -> None:
    customer = stand_in.customer()
    sub_id, _ = stand_in.subscription(customer, unit_amount_minor=100, quantity=1)
    with httpx.Client(
        base_url=stand_in.url, headers={"Authorization": f"Bearer {stand_in.api_key}"}
    ) as http:
        response = http.post(
            f"/v1/subscriptions/{sub_id}",
            data={"cancel_at_period_end": "true", "proration_behavior": "none"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["cancel_at_period_end"] is True
    assert stand_in.requests()[-1]["params"]["proration_behavior"] == "none"


def test_nothing_is_pickled_to_the_shared_tmp_file(stand_in: StripeStandIn) -> None:
    # localstripe's own server writes every change there; parallel workers would share it.
    shared = Path("/tmp/localstripe.pickle")
    before = shared.stat().st_mtime_ns if shared.exists() else None
    stand_in.customer()
    assert (shared.stat().st_mtime_ns if shared.exists() else None) == before
