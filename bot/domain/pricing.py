"""Quotes: the proration rule, applied once, in integer minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.money import decimal_string, divide_half_up
from bot.domain.periods import BillingPeriod, as_utc, period_containing
from bot.domain.plans import BillingInterval, PlanId


@dataclass(frozen=True)
class AccountTerms:
    """What pricing and policy need to know about an account, nothing more."""

    account_id: str
    plan: PlanId
    interval: BillingInterval
    licenses: int
    currency: str
    unit_price_minor: int
    anchor: datetime

    def period_at(self, at: datetime) -> BillingPeriod:
        return period_containing(self.anchor, self.interval, at)

    @property
    def cycle_amount_minor(self) -> int:
        return self.licenses * self.unit_price_minor


def _microseconds(span: timedelta) -> int:
    # Exact integer time; the ratio equals the one in seconds without float error.
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def prorate(added: int, unit_price_minor: int, period: BillingPeriod, at: datetime) -> int:
    """added × unit_price × (end − at) / (end − start), rounded half-up once."""
    at = as_utc(at)
    if not period.start <= at <= period.end:
        raise ValueError("the moment is outside the billing period")
    remaining = _microseconds(period.end - at)
    return divide_half_up(added * unit_price_minor * remaining, _microseconds(period.length))


_DAY = timedelta(days=1)


def whole_days_left(period: BillingPeriod, at: datetime) -> tuple[int, int]:
    """(days left, days in the period): the fraction `prorate` charges at `at`, in whole days.

    The time from `at` to the period's end over the period's length, as `prorate` counts
    them. A part day left is not counted (the amount counts it to the microsecond).
    """
    return (period.end - as_utc(at)) // _DAY, period.length // _DAY


@dataclass(frozen=True)
class Quote:
    account_id: str
    current_licenses: int
    added: int
    currency: str
    unit_price_minor: int
    due_today_minor: int
    next_cycle_minor: int
    period: BillingPeriod
    quoted_at: datetime

    @property
    def total_licenses(self) -> int:
        return self.current_licenses + self.added

    @property
    def days_left(self) -> tuple[int, int]:
        """(days left, days in the period) that `due_today_minor` is prorated over."""
        return whole_days_left(self.period, self.quoted_at)

    def expires_at(self, ttl_seconds: int) -> datetime:
        """Until when Order Now honours this price: quoted_at plus QUOTE_TTL_SECONDS."""
        return self.quoted_at + timedelta(seconds=ttl_seconds)

    def to_json(self) -> dict[str, Any]:
        money = self.currency
        return {
            "allowed": True,
            "account": self.account_id,
            "current_licenses": self.current_licenses,
            "added": self.added,
            "total_licenses": self.total_licenses,
            "currency": money,
            "unit_price": decimal_string(self.unit_price_minor, money),
            "due_today": decimal_string(self.due_today_minor, money),
            "next_cycle_amount": decimal_string(self.next_cycle_minor, money),
            "period_start": iso(self.period.start),
            "period_end": iso(self.period.end),
            "quoted_at": iso(self.quoted_at),
        }


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, the form every output of licensebot uses."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def build_quote(terms: AccountTerms, added: int, at: datetime) -> Quote:
    at = as_utc(at)
    period = terms.period_at(at)
    return Quote(
        account_id=terms.account_id,
        current_licenses=terms.licenses,
        added=added,
        currency=terms.currency,
        unit_price_minor=terms.unit_price_minor,
        due_today_minor=prorate(added, terms.unit_price_minor, period, at),
        next_cycle_minor=(terms.licenses + added) * terms.unit_price_minor,
        period=period,
        quoted_at=at,
    )


def confirms(shown: Quote | None, count: int) -> bool:
    """Order Now orders only what the admin saw priced: a quote for exactly this count."""
    return shown is not None and shown.added == count
