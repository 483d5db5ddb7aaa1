"""`/licenses history`: an account's orders and requests, newest first."""

from __future__ import annotations

from typing import Any

from blocks.home import add_request_line, order_line
from blocks.ids import Action, Callback
from blocks.metadata import HistoryPage
from blocks.removal import removal_home_line
from blocks.text import Block, actions, button, context, day, plain, section, title
from bot.readmodels import HISTORY_LIMIT, AddRequestView, History, Receipt, RemovalView


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
    pages = []
    if history.offset:
        newer = max(history.offset - HISTORY_LIMIT, 0)
        pages.append(
            button("Newer", Action.HISTORY_NEWER, HistoryPage(offset=newer).model_dump_json())
        )
    if history.more:
        older = history.offset + len(history.entries)
        pages.append(
            button("Older", Action.HISTORY_OLDER, HistoryPage(offset=older).model_dump_json())
        )
    if pages:
        first, last = history.offset + 1, history.offset + len(history.entries)
        blocks.append(context(f"Entries {first:,}–{last:,}."))
        blocks.append(actions(pages))
    return {
        "type": "modal",
        "callback_id": Callback.INFO,
        "title": title("License history"),
        "close": plain("Close"),
        "blocks": blocks,
    }
