"""A small in-process cache whose entries expire (None is cached as an answer too)."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

Value = TypeVar("Value")


class TtlCache(Generic[Value]):
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Value]] = {}

    def get(self, key: str) -> tuple[bool, Value | None]:
        """(True, value) for a fresh entry, else (False, None)."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Value) -> None:
        self._entries[key] = (time.monotonic(), value)

    def forget(self) -> None:
        self._entries.clear()
