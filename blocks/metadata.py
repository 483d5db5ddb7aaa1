"""Typed state carried in private_metadata and button values (never string splitting)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from bot.domain.periods import BillingPeriod
from bot.domain.pricing import Quote
from bot.domain.removal import Verdict


class ShownQuote(BaseModel):
    """The quote an admin is looking at; Order Now charges exactly this."""

    account_id: str
    current_licenses: int
    added: int
    currency: str
    unit_price_minor: int
    due_today_minor: int
    next_cycle_minor: int
    period_start: datetime
    period_end: datetime
    quoted_at: datetime

    @classmethod
    def of(cls, quote: Quote) -> ShownQuote:
        return cls(
            account_id=quote.account_id,
            current_licenses=quote.current_licenses,
            added=quote.added,
            currency=quote.currency,
            unit_price_minor=quote.unit_price_minor,
            due_today_minor=quote.due_today_minor,
            next_cycle_minor=quote.next_cycle_minor,
            period_start=quote.period.start,
            period_end=quote.period.end,
            quoted_at=quote.quoted_at,
        )

    def to_quote(self) -> Quote:
        return Quote(
            account_id=self.account_id,
            current_licenses=self.current_licenses,
            added=self.added,
            currency=self.currency,
            unit_price_minor=self.unit_price_minor,
            due_today_minor=self.due_today_minor,
            next_cycle_minor=self.next_cycle_minor,
            period=BillingPeriod(self.period_start, self.period_end),
            quoted_at=self.quoted_at,
        )


class AddModalState(BaseModel):
    """private_metadata of the add-licenses modal.

    The idempotency key is fixed when the modal opens, so double submits and Slack
    retries of the same modal can only ever place one order.
    """

    account_id: str
    idempotency_key: str
    quote: ShownQuote | None = None


class PlanModalState(BaseModel):
    account_id: str


class RouteRequest(BaseModel):
    """Value of an "Ask my CSM" / "Contact Sales" button."""

    account_id: str
    wanted: int | None = None


class AdminRequest(BaseModel):
    """Value of the "Ask an admin" button a non-admin gets."""

    account_id: str
    wanted: int | None = None


class RemovalModalState(BaseModel):
    account_id: str


class DecisionRequest(BaseModel):
    """Value of Approve / Deny, and private_metadata of the decision modal."""

    request_id: int
    verdict: Verdict
    channel_id: str | None = None
