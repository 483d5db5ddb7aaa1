"""What a removal does to the renewal, and which reference to quote, as people read it.

Acme Corp (the demo account): Pro, monthly, 10 licenses at $49.00 per license per month.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from blocks.ids import RemovalAction, RemovalBlock
from bot.models import Account
from tests.slack.driver import Workspace, block_text
from tests.slack.removal_helpers import (
    ANN,
    APPROVE,
    CSM,
    ask,
    click,
    dms,
    request_values,
    text_of,
    the_post,
    view_text,
)

NO_REFUND = "No refund or credit for the current period."


async def open_removal(ws: Workspace, text: str = "remove") -> dict[str, Any]:
    await ws.command(ANN, text)
    await ws.settle()
    modal: dict[str, Any] = ws.modal(ANN)
    assert modal["callback_id"] == "removal_request"
    return modal


async def type_count(ws: Workspace, value: str) -> str:
    answer = await ws.type_in_view(ANN, RemovalBlock.COUNT, RemovalAction.COUNT, value)
    assert answer.status == 200
    await ws.settle()
    return block_text(ws.modal(ANN)["blocks"])


def timing_options(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (block,) = [b for b in modal["blocks"] if b.get("block_id") == RemovalBlock.TIMING]
    return {option["value"]: option for option in block["element"]["options"]}


async def test_the_removal_modal_shows_the_renewal_for_the_count_typed(
    workspace: Workspace,
) -> None:
    ws = workspace
    modal = await open_removal(ws)
    shown = block_text(modal["blocks"])
    # No count yet: the price per license, and what each removed license takes off.
    assert (
        "*Renewal:* $490.00 per month for 10 licenses. "
        "Each license removed lowers it by $49.00 per month." in shown
    )

    shown = await type_count(ws, "2")
    assert "*Renewal:* $490.00 → $392.00 per month" in shown
    assert "8 licenses × $49.00 instead of 10" in shown
    assert "Each license removed" not in shown

    shown = await type_count(ws, "10")
    # Explained beside the input, and no price for it.
    assert ":warning: The account has 10 licenses and keeps at least 1" in shown
    assert "→" not in shown and "Each license removed lowers it by $49.00" in shown

    shown = await type_count(ws, "9")
    assert "$490.00 → $49.00 per month" in shown and ":warning:" not in shown
    assert "1 license × $49.00 instead of 10" in shown

    # What was typed is still there to send, and the modal is still the same request.
    assert ws.modal(ANN)["id"] == modal["id"]
    values = ws.modal(ANN)["state"]["values"]
    assert values[RemovalBlock.COUNT][RemovalAction.COUNT]["value"] == "9"


async def test_a_count_given_with_the_command_shows_its_renewal(workspace: Workspace) -> None:
    shown = block_text((await open_removal(workspace, "remove 3"))["blocks"])
    assert "*Renewal:* $490.00 → $343.00 per month" in shown


async def test_as_soon_as_possible_says_it_earns_no_refund_or_credit(
    workspace: Workspace,
) -> None:
    options = timing_options(await open_removal(workspace))
    assert options["asap"]["text"]["text"] == "As soon as possible"
    assert options["asap"]["description"]["text"] == NO_REFUND
    assert "description" not in options["renewal"]


async def test_the_csm_reads_the_renewal_before_and_after_counted_from_now(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ask(ws, count="2", timing="asap")
    post = text_of(the_post(ws))
    assert "*Renewal*\n$490.00 → $392.00 per month" in post
    assert f"*Takes effect*\nAs soon as possible. {NO_REFUND}" in post
    assert "(renewal $490.00 → $392.00 per month)" in dms(ws, ANN)[0]

    # The account grew to 12 since: the CSM decides on what the renewal is now.
    async with ws.services.sessions() as session, session.begin():
        await session.execute(update(Account).where(Account.id == "acme").values(licenses=12))
    await click(ws, CSM, APPROVE)
    decision = ws.modal(CSM)
    shown = block_text(decision["blocks"])
    assert "Approve request *RR-00001*: remove 2 licenses from *Acme Corp* (12 → 10)." in shown
    assert "*Renewal:* $588.00 → $490.00 per month" in shown
    assert NO_REFUND in shown
    assert "$588.00 → $490.00 per month" in view_text(ws, decision["id"])


async def test_the_request_reference_is_the_one_to_quote_and_the_ticket_is_labelled(
    workspace: Workspace,
) -> None:
    ws = workspace
    modal = await open_removal(ws)
    assert "ticket reference" not in block_text(modal["blocks"])
    await ws.submit(ANN, request_values("2"))
    await ws.settle()

    sent = view_text(ws, modal["id"])
    assert "Request *RR-00001* is with your Customer Success Manager" in sent
    assert "Quote RR-00001 if you ask about it." in sent
    assert "ticket reference" not in sent

    (received,) = dms(ws, ANN)
    assert "quote RR-00001 if you ask about it" in received
    assert "It is filed as support ticket LB-00001." in received
    assert "Ticket:" not in received

    post = text_of(the_post(ws))
    assert "*License removal request RR-00001*" in post
    assert "*Support ticket*\nLB-00001" in post
    assert "*Ticket*" not in post

    await ws.open_home(ANN)
    await ws.settle()
    home = block_text(ws.slack.homes[ANN]["blocks"])
    line = "`RR-00001` · remove 2 (10 → 8) · *waiting for your CSM* · support ticket LB-00001"
    assert line in home
