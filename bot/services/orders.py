"""Place order: add licenses exactly once, charged at the quote the admin confirmed."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import (
    BillingNotSetUp,
    IdempotencyConflict,
    OrderPending,
    QuoteNotHonoured,
    RefusedByRules,
)
from bot.domain.money import format_money
from bot.domain.plans import BillingInterval
from bot.domain.policy import count_words, decide_add, decide_approved_add
from bot.domain.pricing import Quote, build_quote, iso
from bot.integrations.billing import (
    BillingRefused,
    BillingUnavailable,
    ChargeDeclined,
    ChargeInProgress,
    ChargeRequest,
    LedgerBilling,
    new_reference,
)
from bot.models import Account, Order
from bot.readmodels import AdminIdentity, Receipt
from bot.services import audit
from bot.services.accounts import contacts_of, load_account, lock_for_admin, terms_of
from bot.services.context import ServiceContext, account_keys
from bot.services.outbox import (
    Effect,
    PublishHome,
    SendOrderFailed,
    SendReceipt,
    SyncSubscription,
    enqueue,
    hold_in,
    mark_done,
)
from bot.services.requests import (
    Approval,
    approve_after_late_payment,
    approve_in,
    reopen_after_decline,
)

log = logging.getLogger(__name__)

PENDING, PAID, FAILED = "pending", "paid", "failed"
PENDING_POLL_SECONDS = 0.05


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
        interval=interval_of(order.period_start, order.period_end),
        failure_message=order.failure_message,
    )


def interval_of(start: datetime, end: datetime) -> BillingInterval:
    """A billing period's interval, from its length: months are 28 to 31 days, years more."""
    return BillingInterval.ANNUAL if end - start > timedelta(days=62) else BillingInterval.MONTHLY


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
    wait_for_pending: float = 0.0,
    intent: Effect | None = None,
    approval: Approval | None = None,
) -> Receipt:
    """Order the licenses once per idempotency key: reserve, charge, then record the outcome.

    On our own ledger the three are one transaction. With a payment provider the charge
    runs between two: `intent` is then the outbox entry that finishes this order if this
    process dies; it is written with the reservation, held by this process, and marked
    done with the outcome.

    While another order of the account is being charged, this one waits for it up to
    `wait_for_pending` seconds (two admins clicking at once both get their order), then
    is refused with OrderPending.

    `shown_quote` is the quote the admin confirmed; it is charged as shown if it was
    younger than QUOTE_TTL_SECONDS when confirmed (`confirmed_at`, else now). None charges
    the current price (CLI, tests). The receipt's status says what happened: paid, failed
    (a decline, with the provider's message) or pending (the provider could not be
    reached; the recovery job finishes it).

    With an `approval`, a CSM places the order of a request for more licenses for its
    requester (`admin`), which the plan rules routed to them: the request is approved in
    the order's own transaction, so it places one order at most.
    """
    deadline = time.monotonic() + wait_for_pending
    async with ctx.order_turns.turn(account_id, wait_for_pending):
        try:
            while True:
                try:
                    order, held, fresh = await _reserve(
                        ctx,
                        account_id,
                        admin,
                        add,
                        idempotency_key,
                        shown_quote,
                        confirmed_at,
                        intent,
                        settle_now=ctx.billing.local,
                        approval=approval,
                    )
                    break
                except OrderPending:
                    # Another process's order: wait (reading, not writing) until it resolves.
                    if not await _wait_while_pending(ctx, account_id, deadline):
                        raise
        except IntegrityError:
            # The same key was used concurrently for another account; the winner stands.
            async with ctx.reading() as session, session.begin():
                existing = await session.scalar(
                    select(Order).where(Order.idempotency_key == idempotency_key)
                )
            if existing is None:
                raise
            order, held, fresh = _replay(existing, account_id, add), None, None
        if order.status != PENDING:
            return order  # settled already: on our own ledger, or an earlier try of this key
        finished = await complete_order(ctx, order.reference, done_entry=held, fresh=fresh)
    return replace(finished, replayed=order.replayed)


async def _wait_while_pending(ctx: ServiceContext, account_id: str, deadline: float) -> bool:
    """Until the account has no pending order (True) or the deadline passes (False)."""
    while time.monotonic() < deadline:
        await asyncio.sleep(PENDING_POLL_SECONDS)
        async with ctx.reading() as session, session.begin():
            pending = await session.scalar(
                select(Order.id).where(Order.account_id == account_id, Order.status == PENDING)
            )
        if pending is None:
            return True
    return False


def _replay(order: Order, account_id: str, add: int) -> Receipt:
    if order.account_id != account_id or order.added != add:
        raise IdempotencyConflict()
    return replace(receipt_of(order), replayed=True)


async def _reserve(
    ctx: ServiceContext,
    account_id: str,
    admin: AdminIdentity,
    add: int,
    idempotency_key: str,
    shown_quote: Quote | None,
    confirmed_at: datetime | None,
    intent: Effect | None = None,
    settle_now: bool = False,
    approval: Approval | None = None,
) -> tuple[Receipt, int | None, ChargeRequest | None]:
    """Step 1, one short transaction: check, then write the order down as pending.

    Returns the order, the id of its held outbox entry (with an `intent`) and, for a new
    order, its charge.

    On our own ledger (`settle_now`) there is no charge to wait for: the same transaction
    books it and records the outcome, and the order returned is paid (no entry, no charge).
    """
    now = ctx.clock()
    settled_team: str | None = None
    async with ctx.sessions() as session, session.begin():
        # The row lock serialises orders of one account: the rules below see the
        # licenses as they are, and a repeated key sees the order it made.
        if approval is None:
            account = await lock_for_admin(session, account_id, admin)
        else:
            # The CSM's authority was checked; the requester was an admin when they asked.
            account = await load_account(session, account_id, lock=True)
        # This key's order, and the account's pending one, in one query.
        found = list(
            await session.scalars(
                select(Order).where(
                    or_(
                        Order.idempotency_key == idempotency_key,
                        and_(Order.account_id == account.id, Order.status == PENDING),
                    )
                )
            )
        )
        for existing in found:
            if existing.idempotency_key == idempotency_key:
                return _replay(existing, account_id, add), None, None
        for in_flight in found:
            raise OrderPending(in_flight.reference, in_flight.added)

        terms = terms_of(account)
        if approval is None:
            decision = decide_add(
                terms, add, contacts_of(account, ctx.settings), ctx.settings.max_licenses_per_order
            )
        else:
            decision = decide_approved_add(add, ctx.settings.max_licenses_per_order)
        if not decision.allowed:
            raise RefusedByRules(decision)
        if ctx.billing.needs_customer and not (
            account.stripe_customer and account.stripe_subscription
        ):
            raise BillingNotSetUp(account.name)

        fresh = build_quote(terms, add, now)
        charged = fresh
        if shown_quote is not None:
            why = honours(shown_quote, fresh, confirmed_at or now, ctx.settings.quote_ttl_seconds)
            if why is not None:
                raise QuoteNotHonoured(fresh, why)
            charged = shown_quote

        order = Order(
            reference=new_reference("ORD"),
            idempotency_key=idempotency_key,
            account_id=account.id,
            ordered_by=admin.user_id,
            added=add,
            # What the licenses would become; set for good when the charge succeeds.
            licenses_before=account.licenses,
            licenses_after=account.licenses + add,
            currency=charged.currency,
            unit_price_minor=charged.unit_price_minor,
            due_today_minor=charged.due_today_minor,
            next_cycle_minor=(account.licenses + add) * charged.unit_price_minor,
            period_start=charged.period.start,
            period_end=charged.period.end,
            quoted_at=charged.quoted_at,
            status=PENDING,
            created_at=now,
        )
        session.add(order)
        if approval is not None:
            await approve_in(session, approval, account, order.reference, add, now)
        request = charge_request(order, account.stripe_customer)
        if settle_now:
            book = request if request.amount_minor else None
            paid, settled_team = await _record_paid(ctx, session, order, None, book, now)
        else:
            held = None if intent is None else (await hold_in(session, intent, now)).id
            await session.flush()
            return receipt_of(order), held, request
    ctx.recent.forget(*account_keys(account_id, settled_team))
    return paid, None, None


def charge_key(reference: str) -> str:
    """The provider's idempotency key for an order's charge: every attempt sends the same."""
    return f"licensebot-order-{reference}"


def charge_request(order: Order, customer: str | None) -> ChargeRequest:
    """The order's charge. Everything in it comes from the order itself: a retry must send
    exactly what the first attempt sent, or the provider refuses the key."""
    return ChargeRequest(
        account_id=order.account_id,
        order_reference=order.reference,
        amount_minor=order.due_today_minor,
        currency=order.currency,
        idempotency_key=charge_key(order.reference),
        description=(
            f"{count_words(order.added)} for account {order.account_id}, prorated to "
            f"{iso(order.period_end)} (order {order.reference})"
        ),
        customer=customer,
    )


async def complete_order(
    ctx: ServiceContext,
    reference: str,
    done_entry: int | None = None,
    fresh: ChargeRequest | None = None,
) -> Receipt:
    """Steps 2 and 3 of a pending order: charge outside any transaction, then record it.

    Safe to run again, by anyone, at any time: the charge carries the order's key, and
    only a pending order is settled.
    """
    if fresh is not None:
        # Just reserved by this caller: nothing to read back.
        request, in_progress, placed_at = fresh, None, ctx.clock()
    else:
        async with ctx.reading() as session, session.begin():
            order = await session.scalar(select(Order).where(Order.reference == reference))
            if order is None:
                raise LookupError(f"no order {reference}")
            if order.status != PENDING:
                return receipt_of(order)
            customer = await session.scalar(
                select(Account.stripe_customer).where(Account.id == order.account_id)
            )
            in_progress, placed_at = order.charge_reference, order.created_at
            request = charge_request(order, customer)
    if request.amount_minor == 0:
        return await settle_paid(ctx, reference, None, done_entry=done_entry)
    if ctx.billing.local:
        # Our own book: the charge commits with the order, in one transaction.
        return await settle_paid(ctx, reference, None, done_entry=done_entry, book=request)
    try:
        if in_progress is not None:
            return await _follow_up(ctx, reference, in_progress)
        if ctx.clock() - placed_at > KEYS_KEPT:
            # The provider may have forgotten the key: asking again could charge twice.
            # A charge that did go through still arrives by webhook and pays the order.
            log.error("order %s: no answer from the provider for a day; failed", reference)
            return await settle_failed(ctx, reference, UNCONFIRMED)
        charge_reference = await ctx.billing.charge(request)
    except ChargeDeclined as declined:
        return await settle_failed(ctx, reference, declined.message, done_entry=done_entry)
    except BillingRefused as refused:
        log.error("order %s could not be charged: %s", reference, refused)
        return await settle_failed(ctx, reference, NOT_CHARGEABLE, done_entry=done_entry)
    except ChargeInProgress as started:
        log.info("order %s: %s", reference, started)
        return await _note_charge(ctx, reference, started.reference)
    except BillingUnavailable as unknown:
        log.warning("order %s stays pending: %s", reference, unknown)
        return await _note_charge(ctx, reference, None)
    return await settle_paid(ctx, reference, charge_reference, done_entry=done_entry)


async def _follow_up(ctx: ServiceContext, reference: str, charge_reference: str) -> Receipt:
    """A charge the provider had started: asked about by its id, never made again."""
    outcome = await ctx.billing.charge_outcome(charge_reference)
    if outcome == PAID:
        return await settle_paid(ctx, reference, charge_reference)
    if outcome == FAILED:
        return await settle_failed(ctx, reference, "The payment did not go through.")
    return await _note_charge(ctx, reference, None)


async def _note_charge(
    ctx: ServiceContext, reference: str, charge_reference: str | None
) -> Receipt:
    """The order stays pending; a charge the provider started is remembered by its id."""
    async with ctx.sessions() as session, session.begin():
        order = await session.scalar(select(Order).where(Order.reference == reference))
        assert order is not None
        if charge_reference is not None and order.status == PENDING:
            order.charge_reference = charge_reference
        return receipt_of(order)


# Stripe keeps an idempotency key for at least 24 hours; after that no retry is sent.
KEYS_KEPT = timedelta(hours=23)
UNCONFIRMED = "The payment provider did not confirm the payment within a day."


# Said when the provider refused the request itself: not the admin's card, and not theirs
# to fix; the log has the provider's words.
NOT_CHARGEABLE = (
    "The payment could not be processed because of a billing setup problem on our side. "
    "Please contact Support."
)


async def settle_paid(
    ctx: ServiceContext,
    reference: str,
    charge_reference: str | None,
    *,
    done_entry: int | None = None,
    book: ChargeRequest | None = None,
) -> Receipt:
    """Step 3 on success, one short transaction: paid, licenses raised, receipt queued.

    `book`: a charge for the built-in ledger, written here with the order it pays.
    `done_entry`: the held outbox entry this outcome completes.
    """
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        order = await _locked_order(session, reference)
        if done_entry is not None:
            await mark_done(session, done_entry, now)
        if order.status == PAID:
            return receipt_of(order)
        receipt, team_id = await _record_paid(ctx, session, order, charge_reference, book, now)
    ctx.recent.forget(*account_keys(order.account_id, team_id))
    return receipt


async def _record_paid(
    ctx: ServiceContext,
    session: AsyncSession,
    order: Order,
    charge_reference: str | None,
    book: ChargeRequest | None,
    now: datetime,
) -> tuple[Receipt, str | None]:
    """In the caller's transaction: the order paid, licenses raised, receipt queued.

    Returns the receipt and the account's workspace (whose cached account is now stale).
    """
    # An order new in this transaction is written once, when complete: not as pending
    # first and then changed.
    new = order in session.new
    if order.status == FAILED:
        await approve_after_late_payment(session, order.reference, now)
    with session.no_autoflush:
        if book is not None:
            assert isinstance(ctx.billing, LedgerBilling)
            charge_reference = await ctx.billing.book(session, book, new=new)
        # A failed order is settled as paid only when the provider says its charge went
        # through after all (a webhook): the money was taken, so the licenses are given.
        # The count is raised in place: whatever else changed it meanwhile stands.
        after, team_id = (
            await session.execute(
                update(Account)
                .where(Account.id == order.account_id)
                .values(licenses=Account.licenses + order.added)
                .returning(Account.licenses, Account.slack_team_id)
                .execution_options(synchronize_session=False)
            )
        ).one()
    before = after - order.added
    order.status = PAID
    order.failure_message = None
    order.charge_reference = charge_reference or order.charge_reference
    order.licenses_before = before
    order.licenses_after = after
    order.next_cycle_minor = after * order.unit_price_minor
    order.resolved_at = now
    audit.record(
        session,
        order.account_id,
        order.ordered_by,
        "order.placed",
        order=order.reference,
        added=order.added,
        licenses_before=before,
        licenses_after=after,
        charged=format_money(order.due_today_minor, order.currency),
        charge_reference=order.charge_reference,
    )
    await session.flush()
    receipt = receipt_of(order)
    # The receipt and the admin's App Home, sent if and only if the order stands.
    _tell_admin(
        session,
        order,
        SendReceipt(team_id=team_id, reference=order.reference, receipt=receipt),
        now,
    )
    if ctx.billing.needs_customer:
        enqueue(session, SyncSubscription(account_id=order.account_id), now)
    return receipt, team_id


async def settle_failed(
    ctx: ServiceContext, reference: str, message: str, *, done_entry: int | None = None
) -> Receipt:
    """Step 3 on a decline: failed, licenses unchanged, the admin told why by DM."""
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        order = await _locked_order(session, reference)
        if done_entry is not None:
            await mark_done(session, done_entry, now)
        if order.status != PENDING:
            return receipt_of(order)
        team_id = await session.scalar(
            select(Account.slack_team_id).where(Account.id == order.account_id)
        )
        order.status = FAILED
        order.failure_message = message[:1000]
        order.resolved_at = now
        audit.record(
            session,
            order.account_id,
            order.ordered_by,
            "order.failed",
            order=order.reference,
            added=order.added,
            amount=format_money(order.due_today_minor, order.currency),
            reason=order.failure_message,
        )
        await reopen_after_decline(session, order.reference, now)
        _tell_admin(session, order, SendOrderFailed(team_id=team_id, reference=reference), now)
        await session.flush()
        return receipt_of(order)


async def _locked_order(session: AsyncSession, reference: str) -> Order:
    """The order, its row locked: one outcome is recorded, whoever else tries at once."""
    order = await session.scalar(
        select(Order).where(Order.reference == reference).with_for_update()
    )
    if order is None:
        raise LookupError(f"no order {reference}")
    return order


def _tell_admin(
    session: AsyncSession, order: Order, outcome: SendReceipt | SendOrderFailed, now: datetime
) -> None:
    """The outcome by DM to whoever ordered, and their App Home drawn again."""
    enqueue(session, outcome, now)
    if outcome.team_id:
        enqueue(session, PublishHome(team_id=outcome.team_id, user_id=order.ordered_by), now)


# A pending order younger than this is still in the hands of whoever placed it.
RESUME_AFTER = timedelta(seconds=60)


async def resume_pending_orders(ctx: ServiceContext) -> list[Receipt]:
    """The recovery job: finish orders left pending by a crash or an unreachable provider."""
    cutoff = ctx.clock() - RESUME_AFTER
    async with ctx.reading() as session, session.begin():
        references = list(
            await session.scalars(
                select(Order.reference)
                .where(Order.status == PENDING, Order.created_at <= cutoff)
                .order_by(Order.created_at)
                .limit(100)
            )
        )
    resolved = []
    for reference in references:
        try:
            receipt = await complete_order(ctx, reference)
        except Exception as exc:
            # One order that can't be finished must not hold up the others.
            log.error("pending order %s not resumed: %s: %s", reference, type(exc).__name__, exc)
            continue
        if receipt.status != PENDING:
            resolved.append(receipt)
    return resolved


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


def newest_orders(account_id: str) -> Select[tuple[Order]]:
    return (
        select(Order)
        .where(Order.account_id == account_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


async def order_history(ctx: ServiceContext, account_id: str) -> list[Receipt]:
    """Every order of the account, newest first; AccountNotFound for an unknown account."""
    async with ctx.reading() as session, session.begin():
        await load_account(session, account_id)
        rows = await session.scalars(newest_orders(account_id))
        return [receipt_of(order) for order in rows]
