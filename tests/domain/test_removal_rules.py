"""Removal rules: what a request may ask, who decides, when it applies, when to remind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.plans import BillingInterval, PlanId
from bot.domain.policy import Contacts, Route
from bot.domain.pricing import AccountTerms
from bot.domain.removal import (
    MAX_REASON_LENGTH,
    MAX_REMINDERS,
    RemovalStatus,
    Timing,
    Verdict,
    check_reason,
    check_request,
    may_decide,
    reminder_due,
    requested_effective_at,
)

CONTACTS = Contacts(csm_name="Casey Doe", csm_email="casey@vendor.example")
DAY = timedelta(days=1)
AFTER = timedelta(hours=24)


def terms(
    licenses: int = 10,
    interval: BillingInterval = BillingInterval.MONTHLY,
    anchor: datetime = datetime(2026, 11, 1, tzinfo=UTC),
) -> AccountTerms:
    return AccountTerms(
        account_id="acme",
        plan=PlanId.PRO,
        interval=interval,
        licenses=licenses,
        currency="USD",
        unit_price_minor=4900,
        anchor=anchor,
    )


# --- check_request ----------------------------------------------------------------------


def test_a_valid_request_goes_to_the_csm() -> None:
    decision = check_request(terms(), 3, [], CONTACTS)

    assert not decision.is_input_error
    assert decision.route is Route.CSM
    assert "Casey Doe (casey@vendor.example)" in decision.reason


@pytest.mark.parametrize("requested", [0, -1, 2.0, "2", True, None])
def test_not_a_positive_whole_number_is_an_input_error(requested: object) -> None:
    decision = check_request(terms(), requested, [], CONTACTS)

    assert decision.is_input_error


@pytest.mark.parametrize("requested", [10, 11, 1000])
def test_the_account_keeps_at_least_one_license(requested: int) -> None:
    decision = check_request(terms(10), requested, [], CONTACTS)

    assert decision.is_input_error
    assert "at most 9 can be removed" in decision.reason


def test_nine_of_ten_is_the_most_one_request_can_ask() -> None:
    assert not check_request(terms(10), 9, [], CONTACTS).is_input_error


def test_overlapping_open_requests_are_refused_with_what_is_left() -> None:
    decision = check_request(terms(10), 5, [3, 2], CONTACTS)

    assert decision.is_input_error
    assert "would remove 5 of 10" in decision.reason
    assert "At most 4 more can be requested" in decision.reason


def test_open_requests_leaving_exactly_one_license_are_fine() -> None:
    decision = check_request(terms(10), 4, [3, 2], CONTACTS)

    assert not decision.is_input_error
    assert decision.route is Route.CSM


def test_when_open_requests_take_everything_nothing_more_can_be_asked() -> None:
    decision = check_request(terms(10), 1, [9], CONTACTS)

    assert decision.is_input_error
    assert "At most 0 more" in decision.reason


def test_open_requests_may_be_any_iterable() -> None:
    assert check_request(terms(10), 2, iter([8]), CONTACTS).is_input_error
    assert not check_request(terms(10), 2, (n for n in [7]), CONTACTS).is_input_error


@given(
    licenses=st.integers(1, 500),
    open_counts=st.lists(st.integers(1, 50), max_size=5),
    requested=st.integers(-5, 600),
)
def test_an_accepted_request_always_leaves_at_least_one_license(
    licenses: int, open_counts: list[int], requested: int
) -> None:
    decision = check_request(terms(licenses), requested, open_counts, CONTACTS)

    if not decision.is_input_error:
        assert requested >= 1
        assert licenses - sum(open_counts) - requested >= 1


# --- check_reason -----------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t "])
def test_a_reason_is_required(reason: str | None) -> None:
    assert check_reason(reason) == "Tell your CSM why you want to remove licenses."


def test_a_reason_of_the_maximum_length_is_fine() -> None:
    assert check_reason("x" * MAX_REASON_LENGTH) is None
    # Surrounding spaces are not counted.
    assert check_reason("  " + "x" * MAX_REASON_LENGTH + "\n") is None


def test_a_reason_over_the_maximum_says_how_long_it_is() -> None:
    problem = check_reason("x" * (MAX_REASON_LENGTH + 1))

    assert problem == "Keep the reason under 1000 characters (it has 1001)."


# --- requested_effective_at ------------------------------------------------------------


def test_renewal_is_the_end_of_the_current_period() -> None:
    now = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)

    assert requested_effective_at(terms(), Timing.RENEWAL, now) == datetime(2026, 12, 1, tzinfo=UTC)


def test_renewal_at_the_very_start_of_a_period_is_its_end() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)

    assert requested_effective_at(terms(), Timing.RENEWAL, now) == datetime(2027, 1, 1, tzinfo=UTC)


def test_renewal_follows_calendar_months_and_years() -> None:
    month_end = terms(anchor=datetime(2026, 1, 31, tzinfo=UTC))
    annual = terms(interval=BillingInterval.ANNUAL, anchor=datetime(2026, 3, 1, tzinfo=UTC))
    now = datetime(2026, 2, 10, tzinfo=UTC)

    assert requested_effective_at(month_end, Timing.RENEWAL, now) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert requested_effective_at(annual, Timing.RENEWAL, now) == datetime(2026, 3, 1, tzinfo=UTC)


def test_as_soon_as_possible_is_now() -> None:
    now = datetime(2026, 11, 16, 9, 30, 12, tzinfo=UTC)

    assert requested_effective_at(terms(), Timing.ASAP, now) == now


def test_timing_labels_and_verdict_statuses() -> None:
    assert Timing.RENEWAL.label == "At the next renewal"
    assert Timing.ASAP.label == "As soon as possible"
    assert Verdict.APPROVE.status is RemovalStatus.APPROVED
    assert Verdict.DENY.status is RemovalStatus.DENIED


# --- may_decide --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "csms", "account_csm", "allowed"),
    [
        ("U0CSM", {"U0CSM", "U0CSM2"}, None, True),
        ("U0CSM2", ["U0CSM", "U0CSM2"], "U0CSM", True),
        ("U0OWN", [], "U0OWN", True),
        ("U0OWN", ["U0CSM"], "U0OWN", True),
        ("U0BOB", ["U0CSM"], "U0CSM", False),
        ("U0ANN", [], None, False),
        ("", [], None, False),
        ("u0csm", ["U0CSM"], None, False),
    ],
)
def test_only_csms_or_the_accounts_own_csm_decide(
    user: str, csms: list[str] | set[str], account_csm: str | None, allowed: bool
) -> None:
    assert may_decide(user, csms, account_csm) is allowed


# --- reminder_due ------------------------------------------------------------------------

REQUESTED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_no_reminder_before_the_wait_is_over() -> None:
    assert not reminder_due(REQUESTED, 0, None, REQUESTED + AFTER - timedelta(seconds=1), AFTER)


def test_the_first_reminder_is_due_once_the_wait_is_over() -> None:
    assert reminder_due(REQUESTED, 0, None, REQUESTED + AFTER, AFTER)
    assert reminder_due(REQUESTED, 0, None, REQUESTED + 5 * DAY, AFTER)


def test_later_reminders_come_daily() -> None:
    first = REQUESTED + AFTER

    assert not reminder_due(REQUESTED, 1, first, first + DAY - timedelta(seconds=1), AFTER)
    assert reminder_due(REQUESTED, 1, first, first + DAY, AFTER)
    assert reminder_due(REQUESTED, 2, first + DAY, first + 2 * DAY, AFTER)


def test_at_most_three_reminders() -> None:
    assert MAX_REMINDERS == 3
    last = REQUESTED + AFTER + 2 * DAY

    assert not reminder_due(REQUESTED, 3, last, last + 10 * DAY, AFTER)


def test_a_short_interval_repeats_at_that_interval() -> None:
    after = timedelta(minutes=30)
    first = REQUESTED + after

    assert not reminder_due(REQUESTED, 0, None, first - timedelta(seconds=1), after)
    assert reminder_due(REQUESTED, 0, None, first, after)
    assert not reminder_due(REQUESTED, 1, first, first + timedelta(minutes=29), after)
    assert reminder_due(REQUESTED, 1, first, first + after, after)


@given(
    after_hours=st.integers(1, 72),
    tick_minutes=st.integers(5, 600),
)
def test_ticking_sends_at_most_three_reminders_an_interval_apart(
    after_hours: int, tick_minutes: int
) -> None:
    after = timedelta(hours=after_hours)
    sent: list[datetime] = []
    now = REQUESTED
    while now < REQUESTED + after + 10 * DAY:
        last = sent[-1] if sent else None
        if reminder_due(REQUESTED, len(sent), last, now, after):
            sent.append(now)
        now += timedelta(minutes=tick_minutes)

    assert len(sent) == MAX_REMINDERS
    assert sent[0] - REQUESTED >= after
    assert all(later - earlier >= after for earlier, later in pairwise(sent))
