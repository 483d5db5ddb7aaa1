"""Money: exact minor units, currency digits from Babel, half-up division."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.money import (
    MoneyError,
    decimal_string,
    divide_half_up,
    format_money,
    known_currency,
    minor_digits,
    to_decimal,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)],
)
def test_minor_digits_come_from_the_currency(currency: str, digits: int) -> None:
    assert minor_digits(currency) == digits


@pytest.mark.parametrize("code", ["USD", "JPY", "EUR", "KWD", "CHF"])
def test_known_currencies(code: str) -> None:
    assert known_currency(code)


@pytest.mark.parametrize("code", ["XYZ", "usd", "", "DOLLARS"])
def test_unknown_currencies(code: str) -> None:
    assert not known_currency(code)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("49.00", "USD", 4900),
        ("49", "USD", 4900),
        ("0.01", "USD", 1),
        ("1200.00", "USD", 120000),
        ("49.000", "USD", 4900),  # trailing zeros are not extra precision
        ("0", "USD", 0),
        ("5000", "JPY", 5000),
        ("5000.00", "JPY", 5000),
        ("1.234", "KWD", 1234),
        (Decimal("19.99"), "EUR", 1999),
    ],
)
def test_to_minor_is_exact(amount: str | Decimal, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("49.001", "USD"), ("0.005", "USD"), ("5000.5", "JPY"), ("1.2345", "KWD")],
)
def test_to_minor_refuses_more_decimals_than_the_currency_has(amount: str, currency: str) -> None:
    with pytest.raises(MoneyError, match=currency):
        to_minor(amount, currency)


@pytest.mark.parametrize("amount", ["abc", "", "NaN", "Infinity", "1,00"])
def test_to_minor_refuses_what_is_not_an_amount(amount: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(amount, "USD")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (7350, "USD", "73.50"),
        (63700, "USD", "637.00"),
        (5, "USD", "0.05"),
        (0, "USD", "0.00"),
        (144000, "USD", "1440.00"),
        (1440, "JPY", "1440"),
        (0, "JPY", "0"),
        (1234, "KWD", "1.234"),
    ],
)
def test_decimal_string_has_exactly_the_currency_digits(
    minor: int, currency: str, text: str
) -> None:
    assert decimal_string(minor, currency) == text


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(144000, "USD", "$1,440.00"), (1440, "JPY", "¥1,440"), (7350, "USD", "$73.50")],
)
def test_format_money_for_people(minor: int, currency: str, text: str) -> None:
    assert format_money(minor, currency) == text


@settings(max_examples=200, deadline=None)
@given(
    minor=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
)
def test_minor_units_round_trip_through_decimal_text(minor: int, currency: str) -> None:
    text = decimal_string(minor, currency)
    assert to_minor(text, currency) == minor
    assert to_decimal(minor, currency) == Decimal(text)
    digits = minor_digits(currency)
    assert ("." in text) == (digits > 0)
    if digits:
        assert len(text.split(".")[1]) == digits


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 2, 1),  # exactly .5 rounds up
        (3, 2, 2),
        (5, 2, 3),
        (101, 2, 51),
        (99, 2, 50),
        (49, 100, 0),  # just below .5 rounds down
        (50, 100, 1),
        (51, 100, 1),
        (149, 100, 1),
        (150, 100, 2),
        (0, 7, 0),
        (14, 7, 2),
        (-1, 2, -1),  # ties away from zero
        (-3, 2, -2),
        (-49, 100, 0),
    ],
)
def test_divide_half_up_edges(numerator: int, denominator: int, expected: int) -> None:
    assert divide_half_up(numerator, denominator) == expected


@pytest.mark.parametrize("denominator", [0, -1])
def test_divide_half_up_needs_a_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError):
        divide_half_up(1, denominator)


@settings(max_examples=200, deadline=None)
@given(
    numerator=st.integers(min_value=-(10**30), max_value=10**30),
    denominator=st.integers(min_value=1, max_value=10**15),
)
def test_divide_half_up_matches_exact_arithmetic(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    result = divide_half_up(numerator, denominator)
    assert abs(result - exact) <= Fraction(1, 2)
    # A tie is rounded away from zero.
    if abs(result - exact) == Fraction(1, 2):
        assert abs(result) > abs(exact)
