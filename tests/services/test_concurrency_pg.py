"""Concurrent orders on PostgreSQL: the account row lock keeps the rules and the ledger right."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade
from bot.domain.errors import OrderPending, RefusedByRules
from bot.domain.policy import Route
from bot.integrations.billing import ChargeRequest, LedgerBilling
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


async def order_when_free(
    ctx: ServiceContext, account: str, admin: AdminIdentity, key: str
) -> Receipt:
    """Order 1 license, asking again while another order of the account is being charged."""
    while True:
        try:
            return await place_order(ctx, account, admin, 1, key, None)
        except OrderPending:
            await asyncio.sleep(0.005)


async def test_twenty_concurrent_orders_never_pass_the_enterprise_limit(
    pg_ctx: ServiceContext,
) -> None:
    results = await asyncio.gather(
        *(order_when_free(pg_ctx, "globex", GIL, f"key-{n}") for n in range(CALLS)),
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


# --- a slow billing provider: the charge is never made under the account's row lock ---

CHARGE_SECONDS = 0.5
OTHERS = [f"other{n}" for n in range(5)]


class SlowProvider(LedgerBilling):
    """The ledger, taking as long as a card network; each charge checks the row is free."""

    local = False  # charged as a remote provider is: through `charge`, between transactions

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx.sessions)
        self.engine = ctx.sessions.kw["bind"]
        self.locked_during_charge: list[str] = []
        self.charges = 0

    async def charge(self, request: ChargeRequest) -> str:
        self.charges += 1
        # Midway through the charge, when the other orders' short checks are long over, the
        # account's row must be free: a lock held across this charge would still hold it.
        await asyncio.sleep(CHARGE_SECONDS * 0.7)
        async with self.engine.connect() as connection, connection.begin():
            try:
                await connection.execute(text("SET LOCAL lock_timeout = '100ms'"))
                await connection.execute(
                    text("SELECT id FROM accounts WHERE id = :id FOR UPDATE"),
                    {"id": request.account_id},
                )
            except DBAPIError:
                self.locked_during_charge.append(request.order_reference)
        await asyncio.sleep(CHARGE_SECONDS * 0.3)
        return await super().charge(request)


async def test_a_slow_charge_holds_no_lock_and_does_not_slow_other_accounts(
    pg_ctx: ServiceContext,
) -> None:
    others = [
        {**GLOBEX, "id": name, "plan": "pro", "admins": ["U0GIL"], "licenses": 3} for name in OTHERS
    ]
    await import_accounts(pg_ctx, {"accounts": [{**GLOBEX, "plan": "pro"}, *others]}, actor="test")
    provider = SlowProvider(pg_ctx)
    pg_ctx.billing_provider = provider

    async def timed(account: str, key: str) -> tuple[float, Receipt | Exception]:
        start = time.perf_counter()
        try:
            result: Receipt | Exception = await place_order(pg_ctx, account, GIL, 1, key, None)
        except Exception as exc:
            result = exc
        return time.perf_counter() - start, result

    same = [timed("globex", f"same-{n}") for n in range(CALLS)]
    other = [timed(name, f"other-{name}") for name in OTHERS]
    results = await asyncio.gather(*same, *other)

    same_results = [result for _, result in results[:CALLS]]
    paid = [r for r in same_results if isinstance(r, Receipt) and r.status == "paid"]
    waiting = [r for r in same_results if isinstance(r, OrderPending)]
    assert (len(paid), len(waiting)) == (1, CALLS - 1), same_results
    other_seconds = [seconds for seconds, _ in results[CALLS:]]
    # Shown with `pytest -s`: the figures the bound below is about.
    print(f"\nother accounts' orders, seconds: {', '.join(f'{s:.3f}' for s in other_seconds)}")
    assert all(isinstance(r, Receipt) and r.status == "paid" for _, r in results[CALLS:])
    # Each other account waits for its own charge, not for Globex's queue of them.
    # Were charges made one after another, under a lock, the last would wait for 6 of them.
    assert max(other_seconds) < CHARGE_SECONDS * 4, other_seconds
    assert provider.locked_during_charge == []
    # One charge per paid order, and the ledger agrees.
    assert provider.charges == 1 + len(OTHERS)
    async with pg_ctx.sessions() as session:
        booked = await session.scalar(select(func.count()).select_from(LedgerCharge))
        licenses = await session.scalar(select(Account.licenses).where(Account.id == "globex"))
    assert booked == 1 + len(OTHERS)
    assert licenses == 4
