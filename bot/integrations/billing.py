"""Billing providers: the built-in ledger (our own book) and Stripe.

A provider is called outside any database transaction (see services/orders.py): a charge
is a network call, and no row lock may wait on one. Each call carries an idempotency key,
so calling again after a timeout or a crash never charges twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.integrations.stripe import (
    StripeClient,
    StripeDeclined,
    StripeError,
    StripeRequestError,
    StripeUnavailable,
    Subscription,
    UnsupportedSubscription,
)
from bot.models import LedgerCharge


@dataclass(frozen=True)
class ChargeRequest:
    account_id: str
    order_reference: str
    amount_minor: int
    currency: str
    idempotency_key: str
    description: str
    # The provider's customer (Stripe's cus_…); the ledger needs none.
    customer: str | None = None


class ChargeDeclined(Exception):
    """Nothing was charged: the card refused. `message` is the provider's, fit for the admin."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class BillingUnavailable(Exception):
    """The provider could not be reached: the outcome is unknown until asked again."""


class ChargeInProgress(BillingUnavailable):
    """The provider took the charge but has not finished it; `reference` names it."""

    def __init__(self, reference: str, message: str) -> None:
        super().__init__(message)
        self.reference = reference


class BillingRefused(Exception):
    """The provider refused the request itself (a missing customer, a bad key): not charged."""


class BillingProvider(Protocol):
    # Whether accounts need `stripe_customer` / `stripe_subscription` to be charged.
    needs_customer: bool
    # Whether charges are booked in our own database: then an order's charge is written in
    # the transaction that settles it (`book`), since no network call is involved.
    local: bool

    async def charge(self, request: ChargeRequest) -> str:
        """Charge once per idempotency key and return the charge reference."""
        ...

    async def charge_outcome(self, reference: str) -> str:
        """A charge in progress as it stands now: "paid", "failed" or "pending"."""
        ...

    async def set_licenses(self, subscription: str, quantity: int, idempotency_key: str) -> None:
        """Make the subscription bill `quantity` licenses from the next cycle, no proration."""
        ...

    async def subscription(self, subscription: str) -> Subscription:
        """The subscription as the provider has it (BillingRefused if it can't be managed)."""
        ...

    async def aclose(self) -> None: ...


def new_reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


class LedgerBilling:
    """Charges booked in our own database."""

    needs_customer = False
    local = True

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def book(self, session: AsyncSession, request: ChargeRequest, new: bool = False) -> str:
        """The charge, written in the caller's transaction (once per idempotency key).

        `new`: for an order written in this same transaction, whose key can't have been
        booked yet (the unique key would still refuse a second booking).
        """
        existing = None if new else await self._booked(session, request.idempotency_key)
        if existing is not None:
            return existing
        entry = LedgerCharge(
            reference=new_reference("CH"),
            idempotency_key=request.idempotency_key,
            account_id=request.account_id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            description=request.description,
        )
        session.add(entry)
        return entry.reference

    async def charge(self, request: ChargeRequest) -> str:
        """The charge in a transaction of its own."""
        try:
            async with self._sessions() as session, session.begin():
                return await self.book(session, request)
        except IntegrityError:
            # The same key booked at the same moment by another worker: theirs stands.
            async with self._sessions() as session, session.begin():
                booked = await self._booked(session, request.idempotency_key)
            if booked is None:
                raise
            return booked

    async def _booked(self, session: AsyncSession, key: str) -> str | None:
        reference: str | None = await session.scalar(
            select(LedgerCharge.reference).where(LedgerCharge.idempotency_key == key)
        )
        return reference

    async def charge_outcome(self, reference: str) -> str:
        return "paid"  # a booked charge is a paid one

    async def set_licenses(self, subscription: str, quantity: int, idempotency_key: str) -> None:
        """The ledger has no subscription: the account's own count is what it bills."""

    async def subscription(self, subscription: str) -> Subscription:
        raise BillingRefused("the built-in ledger has no subscriptions (BILLING_PROVIDER=ledger)")

    async def aclose(self) -> None:
        return None


class StripeBilling:
    """Total Due Today as one off-session PaymentIntent; the license count as the quantity."""

    needs_customer = True
    local = False

    def __init__(self, client: StripeClient) -> None:
        self._client = client

    async def charge(self, request: ChargeRequest) -> str:
        if not request.customer:
            raise BillingRefused(f"account {request.account_id} has no Stripe customer")
        try:
            method = await self._client.default_payment_method(request.customer)
            if method is None:
                raise ChargeDeclined(
                    "There is no card on file for this account.", "no_payment_method"
                )
            intent = await self._client.create_payment_intent(
                amount_minor=request.amount_minor,
                currency=request.currency,
                customer=request.customer,
                payment_method=method,
                # Exactly the parameters an order needs: the order and account ride in the
                # metadata, where the dashboard and the webhooks show them.
                metadata={"order": request.order_reference, "account": request.account_id},
                idempotency_key=request.idempotency_key,
            )
        except StripeDeclined as declined:
            raise ChargeDeclined(declined.message, declined.code) from None
        except StripeUnavailable as exc:
            raise BillingUnavailable(str(exc)) from None
        except StripeRequestError as exc:
            if exc.about_the_key:
                # The key is in flight elsewhere, or its first request differed (a card
                # changed since): that request may have charged, so the outcome is unknown.
                raise BillingUnavailable(str(exc)) from None
            raise BillingRefused(str(exc)) from None
        if intent.status != "succeeded":
            # Processing (a bank debit): asked about by id from now on, or told by webhook.
            raise ChargeInProgress(intent.id, f"payment {intent.id} is {intent.status}")
        if intent.amount_minor != request.amount_minor:
            raise BillingRefused(
                f"payment {intent.id} is for {intent.amount_minor}, not {request.amount_minor}"
            )
        return intent.id

    async def charge_outcome(self, reference: str) -> str:
        try:
            intent = await self._client.get_payment_intent(reference)
        except StripeUnavailable as exc:
            raise BillingUnavailable(str(exc)) from None
        except StripeError as exc:
            raise BillingRefused(str(exc)) from None
        if intent.status == "succeeded":
            return "paid"
        if intent.status in {"requires_payment_method", "canceled"}:
            return "failed"
        return "pending"

    async def set_licenses(self, subscription: str, quantity: int, idempotency_key: str) -> None:
        current = await self.subscription(subscription)
        if current.quantity == quantity:
            return
        try:
            await self._client.set_quantity(
                current.item_id, quantity, idempotency_key=idempotency_key
            )
        except StripeUnavailable as exc:
            raise BillingUnavailable(str(exc)) from None
        except StripeError as exc:
            raise BillingRefused(str(exc)) from None

    async def subscription(self, subscription: str) -> Subscription:
        try:
            return await self._client.get_subscription(subscription)
        except StripeUnavailable as exc:
            raise BillingUnavailable(str(exc)) from None
        except (StripeError, UnsupportedSubscription) as exc:
            raise BillingRefused(str(exc)) from None

    async def aclose(self) -> None:
        await self._client.aclose()
