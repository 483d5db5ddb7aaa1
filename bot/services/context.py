"""What every use-case needs: sessions, settings, the billing provider and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db import read_sessions
from bot.integrations.billing import BillingProvider, LedgerBilling
from bot.models import utcnow


@dataclass
class ServiceContext:
    """`sessions` write (they hold SQLite's write lock from BEGIN); `reads` only read."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    billing: BillingProvider = field(default_factory=LedgerBilling)
    clock: Callable[[], datetime] = utcnow
    reads: async_sessionmaker[AsyncSession] | None = None

    def __post_init__(self) -> None:
        if self.reads is None:
            self.reads = read_sessions(self.sessions)

    def reading(self) -> AsyncSession:
        assert self.reads is not None
        return self.reads()
