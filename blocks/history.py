"""`/licenses history`: an account's orders and requests, newest first."""

from __future__ import annotations

from typing import Any

from blocks.home import add_request_line, order_line
from blocks.ids import Callback
from blocks.removal import removal_home_line
from blocks.text import Block, context, day, plain, section, title
from bot.readmodels import AddRequestView, History, Receipt, RemovalView


def history_line(entry: Receipt | RemovalView | AddRequestView) -> str:
    if isinstance(entry, Receipt):
        return f"*Order* {order_line(entry)}"
    if isinstance(entry, AddRequestView):
        return f"*Request for more licenses* {add_request_line(entry)}"
    return (
        f"*Removal request* {removal_home_line(entry)} · asked {day(entry.created_at)} "
        f"by <@{entry.requested_by}>"
    )


def build_history_modal(history: History) -> dict[str, Any]:
    blocks: list[Block] = [
        section(f"Orders and requests of *{history.account_name}*, newest first.")
    ]
    if history.entries:
        blocks += [section(history_line(entry)) for entry in history.entries]
    else:
        blocks.append(context("No orders or requests yet."))
    if history.more:
        blocks.append(context(f"Only the newest {len(history.entries)} are shown."))
    return {
        "type": "modal",
        "callback_id": Callback.INFO,
        "title": title("License history"),
        "close": plain("Close"),
        "blocks": blocks,
    }
