"""Placing orders: charged once, counted once, audited, and only when the rules allow."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.domain.errors import (
    AccountNotFound,
    IdempotencyConflict,
    NotAnAdmin,
    QuoteNotHonoured,
    RefusedByRules,
)
from bot.domain.policy import Route
from bot.models import AuditEntry, LedgerCharge, Order
from bot.services.accounts import import_accounts, show_account
from bot.services.context import ServiceContext
from bot.services.orders import AdminIdentity, interval_of, place_order
from bot.services.quotes import quote
from tests.accounts import account

MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)
ANN = AdminIdentity("U0ANN")


def account_entry(**overrides: Any) -> dict[str, Any]:
    return account(**{"admins": ["U0ANN", "U0AL", "bob@acme.example"], **overrides})


GLOBEX = account_entry(
    id="globex",
    name="Globex",
    slack_team_id="T0GLOBEX",
    plan="enterprise",
    billing_interval="annual",
    licenses=3,
    price_per_license="1200.00",
    period_start="2026-01-01T00:00:00Z",
)


def at(ctx: ServiceContext, moment: datetime) -> ServiceContext:
    """The same services with the clock stopped at `moment`."""
    return dataclasses.replace(ctx, clock=lambda: moment)


async def seed(ctx: ServiceContext, *entries: dict[str, Any]) -> None:
    await import_accounts(ctx, {"accounts": list(entries or [account_entry()])}, actor="test")


async def count(ctx: ServiceContext, model: type, **where: object) -> int:
    async with ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(await session.scalar(query) or 0)


async def licenses_of(ctx: ServiceContext, account_id: str = "acme") -> int:
    return (await show_account(ctx, account_id)).terms.licenses


async def test_place_order_adds_licenses_charges_once_and_audits(ctx: ServiceContext) -> None:
    await seed(ctx)
    ctx = at(ctx, MID_NOVEMBER)

    receipt = await place_order(ctx, "acme", ANN, 3, "key-1", None)

    assert receipt.added == 3
    assert (receipt.licenses_before, receipt.licenses_after) == (10, 13)
    assert receipt.charged_minor == 7350
    assert receipt.next_cycle_minor == 63700
    assert receipt.currency == "USD"
    assert receipt.period_end == datetime(2026, 12, 1, tzinfo=UTC)
    assert receipt.placed_at == MID_NOVEMBER
    assert receipt.ordered_by == "U0ANN"
    assert await licenses_of(ctx) == 13

    async with ctx.sessions() as session:
        charges = (await session.scalars(select(LedgerCharge))).all()
        audits = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "order.placed"))
        ).all()
    assert len(charges) == 1
    assert (charges[0].amount_minor, charges[0].currency) == (7350, "USD")
    assert charges[0].account_id == "acme"
    assert receipt.charge_reference == charges[0].reference
    assert len(audits) == 1
    assert audits[0].actor == "U0ANN"
    assert audits[0].account_id == "acme"
    assert audits[0].detail["order"] == receipt.reference
    assert audits[0].detail["licenses_before"] == 10
    assert audits[0].detail["licenses_after"] == 13
    assert audits[0].detail["charged"] == "$73.50"


async def test_same_idempotency_key_returns_the_same_receipt_and_charges_once(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    first = await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "key-1", None)
    later = at(ctx, MID_NOVEMBER + timedelta(hours=2))
    again = await place_order(later, "acme", ANN, 3, "key-1", None)

    assert not first.replayed
    assert again.replayed
    assert replace(again, replayed=False) == first
    assert await licenses_of(ctx) == 13
    assert await count(ctx, Order) == 1
    assert await count(ctx, LedgerCharge) == 1
    assert await count(ctx, AuditEntry, action="order.placed") == 1


async def test_replay_is_answered_even_after_the_rules_would_refuse(ctx: ServiceContext) -> None:
    # Globex grows 3 → 5; a retry of that same order must return its receipt, not
    # "contact Sales" because the account is now full.
    await seed(ctx, GLOBEX)
    ctx = at(ctx, MID_NOVEMBER)
    first = await place_order(ctx, "globex", ANN, 2, "key-g", None)
    assert replace(await place_order(ctx, "globex", ANN, 2, "key-g", None), replayed=False) == first
    assert await licenses_of(ctx, "globex") == 5


async def test_a_key_reused_for_a_different_order_is_refused(ctx: ServiceContext) -> None:
    await seed(ctx, account_entry(), GLOBEX)
    ctx = at(ctx, MID_NOVEMBER)
    await place_order(ctx, "acme", ANN, 3, "key-1", None)

    with pytest.raises(IdempotencyConflict):
        await place_order(ctx, "acme", ANN, 4, "key-1", None)
    with pytest.raises(IdempotencyConflict):
        await place_order(ctx, "globex", ANN, 1, "key-1", None)

    assert await licenses_of(ctx) == 13
    assert await licenses_of(ctx, "globex") == 3
    assert await count(ctx, LedgerCharge) == 1


async def test_different_keys_make_different_orders(ctx: ServiceContext) -> None:
    await seed(ctx)
    ctx = at(ctx, MID_NOVEMBER)
    first = await place_order(ctx, "acme", ANN, 3, "key-1", None)
    second = await place_order(ctx, "acme", ANN, 3, "key-2", None)
    assert first.reference != second.reference
    assert (second.licenses_before, second.licenses_after) == (13, 16)
    assert await count(ctx, LedgerCharge) == 2


async def test_only_admins_may_order(ctx: ServiceContext) -> None:
    await seed(ctx)
    ctx = at(ctx, MID_NOVEMBER)

    with pytest.raises(NotAnAdmin) as refused:
        await place_order(ctx, "acme", AdminIdentity("U0EVE", "eve@acme.example"), 1, "k", None)

    assert "U0ANN" in str(refused.value)
    assert "Acme Corp" in str(refused.value)
    assert await licenses_of(ctx) == 10
    assert await count(ctx, Order) == 0
    assert await count(ctx, LedgerCharge) == 0


async def test_an_admin_listed_by_email_may_order_whatever_its_case(ctx: ServiceContext) -> None:
    await seed(ctx)
    bob = AdminIdentity("U0BOB", "Bob@ACME.example")
    receipt = await place_order(at(ctx, MID_NOVEMBER), "acme", bob, 1, "k", None)
    assert receipt.licenses_after == 11
    assert receipt.ordered_by == "U0BOB"


@pytest.mark.parametrize(
    ("licenses", "plan", "add", "route"),
    [
        (3, "enterprise", 3, Route.SALES),
        (5, "enterprise", 1, Route.SALES),
        (6, "enterprise", 1, Route.CSM),
        (3, "gong", 1, Route.CSM),
    ],
)
async def test_orders_the_rules_refuse_change_nothing(
    ctx: ServiceContext, licenses: int, plan: str, add: int, route: Route
) -> None:
    await seed(ctx, account_entry(plan=plan, licenses=licenses))
    with pytest.raises(RefusedByRules) as refused:
        await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, add, "k", None)
    assert refused.value.decision.route is route
    assert await licenses_of(ctx) == licenses
    assert await count(ctx, Order) == 0
    assert await count(ctx, LedgerCharge) == 0
    assert await count(ctx, AuditEntry, action="order.placed") == 0


async def test_enterprise_may_fill_up_to_five(ctx: ServiceContext) -> None:
    await seed(ctx, GLOBEX)
    receipt = await place_order(at(ctx, MID_NOVEMBER), "globex", ANN, 2, "k", None)
    assert receipt.licenses_after == 5
    with pytest.raises(RefusedByRules) as refused:
        await place_order(at(ctx, MID_NOVEMBER), "globex", ANN, 1, "k2", None)
    assert refused.value.decision.route is Route.SALES


@pytest.mark.parametrize("add", [0, -1])
async def test_orders_of_no_licenses_are_refused(ctx: ServiceContext, add: int) -> None:
    await seed(ctx)
    with pytest.raises(RefusedByRules) as refused:
        await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, add, "k", None)
    assert refused.value.decision.route is None
    assert await licenses_of(ctx) == 10


async def test_ordering_for_an_unknown_account(ctx: ServiceContext) -> None:
    await seed(ctx)
    with pytest.raises(AccountNotFound):
        await place_order(at(ctx, MID_NOVEMBER), "nope", ANN, 1, "k", None)


async def test_a_confirmed_quote_is_charged_as_shown(ctx: ServiceContext) -> None:
    await seed(ctx)
    shown = (await quote(at(ctx, MID_NOVEMBER), "acme", 3)).quote
    assert shown is not None
    # The admin takes ten minutes to press Order Now; the price they saw stands.
    receipt = await place_order(
        at(ctx, MID_NOVEMBER + timedelta(minutes=10)), "acme", ANN, 3, "k", shown
    )
    assert receipt.charged_minor == shown.due_today_minor == 7350


async def test_an_expired_quote_is_not_honoured_and_a_fresh_one_is_offered(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    ttl = ctx.settings.quote_ttl_seconds
    shown = (await quote(at(ctx, MID_NOVEMBER), "acme", 3)).quote
    assert shown is not None
    later = MID_NOVEMBER + timedelta(seconds=ttl + 1)

    with pytest.raises(QuoteNotHonoured) as stale:
        await place_order(at(ctx, later), "acme", ANN, 3, "k", shown)

    fresh = stale.value.fresh
    assert fresh.quoted_at == later
    assert fresh.added == 3
    assert fresh.due_today_minor < shown.due_today_minor
    assert "expired" in str(stale.value)
    assert await licenses_of(ctx) == 10
    assert await count(ctx, LedgerCharge) == 0
    # Confirming the fresh quote works.
    receipt = await place_order(at(ctx, later), "acme", ANN, 3, "k", fresh)
    assert receipt.charged_minor == fresh.due_today_minor


async def test_a_quote_exactly_at_its_ttl_is_still_honoured(ctx: ServiceContext) -> None:
    await seed(ctx)
    shown = (await quote(at(ctx, MID_NOVEMBER), "acme", 3)).quote
    assert shown is not None
    later = MID_NOVEMBER + timedelta(seconds=ctx.settings.quote_ttl_seconds)
    receipt = await place_order(at(ctx, later), "acme", ANN, 3, "k", shown)
    assert receipt.charged_minor == shown.due_today_minor


async def test_the_ttl_comes_from_the_settings(ctx: ServiceContext) -> None:
    await seed(ctx)
    short = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"quote_ttl_seconds": 30})
    )
    shown = (await quote(at(short, MID_NOVEMBER), "acme", 3)).quote
    assert shown is not None
    with pytest.raises(QuoteNotHonoured):
        await place_order(
            at(short, MID_NOVEMBER + timedelta(seconds=31)), "acme", ANN, 3, "k", shown
        )


async def test_a_quote_from_the_previous_period_is_not_honoured(ctx: ServiceContext) -> None:
    await seed(ctx)
    last_minute = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    shown = (await quote(at(ctx, last_minute), "acme", 1)).quote
    assert shown is not None
    next_period = last_minute + timedelta(minutes=2)
    with pytest.raises(QuoteNotHonoured) as changed:
        await place_order(at(ctx, next_period), "acme", ANN, 1, "k", shown)
    assert changed.value.fresh.period.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert changed.value.fresh.due_today_minor > shown.due_today_minor


async def test_a_quote_for_another_number_of_licenses_is_not_charged(ctx: ServiceContext) -> None:
    await seed(ctx)
    shown = (await quote(at(ctx, MID_NOVEMBER), "acme", 2)).quote
    assert shown is not None
    with pytest.raises(QuoteNotHonoured) as changed:
        await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "k", shown)
    assert changed.value.fresh.added == 3
    assert await count(ctx, LedgerCharge) == 0


async def test_a_quote_made_before_another_admin_ordered_is_still_honoured(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    shown = (await quote(at(ctx, MID_NOVEMBER), "acme", 3)).quote
    assert shown is not None and shown.current_licenses == 10

    other = await place_order(
        at(ctx, MID_NOVEMBER + timedelta(minutes=1)), "acme", AdminIdentity("U0AL"), 2, "a", None
    )
    assert other.licenses_after == 12

    receipt = await place_order(
        at(ctx, MID_NOVEMBER + timedelta(minutes=5)), "acme", ANN, 3, "b", shown
    )
    assert receipt.charged_minor == shown.due_today_minor == 7350
    assert (receipt.licenses_before, receipt.licenses_after) == (12, 15)
    assert receipt.next_cycle_minor == 15 * 4900
    assert await licenses_of(ctx) == 15


async def test_free_plans_add_licenses_without_a_charge(ctx: ServiceContext) -> None:
    await seed(ctx, account_entry(plan="freemium", price_per_license=None))
    receipt = await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 4, "k", None)
    assert receipt.charged_minor == 0
    assert receipt.charge_reference is None
    assert receipt.licenses_after == 14
    assert await count(ctx, LedgerCharge) == 0
    assert await count(ctx, AuditEntry, action="order.placed") == 1


async def test_jpy_orders_are_charged_in_whole_yen(ctx: ServiceContext) -> None:
    await seed(ctx, account_entry(currency="JPY", price_per_license="1000"))
    receipt = await place_order(
        at(ctx, datetime(2026, 11, 11, tzinfo=UTC)), "acme", ANN, 1, "k", None
    )
    assert receipt.charged_minor == 667  # ¥1000 × 20/30 = ¥666.67 → ¥667
    assert receipt.currency == "JPY"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
    ],
)
async def test_the_audit_log_cannot_be_rewritten(ctx: ServiceContext, statement: str) -> None:
    await seed(ctx)
    await place_order(at(ctx, MID_NOVEMBER), "acme", ANN, 3, "k", None)
    before = await count(ctx, AuditEntry)
    assert before == 2  # account.created, order.placed

    async with ctx.sessions() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin():
                await session.execute(text(statement))

    assert await count(ctx, AuditEntry) == before
    assert await count(ctx, AuditEntry, actor="mallory") == 0


async def test_a_known_order_reference_shows_nothing_to_someone_who_is_not_an_admin(
    ctx: ServiceContext,
) -> None:
    await seed(ctx)
    await place_order(ctx, "acme", ANN, 3, "key-private", None)

    with pytest.raises(NotAnAdmin):
        await place_order(ctx, "acme", AdminIdentity("U0EVE"), 3, "key-private", None)


@pytest.mark.parametrize(
    ("start", "end", "interval"),
    [
        (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), "monthly"),
        (datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC), "monthly"),
        (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "monthly"),
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "annual"),
        (datetime(2028, 2, 29, tzinfo=UTC), datetime(2029, 2, 28, tzinfo=UTC), "annual"),
    ],
)
def test_a_receipt_says_per_month_or_per_year_from_its_period(
    start: datetime, end: datetime, interval: str
) -> None:
    assert interval_of(start, end).value == interval


async def test_an_annual_accounts_receipt_is_per_year(ctx: ServiceContext) -> None:
    await seed(ctx, GLOBEX)
    receipt = await place_order(at(ctx, MID_NOVEMBER), "globex", ANN, 1, "key-1", None)
    assert receipt.interval.value == "annual"
