"""Quote: what adding N licenses would cost an account now, or why it can't be self-served."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.policy import Contacts, Decision, decide_add
from bot.domain.pricing import AccountTerms, Quote, build_quote
from bot.services.accounts import contacts_of, load_account, terms_of
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
    async with ctx.sessions() as session, session.begin():
        account = await load_account(session, account_id)
        terms = terms_of(account)
        contacts = contacts_of(account, ctx.settings)
    decision = decide_add(terms, add, contacts, ctx.settings.max_licenses_per_order)
    if not decision.allowed:
        return QuoteOutcome(decision, None, terms, contacts)
    assert isinstance(add, int)
    return QuoteOutcome(decision, build_quote(terms, add, at or ctx.clock()), terms, contacts)
