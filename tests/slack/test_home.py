"""App Home: published on app_home_opened, for admins, for everyone else, for strangers."""

from __future__ import annotations

from typing import Any

from blocks.ids import Action, Block, Callback
from bot.readmodels import AdminIdentity
from bot.services.orders import place_order
from tests.slack.driver import CSM_CHANNEL, Workspace, assert_calls_ok, block_text, find_element


def home_buttons(home: dict[str, Any]) -> dict[str, str]:
    block = next(b for b in home["blocks"] if b.get("block_id") == Block.HOME_ACTIONS)
    return {element["action_id"]: element["text"]["text"] for element in block["elements"]}


async def open_home(ws: Workspace, user: str) -> dict[str, Any]:
    answer = await ws.open_home(user)
    assert answer.status == 200
    await ws.settle()
    publish = ws.slack.last("views.publish")
    assert publish.params["user_id"] == user
    home: dict[str, Any] = ws.slack.homes[user]
    return home


async def test_admin_home_shows_the_plan_buttons_and_recent_orders(workspace: Workspace) -> None:
    ws = workspace
    first = await place_order(ws.services, "acme", AdminIdentity("U0ANN"), 2, "home-1", None)
    second = await place_order(
        ws.services, "acme", AdminIdentity("U0ERIN", "erin@acme.example"), 5, "home-2", None
    )

    home = await open_home(ws, "U0ANN")

    text = block_text(home["blocks"])
    for expected in (
        "Acme Corp licenses",
        "*Plan*\nPro",
        "*Billing*\nMonthly",
        "*Licenses*\n17",
        "*Price per additional license*\n$49.00 per month",
        "*Customer Success Manager*\n<@U0CSM>",
        "*Recent orders*",
        f"`{first.reference}`",
        "+2 (10 → 12)",
        f"`{second.reference}`",
        "+5 (12 → 17)",
        "<@U0ERIN>",
    ):
        assert expected in text
    assert "No orders yet" not in text
    # Newest first.
    assert text.index(second.reference) < text.index(first.reference)
    assert home_buttons(home) == {
        Action.OPEN_ADD: "Add licenses",
        Action.REQUEST_REMOVAL: "Request removal",
        Action.CONTACT_SUPPORT: "Contact support",
        Action.OPEN_HISTORY: "History",
    }
    assert_calls_ok(ws)


async def test_admin_by_email_gets_the_plan_home_and_can_add_from_it(workspace: Workspace) -> None:
    ws = workspace
    home = await open_home(ws, "U0ERIN")
    text = block_text(home["blocks"])
    assert "*Licenses*\n10" in text
    assert "No orders yet." in text

    await ws.click_in_view("U0ERIN", home, Action.OPEN_ADD)
    await ws.settle()

    # From App Home the add modal opens as a new modal (nothing to push onto).
    assert [v["callback_id"] for v in ws.slack.modal_stack("U0ERIN")] == [Callback.ADD]
    assert ws.slack.calls_to("views.push") == []
    assert_calls_ok(ws)


async def test_non_admin_home_offers_to_ask_an_admin(workspace: Workspace) -> None:
    ws = workspace
    home = await open_home(ws, "U0BOB")

    text = block_text(home["blocks"])
    assert "Only license admins of *Acme Corp* can manage licenses here." in text
    assert "*Plan*" not in text
    assert "Recent orders" not in text
    button, _ = find_element(home["blocks"], Action.ASK_ADMINS)
    assert button["text"]["text"] == "Ask an admin"
    assert find_element_or_none(home, Action.OPEN_ADD) is None

    await ws.click_in_view("U0BOB", home, Action.ASK_ADMINS)
    await ws.settle()

    for admin in ("U0ANN", "U0ERIN"):
        [dm] = ws.slack.messages[ws.slack.dm_channel(admin)]
        assert "<@U0BOB> asks for more licenses for *Acme Corp*." in block_text(dm["blocks"])
    # No response_url from App Home: Bob is answered by DM.
    [confirmation] = ws.slack.messages[ws.slack.dm_channel("U0BOB")]
    assert confirmation["text"] == ":white_check_mark: Sent to 2 admins of Acme Corp."
    assert_calls_ok(ws)


async def test_unknown_workspace_home_says_it_is_not_linked(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0ELSEWHERE"
    home = await open_home(ws, "U0NOBODY")

    text = block_text(home["blocks"])
    assert "not linked to a licensing account" in text
    assert "`T0ELSEWHERE`" in text
    assert "https://support.vendor.example" in text
    assert find_element_or_none(home, Action.ASK_ADMINS) is None
    assert_calls_ok(ws)


async def test_csm_account_home_routes_to_the_csm(workspace: Workspace) -> None:
    ws = workspace
    ws.team_id = "T0INITECH"
    home = await open_home(ws, "U0IRA")

    assert home_buttons(home)[Action.ASK_CSM] == "Ask my CSM"
    assert Action.OPEN_ADD not in home_buttons(home)
    assert "more than 5 licenses" in block_text(home["blocks"])

    await ws.click_in_view("U0IRA", home, Action.ASK_CSM)
    await ws.settle()

    [post] = ws.slack.messages[CSM_CHANNEL]
    assert "<@U0CSM>, <@U0IRA> of *Initech*" in block_text(post["blocks"])
    # One DM confirms it: what was asked, of whom, and the reference.
    [confirmation] = ws.slack.messages[ws.slack.dm_channel("U0IRA")]
    assert (
        "Sent. Casey Doe, your Customer Success Manager, has your request" in (confirmation["text"])
    )
    assert "Your reference: LR-00001." in confirmation["text"]
    assert "`LR-00001`" in block_text(ws.slack.homes["U0IRA"]["blocks"])
    assert_calls_ok(ws)


async def test_home_is_refreshed_after_an_order_in_slack(workspace: Workspace) -> None:
    ws = workspace
    home = await open_home(ws, "U0ANN")
    assert "No orders yet." in block_text(home["blocks"])

    await ws.command("U0ANN", "add 4")
    await ws.settle()
    view = ws.modal("U0ANN")
    await ws.submit(
        "U0ANN",
        {Block.ADD_COUNT: {Action.ADD_COUNT: {"type": "number_input", "value": "4"}}},
        view=view,
    )
    await ws.settle()

    home = ws.slack.homes["U0ANN"]
    text = block_text(home["blocks"])
    assert "+4 (10 → 14)" in text
    assert "*Licenses*\n14" in text
    assert "No orders yet." not in text
    assert_calls_ok(ws)


def find_element_or_none(view: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    try:
        return find_element(view["blocks"], action_id)[0]
    except LookupError:
        return None
