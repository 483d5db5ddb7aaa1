"""What every use-case needs: sessions, settings, the billing provider and a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db import read_sessions
from bot.integrations.billing import BillingProvider, LedgerBilling
from bot.models import utcnow


class RecentAccounts:
    """Accounts as read a moment ago, for the read-only paths that run on every keystroke.

    Entries live `ttl` seconds and every write in this process forgets them all, so what
    an admin sees is never older than `ttl` (writes by other processes included).
    """

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        self._entries[key] = (time.monotonic(), value)

    def forget(self) -> None:
        self._entries.clear()


@dataclass
class ServiceContext:
    """`sessions` write (they hold SQLite's write lock from BEGIN); `reads` only read."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    billing: BillingProvider = field(default_factory=LedgerBilling)
    clock: Callable[[], datetime] = utcnow
    reads: async_sessionmaker[AsyncSession] | None = None
    recent: RecentAccounts = field(default_factory=RecentAccounts)

    def __post_init__(self) -> None:
        if self.reads is None:
            self.reads = read_sessions(self.sessions)

    def reading(self) -> AsyncSession:
        assert self.reads is not None
        return self.reads()
