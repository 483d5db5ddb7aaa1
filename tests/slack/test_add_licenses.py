"""Adding licenses in the modal: the rules' routes, the live quote, Order Now exactly once."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from blocks.ids import Action, Block, Callback
from bot.models import Account, LedgerCharge, Order, Ticket
from tests.periods import day, monthly_period
from tests.slack.driver import Answer, Workspace, assert_calls_ok, block_text, find_element

ANN, ERIN, GIL = "U0ANN", "U0ERIN", "U0GIL"
ACME_PRICE_MINOR = 4900


# --- what the admin should see, computed here from DESIGN.md's rule ---------------------------


def microseconds(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def due_today(added: int, at: datetime, unit_minor: int = ACME_PRICE_MINOR) -> int:
    """added × unit_price × (end − at) / (end − start), rounded half-up once (minor units)."""
    start, end = monthly_period(at)
    exact = Fraction(added * unit_minor * microseconds(end - at), microseconds(end - start))
    whole = exact.numerator // exact.denominator
    return whole + 1 if exact - whole >= Fraction(1, 2) else whole


def usd(minor: int) -> str:
    return f"${Decimal(minor) / 100:,.2f}"


# --- reading the modal ------------------------------------------------------------------------


def shown_quote(view: dict[str, Any]) -> dict[str, Any] | None:
    """The quote the modal carries (behind the bot's seal, which Workspace.metadata checks)."""
    _, _, opened = view["private_metadata"].partition(".")
    quote: dict[str, Any] | None = json.loads(opened)["quote"]
    return quote


def quoted_at(view: dict[str, Any]) -> datetime:
    quote = shown_quote(view)
    assert quote is not None, "no quote in the modal"
    return datetime.fromisoformat(quote["quoted_at"])


def quote_text(view: dict[str, Any]) -> str:
    """What the admin reads where the quote goes (the lines, or the explanation)."""
    blocks = [b for b in view["blocks"] if b.get("block_id") in {Block.QUOTE, Block.ROUTE_ACTIONS}]
    return block_text(blocks)


def count_field(value: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {Block.ADD_COUNT: {Action.ADD_COUNT: {"type": "number_input", "value": value}}}


@dataclass(frozen=True)
class Totals:
    orders: int
    charges: int
    charged_minor: int
    licenses: int


async def totals(ws: Workspace, account: str = "acme") -> Totals:
    async with ws.services.sessions() as session:
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.account_id == account)
        )
        charges = await session.scalar(
            select(func.count()).select_from(LedgerCharge).where(LedgerCharge.account_id == account)
        )
        charged = await session.scalar(
            select(func.coalesce(func.sum(LedgerCharge.amount_minor), 0)).where(
                LedgerCharge.account_id == account
            )
        )
        licenses = await session.scalar(select(Account.licenses).where(Account.id == account))
    assert orders is not None and charges is not None and charged is not None
    assert licenses is not None
    return Totals(orders, charges, charged, licenses)


async def orders_of(ws: Workspace, account: str = "acme") -> list[Order]:
    async with ws.services.sessions() as session:
        rows = await session.scalars(
            select(Order).where(Order.account_id == account).order_by(Order.id)
        )
        return list(rows)


async def open_add_modal(ws: Workspace, user: str = ANN, text: str = "add") -> dict[str, Any]:
    await ws.command(user, text)
    await ws.settle()
    view = ws.modal(user)
    assert view["callback_id"] == Callback.ADD
    return view


async def type_count(ws: Workspace, value: str, user: str = ANN) -> dict[str, Any]:
    answer = await ws.type_number(user, Block.ADD_COUNT, Action.ADD_COUNT, value)
    assert answer.status == 200
    await ws.settle()
    return ws.modal(user)


async def submit_view(
    ws: Workspace, user: str, view: dict[str, Any], **kwargs: Any
) -> dict[str, Any] | None:
    answer = await ws.submit(user, view=view, **kwargs)
    assert answer.status == 200
    result: dict[str, Any] | None = answer.json()
    return result


# --- each rule's route --------------------------------------------------------------------------


async def test_enterprise_under_five_quotes_until_the_limit_then_routes_to_sales(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.team_id = "T0GLOBEX"
    view = await open_add_modal(ws, GIL)
    assert "You can add up to 2 now." in block_text(view["blocks"])

    view = await type_count(ws, "2", GIL)
    text = quote_text(view)
    assert "*Total Licenses*\n5 (3 + 2)" in text
    assert "*Price Details*\n$6,000.00 per year" in text
    assert shown_quote(view) is not None

    view = await type_count(ws, "3", GIL)
    text = quote_text(view)
    assert "Total Due Today" not in text
    assert "Enterprise accounts can add licenses themselves up to 5 in total" in text
    assert "Sales (sales@vendor.example)" in text
    button, _ = find_element(view["blocks"], Action.CONTACT_SALES)
    assert button["text"]["text"] == "Contact Sales"
    assert shown_quote(view) is None

    await ws.click_in_view(GIL, view, Action.CONTACT_SALES)
    await ws.settle()
    sales = ws.modal(GIL)
    assert sales["title"]["text"] == "Contact Sales"
    assert "*sales@vendor.example*" in block_text(sales["blocks"])
    assert "`globex`" in block_text(sales["blocks"])
    # Sales works from tickets: one is opened and its reference reaches Gil by DM.
    async with ws.services.reading() as session:
        [ticket] = (await session.scalars(select(Ticket))).all()
    assert ticket.account_id == "globex" and "license_sales" in ticket.tags
    [dm] = ws.slack.messages[ws.slack.dm_channel(GIL)]
    assert f"ticket {ticket.reference}" in dm["text"]
    # The add modal is still underneath, to go back to.
    assert [v["callback_id"] for v in ws.slack.modal_stack(GIL)] == [Callback.ADD, Callback.INFO]

    add_modal = ws.slack.modal_stack(GIL)[0]
    refused = await submit_view(ws, GIL, add_modal, values=count_field("3"))
    assert refused is not None and refused["response_action"] == "errors"
    assert "up to 5 in total" in refused["errors"][Block.ADD_COUNT]
    await ws.settle()
    assert (await totals(ws, "globex")).orders == 0
    assert_calls_ok(ws)


async def test_one_order_is_capped_and_the_rest_goes_to_sales(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = await type_count(ws, "1001")
    text = quote_text(view)
    assert "One order can add at most 1,000 licenses" in text
    assert "Sales (sales@vendor.example)" in text
    assert "Total Due Today" not in text
    find_element(view["blocks"], Action.CONTACT_SALES)

    view = await type_count(ws, "1000")
    assert "*Total Licenses*\n1,010 (10 + 1,000)" in quote_text(view)
    assert_calls_ok(ws)


async def test_add_licenses_button_pushes_the_add_modal_over_the_plan(workspace: Workspace) -> None:
    ws = workspace
    await ws.command(ANN)
    await ws.settle()
    plan = ws.modal(ANN)

    await ws.click_in_view(ANN, plan, Action.OPEN_ADD)
    await ws.settle()

    stack = ws.slack.modal_stack(ANN)
    assert [v["callback_id"] for v in stack] == [Callback.PLAN, Callback.ADD]
    view = await type_count(ws, "2")
    assert "*Total Licenses*\n12 (10 + 2)" in quote_text(view)
    assert_calls_ok(ws)


# --- the live quote ---------------------------------------------------------------------------


async def test_quote_follows_the_typing(workspace: Workspace) -> None:
    ws = workspace
    view = await open_add_modal(ws)
    assert "Enter a number to see the price." in quote_text(view)

    seen = []
    for count in (1, 3, 10, 3):
        hash_before = view["hash"]
        before = ws.clock()
        view = await type_count(ws, str(count))
        after = ws.clock()

        update = ws.slack.last("views.update")
        assert update.params["external_id"] == view["external_id"]
        assert update.params["hash"] == hash_before
        at = quoted_at(view)
        assert before <= at <= after
        start, end = monthly_period(at)
        due = due_today(count, at)
        total = 10 + count
        text = quote_text(view)
        assert f"*Total Licenses*\n{total:,} (10 + {count})" in text
        assert f"*Total Due Today*\n{usd(due)}\n{count} × $49.00, prorated to {day(end)}" in text
        assert (
            f"*Price Details*\n{usd(total * ACME_PRICE_MINOR)} per month from {day(end)}\n"
            f"{total} × $49.00" in text
        )
        quote = shown_quote(view)
        assert quote is not None
        assert (quote["added"], quote["due_today_minor"]) == (count, due)
        assert datetime.fromisoformat(quote["period"]["start"]) == start
        seen.append(due)

    # More licenses cost more; the same number costs the same (give or take a second).
    assert seen[0] < seen[1] < seen[2]
    assert abs(seen[3] - seen[1]) <= 1
    assert len(ws.slack.calls_to("views.update")) == 4
    assert (await totals(ws)).orders == 0
    assert_calls_ok(ws)


def late_keystroke(
    ws: Workspace, view: dict[str, Any], value: str, typed_at: float
) -> dict[str, Any]:
    """A keystroke's block_actions as Slack sends it, carrying `view` as it was then."""
    view["state"]["values"] = count_field(value)
    return {
        "type": "block_actions",
        "user": ws.user(ANN),
        "api_app_id": "A0LICENSES",
        "token": "legacy-verification-token",
        "team": {"id": "T0ACME", "domain": "acme"},
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": ws.slack.new_trigger_id(ANN, view["id"]),
        "view": view,
        "actions": [
            {
                "type": "number_input",
                "block_id": Block.ADD_COUNT,
                "action_id": Action.ADD_COUNT,
                "value": value,
                "action_ts": f"{typed_at:.6f}",
            }
        ],
    }


async def test_an_older_keystroke_arriving_late_does_not_paint_over_the_newer_quote(
    workspace: Workspace,
) -> None:
    ws = workspace
    await open_add_modal(ws)
    stale = copy.deepcopy(ws.modal(ANN))
    typed_before = time.time() - 1
    view = await type_count(ws, "2")
    assert view["hash"] != stale["hash"]
    updates = len(ws.slack.calls_to("views.update"))

    # A keystroke typed before that one arrives late: its view carries the old hash.
    answer = await ws.post_payload(late_keystroke(ws, stale, "7", typed_before))
    assert answer.status == 200
    await ws.settle()

    assert len(ws.slack.calls_to("views.update")) == updates
    assert "*Total Licenses*\n12 (10 + 2)" in quote_text(ws.modal(ANN))
    # Gracefully: no error message to the admin, nothing else called.
    assert ws.slack.calls_to("chat.postMessage") == []
    assert_calls_ok(ws)


async def test_a_newer_keystroke_that_meets_a_stale_hash_still_shows_its_quote(
    workspace: Workspace,
) -> None:
    ws = workspace
    await open_add_modal(ws)
    stale = copy.deepcopy(ws.modal(ANN))
    await type_count(ws, "2")

    # Typed right after "2", before the bot's update for "2" reached the admin's modal:
    # it carries the same (now stale) hash, and it is the newest keystroke.
    answer = await ws.post_payload(late_keystroke(ws, stale, "7", time.time()))
    assert answer.status == 200
    await ws.settle()

    conflict, retried = ws.slack.calls_to("views.update")[-2:]
    assert conflict.response["error"] == "hash_conflict"
    assert retried.ok and "hash" not in retried.params
    assert "*Total Licenses*\n17 (10 + 7)" in quote_text(ws.modal(ANN))
    assert_calls_ok(ws, allowed=frozenset({"hash_conflict"}))


INVALID = [
    ("0", "Enter a number of licenses to add, at least 1."),
    ("-2", "Enter a number of licenses to add, at least 1."),
    ("abc", "“abc” is not a whole number of licenses."),
    ("2.5", "“2.5” is not a whole number of licenses."),
    (str(10**30), "One order can add at most 1,000 licenses"),
]


@pytest.mark.parametrize(("value", "explanation"), INVALID)
async def test_invalid_numbers_explain_themselves_and_order_nothing(
    workspace: Workspace, value: str, explanation: str
) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    assert shown_quote(view) is not None

    view = await type_count(ws, value)
    text = quote_text(view)
    if value == str(10**30):
        # Sent to Sales: said beside the button that reaches them.
        assert explanation in text
    else:
        # Wrong in itself: said once, in the input's own error at Order Now.
        assert explanation not in text
        assert "Enter a number to see the price." in text
    assert "Total Due Today" not in text
    assert shown_quote(view) is None

    answer = await submit_view(ws, ANN, view)
    assert answer is not None
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [Block.ADD_COUNT]
    assert explanation in answer["errors"][Block.ADD_COUNT]
    await ws.settle()
    assert ws.modal(ANN)["callback_id"] == Callback.ADD
    assert (await totals(ws)) == Totals(0, 0, 0, 10)
    assert_calls_ok(ws)


async def test_an_empty_field_is_a_validation_error(workspace: Workspace) -> None:
    ws = workspace
    view = await open_add_modal(ws)
    answer = await submit_view(ws, ANN, view, values=count_field(""))
    assert answer == {
        "response_action": "errors",
        "errors": {Block.ADD_COUNT: "Enter a whole number of licenses to add, like 3."},
    }
    assert (await totals(ws)).orders == 0


# --- what the admin reads about a wrong count: once, in our words -----------------------------


def slack_own_check(view: dict[str, Any], value: str) -> str | None:
    """What Slack itself says about the count input before the bot hears of it.

    Slack checks inputs in the client, in its own words, and then sends nothing: this is
    the sandbox's model of it (bot/sandbox/static/app.js, checkInputs).
    """
    block = next(b for b in view["blocks"] if b.get("block_id") == Block.ADD_COUNT)
    element = block["element"]
    number = None
    if element["type"] == "number_input":
        try:
            number = float(value)
        except ValueError:
            value = ""  # a number field holds no letters: it reads as empty
    if not value.strip():
        return None if block.get("optional") else "Please complete this required field."
    if number is not None and not element.get("is_decimal_allowed") and not number.is_integer():
        return "Enter a whole number."
    if number is not None and "min_value" in element and number < float(element["min_value"]):
        return f"Enter a number of at least {element['min_value']}."
    if number is not None and "max_value" in element and number > float(element["max_value"]):
        return f"Enter a number of at most {element['max_value']}."
    return None


async def read_after_order_now(ws: Workspace, value: str) -> list[str]:
    """Type `value`, press Order Now: every explanation the admin then reads (the input's
    error, whoever wrote it, and the warnings in the modal)."""
    view = await type_count(ws, value)
    said = slack_own_check(view, value)
    if said is None:
        answer = await submit_view(ws, ANN, view)
        assert answer is not None and answer["response_action"] == "errors", answer
        said = answer["errors"][Block.ADD_COUNT]
        await ws.settle()
    modal = ws.modal(ANN)
    assert modal["callback_id"] == Callback.ADD
    warnings = [
        line.removeprefix(":warning: ")
        for line in block_text(modal["blocks"]).splitlines()
        if line.startswith(":warning:")
    ]
    return [said, *warnings]


@pytest.mark.parametrize(
    ("value", "explanation"),
    [
        ("0", "Enter a number of licenses to add, at least 1."),
        ("-2", "Enter a number of licenses to add, at least 1."),
        ("2.5", "“2.5” is not a whole number of licenses."),
    ],
)
async def test_a_wrong_count_is_explained_once_in_the_inputs_error(
    workspace: Workspace, value: str, explanation: str
) -> None:
    ws = workspace
    await open_add_modal(ws)
    await type_count(ws, "3")

    assert await read_after_order_now(ws, value) == [explanation]
    assert (await totals(ws)).orders == 0
    assert_calls_ok(ws)


async def test_letters_get_our_own_message_not_slacks_generic_one(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)

    said = await read_after_order_now(ws, "abc")

    assert said == ["“abc” is not a whole number of licenses."]
    assert "Please complete this required field." not in said
    assert (await totals(ws)).orders == 0


async def test_too_many_says_1000_with_its_separator_everywhere(workspace: Workspace) -> None:
    ws = workspace
    view = await open_add_modal(ws)
    assert "You can add up to 1,000 now." in block_text(view["blocks"])

    said = await read_after_order_now(ws, "5000")

    # The input's error and the reason beside the Contact Sales button: one wording.
    assert set(said) == {
        "One order can add at most 1,000 licenses; for more, contact Sales (sales@vendor.example)."
    }
    read = "\n".join(said) + block_text(ws.modal(ANN)["blocks"])
    assert "1000" not in read
    find_element(ws.modal(ANN)["blocks"], Action.CONTACT_SALES)
    assert (await totals(ws)).orders == 0


async def test_the_billing_interval_reads_as_an_adverb(workspace: Workspace) -> None:
    ws = workspace
    monthly = block_text((await open_add_modal(ws))["blocks"])
    assert "Pro, billed monthly · 10 licenses at $49.00 per month" in monthly

    ws.team_id = "T0GLOBEX"
    annual = block_text((await open_add_modal(ws, GIL))["blocks"])
    assert "Enterprise, billed annually · 3 licenses at" in annual
    assert "billed annual " not in annual


# --- Order Now ----------------------------------------------------------------------------------


async def test_order_now_places_one_order_and_shows_the_receipt(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    due = due_today(3, quoted_at(view))
    _, end = monthly_period(quoted_at(view))

    answer = await submit_view(ws, ANN, view)
    assert answer is not None and answer["response_action"] == "update"
    assert f"Placing your order: 3 licenses for {usd(due)}" in block_text(answer["view"]["blocks"])
    await ws.settle()

    [order] = await orders_of(ws)
    assert (order.added, order.licenses_before, order.licenses_after) == (3, 10, 13)
    assert order.due_today_minor == due
    assert order.ordered_by == ANN
    assert await totals(ws) == Totals(1, 1, due, 13)

    receipt = ws.modal(ANN)
    assert receipt["id"] == view["id"]
    assert receipt["title"]["text"] == "Order placed"
    text = block_text(receipt["blocks"])
    for expected in (
        "You added 3 licenses",
        "*Licenses*\n10 → 13",
        f"*Charged today*\n{usd(due)}",
        f"*Next billing cycle*\n$637.00 per month from {day(end)}",
        f"*Order reference*\n`{order.reference}`",
    ):
        assert expected in text

    [dm] = ws.slack.messages[ws.slack.dm_channel(ANN)]
    assert order.reference in dm["text"]
    assert usd(due) in dm["text"]
    dm_text = block_text(dm["blocks"])
    assert "*Licenses*\n10 → 13" in dm_text
    assert f"`{order.reference}`" in dm_text

    home = block_text(ws.slack.homes[ANN]["blocks"])
    assert f"`{order.reference}`" in home
    assert "+3 (10 → 13)" in home
    assert "*Licenses*\n13" in home
    assert_calls_ok(ws)


async def test_double_submit_places_one_order(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = copy.deepcopy(await type_count(ws, "3"))
    due = due_today(3, quoted_at(view))

    first = await submit_view(ws, ANN, copy.deepcopy(view))
    second = await submit_view(ws, ANN, copy.deepcopy(view))
    assert first is not None and second is not None
    assert first["response_action"] == second["response_action"] == "update"
    await ws.settle()

    [order] = await orders_of(ws)
    assert await totals(ws) == Totals(1, 1, due, 13)
    assert f"`{order.reference}`" in block_text(ws.modal(ANN)["blocks"])
    assert_calls_ok(ws)


async def test_concurrent_double_submit_places_one_order(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = await type_count(ws, "4")
    due = due_today(4, quoted_at(view))

    answers = await asyncio.gather(*(ws.submit(ANN, view=copy.deepcopy(view)) for _ in range(3)))
    assert [a.status for a in answers] == [200, 200, 200]
    await ws.settle()

    assert await totals(ws) == Totals(1, 1, due, 14)
    [order] = await orders_of(ws)
    assert f"`{order.reference}`" in block_text(ws.modal(ANN)["blocks"])
    assert_calls_ok(ws)


async def test_a_slack_retry_of_order_now_places_one_order(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = copy.deepcopy(await type_count(ws, "2"))

    await submit_view(ws, ANN, copy.deepcopy(view))
    retry = await submit_view(
        ws,
        ANN,
        copy.deepcopy(view),
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry is not None and retry["response_action"] == "update"
    await ws.settle()

    totals_now = await totals(ws)
    assert (totals_now.orders, totals_now.charges, totals_now.licenses) == (1, 1, 12)
    assert ws.modal(ANN)["title"]["text"] == "Order placed"
    assert_calls_ok(ws)


def travel_to_mid_period(ws: Workspace) -> None:
    """Move the bot's clock forward to the middle of Acme's next billing period.

    The clock runs on from there, so a test that travels a few minutes more stays in one
    period whatever the date it runs on (near a month's end, 901 s would cross it).
    """
    _, start = monthly_period(ws.clock())
    _, end = monthly_period(start)
    ws.clock.travel(seconds=(start + (end - start) / 2 - ws.clock()).total_seconds())


async def submit_with_ack_applied_first(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, view: dict[str, Any], **kwargs: Any
) -> dict[str, Any] | None:
    """Submit, with the ack's view applied before any views.update the bot sends after it.

    Slack shows the ack's view (here "placing") when the HTTP response arrives, before a
    views.update the bot sends later. In one process the bot's update could reach the fake
    first on a busy machine, and the ack would then cover it; holding the bot's
    views.update until the driver has applied the ack keeps Slack's order, without sleeps.
    """
    applied = asyncio.Event()
    update = AsyncWebClient.views_update

    async def after_the_ack(self: AsyncWebClient, **params: Any) -> Any:
        await applied.wait()
        return await update(self, **params)

    with monkeypatch.context() as patch:
        patch.setattr(AsyncWebClient, "views_update", after_the_ack)
        try:
            return await submit_view(ws, ANN, view, **kwargs)
        finally:
            applied.set()


async def test_an_expired_quote_shows_the_new_price_and_asks_again(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    travel_to_mid_period(ws)
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    old_at = quoted_at(view)
    old_due = due_today(3, old_at)

    ws.clock.travel(seconds=901)
    answer = await submit_with_ack_applied_first(ws, monkeypatch, view)
    assert answer is not None and answer["response_action"] == "update"
    await ws.settle()

    assert (await totals(ws)) == Totals(0, 0, 0, 10)
    again = ws.modal(ANN)
    assert again["callback_id"] == Callback.ADD
    new_at = quoted_at(again)
    assert new_at - old_at >= timedelta(seconds=901)
    assert monthly_period(new_at) == monthly_period(old_at)
    new_due = due_today(3, new_at)
    assert new_due < old_due
    text = block_text(again["blocks"])
    assert "The price you saw has expired. Here is the current price." in text
    assert "press Order Now again" in text
    assert f"*Total Due Today*\n{usd(new_due)}" in quote_text(again)
    # The number is still in the field (the "placing" view in between dropped its state).
    element = next(b for b in again["blocks"] if b.get("block_id") == Block.ADD_COUNT)["element"]
    assert element["initial_value"] == "3"

    # Slack submits the prefilled number with the view.
    answer = await submit_with_ack_applied_first(
        ws, monkeypatch, again, values=count_field(element["initial_value"])
    )
    assert answer is not None and answer["response_action"] == "update"
    await ws.settle()

    [order] = await orders_of(ws)
    assert order.due_today_minor == new_due
    assert await totals(ws) == Totals(1, 1, new_due, 13)
    assert f"*Charged today*\n{usd(new_due)}" in block_text(ws.modal(ANN)["blocks"])
    assert_calls_ok(ws)


@pytest.mark.parametrize("typed", [None, "3"])
async def test_a_number_without_its_quote_on_screen_is_priced_first(
    workspace: Workspace, typed: str | None
) -> None:
    ws = workspace
    view = await open_add_modal(ws)
    if typed:
        view = await type_count(ws, typed)

    # The field says 5, but the modal never showed the price of 5.
    answer = await submit_view(ws, ANN, view, values=count_field("5"))
    assert answer is not None and answer["response_action"] == "update"
    await ws.settle()
    assert (await totals(ws)).orders == 0

    asked = ws.modal(ANN)
    assert asked["callback_id"] == Callback.ADD
    text = block_text(asked["blocks"])
    assert "Here is the price for 5 licenses. Press Order Now to confirm." in text
    due = due_today(5, quoted_at(asked))
    assert f"*Total Due Today*\n{usd(due)}" in quote_text(asked)
    assert "*Total Licenses*\n15 (10 + 5)" in quote_text(asked)

    # Confirming places the order at the price shown.
    await submit_view(ws, ANN, asked)
    await ws.settle()
    assert await totals(ws) == Totals(1, 1, due, 15)
    assert_calls_ok(ws)


# --- PostgreSQL: real concurrency ---------------------------------------------------------------


async def test_two_admins_ordering_at_once_both_succeed(pg_workspace: Workspace) -> None:
    ws = pg_workspace
    ann_view = await open_add_modal(ws, ANN)
    erin_view = await open_add_modal(ws, ERIN)
    ann_view = await type_count(ws, "2", ANN)
    erin_view = await type_count(ws, "3", ERIN)
    expected = due_today(2, quoted_at(ann_view)) + due_today(3, quoted_at(erin_view))

    answers = await asyncio.gather(ws.submit(ANN, view=ann_view), ws.submit(ERIN, view=erin_view))
    assert [a.status for a in answers] == [200, 200]
    await ws.settle()

    assert await totals(ws) == Totals(2, 2, expected, 15)
    orders = await orders_of(ws)
    assert sorted((o.ordered_by, o.added) for o in orders) == [(ANN, 2), (ERIN, 3)]
    # Serialised by the account lock: one went 10 → 10+a, the other on from there.
    chain = sorted((o.licenses_before, o.licenses_after) for o in orders)
    assert chain[0][0] == 10 and chain[0][1] == chain[1][0] and chain[1][1] == 15
    for user, order in ((o.ordered_by, o) for o in orders):
        receipt = block_text(ws.modal(user)["blocks"])
        assert f"`{order.reference}`" in receipt
        assert f"{order.licenses_before} → {order.licenses_after}" in receipt
    assert_calls_ok(ws)


async def test_concurrent_orders_stop_at_the_enterprise_limit(pg_workspace: Workspace) -> None:
    ws = pg_workspace
    ws.team_id = "T0GLOBEX"
    views = [await open_add_modal(ws, GIL, "add 1") for _ in range(5)]
    assert len({v["id"] for v in views}) == 5

    answers: list[Answer] = await asyncio.gather(
        *(ws.submit(GIL, count_field("1"), view=view) for view in views)
    )
    assert [a.status for a in answers] == [200] * 5
    await ws.settle()

    final = await totals(ws, "globex")
    assert (final.orders, final.charges, final.licenses) == (2, 2, 5)
    placed = refused = 0
    for view, answer in zip(views, answers, strict=True):
        shown = ws.slack.views[view["id"]]
        text = block_text(shown["blocks"])
        if shown["title"]["text"] == "Order placed":
            placed += 1
            assert re.search(r"\*Licenses\*\n[34] → [45]", text)
        else:
            refused += 1
            # Refused at Order Now (errors on the input) or while placing (in the modal).
            body = answer.json()
            said = text + json.dumps(body.get("errors", {}), ensure_ascii=False)
            assert "up to 5 in total" in said
            assert "Sales (sales@vendor.example)" in said
    assert (placed, refused) == (2, 3)
