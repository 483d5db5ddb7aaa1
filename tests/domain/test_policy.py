"""Plan rules: every row of the table, the per-order cap, removals and admins."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.plans import BillingInterval, PlanId
from bot.domain.policy import (
    DEFAULT_MAX_PER_ORDER,
    Contacts,
    Decision,
    InvalidCount,
    Route,
    add_capacity,
    decide_add,
    decide_remove,
    is_admin,
    lists_emails,
    parse_count,
)
from bot.domain.pricing import AccountTerms

CONTACTS = Contacts(
    csm_name="Casey Doe",
    csm_email="casey@vendor.example",
    sales_email="sales@vendor.example",
    support_url="https://support.example",
)
INTERVALS = list(BillingInterval)


def account(plan: PlanId | str, licenses: int, interval: BillingInterval = BillingInterval.ANNUAL):
    return AccountTerms(
        account_id="acct",
        plan=PlanId(plan),
        interval=interval,
        licenses=licenses,
        currency="USD",
        unit_price_minor=4900,
        anchor=datetime(2026, 1, 1, tzinfo=UTC),
    )


def add(plan: PlanId | str, licenses: int, requested: object, **kwargs: object) -> Decision:
    interval = kwargs.pop("interval", BillingInterval.ANNUAL)
    return decide_add(account(plan, licenses, interval), requested, CONTACTS, **kwargs)  # type: ignore[arg-type]


# --- self-serve plans ----------------------------------------------------------------


@pytest.mark.parametrize("plan", ["freemium", "essential", "pro"])
@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("licenses", [0, 1, 10, 500])
@pytest.mark.parametrize("requested", [1, 3, 999, 1000])
def test_freemium_essential_pro_add_self_serve(
    plan: str, interval: BillingInterval, licenses: int, requested: int
) -> None:
    decision = add(plan, licenses, requested, interval=interval)
    assert decision.allowed
    assert decision.route is None
    assert decision.max_addable == DEFAULT_MAX_PER_ORDER


# --- enterprise ----------------------------------------------------------------------


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("licenses", [6, 7, 12, 400])
def test_enterprise_above_five_goes_to_the_csm(interval: BillingInterval, licenses: int) -> None:
    decision = add("enterprise", licenses, 1, interval=interval)
    assert not decision.allowed
    assert decision.route is Route.CSM
    assert decision.max_addable == 0
    assert "Customer Success Manager" in decision.reason
    assert "Casey Doe" in decision.reason
    assert "casey@vendor.example" in decision.reason


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize(
    ("licenses", "requested"),
    [(0, 1), (0, 5), (3, 1), (3, 2), (4, 1), (1, 4)],
)
def test_enterprise_may_grow_itself_up_to_five_in_total(
    interval: BillingInterval, licenses: int, requested: int
) -> None:
    decision = add("enterprise", licenses, requested, interval=interval)
    assert decision.allowed
    assert decision.max_addable == 5 - licenses


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize(
    ("licenses", "requested"),
    [(3, 3), (4, 2), (0, 6), (1, 5), (3, 1000), (3, 1001)],
)
def test_enterprise_going_above_five_goes_to_sales(
    interval: BillingInterval, licenses: int, requested: int
) -> None:
    decision = add("enterprise", licenses, requested, interval=interval)
    assert not decision.allowed
    assert decision.route is Route.SALES
    assert decision.max_addable == 5 - licenses
    assert "sales@vendor.example" in decision.reason
    assert "5" in decision.reason


@pytest.mark.parametrize("interval", INTERVALS)
def test_enterprise_with_exactly_five_goes_to_sales(interval: BillingInterval) -> None:
    decision = add("enterprise", 5, 1, interval=interval)
    assert not decision.allowed
    assert decision.route is Route.SALES
    assert decision.max_addable == 0
    capacity = add_capacity(account("enterprise", 5, interval), CONTACTS)
    assert (capacity.allowed, capacity.route, capacity.max_addable) == (False, Route.SALES, 0)


def test_issue_example_enterprise_annual_with_three() -> None:
    assert add("enterprise", 3, 2).allowed
    refused = add("enterprise", 3, 3)
    assert (refused.allowed, refused.route) == (False, Route.SALES)


def test_enterprise_order_over_a_small_per_order_cap_names_the_cap() -> None:
    # A small per-order cap must not make the enterprise answer wrong: with room for
    # 5, asking for 4 over a cap of 2 is an order-size matter, still routed to Sales.
    decision = add("enterprise", 0, 4, max_per_order=2)
    assert not decision.allowed
    assert decision.route is Route.SALES
    assert "at most 2" in decision.reason
    assert add("enterprise", 0, 2, max_per_order=2).allowed


# --- gong --------------------------------------------------------------------------


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("licenses", [0, 3, 5, 40])
def test_gong_edition_is_never_self_serve(interval: BillingInterval, licenses: int) -> None:
    decision = add("gong", licenses, 1, interval=interval)
    assert not decision.allowed
    assert decision.route is Route.CSM
    assert decision.max_addable == 0
    assert "Gong Edition" in decision.reason
    assert "Casey Doe" in decision.reason


def test_refusals_without_named_contacts_still_say_where_to_go() -> None:
    decision = decide_add(account("gong", 1), 1, Contacts())
    assert decision.route is Route.CSM
    assert "Customer Success Manager" in decision.reason
    assert "Sales" in decision.reason
    sales = decide_add(account("enterprise", 5), 1, Contacts())
    assert sales.route is Route.SALES
    assert "Sales" in sales.reason


# --- invalid counts ----------------------------------------------------------------


@pytest.mark.parametrize("plan", list(PlanId))
@pytest.mark.parametrize("requested", [0, -1, -2, 2.5, 1.0, "3", True, False, None])
def test_zero_negative_and_non_integer_counts_are_input_errors(
    plan: PlanId, requested: object
) -> None:
    decision = add(plan, 3, requested)
    assert not decision.allowed
    assert decision.route is None
    assert decision.is_input_error
    assert decision.reason


def test_input_errors_still_tell_how_many_may_be_added() -> None:
    assert add("enterprise", 3, 0).max_addable == 2
    assert add("pro", 3, -4).max_addable == DEFAULT_MAX_PER_ORDER


# --- per-order cap -----------------------------------------------------------------


@pytest.mark.parametrize("plan", ["freemium", "essential", "pro"])
def test_over_the_default_per_order_cap_goes_to_sales(plan: str) -> None:
    assert add(plan, 10, 1000).allowed
    decision = add(plan, 10, 1001)
    assert not decision.allowed
    assert decision.route is Route.SALES
    assert "1,000" in decision.reason
    assert "sales@vendor.example" in decision.reason


def test_per_order_cap_is_configurable() -> None:
    assert add("pro", 10, 25, max_per_order=25).allowed
    decision = add("pro", 10, 26, max_per_order=25)
    assert (decision.allowed, decision.route) == (False, Route.SALES)
    assert "25" in decision.reason
    assert add_capacity(account("pro", 10), CONTACTS, 25).max_addable == 25


def test_refusal_json_names_the_route() -> None:
    body = add("enterprise", 3, 3).to_json()
    assert body == {
        "allowed": False,
        "reason": body["reason"],
        "route": "sales",
        "max_addable": 2,
    }
    assert add("pro", 3, 0).to_json()["route"] is None


@settings(max_examples=200, deadline=None)
@given(
    plan=st.sampled_from(list(PlanId)),
    licenses=st.integers(min_value=0, max_value=10_000),
    requested=st.integers(min_value=-10, max_value=5000),
)
def test_an_allowed_add_never_breaks_a_rule(plan: PlanId, licenses: int, requested: int) -> None:
    decision = add(plan, licenses, requested)
    if decision.allowed:
        assert 1 <= requested <= decision.max_addable <= DEFAULT_MAX_PER_ORDER
        assert plan is not PlanId.GONG
        if plan is PlanId.ENTERPRISE:
            assert licenses + requested <= 5
    else:
        assert decision.reason
        assert (decision.route is None) == (requested < 1)


# --- removals ------------------------------------------------------------------------


@pytest.mark.parametrize("plan", list(PlanId))
@pytest.mark.parametrize("interval", INTERVALS)
def test_removing_licenses_is_never_self_serve(plan: PlanId, interval: BillingInterval) -> None:
    decision = decide_remove(account(plan, 10, interval), 2, CONTACTS)
    assert not decision.allowed
    assert decision.route is Route.CSM
    assert "Casey Doe" in decision.reason


@pytest.mark.parametrize("requested", [0, -1, 2.5, "1", True])
def test_removal_of_invalid_counts_is_an_input_error(requested: object) -> None:
    decision = decide_remove(account("pro", 10), requested, CONTACTS)
    assert not decision.allowed
    assert decision.route is None


def test_removal_keeps_at_least_one_license() -> None:
    assert decide_remove(account("pro", 10), 9, CONTACTS).route is Route.CSM
    too_many = decide_remove(account("pro", 10), 10, CONTACTS)
    assert (too_many.allowed, too_many.route) == (False, None)
    assert "at most 9" in too_many.reason


# --- admins ---------------------------------------------------------------------------


def test_admin_by_slack_user_id() -> None:
    admins = ["U0ANN", "bob@acme.example"]
    assert is_admin(admins, "U0ANN")
    assert not is_admin(admins, "U0BOB")
    assert not is_admin(admins, "u0ann")  # user IDs are exact


def test_admin_by_email_in_any_case() -> None:
    admins = ["U0ANN", "bob@acme.example"]
    assert is_admin(admins, "U0BOB", "bob@acme.example")
    assert is_admin(admins, "U0BOB", "Bob@ACME.example")
    assert is_admin(["Bob@Acme.Example"], "U0BOB", "bob@acme.example")
    assert is_admin(admins, "U0BOB", "  bob@acme.example ")
    assert not is_admin(admins, "U0BOB", "rob@acme.example")
    assert not is_admin(admins, "U0BOB", None)
    assert not is_admin(admins, "U0BOB", "")


def test_nobody_is_admin_of_an_account_without_admins() -> None:
    assert not is_admin([], "U0ANN", "ann@acme.example")


def test_email_of_one_user_does_not_match_a_user_id_entry() -> None:
    assert not is_admin(["U0ANN"], "U0EVE", "U0ANN")


def test_lists_emails() -> None:
    assert lists_emails(["U0ANN", "bob@acme.example"])
    assert not lists_emails(["U0ANN", "W0BOB"])


# --- parsing a typed count -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        ("3", 3),
        (" 3 ", 3),
        ("+3", 3),
        ("1,000", 1000),
        ("1 000", 1000),
        ("0", 0),
        ("-2", -2),
        ("007", 7),
    ],
)
def test_parse_count(raw: str, count: int) -> None:
    assert parse_count(raw) == count


@pytest.mark.parametrize("raw", ["abc", "", "  ", "2.5", "3.0", "1e3", "three", "٣", "--3", "+"])
def test_parse_count_refuses_what_is_not_a_whole_number(raw: str) -> None:
    with pytest.raises(InvalidCount, match="not a whole number"):
        parse_count(raw)


def test_parse_count_of_absurd_lengths_stays_above_any_cap() -> None:
    count = parse_count("9" * 5000)
    assert count > DEFAULT_MAX_PER_ORDER
    assert add("pro", 1, count).route is Route.SALES
