"""The in-process account cache: one load per key at a time, and a forget wins over a load."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cache import TtlCache
from bot.sandbox.demo import demo_accounts
from bot.services.accounts import import_accounts, recent_account
from bot.services.context import ServiceContext


async def test_requests_that_miss_together_make_one_load() -> None:
    cache: TtlCache[int] = TtlCache(ttl=60)
    loads = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return 7

    waiting = [asyncio.ensure_future(cache.get_or_load("id:acme", load)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [7] * 5
    assert loads == 1
    assert await cache.get_or_load("id:acme", load) == 7 and loads == 1


async def test_a_load_that_began_before_a_forget_is_not_kept() -> None:
    cache: TtlCache[int] = TtlCache(ttl=60)
    gate = asyncio.Event()

    async def old_row() -> int:
        await gate.wait()
        return 1

    loading = asyncio.ensure_future(cache.get_or_load("id:acme", old_row))
    await asyncio.sleep(0)
    cache.forget("id:acme")  # a write committed meanwhile
    gate.set()
    assert await loading == 1

    async def new_row() -> int:
        return 2

    assert await cache.get_or_load("id:acme", new_row) == 2


async def test_an_account_read_by_workspace_is_found_by_id_without_another_read(
    ctx: ServiceContext,
) -> None:
    await import_accounts(ctx, demo_accounts(), actor="test")
    reads = 0
    real = ctx.reading

    def counted() -> AsyncSession:
        nonlocal reads
        reads += 1
        return real()

    ctx.reading = counted  # type: ignore[method-assign]
    by_team = await recent_account(ctx, team_id="T0ACME")
    assert by_team is not None
    assert await recent_account(ctx, account_id=by_team.id) is by_team
    assert reads == 1


async def test_forgetting_one_account_keeps_the_others() -> None:
    cache: TtlCache[int] = TtlCache(ttl=60)
    cache.put("id:acme", 1)
    cache.put("id:globex", 2)
    cache.forget("id:acme")
    assert cache.get("id:acme") == (False, None)
    assert cache.get("id:globex") == (True, 2)


async def test_a_failed_load_is_raised_to_every_waiter_and_not_kept() -> None:
    cache: TtlCache[int] = TtlCache(ttl=60)
    gate = asyncio.Event()

    async def broken() -> int:
        await gate.wait()
        raise RuntimeError("database gone")

    waiting = [asyncio.ensure_future(cache.get_or_load("k", broken)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert cache.get("k") == (False, None)
