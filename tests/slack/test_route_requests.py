"""Requests the plan rules route to the CSM or Sales, end to end: what was asked and its
price reach whoever handles it, under one reference the requester gets by DM and sees in
App Home. The price is the server's, computed when asked; the button only says how many."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from blocks.ids import Action, Block, Callback
from bot.domain.money import format_money
from bot.domain.pricing import build_quote
from bot.models import AddRequest, AuditEntry, Ticket
from bot.sandbox.slack_side import button_action, find_element, view_actions
from bot.services.accounts import show_account
from bot.services.outbox import PostCsmRequest, enqueue_now
from tests.slack.driver import CSM_CHANNEL, Workspace, assert_calls_ok, block_text

IRA, GIL, CASEY = "U0IRA", "U0GIL", "U0CSM"


async def requests_made(ws: Workspace) -> list[AddRequest]:
    async with ws.services.reading() as session:
        return list(await session.scalars(select(AddRequest).order_by(AddRequest.id)))


async def price_of(ws: Workspace, row: AddRequest) -> tuple[str, str]:
    """(due today, next cycle) as the add modal shows them for the request's number at the
    moment it was made: the one proration rule, applied here independently."""
    assert row.wanted is not None
    terms = (await show_account(ws.services, row.account_id)).terms
    quote = build_quote(terms, row.wanted, row.created_at)
    return (
        format_money(quote.due_today_minor, quote.currency),
        format_money(quote.next_cycle_minor, quote.currency),
    )


def dm_texts(ws: Workspace, user: str) -> list[str]:
    return [m["text"] for m in ws.slack.messages.get(ws.slack.dm_channel(user), [])]


async def ira_asks_casey_for(ws: Workspace, text: str) -> dict[str, Any]:
    """Ira types `/licenses TEXT`, gets the plan modal (Initech adds through its CSM) and
    clicks Ask my CSM; the plan modal is returned."""
    ws.team_id = "T0INITECH"
    await ws.command(IRA, text)
    await ws.settle()
    view = ws.modal(IRA)
    assert view["callback_id"] == Callback.PLAN
    await ws.click_in_view(IRA, view, Action.ASK_CSM)
    await ws.settle()
    return view


async def test_ira_asks_for_2_and_casey_reads_who_what_and_how_much(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0INITECH"
    await ws.command(IRA, "add 2")
    await ws.settle()

    # The plan modal keeps the 2: its button carries it, and the modal says so.
    plan = ws.modal(IRA)
    assert plan["callback_id"] == Callback.PLAN
    button, _ = find_element(plan["blocks"], Action.ASK_CSM)
    assert json.loads(button["value"]) == {"account_id": "initech", "wanted": 2}
    assert "*Ask my CSM* sends your request to add 2 licenses" in block_text(plan["blocks"])

    await ws.click_in_view(IRA, plan, Action.ASK_CSM)
    await ws.settle()

    [row] = await requests_made(ws)
    assert (row.reference, row.route, row.wanted, row.requested_by) == ("LR-00001", "csm", 2, IRA)
    due, then = await price_of(ws, row)
    assert then == "$15,400.00"  # 14 × $1,100.00

    # Casey, in #csm-requests, is addressed and told who, which account, how many, how much.
    [post] = ws.slack.messages[CSM_CHANNEL]
    posted = block_text(post["blocks"])
    assert (
        f":inbox_tray: <@{CASEY}>, <@{IRA}> of *Initech* (Enterprise, 12 licenses) asks to add "
        f"2 licenses: {due} due today, then {then} per year."
    ) in posted
    assert "Reference `LR-00001`" in posted
    assert "LR-00001" in post["text"] and "2 licenses" in post["text"]
    # …and is never told to contact herself.
    assert "contact your Customer Success Manager" not in posted
    assert "Casey Doe" not in posted

    # Ira reads, in the same modal and by DM, what she asked, of whom, and the reference.
    confirmed = ws.modal(IRA)
    assert confirmed["id"] == plan["id"]
    assert (
        "Sent. Casey Doe has your request to add 2 licenses (reference `LR-00001`)"
        in block_text(confirmed["blocks"])
    )
    assert dm_texts(ws, IRA) == [
        f":white_check_mark: Sent. Casey Doe, your Customer Success Manager, has your request "
        f"to add 2 licenses to Initech: {due} due today, then {then} per year. "
        f"Your reference: LR-00001."
    ]

    # Her App Home lists it, with the same reference and price.
    await ws.open_home(IRA)
    await ws.settle()
    home = block_text(ws.slack.homes[IRA]["blocks"])
    assert "*Requests for more licenses*" in home
    assert "`LR-00001` · " in home
    assert f"+2 asked of your CSM · {due} due today, then {then} per year · <@{IRA}>" in home

    # On record with the number and the price.
    async with ws.services.reading() as session:
        [entry] = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "request.csm")
        )
    assert entry.detail["request"] == "LR-00001" and entry.detail["wanted"] == 2
    assert entry.detail["due_today_minor"] == row.due_today_minor
    assert_calls_ok(ws)


async def test_the_button_is_a_pointer_the_price_is_the_servers(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0INITECH"
    await ws.command(IRA, "add 2")
    await ws.settle()
    plan = ws.modal(IRA)
    button, _ = find_element(plan["blocks"], Action.ASK_CSM)

    # A value edited on the way: a number is only a number; a price in it is not read.
    button["value"] = json.dumps({"account_id": "initech", "wanted": 5, "due_today": "0.01"})
    await ws.click_in_view(IRA, plan, Action.ASK_CSM)
    await ws.settle()
    [row] = await requests_made(ws)
    assert row.wanted == 5
    due, then = await price_of(ws, row)
    assert then == "$18,700.00"  # 17 × $1,100.00
    posted = block_text(ws.slack.messages[CSM_CHANNEL][0]["blocks"])
    assert f"asks to add 5 licenses: {due} due today, then {then} per year." in posted
    assert "$0.01" not in posted

    # A count that can't be asked for opens nothing and records nothing.
    await ws.command(IRA, "add 2")
    await ws.settle()
    plan = ws.modal(IRA)
    button, _ = find_element(plan["blocks"], Action.ASK_CSM)
    button["value"] = json.dumps({"account_id": "initech", "wanted": 0})
    await ws.click_in_view(IRA, plan, Action.ASK_CSM)
    await ws.settle()
    assert len(await requests_made(ws)) == 1
    assert "This form or button is out of date" in dm_texts(ws, IRA)[-1]


async def test_a_replayed_click_is_one_request(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0INITECH"
    await ws.command(IRA, "add 2")
    await ws.settle()
    plan = ws.modal(IRA)
    button, block_id = find_element(plan["blocks"], Action.ASK_CSM)
    click = view_actions(
        ws.user(IRA), plan, [button_action(button, block_id)], ws.slack.new_trigger_id(IRA)
    )

    for _ in range(2):
        await ws.post_payload(click)
        await ws.settle()

    [row] = await requests_made(ws)
    assert row.reference == "LR-00001"
    assert len(ws.slack.messages[CSM_CHANNEL]) == 1
    assert len(dm_texts(ws, IRA)) == 1


async def test_app_home_ask_my_csm_asks_for_more_and_the_dm_is_the_confirmation(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.team_id = "T0INITECH"
    await ws.open_home(IRA)
    await ws.settle()
    await ws.click_in_view(IRA, ws.slack.homes[IRA], Action.ASK_CSM)
    await ws.settle()

    [row] = await requests_made(ws)
    assert row.wanted is None and row.due_today_minor is None
    # One DM: what was asked, of whom, the price per license, and the reference.
    assert dm_texts(ws, IRA) == [
        ":white_check_mark: Sent. Casey Doe, your Customer Success Manager, has your request "
        "for more licenses for Initech: $1,100.00 per license per year. "
        "Your reference: LR-00001."
    ]
    posted = block_text(ws.slack.messages[CSM_CHANNEL][0]["blocks"])
    assert (
        f"<@{CASEY}>, <@{IRA}> of *Initech* (Enterprise, 12 licenses) asks for more licenses "
        "(no number given; $1,100.00 per license per year)."
    ) in posted
    # Home was drawn again with the request in it.
    home = block_text(ws.slack.homes[IRA]["blocks"])
    assert "`LR-00001`" in home and "more licenses asked of your CSM" in home
    assert_calls_ok(ws)


async def test_gil_beyond_5_gets_sales_ticket_and_the_same_reference(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0GLOBEX"
    await ws.command(GIL, "add")
    await ws.settle()
    view = ws.modal(GIL)
    await ws.type_number(GIL, Block.ADD_COUNT, Action.ADD_COUNT, "3")
    await ws.settle()
    view = ws.modal(GIL)
    await ws.click_in_view(GIL, view, Action.CONTACT_SALES)
    await ws.settle()

    [row] = await requests_made(ws)
    assert (row.reference, row.route, row.wanted) == ("LR-00001", "sales", 3)
    due, then = await price_of(ws, row)
    assert then == "$7,200.00"  # 6 × $1,200.00

    # The Contact Sales modal names the request.
    sales = ws.modal(GIL)
    assert sales["title"]["text"] == "Contact Sales"
    assert "Your request `LR-00001` is with Sales." in block_text(sales["blocks"])

    # Sales' ticket carries the reference, the number and the price.
    async with ws.services.reading() as session:
        [ticket] = (await session.scalars(select(Ticket))).all()
    assert ticket.subject == "Globex asks to add 3 licenses (LR-00001)"
    assert f"asking to add 3 licenses: {due} due today, then {then} per year" in ticket.body
    assert row.ticket_reference == ticket.reference

    # Gil's DM: what, to whom, the reference and the ticket.
    assert dm_texts(ws, GIL) == [
        f":white_check_mark: Sent. Sales has your request to add 3 licenses to Globex: "
        f"{due} due today, then {then} per year. Your reference: LR-00001 "
        f"(Sales ticket {ticket.reference})."
    ]
    # No CSM post for a Sales request; App Home lists it with its ticket.
    assert CSM_CHANNEL not in ws.slack.messages
    await ws.open_home(GIL)
    await ws.settle()
    home = block_text(ws.slack.homes[GIL]["blocks"])
    assert (
        f"+3 asked of Sales · {due} due today, then {then} per year · ticket {ticket.reference}"
    ) in home
    assert_calls_ok(ws)


async def test_a_request_queued_before_references_is_recorded_when_it_runs(
    workspace: Workspace,
) -> None:
    """An outbox entry written by the previous version (no request id) is not lost: it
    becomes a request with a reference and a price, once, and is carried out as one."""
    ws = workspace
    await enqueue_now(ws.services, PostCsmRequest(account_id="initech", requester=IRA, wanted=2))
    for _ in range(3):
        await ws.runtime.effects.drain()

    [row] = await requests_made(ws)
    assert (row.reference, row.wanted, row.team_id) == ("LR-00001", 2, "T0INITECH")
    due, then = await price_of(ws, row)
    [post] = ws.slack.messages[CSM_CHANNEL]
    assert f"<@{CASEY}>, <@{IRA}> of *Initech*" in block_text(post["blocks"])
    assert f"asks to add 2 licenses: {due} due today, then {then} per year." in block_text(
        post["blocks"]
    )
    assert dm_texts(ws, IRA)[0].endswith("Your reference: LR-00001.")


async def test_ira_asks_for_2_on_postgresql(pg_workspace: Workspace) -> None:
    """The same request on PostgreSQL (the account row lock, the reference, the quote)."""
    await test_ira_asks_for_2_and_casey_reads_who_what_and_how_much(pg_workspace)
