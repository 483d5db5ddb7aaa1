"""A small in-process cache whose entries expire (None is cached as an answer too)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

Value = TypeVar("Value")


class TtlCache(Generic[Value]):
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Value]] = {}
        self._loading: dict[str, asyncio.Future[Value]] = {}
        # Bumped by every forget: a load that began before it may have read the old row.
        self._generation = 0

    def get(self, key: str) -> tuple[bool, Value | None]:
        """(True, value) for a fresh entry, else (False, None)."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Value) -> None:
        self._entries[key] = (time.monotonic(), value)

    async def get_or_load(
        self,
        key: str,
        load: Callable[[], Awaitable[Value]],
        also: Callable[[Value], Iterable[str]] = lambda _: (),
    ) -> Value:
        """The fresh entry, else `load()`'s answer; one load per key at a time.

        Requests that miss the same key together wait for the one load instead of each
        going to the database. What is loaded is kept under `key` and under the keys
        `also` names for it (the same thing found another way).
        """
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] <= self.ttl:
            return hit[1]
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        began = self._generation
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._loading[key]
        future.set_result(value)
        if began == self._generation:
            for each in (key, *also(value)):
                self.put(each, value)
        return value

    def forget(self, *keys: str) -> None:
        """Drop these keys (a load under way is not kept either); no keys: everything."""
        self._generation += 1
        if not keys:
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key, None)


class Turns:
    """One holder at a time per key (an account's orders), in this process.

    A key's lock exists while someone holds or waits for it, so the map stays small.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def turn(self, key: str, patience: float) -> AsyncIterator[bool]:
        """Wait up to `patience` seconds for the key; yields whether this holder has it."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            held = False
            if not lock.locked():
                await lock.acquire()
                held = True
            elif patience > 0:
                try:
                    await asyncio.wait_for(lock.acquire(), patience)
                    held = True
                except TimeoutError:
                    pass
            try:
                yield held
            finally:
                if held:
                    lock.release()
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
