"""Ask an admin, end to end: what the member typed reaches the admins, whose one button
opens that form pre-filled, for an admin of that account and nobody else."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from blocks.ids import Action, Block, Callback, RemovalBlock, RemovalCallback
from bot.models import AuditEntry
from bot.services.access import resolve_access
from handlers import licenses_command
from tests.slack.driver import (
    GENERAL,
    Workspace,
    assert_calls_ok,
    block_text,
    find_element,
)

ANN, BOB, ERIN, GIL = "U0ANN", "U0BOB", "U0ERIN", "U0GIL"
OUT_OF_DATE = "This form or button is out of date"


def input_element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element: dict[str, Any] = block["element"]
    return element


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


async def bob_asks(ws: Workspace, text: str) -> dict[str, Any]:
    """Bob types `/licenses TEXT`, is refused, clicks Ask an admin; Ann's DM is returned."""
    await ws.command(BOB, text)
    await ws.settle()
    assert ws.slack.calls_to("views.open") == []
    [refusal] = ws.slack.ephemerals
    assert refusal["user"] == BOB
    await ws.click_in_message(BOB, GENERAL, refusal, Action.ASK_ADMINS)
    await ws.settle()
    assert [e["text"] for e in ws.slack.ephemerals] == [
        ":white_check_mark: Sent to 2 admins of Acme Corp."
    ]
    [dm] = ws.slack.messages[ws.slack.dm_channel(ANN)]
    return dm


async def test_remove_2_reaches_the_admins_who_open_the_removal_form_with_2(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ws.command(BOB, "remove 2")
    await ws.settle()

    [refusal] = ws.slack.ephemerals
    told = block_text(refusal["blocks"])
    assert "Only license admins of *Acme Corp* can change licenses." in told
    assert "*Ask an admin* sends them your request to remove 2 licenses." in told
    [ask] = buttons(refusal["blocks"])
    assert ask["action_id"] == Action.ASK_ADMINS
    # A pointer: the account and what was asked, nothing else.
    assert json.loads(ask["value"]) == {"account_id": "acme", "ask": "remove", "count": 2}

    ws.slack.clear()
    await ws.click_in_message(BOB, GENERAL, refusal, Action.ASK_ADMINS)
    await ws.settle()

    for admin in (ANN, ERIN):
        [dm] = ws.slack.messages[ws.slack.dm_channel(admin)]
        read = block_text(dm["blocks"])
        assert "<@U0BOB> asks to remove 2 licenses from *Acme Corp*." in read
        assert "more licenses" not in read and "/licenses add" not in read
        assert dm["text"] == "A colleague asks to remove 2 licenses from Acme Corp"
        [answer] = buttons(dm["blocks"])
        assert (answer["action_id"], answer["text"]["text"]) == (
            Action.ANSWER_ADMIN_REQUEST,
            "Request removal",
        )

    # The hand-off is on record with what was asked.
    async with ws.services.reading() as session:
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "request.admins")
        )
        assert [(e.actor, e.detail) for e in entries] == [(BOB, {"ask": "remove", "wanted": 2})]

    # Erin, an admin listed by email, answers: the removal form opens with 2 in it.
    erin_dm = ws.slack.messages[ws.slack.dm_channel(ERIN)][0]
    await ws.click_in_message(ERIN, ws.slack.dm_channel(ERIN), erin_dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    view = ws.modal(ERIN)
    assert view["callback_id"] == RemovalCallback.REQUEST
    assert input_element(view, RemovalBlock.COUNT).get("initial_value") == "2"
    assert "*Acme Corp* has 10 licenses." in block_text(view["blocks"])
    assert RemovalBlock.PROBLEM not in {b.get("block_id") for b in view["blocks"]}
    assert ws.metadata(view)["account_id"] == "acme"
    assert_calls_ok(ws)


async def test_add_3_reaches_the_admins_who_open_the_add_modal_with_its_quote(
    workspace: Workspace,
) -> None:
    ws = workspace
    dm = await bob_asks(ws, "add 3")
    read = block_text(dm["blocks"])
    assert "<@U0BOB> asks to add 3 licenses to *Acme Corp*." in read
    assert "*Add licenses* opens the form with 3 filled in" in read
    [answer] = buttons(dm["blocks"])
    assert answer["text"]["text"] == "Add licenses"

    await ws.click_in_message(ANN, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    # The modal `/licenses add 3` opens: 3 typed, its price shown, Ann's own to order.
    assert len(ws.slack.calls_to("views.open")) == 1
    view = ws.modal(ANN)
    assert view["callback_id"] == Callback.ADD
    assert view["submit"]["text"] == "Order Now"
    element = input_element(view, Block.ADD_COUNT)
    assert (element["action_id"], element["initial_value"]) == (Action.ADD_COUNT, "3")
    shown = block_text(view["blocks"])
    assert "*Total Licenses*\n13 (10 + 3)" in shown
    assert "*Price Details*\n$637.00 per month" in shown
    state = ws.metadata(view)
    assert state["quote"]["added"] == 3
    assert (state["viewer"], state["team_id"], state["account_id"]) == (ANN, "T0ACME", "acme")
    assert_calls_ok(ws)


@pytest.mark.parametrize("text", ["", "plan"])
async def test_licenses_alone_asks_to_manage_and_opens_the_plan(
    workspace: Workspace, text: str
) -> None:
    ws = workspace
    await ws.command(BOB, text)
    await ws.settle()
    [refusal] = ws.slack.ephemerals
    assert "sends them your request to manage licenses." in block_text(refusal["blocks"])
    ws.slack.clear()
    await ws.click_in_message(BOB, GENERAL, refusal, Action.ASK_ADMINS)
    await ws.settle()

    [dm] = ws.slack.messages[ws.slack.dm_channel(ANN)]
    read = block_text(dm["blocks"])
    assert "<@U0BOB> asks to manage licenses for *Acme Corp*." in read
    assert "more licenses" not in read
    [answer] = buttons(dm["blocks"])
    assert answer["text"]["text"] == "Open plan"

    await ws.click_in_message(ANN, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    view = ws.modal(ANN)
    assert view["callback_id"] == Callback.PLAN
    assert "*Licenses*\n10" in block_text(view["blocks"])
    assert_calls_ok(ws)


@pytest.mark.parametrize(
    ("text", "asked", "told"),
    [
        ("add", "asks for more licenses for *Acme Corp*.", "your request for more licenses."),
        ("add abc", "asks for more licenses for *Acme Corp*.", "your request for more licenses."),
        ("remove", "asks to remove licenses from *Acme Corp*.", "request to remove licenses."),
        ("remove 1", "asks to remove 1 license from *Acme Corp*.", "request to remove 1 license."),
    ],
)
async def test_without_a_usable_number_the_form_opens_empty(
    workspace: Workspace, text: str, asked: str, told: str
) -> None:
    ws = workspace
    await ws.command(BOB, text)
    await ws.settle()
    assert told in block_text(ws.slack.ephemerals[0]["blocks"])
    ws.slack.clear()
    await ws.click_in_message(BOB, GENERAL, ws.slack.ephemerals[0], Action.ASK_ADMINS)
    await ws.settle()
    [dm] = ws.slack.messages[ws.slack.dm_channel(ANN)]
    assert f"<@U0BOB> {asked}" in block_text(dm["blocks"])

    await ws.click_in_message(ANN, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    view = ws.modal(ANN)
    if text.startswith("add"):
        assert view["callback_id"] == Callback.ADD
        assert "initial_value" not in input_element(view, Block.ADD_COUNT)
    else:
        assert view["callback_id"] == RemovalCallback.REQUEST
        expected = "1" if text == "remove 1" else None
        assert input_element(view, RemovalBlock.COUNT).get("initial_value") == expected
    assert_calls_ok(ws)


async def test_a_member_who_clicks_the_admins_button_is_told_only_admins_can(
    workspace: Workspace,
) -> None:
    ws = workspace
    dm = await bob_asks(ws, "remove 2")
    seen = len(ws.slack.ephemerals)

    # Bob (no admin) presses the button from Ann's DM: the value proves nothing.
    answer = await ws.click_in_message(
        BOB, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST
    )
    await ws.settle()

    assert answer.status == 200
    assert ws.slack.calls_to("views.open") == []
    [told] = ws.slack.ephemerals[seen:]
    assert told["user"] == BOB
    assert told["text"] == ":warning: Only license admins can ask to remove licenses."
    assert_calls_ok(ws)


async def test_an_admin_of_another_account_opens_nothing_for_this_one(
    workspace: Workspace,
) -> None:
    ws = workspace
    dm = await bob_asks(ws, "add 3")
    seen = len(ws.slack.ephemerals)

    # Gil administers Globex; a button naming Acme is not his to answer.
    await ws.click_in_message(GIL, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    assert ws.slack.calls_to("views.open") == []
    [told] = ws.slack.ephemerals[seen:]
    assert told["user"] == GIL and OUT_OF_DATE in told["text"]


async def test_a_tampered_count_is_refused_before_anything_opens(workspace: Workspace) -> None:
    ws = workspace
    dm = await bob_asks(ws, "add 3")
    button, _ = find_element(dm["blocks"], Action.ANSWER_ADMIN_REQUEST)
    button["value"] = json.dumps({"account_id": "acme", "ask": "add", "count": 0})
    seen = len(ws.slack.ephemerals)

    await ws.click_in_message(ANN, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    assert ws.slack.calls_to("views.open") == []
    [told] = ws.slack.ephemerals[seen:]
    assert told["user"] == ANN and OUT_OF_DATE in told["text"]


async def test_the_app_home_ask_still_asks_for_more_licenses(workspace: Workspace) -> None:
    ws = workspace
    await ws.open_home(BOB)
    await ws.settle()
    home = ws.slack.homes[BOB]
    await ws.click_in_view(BOB, home, Action.ASK_ADMINS)
    await ws.settle()

    [dm] = ws.slack.messages[ws.slack.dm_channel(ANN)]
    assert "<@U0BOB> asks for more licenses for *Acme Corp*." in block_text(dm["blocks"])
    await ws.click_in_message(ANN, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    view = ws.modal(ANN)
    assert view["callback_id"] == Callback.ADD
    assert "initial_value" not in input_element(view, Block.ADD_COUNT)
    assert_calls_ok(ws)


async def test_when_the_lookup_is_slow_a_loading_modal_becomes_the_answer(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    dm = await bob_asks(ws, "add 3")
    # Past the trigger's budget a light modal opens at once and is replaced when ready.
    monkeypatch.setattr(licenses_command, "TRIGGER_BUDGET_SECONDS", 0.01)

    async def slow_access(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.1)
        return await resolve_access(*args, **kwargs)

    monkeypatch.setattr("handlers.middleware.resolve_access", slow_access)
    ws.slack.clear()

    await ws.click_in_message(ANN, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    [opened] = ws.slack.calls_to("views.open")
    assert [call.params["view_id"] for call in ws.slack.calls_to("views.update")] == [
        opened.response["view"]["id"]
    ]
    view = ws.modal(ANN)
    assert view["callback_id"] == Callback.ADD
    assert input_element(view, Block.ADD_COUNT)["initial_value"] == "3"

    # Bob pressing it is refused in that modal too, and in words where he clicked.
    await ws.click_in_message(BOB, ws.slack.dm_channel(ANN), dm, Action.ANSWER_ADMIN_REQUEST)
    await ws.settle()

    refused = ws.modal(BOB)
    assert refused["callback_id"] == Callback.INFO
    assert ":warning: Only license admins can add licenses." in block_text(refused["blocks"])
    assert ws.slack.ephemerals[-1]["user"] == BOB
    assert ws.slack.ephemerals[-1]["text"] == ":warning: Only license admins can add licenses."
    assert_calls_ok(ws)
