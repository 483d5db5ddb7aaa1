"""Slack failing while the bot works: every message arrives once, after the fault clears."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from blocks.ids import Action, Block
from bot.models import OutboxEntry
from bot.services.outbox import SendDm, enqueue_now
from tests.slack.driver import Workspace, block_text
from tests.slack.removal_helpers import (
    ANN,
    APPROVE,
    CSM,
    DENY,
    ask,
    click,
    decide,
    decision_values,
    dms,
    posts,
    text_of,
    the_post,
    thread,
)

# (method, error, HTTP status) as the fake answers: a server error, rate limiting, Slack's
# own refusal, and an answer that never comes in time.
FAULTS = [
    ("chat.postMessage", "internal_error", 500),
    ("chat.postMessage", "ratelimited", 429),
    ("chat.postMessage", "fatal_error", 200),
    ("conversations.open", "internal_error", 500),
    ("conversations.open", "ratelimited", 429),
    ("views.update", "internal_error", 500),
    ("views.publish", "internal_error", 500),
]


async def order_three(ws: Workspace, method: str, error: str, status: int) -> None:
    """Ann sees the price of 3, then Slack fails `method` 3 times as she orders."""
    await ws.command(ANN, "add")
    await ws.settle()
    await ws.type_number(ANN, Block.ADD_COUNT, Action.ADD_COUNT, "3")
    await ws.settle()
    ws.slack.fail_next(method, error=error, status=status, times=3)
    await ws.submit(ANN)
    await ws.settle()


@pytest.mark.parametrize(("method", "error", "status"), FAULTS)
async def test_an_order_during_a_slack_fault_gets_one_receipt_after_it(
    workspace: Workspace, method: str, error: str, status: int
) -> None:
    ws = workspace

    await order_three(ws, method, error, status)
    for _ in range(6):  # the scheduler's ticks, the clock moved past each backoff
        ws.clock.travel(minutes=1)
        await ws.runtime.effects.drain()
    await ws.settle()

    receipts = [dm for dm in dms(ws, ANN) if dm.startswith("You added 3 licenses")]
    assert len(receipts) == 1
    assert not any("Something went wrong" in dm for dm in dms(ws, ANN))
    assert "+3 (10 → 13)" in block_text(ws.slack.homes[ANN]["blocks"])


async def test_an_effect_slack_refuses_for_good_is_set_aside_not_retried(
    workspace: Workspace,
) -> None:
    ws = workspace
    await enqueue_now(ws.services, SendDm(user_id="U0GHOST", text="Hello?"))

    await ws.runtime.effects.drain()
    ws.clock.travel(hours=1)
    await ws.runtime.effects.drain()

    async with ws.services.reading() as session:
        entry = await session.scalar(select(OutboxEntry).where(OutboxEntry.kind == "dm.send"))
    assert entry is not None
    assert (entry.status, entry.attempts) == ("dead", 1)
    assert entry.last_error == "SlackApiError: user_not_found"


async def test_a_receipt_whose_answer_was_lost_is_not_posted_again(workspace: Workspace) -> None:
    ws = workspace
    await ws.command(ANN, "add")
    await ws.settle()
    await ws.type_number(ANN, Block.ADD_COUNT, Action.ADD_COUNT, "3")
    await ws.settle()
    # Slack posts the receipt but its answer never reaches the bot, twice.
    ws.slack.fail_next("chat.postMessage", status=500, times=2, after=True)

    await ws.submit(ANN)
    await ws.settle()
    for _ in range(4):
        ws.clock.travel(minutes=1)
        await ws.runtime.effects.drain()

    receipts = [dm for dm in dms(ws, ANN) if dm.startswith("You added 3 licenses")]
    assert len(receipts) == 1
    assert len(ws.slack.calls_to("conversations.history")) >= 1


async def test_a_removal_post_whose_answer_was_lost_is_posted_once_and_kept(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.slack.fail_next("chat.postMessage", status=500, times=1, after=True)

    await ask(ws)
    for _ in range(3):
        ws.clock.travel(minutes=1)
        await ws.runtime.effects.drain()

    [post] = posts(ws)
    assert "RR-00001" in text_of(post)
    # The post found again is the one the bot keeps: Approve on it works.
    answer = await click(ws, CSM, APPROVE)
    assert answer.status == 200
    assert ws.modal(CSM)["title"]["text"] == "Approve removal"


async def test_thread_replies_whose_answers_were_lost_are_posted_once(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ask(ws)
    post = the_post(ws)
    # The decision's thread reply and the requester's DM: Slack posts each, loses the answer.
    ws.slack.fail_next("chat.postMessage", status=500, times=2, after=True)

    await decide(ws, CSM, DENY, decision_values(note="Not this quarter."))
    for _ in range(4):
        ws.clock.travel(minutes=1)
        await ws.runtime.effects.drain()

    assert thread(ws, post) == ["<@U0CSM> denied this request. Reason: Not this quarter."]
    assert len([dm for dm in dms(ws, ANN) if "*Denied*" in dm]) == 1
    assert len(ws.slack.calls_to("conversations.replies")) >= 1
