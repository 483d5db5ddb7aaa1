"""Link codes: easy to type and read aloud, hashed, lasting a while; wrong tries counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.linking import (
    CODE_ALPHABET,
    CODE_LENGTH,
    NotACode,
    code_hash,
    display_code,
    in_vendor_workspace,
    locked_until,
    new_code,
    normalise_code,
    ttl_problem,
)

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_a_new_code_has_twelve_characters_nobody_confuses() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert not set(code) & set("0O1IL")


def test_a_code_is_shown_in_groups_of_four() -> None:
    assert display_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


@pytest.mark.parametrize(
    "typed",
    ["ABCD-EFGH-JKMN", "abcd-efgh-jkmn", "ABCDEFGHJKMN", " abcd efgh jkmn ", "Abcd-efghJKMN"],
)
def test_a_code_is_read_in_any_case_with_or_without_dashes_and_spaces(typed: str) -> None:
    assert normalise_code(typed) == "ABCDEFGHJKMN"


@pytest.mark.parametrize(
    "typed", ["", "ABCD-EFGH", "ABCD-EFGH-JKMN-P", "ABCD-EFGH-JKM0", "ÄBCD-EFGH-JKMN"]
)
def test_text_that_cannot_be_a_code_says_what_a_code_looks_like(typed: str) -> None:
    with pytest.raises(NotACode, match="12 letters and digits, like ABCD-EFGH-JKMN"):
        normalise_code(typed)


@given(st.text(alphabet=CODE_ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH))
def test_what_is_shown_reads_back_as_the_same_code(code: str) -> None:
    assert normalise_code(display_code(code).lower()) == code


def test_the_hash_is_stored_not_the_code() -> None:
    code = "ABCDEFGHJKMN"
    assert code_hash(code) == code_hash(normalise_code("abcd-efgh-jkmn"))
    assert code not in code_hash(code)
    assert len(code_hash(code)) == 64


@pytest.mark.parametrize(
    ("hours", "ok"), [(0, False), (1, True), (24, True), (720, True), (721, False)]
)
def test_a_code_lasts_between_an_hour_and_thirty_days(hours: int, ok: bool) -> None:
    assert (ttl_problem(hours) is None) == ok


def test_five_wrong_tries_within_an_hour_lock_until_the_first_is_an_hour_old() -> None:
    tries = [NOW - timedelta(minutes=minutes) for minutes in (50, 40, 30, 20)]
    assert locked_until(tries, NOW) is None
    assert locked_until([*tries, NOW], NOW) == NOW - timedelta(minutes=50) + timedelta(hours=1)


def test_wrong_tries_older_than_an_hour_do_not_count() -> None:
    tries = [NOW - timedelta(minutes=minutes) for minutes in (61, 60, 40, 30, 20)]
    assert locked_until(tries, NOW) is None


def test_single_workspace_mode_has_no_other_workspace() -> None:
    assert in_vendor_workspace("T0ANY", None)
    assert in_vendor_workspace("T0VENDOR", "T0VENDOR")
    assert not in_vendor_workspace("T0ACME", "T0VENDOR")
