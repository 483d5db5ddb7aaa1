"""Stripe client against Stripe's documented request and response shapes, mocked with respx."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from bot.integrations.stripe import (
    BadWebhookSignature,
    PaymentIntent,
    StripeClient,
    StripeDeclined,
    StripeRequestError,
    StripeUnavailable,
    UnsupportedSubscription,
    form_pairs,
    verify_webhook,
)

BASE = "https://api.stripe.com"
KEY = "sk_test_51Hx7SecretKeyNeverLogged0000"
WEBHOOK_SECRET = "whsec_test_Q2hhbmdlTWVQbGVhc2U"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


class SleepRecorder:
    """Stands in for asyncio.sleep: records waits, never sleeps."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def stripe_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleep() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(sleep: SleepRecorder) -> AsyncIterator[StripeClient]:
    async with StripeClient(KEY, sleep=sleep) as stripe:
        yield stripe


def form_of(request: httpx.Request) -> dict[str, str]:
    pairs = parse_qsl(request.content.decode(), keep_blank_values=True)
    form = dict(pairs)
    assert len(form) == len(pairs), f"duplicate form keys in {pairs}"
    return form


def all_text(exc: BaseException) -> str:
    """Everything a log of this exception could show, causes included."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def intent(status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 4917,
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "status": status,
        "last_payment_error": None,
        **extra,
    }


async def charge(client: StripeClient, **overrides: Any) -> PaymentIntent:
    args: dict[str, Any] = {
        "amount_minor": 4917,
        "currency": "USD",
        "customer": "cus_NffrFeUfNV2Hib",
        "payment_method": "pm_1MqLiJLkdIwHu7ixUEgbFdYF",
        "metadata": {"order": "ORD-1", "account": "acme"},
        "idempotency_key": "order-ORD-1",
    }
    args.update(overrides)
    return await client.create_payment_intent(**args)


def card_error(code: str, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        402,
        json={
            "error": {
                "type": "card_error",
                "code": code,
                "message": message,
                "payment_intent": intent("requires_payment_method"),
                **extra,
            }
        },
    )


# --- form encoding and headers ----------------------------------------------------


def test_form_pairs_uses_stripe_bracket_encoding() -> None:
    pairs = form_pairs(
        {
            "metadata": {"order": "ORD-1"},
            "items": [{"id": "si_1", "quantity": 3}, {"id": "si_2", "deleted": True}],
            "confirm": True,
            "off_session": False,
            "description": None,
            "amount": 4917,
        }
    )
    assert pairs == [
        ("metadata[order]", "ORD-1"),
        ("items[0][id]", "si_1"),
        ("items[0][quantity]", "3"),
        ("items[1][id]", "si_2"),
        ("items[1][deleted]", "true"),
        ("confirm", "true"),
        ("off_session", "false"),
        ("amount", "4917"),
    ]


def test_form_pairs_refuses_floats_for_money() -> None:
    with pytest.raises(TypeError, match="amount"):
        form_pairs({"amount": 49.17})


async def test_post_sends_bearer_auth_idempotency_key_and_form_body(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(200, json=intent())
    )
    await charge(client)
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["idempotency-key"] == "order-ORD-1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    # Brackets go out percent-encoded, which Stripe decodes like any form field name.
    assert b"metadata%5Border%5D=ORD-1" in request.content


async def test_get_sends_auth_but_no_idempotency_key(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.get("/v1/payment_intents/pi_1").mock(
        return_value=httpx.Response(200, json=intent(id="pi_1"))
    )
    await client.get_payment_intent("pi_1")
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "idempotency-key" not in request.headers


@pytest.mark.parametrize("key", ["", "  "])
async def test_post_without_idempotency_key_is_refused_before_sending(
    stripe_api: respx.MockRouter, client: StripeClient, key: str
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        await charge(client, idempotency_key=key)
    assert stripe_api.calls.call_count == 0


async def test_ids_cannot_escape_their_path_segment(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.get(url__regex=r".*").mock(return_value=httpx.Response(200, json=intent()))
    await client.get_payment_intent("../customers/cus_1")
    assert route.calls.last.request.url.raw_path == b"/v1/payment_intents/..%2Fcustomers%2Fcus_1"


# --- payment intents --------------------------------------------------------------


async def test_create_payment_intent_charges_exactly_what_was_given(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(200, json=intent())
    )
    pi = await charge(client, description="3 licenses for Acme Corp")
    assert form_of(route.calls.last.request) == {
        "amount": "4917",
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "payment_method": "pm_1MqLiJLkdIwHu7ixUEgbFdYF",
        "confirm": "true",
        "off_session": "true",
        "metadata[order]": "ORD-1",
        "metadata[account]": "acme",
        "description": "3 licenses for Acme Corp",
    }
    assert pi == PaymentIntent(
        id="pi_3MtwBwLkdIwHu7ix28a3tqPa", status="succeeded", amount_minor=4917, currency="USD"
    )


async def test_without_payment_method_stripe_uses_the_customers_default(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(200, json=intent())
    )
    await charge(client, payment_method=None)
    form = form_of(route.calls.last.request)
    assert "payment_method" not in form
    assert "description" not in form


async def test_amount_must_be_integer_minor_units(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    with pytest.raises(TypeError, match="minor unit"):
        await charge(client, amount_minor=49.17)
    assert stripe_api.calls.call_count == 0


@pytest.mark.parametrize(
    ("code", "decline_code", "message"),
    [
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
        (
            "authentication_required",
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
        ("expired_card", None, "Your card has expired."),
    ],
)
async def test_card_error_is_a_decline_with_stripes_message(
    stripe_api: respx.MockRouter,
    client: StripeClient,
    sleep: SleepRecorder,
    code: str,
    decline_code: str | None,
    message: str,
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=card_error(code, message, decline_code=decline_code)
    )
    with pytest.raises(StripeDeclined) as caught:
        await charge(client)
    declined = caught.value
    assert str(declined) == message
    assert (declined.code, declined.decline_code) == (code, decline_code)
    assert declined.payment_intent_id == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert route.call_count == 1  # a decline is final: retrying would only decline again
    assert sleep.waits == []


async def test_402_is_a_decline_even_when_not_typed_card_error(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    # What localstripe answers for a declined charge.
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(
            402,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                    "charge": "ch_1",
                }
            },
        )
    )
    with pytest.raises(StripeDeclined) as caught:
        await charge(client)
    assert str(caught.value) == "Your card was declined."
    assert (caught.value.code, caught.value.payment_intent_id) == ("card_declined", None)
    assert route.call_count == 1
    assert sleep.waits == []


async def test_intent_left_requiring_a_payment_method_is_a_decline(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(
            200,
            json=intent(
                "requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                },
            ),
        )
    )
    with pytest.raises(StripeDeclined) as caught:
        await charge(client)
    assert str(caught.value) == "Your card was declined."
    assert caught.value.code == "card_declined"
    assert caught.value.decline_code == "generic_decline"
    assert caught.value.payment_intent_id == "pi_3MtwBwLkdIwHu7ix28a3tqPa"


async def test_intent_requiring_action_is_a_decline_needing_authentication(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(200, json=intent("requires_action"))
    )
    with pytest.raises(StripeDeclined, match="authenticate") as caught:
        await charge(client)
    assert caught.value.code == "authentication_required"


async def test_processing_intent_is_returned_not_declined(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(200, json=intent("processing"))
    )
    assert (await charge(client)).status == "processing"


async def test_get_payment_intent_reports_any_status_for_recovery(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.get("/v1/payment_intents/pi_9").mock(
        return_value=httpx.Response(
            200, json=intent("requires_payment_method", id="pi_9", amount="1200", currency="eur")
        )
    )
    assert await client.get_payment_intent("pi_9") == PaymentIntent(
        id="pi_9", status="requires_payment_method", amount_minor=1200, currency="EUR"
    )


async def test_unreadable_success_is_unavailable_not_a_crash(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.post("/v1/payment_intents").mock(
        side_effect=[
            httpx.Response(200, json={"object": "payment_intent"}),
            httpx.Response(200, text="<html>ok</html>"),
        ]
    )
    with pytest.raises(StripeUnavailable, match="unexpected response"):
        await charge(client)
    with pytest.raises(StripeUnavailable, match="not a JSON object"):
        await charge(client)


# --- retries ----------------------------------------------------------------------


async def test_429_waits_retry_after_then_succeeds_with_the_same_key(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        side_effect=[
            httpx.Response(
                429, headers={"Retry-After": "3"}, json={"error": {"type": "api_error"}}
            ),
            httpx.Response(200, json=intent()),
        ]
    )
    pi = await charge(client)
    assert pi.status == "succeeded"
    assert sleep.waits == [3.0]
    assert [call.request.headers["idempotency-key"] for call in route.calls] == [
        "order-ORD-1",
        "order-ORD-1",
    ]
    assert form_of(route.calls[0].request) == form_of(route.calls[1].request)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "3600"}, 60.0), ({}, 0.5), ({"Retry-After": "soon"}, 0.5)],
    ids=["capped", "absent", "garbage"],
)
async def test_429_retry_after_is_capped_and_falls_back_to_backoff(
    stripe_api: respx.MockRouter,
    client: StripeClient,
    sleep: SleepRecorder,
    headers: dict[str, str],
    expected: float,
) -> None:
    stripe_api.get("/v1/payment_intents/pi_1").mock(
        side_effect=[httpx.Response(429, headers=headers), httpx.Response(200, json=intent())]
    )
    await client.get_payment_intent("pi_1")
    assert sleep.waits == [expected]


async def test_500_backs_off_then_succeeds(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    route = stripe_api.post("/v1/subscription_items/si_1").mock(
        side_effect=[httpx.Response(500), httpx.Response(200, json={"id": "si_1", "quantity": 13})]
    )
    assert await client.set_quantity("si_1", 13, idempotency_key="order-ORD-1-qty") == 13
    assert sleep.waits == [0.5]
    assert route.call_count == 2


async def test_timeout_then_success_reuses_the_idempotency_key(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        side_effect=[httpx.ReadTimeout("read timed out"), httpx.Response(200, json=intent())]
    )
    assert (await charge(client)).id == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert sleep.waits == [0.5]
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert keys == {"order-ORD-1"}  # the timed-out POST may have charged: replay, never repeat


async def test_retries_exhausted_is_unavailable(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(return_value=httpx.Response(503))
    with pytest.raises(StripeUnavailable, match="after 4 attempts: HTTP 503"):
        await charge(client)
    assert route.call_count == 4
    assert sleep.waits == [0.5, 1.0, 2.0]  # no pointless wait after the last attempt


async def test_network_errors_exhausted_name_the_error_class(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.get("/v1/customers/cus_1").mock(
        side_effect=httpx.ConnectError("connection refused")
    )
    with pytest.raises(StripeUnavailable, match="ConnectError"):
        await client.default_payment_method("cus_1")
    assert route.call_count == 4


async def test_backoff_is_capped(stripe_api: respx.MockRouter, sleep: SleepRecorder) -> None:
    stripe_api.get("/v1/payment_intents/pi_1").mock(return_value=httpx.Response(502))
    async with StripeClient(KEY, sleep=sleep, max_attempts=7) as stripe:
        with pytest.raises(StripeUnavailable):
            await stripe.get_payment_intent("pi_1")
    assert sleep.waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


async def test_stripe_should_retry_true_retries_even_a_409(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    # Stripe answers 409 while a concurrent request with the same key is still in flight.
    route = stripe_api.post("/v1/payment_intents").mock(
        side_effect=[
            httpx.Response(
                409,
                headers={"Stripe-Should-Retry": "true"},
                json={"error": {"type": "idempotency_error", "message": "in progress"}},
            ),
            httpx.Response(200, json=intent()),
        ]
    )
    assert (await charge(client)).status == "succeeded"
    assert route.call_count == 2


async def test_stripe_should_retry_false_stops_retrying_a_500(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(500, headers={"Stripe-Should-Retry": "false"})
    )
    with pytest.raises(StripeUnavailable, match="after 1 attempt: HTTP 500"):
        await charge(client)
    assert route.call_count == 1
    assert sleep.waits == []


async def test_400_is_a_request_error_and_not_retried(
    stripe_api: respx.MockRouter, client: StripeClient, sleep: SleepRecorder
) -> None:
    route = stripe_api.post("/v1/payment_intents").mock(
        return_value=httpx.Response(
            400,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "parameter_invalid_integer",
                    "param": "amount",
                    "message": "Invalid integer: abc",
                }
            },
        )
    )
    with pytest.raises(StripeRequestError) as caught:
        await charge(client)
    assert (caught.value.status, caught.value.code) == (400, "parameter_invalid_integer")
    assert "Invalid integer: abc" in str(caught.value)
    assert route.call_count == 1
    assert sleep.waits == []


async def test_missing_resource_is_a_request_error(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.get("/v1/subscriptions/sub_gone").mock(
        return_value=httpx.Response(
            404,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": "No such subscription: 'sub_gone'",
                }
            },
        )
    )
    with pytest.raises(StripeRequestError, match="No such subscription") as caught:
        await client.get_subscription("sub_gone")
    assert caught.value.status == 404
    assert caught.value.code == "resource_missing"


# --- the key stays secret ---------------------------------------------------------


@pytest.mark.parametrize(
    "outcome",
    [
        httpx.Response(500),
        httpx.ReadTimeout(f"timed out talking with {KEY}"),
        httpx.Response(429),
        # A stand-in echoing the key must not carry it into our message.
        httpx.Response(
            401,
            json={"error": {"type": "invalid_request_error", "message": f"Invalid API Key {KEY}"}},
        ),
        card_error("card_declined", f"declined for {KEY}"),
    ],
    ids=["500", "timeout", "429", "401-echo", "decline-echo"],
)
async def test_key_never_appears_in_errors_logs_or_repr(
    stripe_api: respx.MockRouter,
    client: StripeClient,
    caplog: pytest.LogCaptureFixture,
    outcome: httpx.Response | Exception,
) -> None:
    caplog.set_level(logging.DEBUG)
    route = stripe_api.post("/v1/payment_intents")
    if isinstance(outcome, Exception):
        route.mock(side_effect=outcome)
    else:
        route.mock(return_value=outcome)
    with pytest.raises((StripeUnavailable, StripeRequestError, StripeDeclined)) as caught:
        await charge(client)
    visible = all_text(caught.value) + caplog.text + repr(client)
    assert KEY not in visible
    assert "sk_test_" not in visible


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key is empty"):
        StripeClient(" ")


# --- customers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        (
            {"invoice_settings": {"default_payment_method": "pm_inv"}, "default_source": "card_1"},
            "pm_inv",
        ),
        ({"invoice_settings": {"default_payment_method": {"id": "pm_exp"}}}, "pm_exp"),
        (
            {"invoice_settings": {"default_payment_method": None}, "default_source": "card_1"},
            "card_1",
        ),
        ({"invoice_settings": {"default_payment_method": None}, "default_source": None}, None),
    ],
    ids=["invoice-default", "expanded", "legacy-source", "none"],
)
async def test_default_payment_method(
    stripe_api: respx.MockRouter,
    client: StripeClient,
    customer: dict[str, Any],
    expected: str | None,
) -> None:
    stripe_api.get("/v1/customers/cus_1").mock(
        return_value=httpx.Response(200, json={"id": "cus_1", "object": "customer", **customer})
    )
    assert await client.default_payment_method("cus_1") == expected


# --- subscriptions ----------------------------------------------------------------

PERIOD_START = 1_764_547_200  # 2025-12-01T00:00:00Z
PERIOD_END = 1_767_225_600  # 2026-01-01T00:00:00Z


def subscription(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "items": {"object": "list", "data": list(items)},
        **extra,
    }


async def test_subscription_from_price_with_item_level_period(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.get("/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(
            200,
            json=subscription(
                {
                    "id": "si_1",
                    "quantity": 10,
                    "current_period_start": PERIOD_START,
                    "current_period_end": PERIOD_END,
                    "price": {
                        "id": "price_1",
                        "currency": "usd",
                        "unit_amount": 4900,
                        "recurring": {"interval": "month", "interval_count": 1},
                    },
                }
            ),
        )
    )
    sub = await client.get_subscription("sub_1")
    assert (sub.id, sub.status, sub.item_id, sub.quantity) == ("sub_1", "active", "si_1", 10)
    assert (sub.unit_amount_minor, sub.currency, sub.interval) == (4900, "USD", "month")
    assert sub.current_period_start == datetime(2025, 12, 1, tzinfo=UTC)
    assert sub.current_period_end == datetime(2026, 1, 1, tzinfo=UTC)


async def test_subscription_from_legacy_plan_and_string_quantity(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.get("/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(
            200,
            json=subscription(
                {
                    "id": "si_old",
                    "quantity": "12",
                    "plan": {
                        "id": "plan_1",
                        "currency": "eur",
                        "amount": 9900,
                        "unit_amount": 9900,
                        "interval": "year",
                    },
                },
                current_period_start=PERIOD_START,
                current_period_end=PERIOD_END,
            ),
        )
    )
    sub = await client.get_subscription("sub_1")
    assert sub.quantity == 12
    assert (sub.item_id, sub.unit_amount_minor, sub.currency, sub.interval) == (
        "si_old",
        9900,
        "EUR",
        "year",
    )
    assert sub.current_period_end == datetime(2026, 1, 1, tzinfo=UTC)


async def test_subscription_from_legacy_plan_with_only_an_amount(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    # Legacy plans (and localstripe) give the per-unit price as `amount`, no `unit_amount`.
    plan = {"id": "plan_1", "currency": "usd", "amount": 4900, "interval": "month"}
    stripe_api.get("/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(
            200,
            json=subscription(
                {"id": "si_1", "quantity": 3, "plan": plan},
                current_period_start=PERIOD_START,
                current_period_end=PERIOD_END,
            ),
        )
    )
    sub = await client.get_subscription("sub_1")
    assert (sub.unit_amount_minor, sub.currency, sub.interval) == (4900, "USD", "month")


async def test_subscription_from_tiered_legacy_plan_is_refused(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    plan = {
        "currency": "usd",
        "amount": None,
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "interval": "month",
    }
    stripe_api.get("/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(
            200,
            json=subscription(
                {"id": "si_1", "quantity": 3, "plan": plan},
                current_period_start=PERIOD_START,
                current_period_end=PERIOD_END,
            ),
        )
    )
    with pytest.raises(UnsupportedSubscription, match="no per-unit price"):
        await client.get_subscription("sub_1")


async def test_subscription_with_two_items_is_refused_clearly(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    item = {"id": "si_1", "quantity": 1, "price": {"unit_amount": 1, "currency": "usd"}}
    stripe_api.get("/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(200, json=subscription(item, {**item, "id": "si_2"}))
    )
    with pytest.raises(ValueError, match="has 2 items") as caught:
        await client.get_subscription("sub_1")
    assert isinstance(caught.value, UnsupportedSubscription)


async def test_subscription_billed_weekly_is_refused(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    stripe_api.get("/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(
            200,
            json=subscription(
                {
                    "id": "si_1",
                    "quantity": 1,
                    "price": {
                        "unit_amount": 1,
                        "currency": "usd",
                        "recurring": {"interval": "week"},
                    },
                }
            ),
        )
    )
    with pytest.raises(UnsupportedSubscription, match="monthly or yearly"):
        await client.get_subscription("sub_1")


async def test_set_quantity_sends_no_proration(
    stripe_api: respx.MockRouter, client: StripeClient
) -> None:
    route = stripe_api.post("/v1/subscription_items/si_1").mock(
        return_value=httpx.Response(200, json={"id": "si_1", "quantity": "13"})
    )
    assert await client.set_quantity("si_1", 13, idempotency_key="order-ORD-1-qty") == 13
    request = route.calls.last.request
    assert form_of(request) == {"quantity": "13", "proration_behavior": "none"}
    assert request.headers["idempotency-key"] == "order-ORD-1-qty"


async def test_aclose_closes_the_http_client() -> None:
    stripe = StripeClient(KEY)
    await stripe.aclose()
    with pytest.raises(RuntimeError):
        await stripe.get_payment_intent("pi_1")


# --- webhooks ---------------------------------------------------------------------

EVENT = {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded"}
PAYLOAD = json.dumps(EVENT).encode()


def sign(payload: bytes, timestamp: int, secret: str = WEBHOOK_SECRET) -> str:
    """Stripe's scheme, spelled out independently of the code under test."""
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def test_webhook_good_signature_returns_the_event() -> None:
    header = f"t={NOW},v1={sign(PAYLOAD, NOW)},v0=ignored"
    assert verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW + 10) == EVENT


def test_webhook_signed_with_another_secret_is_refused() -> None:
    header = f"t={NOW},v1={sign(PAYLOAD, NOW, 'whsec_someone_else')}"
    with pytest.raises(BadWebhookSignature, match="no signature matches"):
        verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW)


def test_webhook_with_tampered_body_is_refused() -> None:
    header = f"t={NOW},v1={sign(PAYLOAD, NOW)}"
    with pytest.raises(BadWebhookSignature, match="no signature matches"):
        verify_webhook(PAYLOAD.replace(b"succeeded", b"failed"), header, WEBHOOK_SECRET, now=NOW)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_webhook_outside_tolerance_is_stale(skew: int) -> None:
    header = f"t={NOW},v1={sign(PAYLOAD, NOW)}"
    with pytest.raises(BadWebhookSignature, match="tolerance"):
        verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW + skew)
    # Right at the edge it is still accepted.
    verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW + (300 if skew > 0 else -300))


def test_webhook_replayed_with_a_fresh_timestamp_is_refused() -> None:
    # An attacker keeps an old, valid signature and swaps in a current t to pass the
    # tolerance: t is inside the signed text, so the old signature no longer matches.
    old = NOW - 3_600
    header = f"t={NOW},v1={sign(PAYLOAD, old)}"
    with pytest.raises(BadWebhookSignature, match="no signature matches"):
        verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "garbage",
        f"v1={'a' * 64}",
        "t=now,v1=abc",
        f"t={NOW}",
        f"t={NOW},t={NOW},v1={'a' * 64}",
        f"t={NOW};v1={'a' * 64}",
    ],
    ids=["empty", "blank", "garbage", "no-t", "t-not-int", "no-v1", "two-t", "semicolon"],
)
def test_webhook_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(BadWebhookSignature, match="Stripe-Signature header"):
        verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW)


def test_webhook_with_several_v1_accepts_the_one_that_matches() -> None:
    # While a secret is rolled, Stripe signs with each: one v1 per secret.
    other = sign(PAYLOAD, NOW, "whsec_old_secret")
    header = f"t={NOW},v1={other},v1={sign(PAYLOAD, NOW)},v1=not-even-hex-é"
    assert verify_webhook(PAYLOAD, header, WEBHOOK_SECRET, now=NOW)["id"] == "evt_1"


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json", b"\xff\xfe"])
def test_webhook_correctly_signed_non_object_is_refused(payload: bytes) -> None:
    header = f"t={NOW},v1={sign(payload, NOW)}"
    with pytest.raises(BadWebhookSignature, match="not a JSON object"):
        verify_webhook(payload, header, WEBHOOK_SECRET, now=NOW)


def test_webhook_without_a_secret_is_refused_and_never_echoes_secrets() -> None:
    header = f"t={NOW},v1={sign(PAYLOAD, NOW, '')}"
    with pytest.raises(BadWebhookSignature, match="no webhook signing secret"):
        verify_webhook(PAYLOAD, header, "", now=NOW)
    with pytest.raises(BadWebhookSignature) as caught:
        verify_webhook(PAYLOAD, f"t={NOW},v1={'0' * 64}", WEBHOOK_SECRET, now=NOW)
    assert WEBHOOK_SECRET not in all_text(caught.value)
    assert sign(PAYLOAD, NOW) not in all_text(caught.value)
