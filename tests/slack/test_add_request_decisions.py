"""A CSM approves or denies an admin's request for more licenses (LR-…), from the CSM queue
or the request's post: what everyone reads, and the money, which is what the modal showed."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from blocks.ids import Action, Block, Callback
from bot.domain.money import format_money
from bot.models import AddRequest
from bot.sandbox.demo import VENDOR_TEAM
from bot.sandbox.slack_side import view_submission
from bot.services.accounts import show_account
from bot.services.orders import order_history
from tests.slack.conftest import ACCOUNTS, start_workspace
from tests.slack.driver import CSM_CHANNEL, Answer, Workspace, assert_calls_ok, block_text
from tests.slack.removal_helpers import ask, dms
from tests.slack.test_stripe_billing import DECLINED_AT_CHARGE
from tests.stripe_stand_in import StripeStandIn

pytest_plugins = ("tests.stripe_fixtures",)

IRA, CASEY, CHRIS, VENDY = "U0IRA", "U0CSM", "U0CSM2", "U0VENDY"
APPROVE = f"{Action.DECIDE_ADD_REQUEST}:approve"
DENY = f"{Action.DECIDE_ADD_REQUEST}:deny"
QUEUE_EMPTY = "No requests are waiting for a decision."
CHECK_PRICE = "This is the price for {} licenses. Check it, then press Approve and charge."


# --- helpers ---------------------------------------------------------------------------------


async def ira_asks(ws: Workspace, text: str = "add 2") -> None:
    """Ira (Initech, Enterprise, 12 licenses) asks her CSM: `/licenses TEXT`, Ask my CSM."""
    await ws.command(IRA, text)
    await ws.settle()
    await ws.click_in_view(IRA, ws.modal(IRA), Action.ASK_CSM)
    await ws.settle()


def the_post(ws: Workspace) -> dict[str, Any]:
    """The request's post in the CSM channel, as it is now."""
    [post] = [m for m in ws.slack.messages.get(CSM_CHANNEL, []) if "LR-00001" in m["text"]]
    return post


def has_buttons(message: dict[str, Any]) -> bool:
    return any(block["type"] == "actions" for block in message["blocks"])


async def click_post(ws: Workspace, user: str, action: str) -> None:
    await ws.click_in_message(user, CSM_CHANNEL, the_post(ws), action)
    await ws.settle()


async def open_queue(ws: Workspace, user: str = CASEY) -> dict[str, Any]:
    await ws.command(user, "", team_id=VENDOR_TEAM)
    await ws.settle()
    return ws.modal(user)


def typed(count: str | None = None, note: str | None = None) -> dict[str, Any]:
    """What the CSM types in the decision modal."""
    fields = [(Block.DECISION_COUNT, Action.DECISION_COUNT, count)]
    fields.append((Block.DECISION_NOTE, Action.DECISION_NOTE, note))
    return {b: {a: {"type": "plain_text_input", "value": v}} for b, a, v in fields if v is not None}


async def submit(ws: Workspace, user: str, values: dict[str, Any] | None = None) -> Answer:
    answer = await ws.submit(user, values)
    await ws.settle()
    return answer


def shown_due(view: dict[str, Any]) -> str:
    """The Total Due Today a modal shows."""
    found = re.search(r"\*Total Due Today\*\n(\S+)", block_text(view["blocks"]))
    assert found, "the modal shows no price"
    return found.group(1)


def last_modal(ws: Workspace, external_id: str) -> dict[str, Any]:
    """The decision modal as the bot last set it (its views.update may beat the ack's view)."""
    [*_, call] = [
        c for c in ws.slack.calls_to("views.update") if c.params.get("external_id") == external_id
    ]
    view: dict[str, Any] = call.params["view"]
    return view


async def licenses(ws: Workspace) -> int:
    return (await show_account(ws.services, "initech")).terms.licenses


async def request_row(ws: Workspace) -> AddRequest:
    async with ws.services.reading() as session:
        row = await session.scalar(select(AddRequest).where(AddRequest.reference == "LR-00001"))
    assert row is not None
    return row


async def assert_nothing_decided(ws: Workspace) -> None:
    orders = await order_history(ws.services, "initech")
    assert [order for order in orders if order.status != "failed"] == []
    assert await licenses(ws) == 12
    assert (await request_row(ws)).status == "pending"
    assert has_buttons(the_post(ws))


async def assert_approved(ws: Workspace, modal: dict[str, Any], added: int) -> None:
    """One order for Ira of `added` licenses, at the price `modal` showed; told everywhere."""
    price = ws.metadata(modal)["quote"]
    [order] = await order_history(ws.services, "initech")
    assert (order.added, order.ordered_by, order.status) == (added, IRA, "paid")
    assert order.charged_minor == price["due_today_minor"]
    charged = format_money(order.charged_minor, order.currency)
    assert charged == shown_due(modal)
    assert await licenses(ws) == 12 + added

    done = last_modal(ws, modal["external_id"])
    assert done["title"]["text"] == "Request approved"
    text = block_text(done["blocks"])
    for line in (
        f"*Licenses*\n12 → {12 + added}",
        f"*Charged today*\n{charged}",
        f"*Order reference*\n`{order.reference}`",
    ):
        assert line in text

    told = dms(ws, IRA)
    [decision] = [t for t in told if t.startswith(f":white_check_mark: <@{CASEY}> approved")]
    assert decision.startswith(f":white_check_mark: <@{CASEY}> approved your request LR-00001 ")
    assert f"for Initech: {added} licenses added" in decision
    assert f", order {order.reference}. The receipt follows in a separate message." in decision
    assert (
        f"You added {added} licenses (12 → {12 + added}); charged {charged}. "
        f"Order {order.reference}."
    ) in told

    post = the_post(ws)
    assert not has_buttons(post)
    assert f":white_check_mark: *Approved* by <@{CASEY}>" in block_text(post["blocks"])
    assert f"order `{order.reference}`" in block_text(post["blocks"])
    row = await request_row(ws)
    assert (row.status, row.decided_by, row.order_reference) == ("approved", CASEY, order.reference)


# --- the queue -------------------------------------------------------------------------------


async def test_the_queue_lists_a_request_for_more_among_removals_oldest_first(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ask(ws, count="2")  # RR-00001, Acme
    ws.clock.travel(hours=2)
    await ira_asks(ws, "add 2")  # LR-00001
    ws.clock.travel(hours=1)
    await ask(ws, count="1")  # RR-00002
    ws.clock.travel(hours=1)

    queue = await open_queue(ws)
    text = block_text(queue["blocks"])
    assert "oldest first" in text
    positions = [text.index(ref) for ref in ("`RR-00001`", "`LR-00001`", "`RR-00002`")]
    assert positions == sorted(positions)
    due = format_money((await request_row(ws)).due_today_minor or 0, "USD")
    assert "*Initech* · Enterprise · 12 licenses" in text
    assert "`LR-00001` · add 2 (12 → 14) · asked by <@U0IRA> · open 2 hours" in text
    assert f">When asked: {due} due today, then $15,400.00 per year" in text
    assert "`RR-00001` · remove 2 (10 → 8) · asked by <@U0ANN> · open 4 hours" in text
    # Approve and Deny for the request, beside those of the removals.
    buttons = [
        (element["action_id"], json.loads(element["value"]))
        for block in queue["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert (APPROVE, {"request_id": 1, "verdict": "approve"}) in buttons
    assert (DENY, {"request_id": 1, "verdict": "deny"}) in buttons
    assert_calls_ok(ws)


# --- approving -------------------------------------------------------------------------------


async def test_approving_from_the_queue_charges_the_price_shown(workspace: Workspace) -> None:
    ws = workspace
    await ira_asks(ws, "add 2")
    queue = await open_queue(ws)
    await ws.click_in_view(CASEY, queue, APPROVE)
    await ws.settle()

    assert len(ws.slack.calls_to("views.push")) == 1  # on top of the queue
    modal = ws.modal(CASEY)
    assert modal["callback_id"] == Callback.ADD_DECISION
    text = block_text(modal["blocks"])
    assert "Approve request *LR-00001*: <@U0IRA> asks to add 2 licenses for *Initech*" in text
    assert "*Total Licenses*\n14 (12 + 2)" in text
    assert modal["state"]["values"][Block.DECISION_COUNT][Action.DECISION_COUNT]["value"] == "2"
    # The price shown is the one Ira was quoted (same day, same terms).
    assert shown_due(modal) == format_money((await request_row(ws)).due_today_minor or 0, "USD")

    answer = await submit(ws, CASEY)
    assert "Approving LR-00001" in block_text(answer.json()["view"]["blocks"])

    await assert_approved(ws, modal, 2)
    # The queue underneath was redrawn without it.
    below = ws.slack.modal_stack(CASEY)[0]
    assert below["id"] == queue["id"]
    assert QUEUE_EMPTY in block_text(below["blocks"])
    # Ira's App Home says it was approved.
    await ws.open_home(IRA)
    await ws.settle()
    home = block_text(ws.slack.homes[IRA]["blocks"])
    assert "`LR-00001`" in home and f"*Approved* by <@{CASEY}>" in home
    assert_calls_ok(ws)


async def test_approving_from_the_post_works_the_same(workspace: Workspace) -> None:
    ws = workspace
    await ira_asks(ws, "add 2")
    assert has_buttons(the_post(ws))
    await click_post(ws, CASEY, APPROVE)

    assert len(ws.slack.modal_stack(CASEY)) == 1  # opened, not pushed
    modal = ws.modal(CASEY)
    assert modal["callback_id"] == Callback.ADD_DECISION
    await submit(ws, CASEY, typed(note="Agreed on the call today."))

    await assert_approved(ws, modal, 2)
    assert "Note: Agreed on the call today." in block_text(the_post(ws)["blocks"])
    assert_calls_ok(ws)


async def test_another_count_shows_its_price_before_anything_is_charged(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ira_asks(ws, "add 2")
    await click_post(ws, CASEY, APPROVE)
    price_of_2 = shown_due(ws.modal(CASEY))

    await submit(ws, CASEY, typed(count="3"))
    repriced = ws.modal(CASEY)
    text = block_text(repriced["blocks"])
    assert CHECK_PRICE.format(3) in text
    assert "*Total Licenses*\n15 (12 + 3)" in text
    assert shown_due(repriced) != price_of_2
    assert ws.metadata(repriced)["quote"]["added"] == 3
    await assert_nothing_decided(ws)

    await submit(ws, CASEY)  # the 3 is still typed in
    await assert_approved(ws, repriced, 3)
    # Ira reads what was added, and that it is not the number she asked for.
    assert any("3 licenses added (you asked for 2)" in text for text in dms(ws, IRA))


async def test_a_request_without_a_number_asks_for_one_and_prices_it_first(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ws.open_home(IRA)  # App Home's Ask my CSM: no number
    await ws.settle()
    await ws.click_in_view(IRA, ws.slack.homes[IRA], Action.ASK_CSM)
    await ws.settle()
    await click_post(ws, CASEY, APPROVE)
    modal = ws.modal(CASEY)
    text = block_text(modal["blocks"])
    assert "asks for more licenses for *Initech*" in text
    assert "Enter how many licenses to add: the price is shown before anything" in text
    assert "Total Due Today" not in text
    assert ws.metadata(modal)["quote"] is None

    # No number: the field says so.
    answer = await submit(ws, CASEY)
    assert answer.json() == {
        "response_action": "errors",
        "errors": {Block.DECISION_COUNT: "Enter a whole number of licenses to add, like 3."},
    }
    await assert_nothing_decided(ws)

    await submit(ws, CASEY, typed(count="4"))
    priced = ws.modal(CASEY)
    assert CHECK_PRICE.format(4) in block_text(priced["blocks"])
    assert "*Total Licenses*\n16 (12 + 4)" in block_text(priced["blocks"])
    await assert_nothing_decided(ws)

    await submit(ws, CASEY)
    await assert_approved(ws, priced, 4)
    # The request keeps what was asked (no number); its order says what was added.
    assert (await request_row(ws)).wanted is None


# --- denying ---------------------------------------------------------------------------------


async def test_a_denial_needs_a_reason_and_ira_reads_it(workspace: Workspace) -> None:
    ws = workspace
    await ira_asks(ws, "add 2")
    told_before = dms(ws, IRA)
    await click_post(ws, CASEY, DENY)
    modal = ws.modal(CASEY)
    assert modal["title"]["text"] == "Deny request"
    assert "Total Due Today" not in block_text(modal["blocks"])

    answer = await submit(ws, CASEY, typed(note="  \n "))
    assert answer.json() == {
        "response_action": "errors",
        "errors": {Block.DECISION_NOTE: "Say why it is denied: the admin reads it."},
    }
    await assert_nothing_decided(ws)
    assert dms(ws, IRA) == told_before

    answer = await submit(ws, CASEY, typed(note="Budget is frozen until Q1."))
    assert answer.json()["view"]["title"]["text"] == "Request denied"
    assert dms(ws, IRA)[len(told_before) :] == [
        f":x: <@{CASEY}> denied your request LR-00001 to add 2 licenses for Initech. "
        "Reason: Budget is frozen until Q1."
    ]
    post = the_post(ws)
    assert not has_buttons(post)
    assert f":x: *Denied* by <@{CASEY}>" in block_text(post["blocks"])
    assert "Reason: Budget is frozen until Q1." in block_text(post["blocks"])
    assert await order_history(ws.services, "initech") == []
    assert await licenses(ws) == 12
    assert (await request_row(ws)).status == "denied"
    assert_calls_ok(ws)


# --- once, and only by a CSM -----------------------------------------------------------------


async def test_one_approval_places_one_order(workspace: Workspace) -> None:
    ws = workspace
    await ira_asks(ws, "add 2")
    # Chris opens the same request first and leaves his modal open.
    await click_post(ws, CHRIS, APPROVE)
    stale_post = copy.deepcopy(the_post(ws))

    await click_post(ws, CASEY, APPROVE)
    modal = ws.modal(CASEY)
    submission = view_submission(ws.user(CASEY), modal, ws.slack.new_trigger_id(CASEY))
    # Slack retries while the first is in flight; a third press comes after.
    await asyncio.gather(ws.post_payload(submission), ws.post_payload(submission))
    await ws.settle()
    late = await ws.post_payload(submission)
    await ws.settle()
    # The press is answered from the modal alone, then with the order it already placed.
    assert "Approving LR-00001" in block_text(late.json()["view"]["blocks"])
    assert last_modal(ws, modal["external_id"])["title"]["text"] == "Request approved"
    await assert_approved(ws, modal, 2)
    assert sum("approved your request" in text for text in dms(ws, IRA)) == 1

    # Chris approves in his stale modal: told it was decided, nothing charged again.
    stale = ws.modal(CHRIS)
    await submit(ws, CHRIS)
    told = last_modal(ws, stale["external_id"])
    assert told["title"]["text"] == "Request not approved"
    assert (
        f"Request LR-00001 was already approved by <@{CASEY}>. Nothing was changed."
        in block_text(told["blocks"])
    )
    # …and clicks Approve on the post as it was before.
    await ws.click_in_message(CHRIS, CSM_CHANNEL, stale_post, APPROVE)
    await ws.settle()
    assert "Request LR-00001 was decided already." in ws.slack.ephemerals[-1]["text"]
    assert ws.slack.ephemerals[-1]["user"] == CHRIS

    assert len(await order_history(ws.services, "initech")) == 1
    assert await licenses(ws) == 14


async def test_only_csms_in_the_vendor_workspace_decide(workspace: Workspace) -> None:
    ws = workspace
    ws.slack.add_user(VENDY, "vendy", team_id=VENDOR_TEAM)  # vendor staff, not a CSM
    await ira_asks(ws, "add 2")
    before = json.dumps(the_post(ws), sort_keys=True)
    opened = len(ws.slack.calls_to("views.open"))

    for user in (IRA, VENDY):
        for action in (APPROVE, DENY):
            await click_post(ws, user, action)
    ephemerals = [(e["user"], e["text"]) for e in ws.slack.ephemerals]
    refused_ira = (
        "Requests for more licenses are approved or denied by Customer Success Managers in "
        "the vendor's Slack workspace"
    )
    refused_vendy = "Only Customer Success Managers can approve or deny requests for more licenses."
    assert sum(u == IRA and refused_ira in t for u, t in ephemerals) == 2
    assert sum(u == VENDY and refused_vendy in t for u, t in ephemerals) == 2
    assert len(ws.slack.calls_to("views.open")) == opened
    assert ws.slack.calls_to("chat.update") == []
    assert json.dumps(the_post(ws), sort_keys=True) == before

    # Nor can Casey's modal be submitted by someone else.
    await click_post(ws, CASEY, APPROVE)
    modal = ws.modal(CASEY)
    forged = view_submission(ws.user(VENDY), modal, ws.slack.new_trigger_id(VENDY, modal["id"]))
    answer = await ws.post_payload(forged)
    await ws.settle()
    assert "This form or button is out of date." in block_text(answer.json()["view"]["blocks"])
    await assert_nothing_decided(ws)


async def test_two_csms_approving_at_once_place_one_order(pg_workspace: Workspace) -> None:
    """PostgreSQL: the request row is locked in the order's transaction."""
    ws = pg_workspace
    await ira_asks(ws, "add 2")
    modals = {}
    for csm in (CASEY, CHRIS):
        await click_post(ws, csm, APPROVE)
        modals[csm] = ws.modal(csm)
    submissions = [
        view_submission(ws.user(csm), modal, ws.slack.new_trigger_id(csm))
        for csm, modal in modals.items()
    ]
    await asyncio.gather(*(ws.post_payload(submission) for submission in submissions))
    await ws.settle()

    assert [o.status for o in await order_history(ws.services, "initech")] == ["paid"]
    assert await licenses(ws) == 14
    winner = (await request_row(ws)).decided_by
    loser = CHRIS if winner == CASEY else CASEY
    told = block_text(last_modal(ws, modals[loser]["external_id"])["blocks"])
    assert f"Request LR-00001 was already approved by <@{winner}>. Nothing was changed." in told
    assert sum("approved your request" in text for text in dms(ws, IRA)) == 1


# --- a declined payment --------------------------------------------------------------------


async def test_a_declined_payment_reopens_the_request(
    stripe_stand_in: StripeStandIn, sqlite_url: str, tmp_path: Path
) -> None:
    customer = stripe_stand_in.customer(card=DECLINED_AT_CHARGE)
    subscription, _ = stripe_stand_in.subscription(
        customer, unit_amount_minor=110000, quantity=12, interval="year"
    )
    accounts = copy.deepcopy(ACCOUNTS)
    [initech] = [entry for entry in accounts["accounts"] if entry["id"] == "initech"]
    initech.update(stripe_customer=customer, stripe_subscription=subscription)
    async for ws in start_workspace(
        sqlite_url,
        tmp_path,
        accounts=accounts,
        billing_provider="stripe",
        stripe_api_key=stripe_stand_in.api_key,
        stripe_api_url=stripe_stand_in.url,
        stripe_webhook_secret="whsec_test",
    ):
        await ira_asks(ws, "add 2")
        told_before = len(dms(ws, IRA))
        await click_post(ws, CASEY, APPROVE)
        modal = ws.modal(CASEY)
        await submit(ws, CASEY)
        await ws.runtime.effects.drain()
        await ws.settle()

        done = last_modal(ws, modal["external_id"])
        assert done["title"]["text"] == "Payment declined"
        assert "the request is waiting for a decision again" in block_text(done["blocks"])
        [failed] = await order_history(ws.services, "initech")
        assert failed.status == "failed"
        await assert_nothing_decided(ws)  # pending again, its post has its buttons back
        # Ira hears that the payment was declined, and is never told it was denied.
        told = dms(ws, IRA)[told_before:]
        assert any("Your card was declined." in text for text in told)
        assert not any("denied your request" in text for text in told)
