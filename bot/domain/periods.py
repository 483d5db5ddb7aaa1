"""Billing periods: calendar steps from the account's billing anchor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from bot.domain.plans import BillingInterval


@dataclass(frozen=True)
class BillingPeriod:
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _months_per_step(interval: BillingInterval) -> int:
    return 1 if interval is BillingInterval.MONTHLY else 12


# Kept: every request asks for the current period of its account, so the same few.
@lru_cache(maxsize=4096)
def period_boundary(anchor: datetime, interval: BillingInterval, index: int) -> datetime:
    """Start of period `index` (0 = the one starting at the anchor).

    Always computed from the anchor, never from the previous boundary, so a Jan 31
    anchor gives Feb 28 and then Mar 31 (not Mar 28); a Feb 29 anchor gives Feb 28
    in common years.
    """
    return as_utc(anchor) + relativedelta(months=index * _months_per_step(interval))


def period_containing(anchor: datetime, interval: BillingInterval, at: datetime) -> BillingPeriod:
    """The billing period with start <= at < end."""
    anchor, at = as_utc(anchor), as_utc(at)
    step = _months_per_step(interval)
    months_apart = (at.year - anchor.year) * 12 + (at.month - anchor.month)
    index = months_apart // step
    # The month arithmetic lands on the right period or one next to it.
    while period_boundary(anchor, interval, index) > at:
        index -= 1
    while period_boundary(anchor, interval, index + 1) <= at:
        index += 1
    return BillingPeriod(
        start=period_boundary(anchor, interval, index),
        end=period_boundary(anchor, interval, index + 1),
    )
