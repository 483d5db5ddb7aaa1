"""/licenses as people type it: admins by ID or email, non-admins, strangers, subcommands."""

from __future__ import annotations

from typing import Any

import pytest

from blocks.ids import Action, Block, Callback, RemovalAction, RemovalBlock, RemovalCallback
from tests.periods import day, monthly_period
from tests.slack.driver import (
    CSM_CHANNEL,
    GENERAL,
    Workspace,
    assert_calls_ok,
    block_text,
    find_element,
)


def button_labels(view: dict[str, Any], block_id: str) -> dict[str, str]:
    """action_id -> label of the buttons in one actions block."""
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return {element["action_id"]: element["text"]["text"] for element in block["elements"]}


def input_element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The element of the input block `block_id`."""
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    assert block["type"] == "input"
    element: dict[str, Any] = block["element"]
    return element


async def test_admin_by_slack_id_sees_the_plan_modal(workspace: Workspace) -> None:
    ws = workspace
    answer = await ws.command("U0ANN")
    assert answer.status == 200
    await ws.settle()

    view = ws.modal("U0ANN")
    assert view["callback_id"] == Callback.PLAN
    assert ws.metadata(view) == {"account_id": "acme"}
    text = block_text(view["blocks"])
    start, end = monthly_period(ws.clock())
    for expected in (
        "Acme Corp",
        "*Plan*\nPro",
        "*Billing*\nMonthly",
        "*Licenses*\n10",
        "*Price per additional license*\n$49.00 per month",
        f"*Current period*\n{day(start)} – {day(end)}",
        f"*Renews*\n{day(end)} at $490.00",
        "*Customer Success Manager*\n<@U0CSM>",
    ):
        assert expected in text
    assert button_labels(view, Block.PLAN_ACTIONS) == {
        Action.OPEN_ADD: "Add licenses",
        Action.REQUEST_REMOVAL: "Request removal",
        Action.CONTACT_SUPPORT: "Contact support",
    }
    # Admin by ID: no directory look-up, and the modal opened straight away.
    assert ws.slack.calls_to("users.info") == []
    assert len(ws.slack.calls_to("views.open")) == 1
    assert ws.slack.calls_to("response_url") == []
    assert_calls_ok(ws)


async def test_plan_is_also_the_explicit_subcommand(workspace: Workspace) -> None:
    await workspace.command("U0ANN", "PLAN")
    await workspace.settle()
    assert workspace.modal("U0ANN")["callback_id"] == Callback.PLAN


async def test_admin_by_email_is_recognised_through_users_info(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0ERIN")
    await ws.settle()

    view = ws.modal("U0ERIN")
    assert view["callback_id"] == Callback.PLAN
    assert "*Licenses*\n10" in block_text(view["blocks"])
    assert [call.params["user"] for call in ws.slack.calls_to("users.info")] == ["U0ERIN"]
    assert ws.slack.calls_to("response_url") == []
    assert_calls_ok(ws)


async def test_non_admin_is_told_who_the_admins_are_and_can_ask_them(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0BOB", "add 4")
    await ws.settle()

    assert ws.slack.calls_to("views.open") == []
    [posted] = ws.slack.calls_to("response_url")
    assert posted.params["response_type"] == "ephemeral"
    [ephemeral] = ws.slack.ephemerals
    assert ephemeral["user"] == "U0BOB"
    assert ephemeral["channel"] == GENERAL
    text = block_text(ephemeral["blocks"])
    assert "Only license admins of *Acme Corp* can change licenses." in text
    assert "<@U0ANN>" in text
    assert "erin@acme.example" in text
    button, _ = find_element(ephemeral["blocks"], Action.ASK_ADMINS)
    assert button["text"]["text"] == "Ask an admin"

    await ws.click_in_message("U0BOB", GENERAL, ephemeral, Action.ASK_ADMINS)
    await ws.settle()

    # Both admins get a DM; Erin is found by her email.
    assert [call.params["email"] for call in ws.slack.calls_to("users.lookupByEmail")] == [
        "erin@acme.example"
    ]
    for admin in ("U0ANN", "U0ERIN"):
        [dm] = ws.slack.messages[ws.slack.dm_channel(admin)]
        assert "<@U0BOB> asks to add 4 licenses to *Acme Corp*." in block_text(dm["blocks"])
        find_element(dm["blocks"], Action.ANSWER_ADMIN_REQUEST)
    assert ws.slack.dm_channel("U0BOB") not in ws.slack.messages
    # Bob's ephemeral message is replaced by the confirmation.
    assert [e["text"] for e in ws.slack.ephemerals] == [
        ":white_check_mark: Sent to 2 admins of Acme Corp."
    ]
    assert_calls_ok(ws)


async def test_unknown_workspace_is_told_how_to_get_linked(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0NOBODY", "", team_id="T0ELSEWHERE")
    await ws.settle()

    assert ws.slack.calls_to("views.open") == []
    [ephemeral] = ws.slack.ephemerals
    assert ephemeral["user"] == "U0NOBODY"
    assert "not linked to a licensing account" in ephemeral["text"]
    assert "`T0ELSEWHERE`" in ephemeral["text"]
    assert "https://support.vendor.example" in ephemeral["text"]
    assert_calls_ok(ws)


@pytest.mark.parametrize("user", ["U0ANN", "U0BOB"])
async def test_help_lists_the_subcommands(workspace: Workspace, user: str) -> None:
    ws = workspace
    await ws.command(user, "help")
    await ws.settle()

    assert ws.slack.calls_to("views.open") == []
    [ephemeral] = ws.slack.ephemerals
    text = block_text(ephemeral["blocks"])
    for line in ("`/licenses add [N]`", "`/licenses remove [N]`", "`/licenses help`"):
        assert line in text
    assert "I don't know" not in text
    assert_calls_ok(ws)


@pytest.mark.parametrize("text", ["frobnicate", "buy 3 please"])
async def test_unknown_subcommand_answers_with_the_help(workspace: Workspace, text: str) -> None:
    ws = workspace
    await ws.command("U0ANN", text)
    await ws.settle()

    assert ws.slack.calls_to("views.open") == []
    [ephemeral] = ws.slack.ephemerals
    shown = block_text(ephemeral["blocks"])
    assert f"I don't know `/licenses {text}`." in shown
    assert "`/licenses add [N]`" in shown
    assert_calls_ok(ws)


async def test_add_with_a_number_opens_the_add_modal_with_its_quote(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0ANN", "add 3")
    await ws.settle()

    view = ws.modal("U0ANN")
    assert view["callback_id"] == Callback.ADD
    assert view["submit"]["text"] == "Order Now"
    element = input_element(view, Block.ADD_COUNT)
    assert (element["action_id"], element["initial_value"]) == (Action.ADD_COUNT, "3")
    text = block_text(view["blocks"])
    assert "*Total Licenses*\n13 (10 + 3)" in text
    assert "*Price Details*\n$637.00 per month" in text
    state = ws.metadata(view)
    assert state["quote"]["added"] == 3
    assert state["idempotency_key"].startswith("add-")
    assert_calls_ok(ws)


async def test_add_without_a_number_asks_for_one(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0ANN", "add")
    await ws.settle()

    view = ws.modal("U0ANN")
    assert view["callback_id"] == Callback.ADD
    element = input_element(view, Block.ADD_COUNT)
    assert "initial_value" not in element
    # No bounds for Slack to check in its own words: the bot explains every count.
    assert element["type"] == "plain_text_input"
    assert "min_value" not in element and "max_value" not in element
    assert "You can add up to 1,000 now." in block_text(view["blocks"])
    assert "Enter a number to see the price." in block_text(view["blocks"])
    assert ws.metadata(view)["quote"] is None


@pytest.mark.parametrize(("text", "initial"), [("remove", None), ("remove 2", "2")])
async def test_remove_opens_the_removal_request_modal(
    workspace: Workspace, text: str, initial: str | None
) -> None:
    ws = workspace
    await ws.command("U0ANN", text)
    await ws.settle()

    view = ws.modal("U0ANN")
    assert view["callback_id"] == RemovalCallback.REQUEST
    assert view["title"]["text"] == "Remove licenses"
    assert "*Acme Corp* has 10 licenses." in block_text(view["blocks"])
    element = input_element(view, RemovalBlock.COUNT)
    assert element["action_id"] == RemovalAction.COUNT
    assert element.get("initial_value") == initial
    assert "max_value" not in element
    assert "at most 9 can be removed" in block_text(view["blocks"])
    assert RemovalBlock.PROBLEM not in {b.get("block_id") for b in view["blocks"]}
    assert_calls_ok(ws)


@pytest.mark.parametrize(
    ("team_id", "admin", "name", "plan"),
    [
        ("T0INITECH", "U0IRA", "Initech", "Enterprise"),
        ("T0UMBRELLA", "U0UMA", "Umbrella", "Gong Edition"),
    ],
)
async def test_csm_accounts_get_ask_my_csm_instead_of_add(
    workspace: Workspace, team_id: str, admin: str, name: str, plan: str
) -> None:
    ws = workspace
    ws.team_id = team_id
    for text in ("", "add", "add 2"):
        await ws.command(admin, text)
        await ws.settle()
        view = ws.modal(admin)
        assert view["callback_id"] == Callback.PLAN, text
        labels = button_labels(view, Block.PLAN_ACTIONS)
        # Gong Edition goes through the CSM or Sales: both ways are offered.
        sales = {Action.CONTACT_SALES: "Contact Sales"} if plan == "Gong Edition" else {}
        assert labels == {
            Action.ASK_CSM: "Ask my CSM",
            **sales,
            Action.REQUEST_REMOVAL: "Request removal",
            Action.CONTACT_SUPPORT: "Contact support",
        }
        shown = block_text(view["blocks"])
        assert f"*Plan*\n{plan}" in shown
        assert "Customer Success Manager" in shown

    await ws.click_in_view(admin, view, Action.ASK_CSM)
    await ws.settle()

    # The last modal was `/licenses add 2`'s: the 2 goes with the request.
    [post] = ws.slack.messages[CSM_CHANNEL]
    posted = block_text(post["blocks"])
    assert f"<@U0CSM>, <@{admin}> of *{name}* ({plan}, " in posted
    assert "asks to add 2 licenses: $" in posted
    assert "Reference `LR-00001`" in posted
    assert "contact your Customer Success Manager" not in posted
    # The admin is told in the same modal, with the reference.
    confirmed = ws.modal(admin)
    assert confirmed["id"] == view["id"]
    assert confirmed["title"]["text"] == "Ask my CSM"
    assert (
        "Sent. Casey Doe has your request to add 2 licenses (reference `LR-00001`)"
        in block_text(confirmed["blocks"])
    )
    assert_calls_ok(ws)


async def test_contact_support_shows_where_to_get_help(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0ANN")
    await ws.settle()
    plan = ws.modal("U0ANN")

    await ws.click_in_view("U0ANN", plan, Action.CONTACT_SUPPORT)
    await ws.settle()

    stack = ws.slack.modal_stack("U0ANN")
    assert [v["callback_id"] for v in stack] == [Callback.PLAN, Callback.INFO]
    text = block_text(stack[-1]["blocks"])
    assert "https://support.vendor.example" in text
    assert "sales@vendor.example" in text
    assert_calls_ok(ws)


# --- a count given with the command explains itself, in the words the form uses -------------


def problem_text(view: dict[str, Any]) -> str:
    """What the removal form says about the count given with the command."""
    return block_text([b for b in view["blocks"] if b.get("block_id") == RemovalBlock.PROBLEM])


@pytest.mark.parametrize(
    ("argument", "explanation"),
    [
        ("0", "Enter a number of licenses to remove, at least 1."),
        ("99", "The account has 10 licenses and keeps at least 1, so at most 9 can be removed."),
        ("10", "The account has 10 licenses and keeps at least 1, so at most 9 can be removed."),
        ("abc", "“abc” is not a whole number of licenses."),
    ],
)
async def test_remove_with_a_bad_number_explains_it_as_add_does(
    workspace: Workspace, argument: str, explanation: str
) -> None:
    ws = workspace
    await ws.command("U0ANN", f"add {argument}")
    await ws.settle()
    add = block_text(ws.modal("U0ANN")["blocks"])
    await ws.command("U0ANN", f"remove {argument}")
    await ws.settle()

    view = ws.modal("U0ANN")
    assert view["callback_id"] == RemovalCallback.REQUEST
    # What was typed is in the input, and the form says what is wrong with it…
    assert input_element(view, RemovalBlock.COUNT).get("initial_value") == argument
    assert problem_text(view) == f":warning: {explanation}"
    # …in the same style of sentence as add's.
    if argument in ("0", "abc"):
        assert f":warning: {explanation.replace('remove', 'add')}" in add
    # Sending it as it is: the input's own error says the same, in the same words.
    answer = await ws.submit(
        "U0ANN",
        {RemovalBlock.REASON: {RemovalAction.REASON: {"type": "plain_text_input", "value": "x"}}},
    )
    assert answer.json() == {
        "response_action": "errors",
        "errors": {RemovalBlock.COUNT: explanation},
    }
    assert_calls_ok(ws)


async def test_gong_edition_offers_its_csm_and_sales(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0UMBRELLA"
    await ws.command("U0UMA")
    await ws.settle()
    view = ws.modal("U0UMA")

    shown = block_text(view["blocks"])
    assert (
        "Gong Edition accounts add licenses through their Customer Success Manager or Sales "
        "contact: contact your Customer Success Manager, Casey Doe (casey@vendor.example), or "
        "Sales (sales@vendor.example)."
    ) in shown
    assert "through your Customer Success Manager" not in shown
    assert button_labels(view, Block.PLAN_ACTIONS)[Action.CONTACT_SALES] == "Contact Sales"

    # The Sales route is the one Enterprise accounts beyond 5 licenses get.
    await ws.click_in_view("U0UMA", view, Action.CONTACT_SALES)
    await ws.settle()
    sales = ws.modal("U0UMA")
    assert sales["title"]["text"] == "Contact Sales"
    assert "*sales@vendor.example*" in block_text(sales["blocks"])
    assert "`umbrella`" in block_text(sales["blocks"])
    assert "Your request `LR-00001` is with Sales." in block_text(sales["blocks"])

    await ws.open_home("U0UMA")
    await ws.settle()
    home = button_labels(ws.slack.homes["U0UMA"], Block.HOME_ACTIONS)
    assert (home[Action.ASK_CSM], home[Action.CONTACT_SALES]) == ("Ask my CSM", "Contact Sales")
    assert_calls_ok(ws)
