"""Billing periods: calendar months and years counted from the billing anchor."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.periods import as_utc, period_boundary, period_containing
from bot.domain.plans import BillingInterval

MONTHLY, ANNUAL = BillingInterval.MONTHLY, BillingInterval.ANNUAL


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_issue_example_jan_31_anchor_period_containing_mid_march() -> None:
    period = period_containing(utc(2025, 1, 31), MONTHLY, utc(2025, 3, 15))
    assert period.start == utc(2025, 2, 28)
    assert period.end == utc(2025, 3, 31)


def test_jan_31_anchor_keeps_its_day_where_the_month_has_it() -> None:
    anchor = utc(2025, 1, 31)
    starts = [period_boundary(anchor, MONTHLY, index) for index in range(6)]
    assert starts == [
        utc(2025, 1, 31),
        utc(2025, 2, 28),
        utc(2025, 3, 31),
        utc(2025, 4, 30),
        utc(2025, 5, 31),
        utc(2025, 6, 30),
    ]


def test_jan_31_anchor_in_a_leap_year_gives_feb_29() -> None:
    period = period_containing(utc(2024, 1, 31), MONTHLY, utc(2024, 3, 1))
    assert (period.start, period.end) == (utc(2024, 2, 29), utc(2024, 3, 31))


def test_feb_29_annual_anchor_gives_feb_28_in_common_years() -> None:
    anchor = utc(2024, 2, 29)
    assert period_containing(anchor, ANNUAL, utc(2025, 6, 1)).start == utc(2025, 2, 28)
    assert period_containing(anchor, ANNUAL, utc(2025, 6, 1)).end == utc(2026, 2, 28)
    assert period_containing(anchor, ANNUAL, utc(2028, 3, 1)).start == utc(2028, 2, 29)


def test_pro_monthly_example_period() -> None:
    period = period_containing(utc(2026, 11, 1), MONTHLY, utc(2026, 11, 16))
    assert (period.start, period.end) == (utc(2026, 11, 1), utc(2026, 12, 1))
    assert period.length == timedelta(days=30)


def test_annual_example_period_has_365_days() -> None:
    period = period_containing(utc(2026, 1, 1), ANNUAL, utc(2026, 8, 8))
    assert (period.start, period.end) == (utc(2026, 1, 1), utc(2027, 1, 1))
    assert period.end - utc(2026, 8, 8) == timedelta(days=146)
    assert period.length == timedelta(days=365)


def test_a_period_boundary_belongs_to_the_period_it_starts() -> None:
    anchor = utc(2026, 11, 1)
    period = period_containing(anchor, MONTHLY, utc(2026, 12, 1))
    assert (period.start, period.end) == (utc(2026, 12, 1), utc(2027, 1, 1))
    just_before = period_containing(anchor, MONTHLY, utc(2026, 12, 1) - timedelta(microseconds=1))
    assert (just_before.start, just_before.end) == (utc(2026, 11, 1), utc(2026, 12, 1))


def test_anchor_time_of_day_is_kept() -> None:
    anchor = utc(2026, 3, 10, 15, 30)
    period = period_containing(anchor, MONTHLY, utc(2026, 4, 10, 15, 29))
    assert (period.start, period.end) == (utc(2026, 3, 10, 15, 30), utc(2026, 4, 10, 15, 30))


def test_moments_before_the_anchor_fall_in_earlier_periods() -> None:
    period = period_containing(utc(2026, 11, 1), MONTHLY, utc(2026, 9, 15))
    assert (period.start, period.end) == (utc(2026, 9, 1), utc(2026, 10, 1))
    yearly = period_containing(utc(2026, 1, 1), ANNUAL, utc(2024, 5, 5))
    assert (yearly.start, yearly.end) == (utc(2024, 1, 1), utc(2025, 1, 1))


def test_far_future_periods() -> None:
    period = period_containing(utc(2025, 1, 31), MONTHLY, utc(2030, 2, 28, 12))
    assert (period.start, period.end) == (utc(2030, 2, 28), utc(2030, 3, 31))


def test_naive_times_are_utc_and_other_zones_are_converted() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert as_utc(datetime(2026, 11, 16)) == utc(2026, 11, 16)
    assert as_utc(datetime(2026, 11, 16, 9, tzinfo=tokyo)) == utc(2026, 11, 16)
    assert as_utc(datetime(2026, 11, 16, 9, tzinfo=tokyo)).tzinfo == UTC
    # 2026-12-01 08:00 in Tokyo is still November in UTC.
    period = period_containing(utc(2026, 11, 1), MONTHLY, datetime(2026, 12, 1, 8, tzinfo=tokyo))
    assert period.end == utc(2026, 12, 1)


anchors = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
moments = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2045, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


@settings(max_examples=200, deadline=None)
@given(anchor=anchors, at=moments, interval=st.sampled_from(list(BillingInterval)))
def test_the_period_contains_the_moment_and_keeps_the_anchor_day(
    anchor: datetime, at: datetime, interval: BillingInterval
) -> None:
    period = period_containing(anchor, interval, at)
    assert period.start <= at < period.end
    step = 1 if interval is MONTHLY else 12
    for boundary in (period.start, period.end):
        days_in_month = calendar.monthrange(boundary.year, boundary.month)[1]
        assert boundary.day == min(anchor.day, days_in_month)
        assert boundary.time() == anchor.time()
        if interval is ANNUAL:
            assert boundary.month == anchor.month
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    assert months == step
