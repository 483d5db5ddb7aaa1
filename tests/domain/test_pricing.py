"""Proration: added × unit price × (end − at) / (end − start), rounded half-up once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.periods import BillingPeriod, period_containing
from bot.domain.plans import CATALOG, BillingInterval, PlanId, plan_for
from bot.domain.pricing import AccountTerms, build_quote, iso, prorate, whole_days_left

MONTHLY, ANNUAL = BillingInterval.MONTHLY, BillingInterval.ANNUAL
NOVEMBER = BillingPeriod(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
HALF_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def terms(**overrides: object) -> AccountTerms:
    values: dict[str, object] = {
        "account_id": "acme",
        "plan": PlanId.PRO,
        "interval": MONTHLY,
        "licenses": 10,
        "currency": "USD",
        "unit_price_minor": 4900,
        "anchor": utc(2026, 11, 1),
    }
    values.update(overrides)
    return AccountTerms(**values)  # type: ignore[arg-type]


# --- the examples of the issue -------------------------------------------------------


def test_pro_monthly_example() -> None:
    quote = build_quote(terms(), 3, utc(2026, 11, 16))
    body = quote.to_json()
    assert body["due_today"] == "73.50"
    assert body["next_cycle_amount"] == "637.00"
    assert body["total_licenses"] == 13
    assert body["current_licenses"] == 10
    assert body["added"] == 3
    assert body["unit_price"] == "49.00"
    assert body["currency"] == "USD"
    assert body["period_start"] == "2026-11-01T00:00:00Z"
    assert body["period_end"] == "2026-12-01T00:00:00Z"
    assert body["quoted_at"] == "2026-11-16T00:00:00Z"
    assert body["account"] == "acme"


def test_annual_example_146_of_365_days_left() -> None:
    annual = terms(interval=ANNUAL, unit_price_minor=120000, anchor=utc(2026, 1, 1), licenses=3)
    quote = build_quote(annual, 3, utc(2026, 8, 8))
    assert quote.to_json()["due_today"] == "1440.00"
    assert quote.to_json()["next_cycle_amount"] == "7200.00"


def test_quote_for_the_short_february_period_of_a_jan_31_anchor() -> None:
    quote = build_quote(terms(anchor=utc(2025, 1, 31), unit_price_minor=2800), 1, utc(2025, 3, 15))
    # 16 of the 31 days from Feb 28 to Mar 31 remain: 28.00 × 16 / 31 = 14.451…
    assert (quote.period.start, quote.period.end) == (utc(2025, 2, 28), utc(2025, 3, 31))
    assert quote.due_today_minor == 1445


def test_jpy_amounts_have_no_decimals() -> None:
    yen = terms(currency="JPY", unit_price_minor=1000)
    # 1000 × 20 / 30 = 666.67 yen → 667 yen, not 666.67.
    quote = build_quote(yen, 1, utc(2026, 11, 11))
    assert quote.due_today_minor == 667
    body = quote.to_json()
    assert body["due_today"] == "667"
    assert body["unit_price"] == "1000"
    assert body["next_cycle_amount"] == "11000"


def test_quote_time_is_reported_in_utc() -> None:
    quote = build_quote(terms(), 1, datetime(2026, 11, 16))  # naive: taken as UTC
    assert quote.quoted_at == utc(2026, 11, 16)
    assert iso(quote.quoted_at) == "2026-11-16T00:00:00Z"


# --- rounding ----------------------------------------------------------------------


def test_full_period_left_costs_the_full_price() -> None:
    assert prorate(3, 4900, NOVEMBER, NOVEMBER.start) == 14700


def test_nothing_left_costs_nothing() -> None:
    assert prorate(3, 4900, NOVEMBER, NOVEMBER.end) == 0


def test_exact_half_minor_unit_rounds_up() -> None:
    assert prorate(1, 1, NOVEMBER, HALF_NOVEMBER) == 1  # 0.5 → 1
    assert prorate(1, 101, NOVEMBER, HALF_NOVEMBER) == 51  # 50.5 → 51
    assert prorate(1, 99, NOVEMBER, HALF_NOVEMBER) == 50  # 49.5 → 50


def test_just_under_half_a_minor_unit_rounds_down() -> None:
    one_microsecond_later = HALF_NOVEMBER + timedelta(microseconds=1)
    assert prorate(1, 1, NOVEMBER, one_microsecond_later) == 0
    assert prorate(1, 101, NOVEMBER, one_microsecond_later) == 50


def test_rounding_happens_once_on_the_total_not_per_license() -> None:
    # 3 × 0.5 = 1.5 → 2; rounding each license first would give 3 × 1 = 3.
    assert prorate(3, 1, NOVEMBER, HALF_NOVEMBER) == 2
    # 3 × 49.00 × 1/3 of a 30-day period: 49.00 exactly.
    assert prorate(3, 4900, NOVEMBER, utc(2026, 11, 21)) == 4900


def test_seconds_count_not_days() -> None:
    # One hour before the end of November: 1/720 of the month remains.
    at = utc(2026, 11, 30, 23)
    assert prorate(720, 4900, NOVEMBER, at) == 4900


def test_prorate_refuses_moments_outside_the_period() -> None:
    with pytest.raises(ValueError):
        prorate(1, 4900, NOVEMBER, utc(2026, 10, 31))
    with pytest.raises(ValueError):
        prorate(1, 4900, NOVEMBER, NOVEMBER.end + timedelta(microseconds=1))


# --- the days left, as the proration counts them -----------------------------------


@pytest.mark.parametrize(
    ("period", "at", "days"),
    [
        (NOVEMBER, HALF_NOVEMBER, (15, 30)),
        (NOVEMBER, utc(2026, 11, 16, 12), (14, 30)),  # 14.5 days left: a part day is not counted
        (NOVEMBER, utc(2026, 11, 29, 23, 10), (1, 30)),
        (NOVEMBER, utc(2026, 11, 30, 23, 10), (0, 30)),  # 50 minutes left
        (NOVEMBER, NOVEMBER.start, (30, 30)),
        (NOVEMBER, NOVEMBER.end, (0, 30)),
        (BillingPeriod(utc(2025, 2, 28), utc(2025, 3, 31)), utc(2025, 3, 15), (16, 31)),
        (BillingPeriod(utc(2026, 1, 1), utc(2027, 1, 1)), utc(2026, 8, 8), (146, 365)),
    ],
)
def test_whole_days_left_of_the_period(
    period: BillingPeriod, at: datetime, days: tuple[int, int]
) -> None:
    assert whole_days_left(period, at) == days


def test_a_naive_moment_counts_as_utc() -> None:
    assert whole_days_left(NOVEMBER, datetime(2026, 11, 16)) == (15, 30)


def test_a_quote_knows_the_days_it_is_prorated_over_and_until_when_it_holds() -> None:
    quote = build_quote(terms(), 3, utc(2026, 11, 29, 23, 10))
    assert quote.days_left == (1, 30)
    assert quote.expires_at(900) == utc(2026, 11, 29, 23, 25)
    assert quote.expires_at(3600) == utc(2026, 11, 30, 0, 10)


# --- the catalog ----------------------------------------------------------------


def test_catalog_lists_every_plan_with_its_name() -> None:
    assert set(CATALOG) == set(PlanId)
    assert plan_for("gong").display_name == "Gong Edition"
    assert plan_for("pro").display_name == "Pro"
    assert not plan_for(PlanId.GONG).self_serve_add
    assert all(plan_for(plan).self_serve_add for plan in ("freemium", "essential", "pro"))


def test_catalog_prices_depend_on_the_interval() -> None:
    pro = plan_for(PlanId.PRO)
    assert pro.list_price(MONTHLY) == Decimal("49.00")
    assert pro.list_price(ANNUAL) == pro.annual_price
    assert pro.annual_price != pro.monthly_price


def test_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError):
        plan_for("platinum")


# --- properties -------------------------------------------------------------------

periods = st.builds(
    lambda anchor, interval, offset: period_containing(anchor, interval, anchor + offset),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)).map(
        lambda moment: moment.replace(tzinfo=UTC)
    ),
    st.sampled_from(list(BillingInterval)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)),
)
# A point in the period, in billionths of its length (0: start, 10**9: end).
fractions_of_period = st.integers(min_value=0, max_value=10**9)
seats = st.integers(min_value=0, max_value=1000)
prices = st.integers(min_value=0, max_value=10_000_000)


def moment_in(period: BillingPeriod, billionths: int) -> datetime:
    length = period.length // timedelta(microseconds=1)
    return period.start + timedelta(microseconds=length * billionths // 10**9)


@settings(max_examples=200, deadline=None)
@given(period=periods, fraction=fractions_of_period, added=seats, price=prices)
def test_prorate_is_never_negative_nor_above_the_full_period_price(
    period: BillingPeriod, fraction: int, added: int, price: int
) -> None:
    due = prorate(added, price, period, moment_in(period, fraction))
    assert 0 <= due <= added * price


@settings(max_examples=200, deadline=None)
@given(period=periods, added=seats, price=prices)
def test_prorate_is_zero_at_period_end_and_full_at_start(
    period: BillingPeriod, added: int, price: int
) -> None:
    assert prorate(added, price, period, period.end) == 0
    assert prorate(added, price, period, period.start) == added * price


@settings(max_examples=200, deadline=None)
@given(
    period=periods,
    first=fractions_of_period,
    second=fractions_of_period,
    added=seats,
    price=prices,
)
def test_prorate_never_increases_as_time_passes(
    period: BillingPeriod, first: int, second: int, added: int, price: int
) -> None:
    earlier, later = sorted((moment_in(period, first), moment_in(period, second)))
    assert prorate(added, price, period, earlier) >= prorate(added, price, period, later)


@settings(max_examples=200, deadline=None)
@given(period=periods, fraction=fractions_of_period, a=seats, b=seats, price=prices)
def test_splitting_the_added_seats_changes_the_total_by_at_most_one_minor_unit(
    period: BillingPeriod, fraction: int, a: int, b: int, price: int
) -> None:
    at = moment_in(period, fraction)
    together = prorate(a + b, price, period, at)
    apart = prorate(a, price, period, at) + prorate(b, price, period, at)
    assert abs(together - apart) <= 1


@settings(max_examples=200, deadline=None)
@given(period=periods, fraction=fractions_of_period, added=seats, price=prices)
def test_prorate_is_the_exact_rule_rounded_half_up_once(
    period: BillingPeriod, fraction: int, added: int, price: int
) -> None:
    at = moment_in(period, fraction)
    exact = (
        Fraction(added * price)
        * Fraction((period.end - at) // timedelta(microseconds=1))
        / Fraction(period.length // timedelta(microseconds=1))
    )
    due = prorate(added, price, period, at)
    # Half-up: an exact half (x.5) rounds up, so exact lies in [due − ½, due + ½).
    assert due - Fraction(1, 2) <= exact < due + Fraction(1, 2)


def test_an_exact_half_cent_rounds_up() -> None:
    """The case that showed the bound above was written half-down (found by hypothesis)."""
    period = period_containing(
        datetime(2000, 4, 1, tzinfo=UTC), BillingInterval.MONTHLY, datetime(2000, 4, 1, tzinfo=UTC)
    )
    at = moment_in(period, 1)
    assert prorate(50, 10_000_000, period, at) == 500_000_000  # exact: 499,999,999.5


@settings(max_examples=200, deadline=None)
@given(
    anchor=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    interval=st.sampled_from(list(BillingInterval)),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2000)),
    licenses=st.integers(min_value=0, max_value=5000),
    added=st.integers(min_value=1, max_value=1000),
    price=prices,
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_quotes_add_up(
    anchor: datetime,
    interval: BillingInterval,
    offset: timedelta,
    licenses: int,
    added: int,
    price: int,
    currency: str,
) -> None:
    account = terms(
        anchor=anchor.replace(tzinfo=UTC),
        interval=interval,
        licenses=licenses,
        unit_price_minor=price,
        currency=currency,
    )
    at = anchor.replace(tzinfo=UTC) + offset
    quote = build_quote(account, added, at)
    assert quote.total_licenses == licenses + added
    assert quote.next_cycle_minor == (licenses + added) * price
    assert quote.period.start <= at < quote.period.end
    assert 0 <= quote.due_today_minor <= added * price
    body = quote.to_json()
    assert ("." in body["due_today"]) == (currency != "JPY")


@settings(max_examples=200, deadline=None)
@given(period=periods, fraction=fractions_of_period)
def test_whole_days_left_are_the_prorated_fraction_rounded_down(
    period: BillingPeriod, fraction: int
) -> None:
    at = moment_in(period, fraction)
    left, length = whole_days_left(period, at)
    # A whole-day period: days_left/length ≤ the charged fraction < (days_left + 1)/length.
    assert length == period.length.days and period.length.seconds == 0
    assert timedelta(days=left) <= period.end - at < timedelta(days=left + 1)
    assert 0 <= left <= length
