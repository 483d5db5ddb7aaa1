"""The add modal's quote explains itself: the part of the period it charges for, what the
account pays from the next period on, and until when the price holds (QUOTE_TTL_SECONDS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from blocks.ids import Callback
from tests.slack.conftest import start_workspace
from tests.slack.driver import Workspace, assert_calls_ok
from tests.slack.test_add_licenses import (
    ANN,
    GIL,
    count_field,
    due_today,
    open_add_modal,
    quote_text,
    quoted_at,
    submit_view,
    submit_with_ack_applied_first,
    type_count,
    usd,
)

# The moment of the users' report: 1 day and 50 minutes left of Acme's Nov 1 → Dec 1 period.
NOV_29_2310 = datetime(2026, 11, 29, 23, 10, tzinfo=UTC)


def travel_to(ws: Workspace, moment: datetime) -> None:
    """Set the bot's clock to `moment` (it runs on from there)."""
    ws.clock.travel(seconds=(moment - ws.clock()).total_seconds())


def quoted_within_the_minute(view: dict[str, Any], moment: datetime) -> datetime:
    """The quote's moment, checked to be in the minute the test travelled to."""
    at = quoted_at(view)
    assert moment <= at < moment + timedelta(minutes=1), at
    return at


@pytest.fixture
async def hour_ttl_workspace(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """The bot with QUOTE_TTL_SECONDS=3600 instead of the default 900."""
    async for ws in start_workspace(sqlite_url, tmp_path, quote_ttl_seconds=3600):
        yield ws


async def test_the_quote_says_the_days_left_what_follows_and_until_when_it_holds(
    workspace: Workspace,
) -> None:
    ws = workspace
    travel_to(ws, NOV_29_2310)
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    at = quoted_within_the_minute(view, NOV_29_2310)

    text = quote_text(view)
    assert (
        f"*Total Due Today*\n{usd(due_today(3, at))}\n"
        "3 × $49.00, prorated to Dec 1, 2026: 1 of 30 days left in this period\n"
        "then $637.00 a month from Dec 1, 2026\n"
        "(price valid until 23:25 UTC)"
    ) in text
    # The next cycle's amount is still the Price Details too.
    assert "*Price Details*\n$637.00 per month from Dec 1, 2026\n13 × $49.00" in text
    assert_calls_ok(ws)


async def test_the_days_left_are_whole_days_as_the_proration_counts_them(
    workspace: Workspace,
) -> None:
    ws = workspace
    # 1 day and 50 minutes before the period's end is 1 day; 50 minutes is 0 days.
    travel_to(ws, NOV_29_2310 + timedelta(days=1))
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    at = quoted_within_the_minute(view, NOV_29_2310 + timedelta(days=1))

    text = quote_text(view)
    assert f"*Total Due Today*\n{usd(due_today(3, at))}\n" in text
    assert "prorated to Dec 1, 2026: 0 of 30 days left in this period" in text
    assert "(price valid until 23:25 UTC)" in text


async def test_an_annual_account_pays_a_year_from_its_period_end(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0GLOBEX"
    # Globex is billed annually from Jan 1: on Aug 8, 09:00 UTC, 145 of 365 days are left.
    moment = datetime(2026, 8, 8, 9, 0, tzinfo=UTC)
    travel_to(ws, moment)
    await open_add_modal(ws, GIL)
    view = await type_count(ws, "2", GIL)
    quoted_within_the_minute(view, moment)

    text = quote_text(view)
    assert "2 × $1,200.00, prorated to Jan 1, 2027: 145 of 365 days left in this period" in text
    assert "then $6,000.00 a year from Jan 1, 2027" in text
    assert "(price valid until 09:15 UTC)" in text
    assert "a month" not in text
    assert_calls_ok(ws)


async def test_the_price_holds_for_the_quote_ttl_setting_with_the_date_past_midnight(
    hour_ttl_workspace: Workspace,
) -> None:
    ws = hour_ttl_workspace
    travel_to(ws, NOV_29_2310)
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    quoted_within_the_minute(view, NOV_29_2310)

    # 23:10 plus an hour is the next day (UTC): the date is said too.
    assert "(price valid until Nov 30, 2026, 00:10 UTC)" in quote_text(view)
    assert_calls_ok(ws)


async def test_the_command_argument_quote_says_until_when_it_holds(workspace: Workspace) -> None:
    ws = workspace
    travel_to(ws, NOV_29_2310)
    view = await open_add_modal(ws, ANN, "add 3")
    quoted_within_the_minute(view, NOV_29_2310)

    text = quote_text(view)
    assert "1 of 30 days left in this period" in text
    assert "then $637.00 a month from Dec 1, 2026" in text
    assert "(price valid until 23:25 UTC)" in text
    assert_calls_ok(ws)


async def test_the_price_asked_for_at_order_now_says_until_when_it_holds(
    workspace: Workspace,
) -> None:
    ws = workspace
    travel_to(ws, NOV_29_2310)
    view = await open_add_modal(ws)

    # Order Now with a number whose price the modal never showed: it is shown first.
    answer = await submit_view(ws, ANN, view, values=count_field("5"))
    assert answer is not None and answer["response_action"] == "update"
    await ws.settle()
    asked = ws.modal(ANN)
    assert asked["callback_id"] == Callback.ADD
    quoted_within_the_minute(asked, NOV_29_2310)

    text = quote_text(asked)
    assert "5 × $49.00, prorated to Dec 1, 2026: 1 of 30 days left in this period" in text
    assert "then $735.00 a month from Dec 1, 2026" in text
    assert "(price valid until 23:25 UTC)" in text
    assert_calls_ok(ws)


async def test_the_new_price_after_an_expired_one_says_until_when_it_holds(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    travel_to(ws, NOV_29_2310 - timedelta(hours=1))
    await open_add_modal(ws)
    view = await type_count(ws, "3")

    ws.clock.travel(seconds=901)
    answer = await submit_with_ack_applied_first(ws, monkeypatch, view)
    assert answer is not None and answer["response_action"] == "update"
    await ws.settle()
    again = ws.modal(ANN)
    assert again["callback_id"] == Callback.ADD
    quoted_within_the_minute(again, NOV_29_2310 - timedelta(minutes=45))

    text = quote_text(again)
    assert "3 × $49.00, prorated to Dec 1, 2026: 1 of 30 days left in this period" in text
    assert "then $637.00 a month from Dec 1, 2026" in text
    assert "(price valid until 22:40 UTC)" in text
