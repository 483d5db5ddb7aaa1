"""Direct messages: opening the DM with a user, then posting in it; the requester's updates."""

from __future__ import annotations

from typing import Any

from blocks.add import order_declined_blocks, order_declined_text, receipt_blocks, receipt_text
from blocks.add_decision import add_decision_blocks, add_decision_text
from blocks.messages import add_request_sent_blocks, add_request_sent_text
from blocks.removal import requester_update_text
from blocks.text import per_period
from bot.domain.policy import RequestStatus
from bot.effects.context import EffectDeps, NotYet
from bot.services.orders import get_receipt
from bot.services.outbox import (
    NotifyAddRequester,
    NotifyRequester,
    SendDm,
    SendOrderFailed,
    SendReceipt,
)
from bot.services.requests import get_add_request


async def dm(
    deps: EffectDeps,
    team_id: str | None,
    user_id: str,
    text: str,
    blocks: list[Any] | None = None,
) -> None:
    """A DM from the outbox: posted at most once, even when Slack's answer is lost."""
    opened = await (await deps.slack(team_id)).conversations_open(users=user_id)
    await deps.post(team_id, str(opened["channel"]["id"]), text, blocks)


async def notify_requester(deps: EffectDeps, effect: NotifyRequester) -> None:
    view = await deps.removal(effect)
    await dm(deps, effect.team_id, view.requested_by, requester_update_text(view, effect.stage))


async def notify_add_requester(deps: EffectDeps, effect: NotifyAddRequester) -> None:
    """What the admin asked their CSM, and its reference; later what the CSM decided."""
    view = await get_add_request(deps.services, effect.request_id)
    if effect.decided:
        receipt = None
        if view.status is RequestStatus.APPROVED and view.order_reference:
            receipt = await get_receipt(deps.services, view.order_reference)
            if receipt.status == "pending":
                # Told once the payment went through: the approval and its receipt together.
                raise NotYet(f"order {receipt.reference} is still being charged")
        if view.status is RequestStatus.PENDING:
            return  # its payment was declined and the request reopened: that DM says so
        text, blocks = add_decision_text(view, receipt), add_decision_blocks(view, receipt)
    else:
        text, blocks = add_request_sent_text(view), add_request_sent_blocks(view)
    await dm(deps, effect.team_id or view.team_id, view.requested_by, text, blocks)


async def send_queued_dm(deps: EffectDeps, effect: SendDm) -> None:
    await dm(deps, effect.team_id, effect.user_id, effect.text, effect.blocks)


async def send_receipt(deps: EffectDeps, effect: SendReceipt) -> None:
    receipt = effect.receipt or await get_receipt(deps.services, effect.reference)
    interval = per_period(receipt.interval)
    blocks = receipt_blocks(receipt, interval)
    await dm(deps, effect.team_id, receipt.ordered_by, receipt_text(receipt), blocks)


async def send_order_failed(deps: EffectDeps, effect: SendOrderFailed) -> None:
    receipt = await get_receipt(deps.services, effect.reference)
    text, blocks = order_declined_text(receipt), order_declined_blocks(receipt)
    await dm(deps, effect.team_id, receipt.ordered_by, text, blocks)


HANDLERS = {
    SendOrderFailed: send_order_failed,
    NotifyRequester: notify_requester,
    NotifyAddRequester: notify_add_requester,
    SendDm: send_queued_dm,
    SendReceipt: send_receipt,
}
