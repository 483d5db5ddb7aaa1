"""Place order: add licenses exactly once, charged at the quote the admin confirmed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from bot.domain.errors import (
    IdempotencyConflict,
    QuoteNotHonoured,
    RefusedByRules,
)
from bot.domain.money import format_money
from bot.domain.policy import decide_add
from bot.domain.pricing import Quote, build_quote, iso
from bot.integrations.billing import ChargeRequest, new_reference
from bot.models import Order
from bot.readmodels import RECENT_ORDERS, AdminIdentity, Receipt
from bot.services import audit
from bot.services.accounts import contacts_of, load_account, lock_for_admin, terms_of
from bot.services.context import ServiceContext
from bot.services.outbox import PublishHome, SendReceipt, enqueue


def receipt_of(order: Order) -> Receipt:
    return Receipt(
        reference=order.reference,
        account_id=order.account_id,
        added=order.added,
        licenses_before=order.licenses_before,
        licenses_after=order.licenses_after,
        currency=order.currency,
        unit_price_minor=order.unit_price_minor,
        charged_minor=order.due_today_minor,
        next_cycle_minor=order.next_cycle_minor,
        period_end=order.period_end,
        charge_reference=order.charge_reference,
        placed_at=order.created_at,
        ordered_by=order.ordered_by,
        status=order.status,
    )


def honours(shown: Quote, fresh: Quote, now: datetime, ttl_seconds: int) -> str | None:
    """Why the quote the admin saw can't be charged, or None when it can.

    The licenses others added meanwhile don't matter: the price of the added seats
    depends only on the unit price and the period, which must be unchanged.
    """
    if now - shown.quoted_at > timedelta(seconds=ttl_seconds):
        return "The price you saw has expired. Here is the current price."
    same_terms = (
        shown.account_id == fresh.account_id
        and shown.added == fresh.added
        and shown.currency == fresh.currency
        and shown.unit_price_minor == fresh.unit_price_minor
        and shown.period == fresh.period
    )
    if not same_terms:
        return "The price changed since you looked. Here is the current price."
    return None


async def place_order(
    ctx: ServiceContext,
    account_id: str,
    admin: AdminIdentity,
    add: int,
    idempotency_key: str,
    shown_quote: Quote | None,
    confirmed_at: datetime | None = None,
) -> Receipt:
    """Charge and add the licenses, once per idempotency key.

    `shown_quote` is the quote the admin confirmed; it is charged as shown if it was
    younger than QUOTE_TTL_SECONDS when confirmed (`confirmed_at`, else now). None charges
    the current price (CLI, tests).
    """
    try:
        receipt = await _place_order_once(
            ctx, account_id, admin, add, idempotency_key, shown_quote, confirmed_at
        )
    except IntegrityError:
        # The same key was used concurrently for another account; the winner stands.
        async with ctx.reading() as session, session.begin():
            order = await session.scalar(
                select(Order).where(Order.idempotency_key == idempotency_key)
            )
        if order is None:
            raise
        return _replay(order, account_id, add)
    ctx.recent.forget()
    return receipt


def _replay(order: Order, account_id: str, add: int) -> Receipt:
    if order.account_id != account_id or order.added != add:
        raise IdempotencyConflict()
    return replace(receipt_of(order), replayed=True)


async def _place_order_once(
    ctx: ServiceContext,
    account_id: str,
    admin: AdminIdentity,
    add: int,
    idempotency_key: str,
    shown_quote: Quote | None,
    confirmed_at: datetime | None,
) -> Receipt:
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        # The row lock serialises orders of one account: the rules below see the
        # licenses as they are, and a repeated key sees the order it made.
        account = await lock_for_admin(session, account_id, admin)
        existing = await session.scalar(
            select(Order).where(Order.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return _replay(existing, account_id, add)

        terms = terms_of(account)
        decision = decide_add(
            terms, add, contacts_of(account, ctx.settings), ctx.settings.max_licenses_per_order
        )
        if not decision.allowed:
            raise RefusedByRules(decision)

        fresh = build_quote(terms, add, now)
        charged = fresh
        if shown_quote is not None:
            why = honours(shown_quote, fresh, confirmed_at or now, ctx.settings.quote_ttl_seconds)
            if why is not None:
                raise QuoteNotHonoured(fresh, why)
            charged = shown_quote

        charge_reference = None
        if charged.due_today_minor > 0:
            charge_reference = await ctx.billing.charge(
                session,
                ChargeRequest(
                    account_id=account.id,
                    amount_minor=charged.due_today_minor,
                    currency=charged.currency,
                    idempotency_key=idempotency_key,
                    description=(
                        f"{add} license(s) for {account.name}, prorated to "
                        f"{iso(charged.period.end)}"
                    ),
                ),
            )
        before = account.licenses
        account.licenses = before + add
        order = Order(
            reference=new_reference("ORD"),
            idempotency_key=idempotency_key,
            account_id=account.id,
            ordered_by=admin.user_id,
            added=add,
            licenses_before=before,
            licenses_after=account.licenses,
            currency=charged.currency,
            unit_price_minor=charged.unit_price_minor,
            due_today_minor=charged.due_today_minor,
            next_cycle_minor=account.licenses * charged.unit_price_minor,
            period_start=charged.period.start,
            period_end=charged.period.end,
            quoted_at=charged.quoted_at,
            charge_reference=charge_reference,
            created_at=now,
        )
        session.add(order)
        audit.record(
            session,
            account.id,
            admin.user_id,
            "order.placed",
            order=order.reference,
            added=add,
            licenses_before=before,
            licenses_after=account.licenses,
            charged=format_money(charged.due_today_minor, charged.currency),
            charge_reference=charge_reference,
        )
        # The receipt and the admin's App Home, sent if and only if the order stands.
        enqueue(session, SendReceipt(team_id=account.slack_team_id, reference=order.reference), now)
        if account.slack_team_id:
            enqueue(session, PublishHome(team_id=account.slack_team_id, user_id=admin.user_id), now)
        await session.flush()
        return receipt_of(order)


async def get_receipt(ctx: ServiceContext, reference: str) -> Receipt:
    async with ctx.reading() as session, session.begin():
        order = await session.scalar(select(Order).where(Order.reference == reference))
        if order is None:
            raise LookupError(f"no order {reference}")
        return receipt_of(order)


async def order_by_key(ctx: ServiceContext, idempotency_key: str) -> Receipt | None:
    async with ctx.reading() as session, session.begin():
        order = await session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))
        return None if order is None else receipt_of(order)


def _newest_first(account_id: str) -> Select[tuple[Order]]:
    return (
        select(Order)
        .where(Order.account_id == account_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


async def recent_orders(
    ctx: ServiceContext, account_id: str, limit: int = RECENT_ORDERS
) -> list[Receipt]:
    async with ctx.reading() as session, session.begin():
        rows = await session.scalars(_newest_first(account_id).limit(limit))
        return [receipt_of(order) for order in rows]


async def order_history(ctx: ServiceContext, account_id: str) -> list[Receipt]:
    """Every order of the account, newest first; AccountNotFound for an unknown account."""
    async with ctx.reading() as session, session.begin():
        await load_account(session, account_id)
        rows = await session.scalars(_newest_first(account_id))
        return [receipt_of(order) for order in rows]
