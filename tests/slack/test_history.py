"""`/licenses history`: an admin reads what was ordered and requested, by whom and when."""

from __future__ import annotations

from typing import Any

import pytest

from blocks.ids import Action, Callback
from blocks.metadata import HistoryPage
from blocks.text import actions, button
from bot.readmodels import AdminIdentity
from bot.sandbox.slack_side import find_element
from bot.scheduler import run_due_work
from bot.services.accounts import show_account
from bot.services.orders import place_order
from tests.slack.driver import CSM_CHANNEL, Workspace, assert_calls_ok, block_text
from tests.slack.removal_helpers import APPROVE, CSM, ask, decision_values, posts
from tests.slack.test_add_licenses import ANN, open_add_modal, orders_of, submit_view, type_count
from tests.slack.test_route_requests import IRA, ira_asks_casey_for


async def test_history_lists_orders_and_removals_newest_first_with_money_and_who(
    workspace: Workspace,
) -> None:
    ws = workspace
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    await submit_view(ws, ANN, view)
    await ws.settle()
    [order] = await orders_of(ws)
    ws.clock.travel(minutes=5)
    await ask(ws, count="2")

    await ws.command(ANN, "history")
    await ws.settle()

    modal = ws.modal(ANN)
    assert modal["callback_id"] == Callback.INFO
    assert modal["title"]["text"] == "License history"
    text = block_text(modal["blocks"])
    assert "Orders and requests of *Acme Corp*, newest first." in text
    lines = [block["text"]["text"] for block in modal["blocks"][1:]]
    assert lines[0].startswith("*Removal request* `RR-")
    assert "remove 2 (13 → 11)" in lines[0]
    assert "by <@U0ANN>" in lines[0]
    assert lines[1].startswith(f"*Order* `{order.reference}`")
    assert "+3 (10 → 13)" in lines[1]
    assert "$" in lines[1] and "<@U0ANN>" in lines[1]
    assert_calls_ok(ws)


async def test_history_of_an_account_with_none_says_so(workspace: Workspace) -> None:
    ws = workspace
    await ws.command(ANN, "history")
    await ws.settle()
    assert "No orders or requests yet." in block_text(ws.modal(ANN)["blocks"])


async def test_history_is_for_admins_only(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0BOB", "history")
    await ws.settle()
    assert ws.slack.calls_to("views.open") == []
    [ephemeral] = ws.slack.ephemerals
    assert ephemeral["user"] == "U0BOB"
    assert "Only license admins of *Acme Corp*" in block_text(ephemeral["blocks"])


async def test_help_mentions_history(workspace: Workspace) -> None:
    ws = workspace
    await ws.command(ANN, "help")
    await ws.settle()
    [ephemeral] = ws.slack.ephemerals
    assert "`/licenses history`: your account's orders and requests" in block_text(
        ephemeral["blocks"]
    )


async def test_an_open_request_is_counted_from_the_licenses_as_they_are_now(
    workspace: Workspace,
) -> None:
    # Two requests made at 10; the second is approved and applied first.
    ws = workspace
    await ask(ws, count="2")
    await ask(ws, count="1", timing="asap")
    second = posts(ws)[1]
    await ws.click_in_message(CSM, CSM_CHANNEL, second, APPROVE)
    await ws.settle()
    await ws.submit(CSM, decision_values(ws.clock().date().isoformat()))
    await ws.settle()
    assert (await show_account(ws.services, "acme")).terms.licenses == 9

    await ws.command(ANN, "history")
    await ws.settle()
    history = block_text(ws.modal(ANN)["blocks"])
    assert "`RR-00001` · remove 2 (9 → 7)" in history
    assert "`RR-00002` · remove 1 (10 → 9)" in history  # applied: as it happened
    await run_due_work(ws.runtime)
    home = block_text(ws.slack.homes[ANN]["blocks"])
    assert "`RR-00001` · remove 2 (9 → 7)" in home


async def test_app_home_links_to_the_history(workspace: Workspace) -> None:
    ws = workspace
    await open_add_modal(ws)
    await submit_view(ws, ANN, await type_count(ws, "3"))
    await ws.settle()
    await ws.open_home(ANN)
    await ws.settle()
    home = ws.slack.homes[ANN]

    await ws.click_in_view(ANN, home, Action.OPEN_HISTORY)
    await ws.settle()

    modal = ws.modal(ANN)
    assert modal["title"]["text"] == "License history"
    assert "*Order* `ORD-" in block_text(modal["blocks"])
    assert_calls_ok(ws)


async def test_history_lists_requests_for_more_licenses(workspace: Workspace) -> None:
    ws = workspace
    await ira_asks_casey_for(ws, "add 2")
    ws.team_id = "T0INITECH"

    await ws.command(IRA, "history")
    await ws.settle()

    modal = ws.modal(IRA)
    [line] = [block["text"]["text"] for block in modal["blocks"][1:]]
    assert line.startswith("*Request for more licenses* `LR-00001`")
    assert "+2" in line and "your CSM" in line and "<@U0IRA>" in line


async def test_a_long_history_pages_with_older_and_newer(workspace: Workspace) -> None:
    ws = workspace
    for number in range(45):
        admin = AdminIdentity(ANN)
        await place_order(ws.services, "acme", admin, 1, f"history-{number}", None)
        ws.clock.travel(minutes=1)

    await ws.command(ANN, "history")
    await ws.settle()
    first = ws.modal(ANN)
    orders = [line for line in block_lines(first) if line.startswith("*Order* ")]
    assert len(orders) == 40
    # Newest first: the 45th order took the account from 54 to 55 licenses.
    assert "+1 (54 → 55)" in orders[0] and "+1 (15 → 16)" in orders[-1]
    assert "Entries 1–40." in block_text(first["blocks"])

    await ws.click_in_view(ANN, first, Action.HISTORY_OLDER)
    await ws.settle()
    older = ws.modal(ANN)
    assert older["id"] == first["id"]  # the same modal, another page
    orders = [line for line in block_lines(older) if line.startswith("*Order* ")]
    assert len(orders) == 5
    assert "+1 (14 → 15)" in orders[0] and "+1 (10 → 11)" in orders[-1]
    assert "Entries 41–45." in block_text(older["blocks"])
    with pytest.raises(LookupError):
        find_element(older["blocks"], Action.HISTORY_OLDER)

    await ws.click_in_view(ANN, older, Action.HISTORY_NEWER)
    await ws.settle()
    assert block_lines(ws.modal(ANN)) == block_lines(first)
    assert_calls_ok(ws)


async def test_a_page_button_shows_only_the_clicker_s_own_account(workspace: Workspace) -> None:
    """The button carries a page, never an account: someone who is no admin is refused."""
    ws = workspace
    await ws.command(ANN, "history")
    await ws.settle()
    modal = ws.modal(ANN)
    modal["blocks"].append(
        actions([button("Older", Action.HISTORY_OLDER, HistoryPage(offset=0).model_dump_json())])
    )
    await ws.click_in_view("U0BOB", modal, Action.HISTORY_OLDER)
    await ws.settle()
    assert "Only license admins can see the history." in block_text(ws.modal(ANN)["blocks"])


def block_lines(modal: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in modal["blocks"] if block["type"] == "section"]
