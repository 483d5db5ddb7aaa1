"""The use-cases on a migrated database, without Slack: what the data commands need.

Kept apart from bot.bootstrap (which loads Bolt, aiohttp and the Slack SDK) so that a
command like `licensebot quote` starts in a fraction of a second; bootstrap builds the
running bot on top of this.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade
from bot.integrations.billing import BillingProvider, LedgerBilling, StripeBilling
from bot.models import utcnow
from bot.services.context import ServiceContext


def billing_problem(settings: Settings) -> str | None:
    """Why the billing provider can't start with these settings, in one line; None when it can."""
    if settings.billing_provider == "stripe" and settings.stripe_api_key is None:
        return "BILLING_PROVIDER=stripe needs STRIPE_API_KEY (a secret key, sk_live_… or sk_test_…)"
    return None


def billing_from_settings(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> BillingProvider:
    if settings.billing_provider == "stripe":
        from bot.integrations.stripe import StripeClient

        problem = billing_problem(settings)
        if problem is not None:
            raise ValueError(problem)
        assert settings.stripe_api_key is not None
        return StripeBilling(
            StripeClient(settings.stripe_api_key.get_secret_value(), settings.stripe_api_url)
        )
    return LedgerBilling(sessions)


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] = utcnow,
    billing: BillingProvider | None = None,
) -> AsyncIterator[ServiceContext]:
    """The use-cases on a migrated database: all that the data commands need."""
    if migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    provider = billing or billing_from_settings(settings, sessions)
    try:
        yield ServiceContext(sessions, settings, billing_provider=provider, clock=clock)
    finally:
        if billing is None:  # ours to close; a provider passed in is its owner's
            await provider.aclose()
        await engine.dispose()
