"""What every use-case needs: sessions, settings, the billing provider and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cache import TtlCache, Turns
from bot.config import Settings
from bot.db import read_sessions
from bot.integrations.billing import BillingProvider, LedgerBilling
from bot.models import Account, utcnow


def account_keys(account_id: str, team_id: str | None) -> tuple[str, ...]:
    """The `recent` cache's keys for one account: by id, and by its workspace."""
    return (f"id:{account_id}",) + ((f"team:{team_id}",) if team_id else ())


@dataclass
class ServiceContext:
    """`sessions` write (they hold SQLite's write lock from BEGIN); `reads` only read."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    # None: the built-in ledger, on these sessions.
    billing_provider: BillingProvider | None = None
    clock: Callable[[], datetime] = utcnow
    reads: async_sessionmaker[AsyncSession] | None = None
    # Accounts as read a moment ago, for the read-only paths that run on every keystroke.
    # Every write in this process forgets them all, so what an admin sees is never older
    # than the ttl (writes by other processes included).
    recent: TtlCache[Account | None] = field(default_factory=lambda: TtlCache(ttl=2.0))
    # Orders of one account take turns in this process; the database's rule (one pending
    # order per account) keeps processes apart.
    order_turns: Turns = field(default_factory=Turns)

    def __post_init__(self) -> None:
        if self.reads is None:
            self.reads = read_sessions(self.sessions)
        if self.billing_provider is None:
            self.billing_provider = LedgerBilling(self.sessions)

    @property
    def billing(self) -> BillingProvider:
        assert self.billing_provider is not None
        return self.billing_provider

    def reading(self) -> AsyncSession:
        assert self.reads is not None
        return self.reads()
