"""Quote: what adding N licenses would cost an account now, or why it can't be self-served."""

from __future__ import annotations

from datetime import datetime

from bot.domain.policy import decide_add
from bot.domain.pricing import build_quote
from bot.readmodels import Preview, QuoteOutcome
from bot.services.accounts import contacts_of, overview_of, recent_account
from bot.services.context import ServiceContext


async def quote(
    ctx: ServiceContext, account_id: str, add: object, at: datetime | None = None
) -> QuoteOutcome:
    return (await preview(ctx, account_id, add, at)).outcome


async def preview(
    ctx: ServiceContext, account_id: str, add: object, at: datetime | None = None
) -> Preview:
    now = at or ctx.clock()
    account = await recent_account(ctx, account_id=account_id)
    assert account is not None
    overview = overview_of(account, ctx.settings, now)
    contacts = contacts_of(account, ctx.settings)
    terms = overview.terms
    decision = decide_add(terms, add, contacts, ctx.settings.max_licenses_per_order)
    quote_ = build_quote(terms, add, now) if decision.allowed and isinstance(add, int) else None
    return Preview(overview, QuoteOutcome(decision, quote_, terms, contacts))
