"""The account and its subscription at the billing provider, kept in step both ways.

Ours to Stripe: the license count becomes the subscription's quantity (an outbox effect
after each order or removal). Stripe to ours: `accounts sync` and the subscription
webhooks write what changed in Stripe to the account, with an audit entry per change.
Every provider call is made outside any transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import ServiceError
from bot.domain.money import format_money
from bot.domain.pricing import iso
from bot.integrations.stripe import Subscription
from bot.models import Account, Order, OutboxEntry, StripeEvent
from bot.services import audit
from bot.services.accounts import load_account, unit_price_minor
from bot.services.context import ServiceContext
from bot.services.orders import settle_failed, settle_paid
from bot.services.outbox import Kind, PublishAdminHomes, enqueue

log = logging.getLogger(__name__)

INTERVALS = {"month": "monthly", "year": "annual"}
# Our writes to the provider are re-checked this many times when the count moved meanwhile.
SYNC_ROUNDS = 3


class NoSubscription(ServiceError):
    def __init__(self, account_id: str) -> None:
        super().__init__(
            f"Account “{account_id}” has no stripe_subscription: add it to the accounts file "
            "and import it again."
        )


async def _billed_count(ctx: ServiceContext, account_id: str) -> tuple[str, int] | None:
    async with ctx.reading() as session, session.begin():
        row = (
            await session.execute(
                select(Account.stripe_subscription, Account.licenses).where(
                    Account.id == account_id
                )
            )
        ).first()
    if row is None or row[0] is None:
        return None
    return str(row[0]), int(row[1])


async def sync_licenses_to_provider(ctx: ServiceContext, account_id: str, key: str) -> None:
    """Make the subscription's quantity the account's license count as it is now.

    Whoever runs last writes the count that is true then: if the count moved while we
    wrote, we write again.
    """
    for _ in range(SYNC_ROUNDS):
        target = await _billed_count(ctx, account_id)
        if target is None:
            return
        subscription, count = target
        await ctx.billing.set_licenses(subscription, count, f"{key}-{count}")
        if await _billed_count(ctx, account_id) == target:
            return
    raise RuntimeError(f"the license count of {account_id} kept changing while syncing it")


# --- Stripe's values onto the account -----------------------------------------------


def subscription_fields(subscription: Subscription) -> dict[str, Any]:
    """The account's fields as the subscription says they are."""
    return {
        "licenses": subscription.quantity,
        "price_per_license_minor": subscription.unit_amount_minor,
        "currency": subscription.currency,
        "billing_interval": INTERVALS[subscription.interval],
        "period_anchor": subscription.current_period_start,
    }


def _shown(field: str, value: Any, currency: str) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if field == "price_per_license_minor" and isinstance(value, int):
        return format_money(value, currency)
    return value


def _apply(
    session: AsyncSession,
    account: Account,
    fields: dict[str, Any],
    actor: str,
    action: str,
    source: str,
) -> list[str]:
    """Write the fields that differ, one audit entry each; returns the fields changed."""
    current = {key: getattr(account, key) for key in fields}
    current["price_per_license_minor"] = unit_price_minor(account)
    changed = []
    for field, value in fields.items():
        if current[field] == value:
            continue
        audit.record(
            session,
            account.id,
            actor,
            action,
            field=field,
            before=_shown(field, current[field], account.currency),
            after=_shown(field, value, str(fields.get("currency", account.currency))),
            source=source,
        )
        setattr(account, field, value)
        changed.append(field)
    return changed


@dataclass(frozen=True)
class SyncResult:
    account_id: str
    subscription: str
    changed: list[str]


async def sync_from_provider(ctx: ServiceContext, account_id: str, actor: str) -> SyncResult:
    """`licensebot accounts sync`: take the subscription's values as the account's."""
    async with ctx.reading() as session, session.begin():
        account = await load_account(session, account_id)
        subscription_id = account.stripe_subscription
    if subscription_id is None:
        raise NoSubscription(account_id)
    subscription = await ctx.billing.subscription(subscription_id)
    async with ctx.sessions() as session, session.begin():
        account = await load_account(session, account_id, lock=True)
        changed = _apply(
            session,
            account,
            subscription_fields(subscription),
            actor,
            "account.synced",
            f"Stripe subscription {subscription_id}",
        )
        if changed:
            enqueue(session, PublishAdminHomes(account_id=account.id), ctx.clock())
    ctx.recent.forget()
    return SyncResult(account_id, subscription_id, changed)


# --- webhooks -------------------------------------------------------------------------


async def seen_event(ctx: ServiceContext, event_id: str) -> bool:
    async with ctx.reading() as session, session.begin():
        found = await session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id))
    return found is not None


def _record_event(session: AsyncSession, event_id: str, kind: str, now: datetime) -> None:
    session.add(StripeEvent(event_id=event_id, type=kind, received_at=now))


async def mark_event(ctx: ServiceContext, event_id: str, kind: str) -> None:
    """Remember an event whose effect was applied on its own (an idempotent settle)."""
    try:
        async with ctx.sessions() as session, session.begin():
            _record_event(session, event_id, kind, ctx.clock())
    except IntegrityError:
        pass  # the same event delivered twice at once: one record is enough


async def _syncing(session: AsyncSession, account_id: str) -> bool:
    """Whether one of our own quantity changes is still on its way to Stripe."""
    rows = await session.scalars(
        select(OutboxEntry.payload).where(
            OutboxEntry.kind == Kind.BILLING_QUANTITY.value, OutboxEntry.status == "pending"
        )
    )
    return any(payload.get("account_id") == account_id for payload in rows)


async def subscription_changed(
    ctx: ServiceContext, event_id: str, kind: str, subscription_id: str, deleted: bool
) -> list[str]:
    """A subscription changed in Stripe: write its values to the account, once per event.

    The event's own copy may be older than what we already sent, so the subscription is
    read as it is now; a quantity of ours still on its way is not undone.
    """
    current = None if deleted else await ctx.billing.subscription(subscription_id)
    now = ctx.clock()
    changed: list[str] = []
    try:
        async with ctx.sessions() as session, session.begin():
            _record_event(session, event_id, kind, now)
            await session.flush()
            account = await session.scalar(
                select(Account)
                .where(Account.stripe_subscription == subscription_id)
                .with_for_update()
            )
            if account is None:
                return []
            if current is None:
                fields: dict[str, Any] = {"licenses": 0}
                audit.record(
                    session,
                    account.id,
                    "stripe",
                    "subscription.cancelled",
                    subscription=subscription_id,
                    source="changed in Stripe",
                )
                account.stripe_subscription = None
            else:
                fields = subscription_fields(current)
                if await _syncing(session, account.id):
                    del fields["licenses"]
            changed = _apply(
                session, account, fields, "stripe", "account.changed", "changed in Stripe"
            )
            if changed or current is None:
                enqueue(session, PublishAdminHomes(account_id=account.id), now)
    except IntegrityError:
        return []  # this event was applied already
    ctx.recent.forget()
    return changed


class UnreadableEvent(ValueError):
    """A signed event without the fields its type must have (answered 400)."""


def _object_of(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise UnreadableEvent("event without data.object")
    return obj


async def handle_stripe_event(ctx: ServiceContext, event: dict[str, Any]) -> str:
    """Apply one verified webhook event; returns what was done, for the log and the answer."""
    event_id, kind = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(kind, str):
        raise UnreadableEvent("event without id or type")
    if kind not in HANDLED_EVENTS:
        return "ignored"
    if await seen_event(ctx, event_id):
        return "already applied"
    obj = _object_of(event)
    if kind.startswith("customer.subscription."):
        subscription_id = obj.get("id")
        if not isinstance(subscription_id, str):
            raise UnreadableEvent("subscription event without the subscription id")
        deleted = kind == "customer.subscription.deleted"
        changed = await subscription_changed(ctx, event_id, kind, subscription_id, deleted)
        return f"changed {', '.join(changed)}" if changed else "no change"
    metadata = obj.get("metadata")
    reference = metadata.get("order") if isinstance(metadata, dict) else None
    intent_id = obj.get("id")
    if not (isinstance(metadata, dict) and isinstance(reference, str)):
        return "not an order of ours"
    if not isinstance(intent_id, str):
        return "not an order of ours"
    if not await _is_charge_of(ctx, reference, metadata, obj.get("amount")):
        log.warning("Stripe event %s names order %s but does not match it", event_id, reference)
        return "not an order of ours"
    try:
        if kind == "payment_intent.succeeded":
            receipt = await settle_paid(ctx, reference, intent_id)
        else:
            error = obj.get("last_payment_error")
            message = error.get("message") if isinstance(error, dict) else None
            receipt = await settle_failed(
                ctx, reference, message if isinstance(message, str) else "The card was declined."
            )
    except LookupError:
        return "not an order of ours"
    await mark_event(ctx, event_id, kind)
    return f"order {reference} is {receipt.status}"


async def _is_charge_of(
    ctx: ServiceContext, reference: str, metadata: dict[str, Any], amount: object
) -> bool:
    """Whether a PaymentIntent is the charge of this order: its account and amount agree."""
    async with ctx.reading() as session, session.begin():
        order = await session.scalar(select(Order).where(Order.reference == reference))
    if order is None:
        return False
    same_amount = isinstance(amount, int) and amount == order.due_today_minor
    return bool(metadata.get("account") == order.account_id and same_amount)


HANDLED_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
