"""Slack failing while the bot works: every message arrives once, after the fault clears."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from blocks.ids import Action, Block
from bot.models import OutboxEntry
from bot.services.outbox import SendDm, enqueue_now
from tests.slack.driver import Workspace, block_text
from tests.slack.removal_helpers import ANN, dms

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
