"""Small Block Kit helpers and the formatting every surface shares."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from babel.dates import format_date

from bot.domain.money import DEFAULT_LOCALE, format_money
from bot.domain.plans import BillingInterval
from bot.domain.policy import count_words

Block = dict[str, Any]

# Slack's limits that the schema states but cannot enforce everywhere.
MAX_SECTION_TEXT = 3000
MAX_PLAIN_TEXT_TITLE = 24


def plain(text: str, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": emoji}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text[:150])}


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def fields(pairs: list[tuple[str, str]]) -> Block:
    """A two-column section: at most 10 fields, each "*label*\\nvalue"."""
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{label}*\n{value}") for label, value in pairs[:10]],
    }


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    style: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text), "action_id": action_id}
    if value is not None:
        element["value"] = value[:2000]
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def actions(elements: list[dict[str, Any]], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def title(text: str) -> dict[str, Any]:
    return plain(text[:MAX_PLAIN_TEXT_TITLE])


def money(minor: int, currency: str) -> str:
    return format_money(minor, currency)


def day(moment: datetime) -> str:
    return _medium_date(moment.date())


@lru_cache(maxsize=1024)
def _medium_date(value: date) -> str:
    return str(format_date(value, format="medium", locale=DEFAULT_LOCALE))


def day_and_time(moment: datetime) -> str:
    """ "Nov 30, 2026, 14:05 UTC": the medium date, with the minute when it matters."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{_medium_date(utc.date())}, {utc:%H:%M} UTC"


def billed(interval: BillingInterval) -> str:
    """ "billed monthly", "billed annually"."""
    return "billed monthly" if interval is BillingInterval.MONTHLY else "billed annually"


def per_period(interval: BillingInterval) -> str:
    return "month" if interval is BillingInterval.MONTHLY else "year"


def counted(count: int, noun: str) -> str:
    """ "1 license", "3 licenses", "1,000 hours": the count with its noun, singular or plural."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def licenses(count: int) -> str:
    return count_words(count)


def open_for(waited: timedelta) -> str:
    """How long something has been open, to the hour (to the minute under a day)."""
    minutes = max(int(waited.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return counted(days, "day") + (f" {counted(hours, 'hour')}" if hours else "")
    if hours:
        return counted(hours, "hour") + (f" {counted(minutes, 'minute')}" if minutes else "")
    return counted(minutes, "minute") if minutes else "less than a minute"


def more_licenses(count: int | None) -> str:
    """ "1 more license", "3 more licenses", or just "more licenses" when nobody said."""
    if not count:
        return "more licenses"
    return counted(count, "more license")
