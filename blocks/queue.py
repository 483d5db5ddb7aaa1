"""The CSM queue: what waits for a CSM's decision, oldest first, with Approve and Deny."""

from __future__ import annotations

from typing import Any

from blocks.add_decision import queue_entry_for_request
from blocks.ids import Callback
from blocks.removal import decision_buttons
from blocks.text import Block, actions, context, header, licenses, open_for, plain, section, title
from bot.readmodels import AddRequestView, CsmQueue, RemovalView

QUEUE_TITLE = "CSM queue"


def queue_entry(view: RemovalView, waited: str) -> list[Block]:
    heading = f"*{view.account_name}* · {view.plan_name} · {licenses(view.licenses_from)}"
    request = (
        f"`{view.reference}` · remove {view.remove_count:,} "
        f"({view.licenses_from:,} → {view.licenses_after:,}) · asked by "
        f"<@{view.requested_by}> · open {waited}"
    )
    return [
        section(f"{heading}\n{request}\n>{view.reason[:500]}"),
        actions(decision_buttons(view), block_id=f"queue_{view.id}"),
    ]


def queue_content(queue: CsmQueue) -> list[Block]:
    if not queue.requests:
        return [section("No requests are waiting for a decision.")]
    blocks: list[Block] = [section("Requests waiting for a decision, oldest first.")]
    for view in queue.requests:
        waited = open_for(queue.now - view.created_at)
        if isinstance(view, AddRequestView):
            blocks += queue_entry_for_request(view, waited)
        else:
            blocks += queue_entry(view, waited)
    if queue.more:
        blocks.append(context(f"Only the oldest {len(queue.requests)} are shown."))
    return blocks


def build_queue_modal(queue: CsmQueue) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.CSM_QUEUE,
        "title": title(QUEUE_TITLE),
        "close": plain("Close"),
        "blocks": queue_content(queue),
    }


def build_queue_home(queue: CsmQueue) -> dict[str, Any]:
    return {"type": "home", "blocks": [header(QUEUE_TITLE), *queue_content(queue)]}
