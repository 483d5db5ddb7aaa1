"""Money as integer minor units; conversions and formatting via Babel's currency data."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies


class MoneyError(ValueError):
    pass


def known_currency(code: str) -> bool:
    return code in list_currencies()


def minor_digits(currency: str) -> int:
    """Digits after the decimal point for `currency` (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Exact conversion of a price to minor units; refuses sub-minor precision."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise MoneyError(f"{amount!r} is not an amount") from exc
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not an amount")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount} has more decimals than {currency} allows ({minor_digits(currency)})"
        )
    return int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    digits = minor_digits(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def decimal_string(minor: int, currency: str) -> str:
    """Plain decimal string with the currency's digits: "146.21", "1440" for JPY."""
    return str(to_decimal(minor, currency))


# Parsed once: Babel would otherwise look the locale up on every call.
DEFAULT_LOCALE = Locale.parse("en_US")


# Kept: a view shows the same few amounts again and again, and Babel is slow to format.
@lru_cache(maxsize=4096)
def format_money(minor: int, currency: str, locale: Locale = DEFAULT_LOCALE) -> str:
    """Human form for Slack and the terminal: "$1,440.00", "¥1,440"."""
    return str(format_currency(to_decimal(minor, currency), currency, locale=locale))


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up (ties away from zero), exact in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    whole, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        whole += 1
    return -whole if numerator < 0 else whole
