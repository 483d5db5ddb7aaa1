"""Quote: what adding N licenses would cost an account now, or why it can't be self-served."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.policy import Contacts, Decision, decide_add
from bot.domain.pricing import AccountTerms, Quote, build_quote
from bot.services.accounts import (
    AccountOverview,
    contacts_of,
    overview_of,
    recent_account,
)
from bot.services.context import ServiceContext


@dataclass(frozen=True)
class QuoteOutcome:
    """Either a quote (decision.allowed) or the rules' refusal with its route."""

    decision: Decision
    quote: Quote | None
    terms: AccountTerms
    contacts: Contacts


async def quote(
    ctx: ServiceContext, account_id: str, add: object, at: datetime | None = None
) -> QuoteOutcome:
    return (await preview(ctx, account_id, add, at)).outcome


@dataclass(frozen=True)
class Preview:
    """What the add-licenses modal shows for a number: the account, and a quote or why not."""

    overview: AccountOverview
    outcome: QuoteOutcome


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
