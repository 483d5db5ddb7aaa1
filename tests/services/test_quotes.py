"""The quote service: what an admin is shown for adding licenses, or where to go."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.errors import AccountNotFound
from bot.domain.policy import Route
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from bot.services.quotes import quote
from tests.accounts import account


def account_entry(**overrides: Any) -> dict[str, Any]:
    return account(**{"admins": ["U0ANN"], **overrides})


async def seed(ctx: ServiceContext, **overrides: Any) -> None:
    await import_accounts(ctx, {"accounts": [account_entry(**overrides)]}, actor="test")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


async def test_pro_monthly_example(ctx: ServiceContext) -> None:
    await seed(ctx)
    outcome = await quote(ctx, "acme", 3, utc(2026, 11, 16))
    assert outcome.decision.allowed
    assert outcome.quote is not None
    body = outcome.quote.to_json()
    assert body["due_today"] == "73.50"
    assert body["next_cycle_amount"] == "637.00"
    assert body["total_licenses"] == 13
    assert body["period_end"] == "2026-12-01T00:00:00Z"


async def test_annual_example(ctx: ServiceContext) -> None:
    await seed(
        ctx,
        plan="enterprise",
        billing_interval="annual",
        licenses=2,
        price_per_license="1200.00",
        period_start="2026-01-01T00:00:00Z",
    )
    outcome = await quote(ctx, "acme", 3, utc(2026, 8, 8))
    assert outcome.quote is not None
    assert outcome.quote.to_json()["due_today"] == "1440.00"


async def test_the_catalog_price_applies_without_a_contract_price(ctx: ServiceContext) -> None:
    await seed(ctx, plan="essential", price_per_license=...)
    outcome = await quote(ctx, "acme", 1, utc(2026, 11, 1))
    assert outcome.quote is not None
    assert outcome.quote.to_json()["unit_price"] == "19.00"
    assert outcome.quote.to_json()["due_today"] == "19.00"


async def test_jpy_quotes_have_no_decimals(ctx: ServiceContext) -> None:
    await seed(ctx, currency="JPY", price_per_license="1000")
    outcome = await quote(ctx, "acme", 1, utc(2026, 11, 11))
    assert outcome.quote is not None
    body = outcome.quote.to_json()
    assert (body["due_today"], body["unit_price"], body["next_cycle_amount"]) == (
        "667",
        "1000",
        "11000",
    )


async def test_without_a_time_the_quote_is_for_now(ctx: ServiceContext) -> None:
    await seed(ctx)
    now = utc(2026, 11, 21)
    outcome = await quote(dataclasses.replace(ctx, clock=lambda: now), "acme", 3)
    assert outcome.quote is not None
    assert outcome.quote.quoted_at == now
    assert outcome.quote.due_today_minor == 4900  # 3 × 49.00 × 10/30


@pytest.mark.parametrize(
    ("overrides", "add", "route"),
    [
        ({"plan": "enterprise", "licenses": 3}, 3, Route.SALES),
        ({"plan": "enterprise", "licenses": 5}, 1, Route.SALES),
        ({"plan": "enterprise", "licenses": 6}, 1, Route.CSM),
        ({"plan": "gong"}, 1, Route.CSM),
        ({"plan": "pro"}, 1001, Route.SALES),
    ],
)
async def test_refusals_carry_the_route_and_no_quote(
    ctx: ServiceContext, overrides: dict[str, Any], add: int, route: Route
) -> None:
    await seed(ctx, **overrides)
    outcome = await quote(ctx, "acme", add, utc(2026, 11, 16))
    assert not outcome.decision.allowed
    assert outcome.decision.route is route
    assert outcome.quote is None


async def test_refusals_name_the_accounts_csm(ctx: ServiceContext) -> None:
    await seed(ctx, plan="gong")
    outcome = await quote(ctx, "acme", 1, utc(2026, 11, 16))
    assert "Casey Doe" in outcome.decision.reason
    assert "casey@vendor.example" in outcome.decision.reason


async def test_enterprise_room_is_quoted(ctx: ServiceContext) -> None:
    await seed(ctx, plan="enterprise", licenses=3)
    outcome = await quote(ctx, "acme", 2, utc(2026, 11, 16))
    assert outcome.quote is not None
    assert outcome.quote.total_licenses == 5


@pytest.mark.parametrize("add", [0, -2, 2.5, "3", True])
async def test_invalid_counts_are_input_errors(ctx: ServiceContext, add: object) -> None:
    await seed(ctx)
    outcome = await quote(ctx, "acme", add, utc(2026, 11, 16))
    assert outcome.decision.is_input_error
    assert outcome.quote is None


async def test_the_per_order_cap_comes_from_the_settings(ctx: ServiceContext) -> None:
    await seed(ctx)
    capped = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"max_licenses_per_order": 20})
    )
    assert (await quote(capped, "acme", 20, utc(2026, 11, 16))).decision.allowed
    refused = (await quote(capped, "acme", 21, utc(2026, 11, 16))).decision
    assert refused.route is Route.SALES
    assert "20" in refused.reason


async def test_quoting_an_unknown_account(ctx: ServiceContext) -> None:
    await seed(ctx)
    with pytest.raises(AccountNotFound, match="nope"):
        await quote(ctx, "nope", 1, utc(2026, 11, 16))
