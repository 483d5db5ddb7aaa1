"""Billing periods and dates as the admin reads them, computed here from DESIGN.md's rule."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta

ACME_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


def monthly_period(now: datetime, anchor: datetime = ACME_ANCHOR) -> tuple[datetime, datetime]:
    """The calendar-month period from the anchor that contains `now`."""
    index = (now.year - anchor.year) * 12 + now.month - anchor.month
    while anchor + relativedelta(months=index) > now:
        index -= 1
    while anchor + relativedelta(months=index + 1) <= now:
        index += 1
    return anchor + relativedelta(months=index), anchor + relativedelta(months=index + 1)


def day(moment: datetime) -> str:
    """A date as every surface writes it: "Dec 1, 2026"."""
    return f"{moment:%b} {moment.day}, {moment.year}"
