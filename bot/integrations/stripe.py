"""A small async Stripe API client over httpx, for the few calls licensebot makes.

No stripe SDK: form-encoded requests, Bearer auth, idempotency keys on every POST, and
bounded retries inside one call. Whatever still fails becomes a plain exception whose
str() is safe to log or show: the API key never appears in it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import quote, urlencode

import httpx

from bot.integrations.retries import TryAgain, retry_after_seconds, with_retries

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A Retry-After longer than this would hold a Slack interaction hostage; give up sooner.
RETRY_AFTER_CAP = 60.0
_MAX_ERROR_TEXT = 300
# After confirm=true these mean the charge did not happen and needs the customer.
_DECLINED_STATUSES = frozenset({"requires_payment_method", "requires_action"})


# --- errors -----------------------------------------------------------------------


class StripeError(Exception):
    """Base of every error this client raises on purpose."""


class StripeDeclined(StripeError):
    """The card was refused (or needs the cardholder); `message` is Stripe's, fit for users."""

    def __init__(
        self,
        message: str,
        code: str | None,
        decline_code: str | None,
        payment_intent_id: str | None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id


class StripeUnavailable(StripeError):
    """Stripe could not be reached or kept failing: the outcome of a POST is unknown."""


class StripeRequestError(StripeError):
    """Stripe refused the request itself (bad parameters, missing resource, bad key)."""

    def __init__(
        self, status: int, code: str | None, message: str, error_type: str | None = None
    ) -> None:
        super().__init__(f"Stripe HTTP {status}" + (f" {code}" if code else "") + f": {message}")
        self.status = status
        self.code = code
        self.message = message
        self.error_type = error_type

    @property
    def about_the_key(self) -> bool:
        """An idempotency error: the key's first request may well have gone through."""
        return self.status == 409 or self.error_type == "idempotency_error"


class UnsupportedSubscription(ValueError):
    """A subscription licensebot cannot manage (several items, metered, odd interval)."""


class BadWebhookSignature(ValueError):
    """A webhook that must be refused (answer 400); `reason` says why, without secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- results ----------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount_minor: int
    currency: str  # upper-case ISO code, as the rest of licensebot spells it


@dataclass(frozen=True)
class Subscription:
    id: str
    status: str
    item_id: str
    quantity: int
    unit_amount_minor: int
    currency: str
    interval: Literal["month", "year"]
    current_period_start: datetime
    current_period_end: datetime


# --- form encoding ----------------------------------------------------------------


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        return  # omitted, not sent as "None"
    if isinstance(value, bool):  # before int: bool is an int
        yield prefix, "true" if value else "false"
    elif isinstance(value, int | str):
        yield prefix, str(value)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}[{key}]", inner)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _flatten(f"{prefix}[{index}]", inner)
    else:
        # Floats and Decimals included: amounts go to Stripe as integer minor units only.
        raise TypeError(f"cannot form-encode {type(value).__name__} for Stripe param {prefix!r}")


def form_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's bracket encoding: {"metadata": {"order": "O-1"}} → [("metadata[order]", "O-1")]."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        pairs.extend(_flatten(key, value))
    return pairs


# --- response parsing -------------------------------------------------------------


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id_of(value: Any) -> str | None:
    """An id field that may also come back expanded into its object."""
    if isinstance(value, dict):
        return _opt_str(value.get("id"))
    return _opt_str(value)


def _int(value: Any, what: str) -> int:
    # Stand-ins send numbers as strings sometimes; a float or bool is never a count or amount.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} is missing or not an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what} is not an integer") from None


def _timestamp(value: Any, what: str) -> datetime:
    return datetime.fromtimestamp(_int(value, what), UTC)


def _payment_intent(body: dict[str, Any]) -> PaymentIntent:
    pi_id, status, currency = body.get("id"), body.get("status"), body.get("currency")
    if not (isinstance(pi_id, str) and isinstance(status, str) and isinstance(currency, str)):
        raise ValueError("payment intent without id, status or currency")
    return PaymentIntent(
        id=pi_id,
        status=status,
        amount_minor=_int(body.get("amount"), "payment intent amount"),
        currency=currency.upper(),
    )


def _subscription(body: dict[str, Any]) -> Subscription:
    sub_id = body.get("id")
    items = _as_dict(body.get("items")).get("data")
    if not isinstance(sub_id, str) or not isinstance(items, list):
        raise ValueError("subscription without id or items")
    if len(items) != 1:
        raise UnsupportedSubscription(
            f"Stripe subscription {sub_id} has {len(items)} items; licensebot manages "
            "subscriptions with exactly one item (its quantity is the license count)"
        )
    item = _as_dict(items[0])
    item_id = item.get("id")
    if not isinstance(item_id, str):
        raise ValueError("subscription item without id")
    price = _as_dict(item.get("price")) or _as_dict(item.get("plan"))  # plan: older API
    recurring = _as_dict(price.get("recurring"))
    interval = recurring.get("interval", price.get("interval"))
    count = recurring.get("interval_count", price.get("interval_count", 1))
    if interval not in ("month", "year") or str(count) != "1":
        raise UnsupportedSubscription(
            f"Stripe subscription {sub_id} bills every {count} {interval}; "
            "licensebot supports monthly or yearly billing"
        )
    # Prices carry `unit_amount`; legacy plans only `amount` (both null when tiered).
    unit_amount = price.get("unit_amount")
    if unit_amount is None:
        unit_amount = price.get("amount")
    if unit_amount is None:
        raise UnsupportedSubscription(
            f"Stripe subscription {sub_id} has no per-unit price (tiered or metered)"
        )
    currency = price.get("currency")
    if not isinstance(currency, str):
        raise ValueError("subscription price without currency")
    # API 2025-03-31.basil moved the billing period onto the item; older versions keep it
    # on the subscription.
    start = item.get("current_period_start", body.get("current_period_start"))
    end = item.get("current_period_end", body.get("current_period_end"))
    return Subscription(
        id=sub_id,
        status=str(body.get("status", "")),
        item_id=item_id,
        quantity=_int(item.get("quantity"), "subscription item quantity"),
        unit_amount_minor=_int(unit_amount, "price unit_amount"),
        currency=currency.upper(),
        interval="month" if interval == "month" else "year",
        current_period_start=_timestamp(start, "current_period_start"),
        current_period_end=_timestamp(end, "current_period_end"),
    )


def _declined_from_intent(pi: PaymentIntent, body: dict[str, Any]) -> StripeDeclined:
    last = _as_dict(body.get("last_payment_error"))
    fallback = (
        "The card needs the cardholder to authenticate this payment."
        if pi.status == "requires_action"
        else "The card was declined."
    )
    code = _opt_str(last.get("code"))
    if code is None and pi.status == "requires_action":
        code = "authentication_required"
    return StripeDeclined(
        _opt_str(last.get("message")) or fallback,
        code,
        _opt_str(last.get("decline_code")),
        pi.id,
    )


# --- client -----------------------------------------------------------------------


class StripeClient:
    """The Stripe calls licensebot needs. Use `async with` or call `aclose()`."""

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.stripe.com",
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key.strip():
            raise ValueError("Stripe API key is empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key  # kept only to scrub it from any text we build
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"StripeClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- calls --------------------------------------------------------------------

    async def create_payment_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        customer: str,
        payment_method: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
        description: str | None = None,
    ) -> PaymentIntent:
        """Charge the customer now, off-session; raises StripeDeclined if the card refuses."""
        if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
            raise TypeError("amount_minor must be an int in the currency's minor unit")
        body = await self._request(
            "POST",
            "/v1/payment_intents",
            {
                "amount": amount_minor,
                "currency": currency.lower(),
                "customer": customer,
                "payment_method": payment_method,
                "confirm": True,
                "off_session": True,
                "metadata": metadata,
                "description": description,
            },
            idempotency_key=idempotency_key,
            action="create payment intent",
        )
        pi = self._parse(_payment_intent, body, "create payment intent")
        if pi.status in _DECLINED_STATUSES:
            raise _declined_from_intent(pi, body)
        return pi

    async def get_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        """The intent as it stands, whatever its status (for recovering an unknown outcome)."""
        body = await self._request(
            "GET",
            f"/v1/payment_intents/{_segment(payment_intent_id)}",
            action="get payment intent",
        )
        return self._parse(_payment_intent, body, "get payment intent")

    async def default_payment_method(self, customer: str) -> str | None:
        """The customer's default for invoices, else their legacy default source, else None."""
        body = await self._request(
            "GET", f"/v1/customers/{_segment(customer)}", action="get customer"
        )
        settings = _as_dict(body.get("invoice_settings"))
        return _id_of(settings.get("default_payment_method")) or _id_of(body.get("default_source"))

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """The single-item subscription; UnsupportedSubscription (a ValueError) otherwise."""
        body = await self._request(
            "GET",
            f"/v1/subscriptions/{_segment(subscription_id)}",
            action="get subscription",
        )
        return self._parse(_subscription, body, "get subscription")

    async def set_quantity(
        self, subscription_item_id: str, quantity: int, *, idempotency_key: str
    ) -> int:
        """Set the item's quantity without proration (we charged the prorated part ourselves)."""
        body = await self._request(
            "POST",
            f"/v1/subscription_items/{_segment(subscription_item_id)}",
            {"quantity": quantity, "proration_behavior": "none"},
            idempotency_key=idempotency_key,
            action="set subscription quantity",
        )
        return self._parse(
            lambda b: _int(b.get("quantity"), "quantity"), body, "set subscription quantity"
        )

    # --- transport ----------------------------------------------------------------

    def _parse(self, parse: Callable[[dict[str, Any]], T], body: dict[str, Any], action: str) -> T:
        # A 2xx we cannot read leaves the outcome unknown, like a timeout: recover by reading.
        try:
            return parse(body)
        except UnsupportedSubscription:
            raise  # readable, just not ours to manage
        except ValueError as exc:
            raise StripeUnavailable(f"Stripe {action}: unexpected response ({exc})") from None

    async def _request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        action: str,
    ) -> dict[str, Any]:
        """One logical call with bounded retries; returns the JSON object of the 2xx answer."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        pairs = form_pairs(params or {})
        if method == "POST":
            if not idempotency_key or not idempotency_key.strip():
                raise ValueError("every Stripe POST needs a non-empty idempotency key")
            # The same key on every attempt: a retried POST that already landed is replayed,
            # not repeated.
            headers["Idempotency-Key"] = idempotency_key
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            content = urlencode(pairs).encode()
        url = f"{self._base_url}{path}"
        if method == "GET" and pairs:
            url = f"{url}?{urlencode(pairs)}"

        async def attempt(number: int) -> dict[str, Any] | TryAgain:
            backoff = min(BACKOFF_BASE * 2**number, BACKOFF_CAP)
            try:
                response = await self._client.request(method, url, content=content, headers=headers)
            except httpx.TransportError as exc:  # connect errors and every timeout
                # Only the class name: exception text is not ours to vouch for.
                return TryAgain(type(exc).__name__, backoff)
            if response.is_success:
                return self._json_object(response, action)
            should_retry = response.headers.get("Stripe-Should-Retry", "").strip().lower()
            status = response.status_code
            if should_retry == "true" or (
                should_retry != "false" and (status == 429 or status >= 500)
            ):
                asked = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
                wait = backoff if asked is None else min(asked, RETRY_AFTER_CAP)
                return TryAgain(f"HTTP {status}", wait)
            if status == 429 or status >= 500:
                # Stripe said a retry cannot help (Stripe-Should-Retry: false).
                return TryAgain(f"HTTP {status}", 0.0, last=True)
            raise self._refusal(response)

        outcome, made = await with_retries(
            attempt,
            attempts=self._max_attempts,
            sleep=self._sleep,
            what=f"Stripe {action}",
            log=log,
        )
        if isinstance(outcome, TryAgain):
            raise StripeUnavailable(
                f"Stripe {action} failed after {made} attempt{'s' if made > 1 else ''}: "
                f"{outcome.reason}"
            )
        return outcome

    def _json_object(self, response: httpx.Response, action: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise StripeUnavailable(f"Stripe {action}: response is not a JSON object")
        return body

    def _refusal(self, response: httpx.Response) -> StripeError:
        """A 4xx Stripe will not change its mind about: a decline or a bad request."""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = _as_dict(_as_dict(payload).get("error"))
        message = self._redact(_opt_str(error.get("message")) or "")[:_MAX_ERROR_TEXT]
        code = _opt_str(error.get("code"))
        # Stripe answers card errors with 402; stand-ins may type them differently.
        if error.get("type") == "card_error" or response.status_code == 402:
            return StripeDeclined(
                message or "The card was declined.",
                code,
                _opt_str(error.get("decline_code")),
                _id_of(error.get("payment_intent")),
            )
        return StripeRequestError(
            response.status_code,
            code,
            message or response.reason_phrase or "request refused",
            _opt_str(error.get("type")),
        )

    def _redact(self, text: str) -> str:
        # Stripe masks keys in its own messages; this is belt and braces for stand-ins.
        return text.replace(self._api_key, "[redacted]")


def _segment(value: str) -> str:
    """An id as one path segment: an id like "../x" must not reach another endpoint."""
    if not value:
        raise ValueError("empty Stripe id")
    return quote(value, safe="")


# --- webhooks ---------------------------------------------------------------------


def verify_webhook(
    payload: bytes, signature_header: str, secret: str, now: float, tolerance: int = 300
) -> dict[str, Any]:
    """Check a `Stripe-Signature` header and return the event.

    The header is `t=<unix seconds>,v1=<hex hmac>[,v1=…]` (several v1 while a secret is
    being rolled); the HMAC-SHA256 covers `"{t}." + payload` with the endpoint's secret.
    A timestamp further than `tolerance` seconds from `now`, in either direction, is
    refused so a captured request cannot be replayed later.
    """
    if not secret:
        raise BadWebhookSignature("no webhook signing secret configured")
    if not signature_header or not signature_header.strip():
        raise BadWebhookSignature("missing Stripe-Signature header")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in signature_header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise BadWebhookSignature("malformed Stripe-Signature header")
        if key == "t":
            timestamps.append(value.strip())
        elif key == "v1":
            signatures.append(value.strip())
        # Other schemes (v0, test-mode extras) are ignored, as Stripe advises.
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        raise BadWebhookSignature("malformed Stripe-Signature header: no single timestamp")
    if not signatures:
        raise BadWebhookSignature("malformed Stripe-Signature header: no v1 signature")
    timestamp = timestamps[0]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256
    ).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII str, and headers are attacker input.
    if not any(
        hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
        for candidate in signatures
    ):
        raise BadWebhookSignature("no signature matches the payload")
    if abs(now - int(timestamp)) > tolerance:
        raise BadWebhookSignature("timestamp outside the tolerance")
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        event = None
    # Correctly signed but not an event: still refused, the handler has nothing to act on.
    if not isinstance(event, dict):
        raise BadWebhookSignature("payload is not a JSON object")
    return event
