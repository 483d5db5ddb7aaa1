"""`/licenses history`: an admin reads what was ordered and requested, by whom and when."""

from __future__ import annotations

from blocks.ids import Action, Callback
from bot.scheduler import run_due_work
from bot.services.accounts import show_account
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
