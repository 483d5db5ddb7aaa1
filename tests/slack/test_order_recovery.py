"""Order Now when the bot dies right after its ack: the admin always learns the outcome.

On our own ledger an order is booked and recorded in one transaction, so it has no
moment between the two to die in. A payment provider is charged between transactions
(bot.services.orders): these tests stand one in (RemoteLedger), die in that moment, and
restart on the ledger, which finishes what was left.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.bootstrap import bootstrap
from bot.effects import orders as order_effects
from bot.integrations.billing import LedgerBilling
from bot.scheduler import run_due_work
from bot.services import orders as order_service
from bot.services.outbox import HOLD
from tests.slack.driver import Workspace, assert_calls_ok, block_text
from tests.slack.test_add_licenses import (
    ANN,
    open_add_modal,
    orders_of,
    submit_view,
    totals,
    type_count,
)


def receipts(ws: Workspace) -> list[dict[str, Any]]:
    return [
        message
        for message in ws.slack.messages.get(ws.slack.dm_channel(ANN), [])
        if message["text"].startswith("You added 3 licenses")
    ]


class RemoteLedger(LedgerBilling):
    """The ledger, charged as a provider is: by `charge`, between the order's transactions."""

    local = False


class Killed(Exception):
    """Stands for the process dying at that point."""


async def order_three_then_die(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, *, after_placing: bool = False
) -> None:
    """Ann confirms 3 licenses; the bot, charging through a provider, acks "Placing your
    order…" and is killed once the order is written down, before it is charged.

    `after_placing`: it dies after the order was charged and recorded, before the modal
    could show the receipt.
    """

    async def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed()

    def killed_drawing(*args: Any, **kwargs: Any) -> None:
        raise Killed()

    monkeypatch.setattr(ws.services, "billing_provider", RemoteLedger(ws.services.sessions))
    if after_placing:
        monkeypatch.setattr(order_effects, "build_receipt_modal", killed_drawing)
    else:
        monkeypatch.setattr(order_service, "complete_order", killed)
    monkeypatch.setattr(ws.runtime, "drain_soon", lambda: None)
    await open_add_modal(ws)
    view = await type_count(ws, "3")
    answer = await submit_view(ws, ANN, view)
    assert answer is not None
    assert "Placing your order: 3 licenses" in block_text(answer["view"]["blocks"])
    await ws.settle()
    monkeypatch.undo()
    # The process is gone, its engine with it.
    await ws.services.sessions.kw["bind"].dispose()


async def restart_after(ws: Workspace, **delta: float) -> None:
    async with bootstrap(ws.runtime.settings, clock=ws.clock, migrate=False) as restarted:
        ws.clock.travel(**delta)
        await run_due_work(restarted)
        await run_due_work(restarted)


async def test_an_order_acked_before_a_crash_is_placed_after_the_restart(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    await order_three_then_die(ws, monkeypatch)
    [pending] = await orders_of(ws)
    assert (pending.status, (await totals(ws)).charges) == ("pending", 0)
    assert ws.modal(ANN)["title"]["text"] == "Add licenses"  # still "Placing…"

    await restart_after(ws, seconds=HOLD.total_seconds() + 1)

    [order] = await orders_of(ws)
    assert (order.added, order.licenses_after) == (3, 13)
    assert (await totals(ws)).charges == 1
    assert ws.modal(ANN)["title"]["text"] == "Order placed"
    assert len(receipts(ws)) == 1
    assert_calls_ok(ws)


async def test_a_crash_after_the_order_committed_charges_once_and_sends_the_receipt(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    await order_three_then_die(ws, monkeypatch, after_placing=True)
    assert len(await orders_of(ws)) == 1

    await restart_after(ws, seconds=HOLD.total_seconds() + 1)

    [order] = await orders_of(ws)
    assert order.status == "paid"
    assert (await totals(ws)).charges == 1
    # The outcome was recorded with the order: nothing is redone, and the receipt that was
    # queued with it arrives (the "placing" screen says it would).
    assert len(receipts(ws)) == 1


async def test_an_order_written_down_before_a_crash_is_finished_even_much_later(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    await order_three_then_die(ws, monkeypatch)
    [pending] = await orders_of(ws)

    # The account took no other order meanwhile (its order was pending), so the price
    # reserved with it stands.
    await restart_after(ws, minutes=20)

    [order] = await orders_of(ws)
    assert (order.reference, order.status) == (pending.reference, "paid")
    assert order.due_today_minor == pending.due_today_minor
    assert (await totals(ws)).charges == 1
    assert ws.modal(ANN)["title"]["text"] == "Order placed"
    assert len(receipts(ws)) == 1


async def test_when_the_modal_is_gone_the_receipt_still_arrives_by_dm(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    await order_three_then_die(ws, monkeypatch)
    ws.slack.close_modal(ANN)

    await restart_after(ws, seconds=HOLD.total_seconds() + 1)

    [order] = await orders_of(ws)
    assert order.status == "paid"
    [receipt] = receipts(ws)
    assert order.reference in receipt["text"]


async def test_an_order_while_another_is_being_charged_is_refused_with_why(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.effects import orders as order_effects
    from bot.readmodels import AdminIdentity
    from bot.services.orders import _reserve

    ws = workspace
    monkeypatch.setattr(order_effects, "WAIT_FOR_PENDING_SECONDS", 0.3)
    # Erin's order is written down and its charge under way (no answer yet).
    earlier, _, _ = await _reserve(
        ws.services, "acme", AdminIdentity("U0ERIN", "erin@acme.example"), 2, "erin-1", None, None
    )

    await open_add_modal(ws)
    view = await type_count(ws, "3")
    await submit_view(ws, ANN, view)
    await ws.settle()

    shown = block_text(ws.modal(ANN)["blocks"])
    assert f"An earlier order of 2 licenses for this account ({earlier.reference})" in shown
    assert "Nothing was charged for it." in shown
    assert [order.reference for order in await orders_of(ws)] == [earlier.reference]
    assert (await totals(ws)).charges == 0
