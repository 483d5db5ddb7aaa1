"""Concurrent orders on PostgreSQL: the account row lock keeps the rules and the ledger right."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade
from bot.domain.errors import RefusedByRules
from bot.domain.policy import Route
from bot.models import Account, LedgerCharge, Order
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from bot.services.orders import AdminIdentity, Receipt, place_order

CALLS = 20
NOW = datetime(2026, 8, 8, tzinfo=UTC)
GLOBEX = {
    "id": "globex",
    "name": "Globex",
    "plan": "enterprise",
    "billing_interval": "annual",
    "licenses": 3,
    "currency": "USD",
    "price_per_license": "1200.00",
    "period_start": "2026-01-01T00:00:00Z",
    "admins": ["U0GIL"],
}
GIL = AdminIdentity("U0GIL")


@pytest.fixture
async def pg_ctx(postgres_url: str) -> AsyncIterator[ServiceContext]:
    upgrade(postgres_url)
    engine = create_engine(postgres_url, pool_size=CALLS + 5, max_overflow=0, pool_timeout=30)
    settings = Settings(_env_file=None, database_url=postgres_url)  # type: ignore[call-arg]
    ctx = ServiceContext(session_factory(engine), settings, clock=lambda: NOW)
    await import_accounts(ctx, {"accounts": [GLOBEX]}, actor="test")
    yield ctx
    await engine.dispose()


async def totals(ctx: ServiceContext) -> tuple[int, int, int]:
    async with ctx.sessions() as session:
        licenses = await session.scalar(select(Account.licenses).where(Account.id == "globex"))
        orders = await session.scalar(select(func.count()).select_from(Order))
        charges = await session.scalar(select(func.count()).select_from(LedgerCharge))
    return int(licenses or 0), int(orders or 0), int(charges or 0)


async def test_twenty_concurrent_orders_never_pass_the_enterprise_limit(
    pg_ctx: ServiceContext,
) -> None:
    results = await asyncio.gather(
        *(place_order(pg_ctx, "globex", GIL, 1, f"key-{n}", None) for n in range(CALLS)),
        return_exceptions=True,
    )

    receipts = [result for result in results if isinstance(result, Receipt)]
    refused = [result for result in results if isinstance(result, RefusedByRules)]
    unexpected = [result for result in results if not isinstance(result, Receipt | RefusedByRules)]
    assert unexpected == []
    assert len(receipts) == 2
    assert len(refused) == CALLS - 2
    assert all(error.decision.route is Route.SALES for error in refused)
    assert sorted(receipt.licenses_after for receipt in receipts) == [4, 5]
    assert await totals(pg_ctx) == (5, 2, 2)


async def test_twenty_concurrent_calls_with_one_key_make_one_order(
    pg_ctx: ServiceContext,
) -> None:
    results = await asyncio.gather(
        *(place_order(pg_ctx, "globex", GIL, 1, "one-key", None) for _ in range(CALLS)),
        return_exceptions=True,
    )

    assert all(isinstance(result, Receipt) for result in results), results
    references = {result.reference for result in results if isinstance(result, Receipt)}
    charges = {result.charge_reference for result in results if isinstance(result, Receipt)}
    assert len(references) == 1
    assert len(charges) == 1
    assert await totals(pg_ctx) == (4, 1, 1)
