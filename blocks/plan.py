"""The plan modal, the light "loading" modal, and small informational modals."""

from __future__ import annotations

from typing import Any

from blocks.ids import Block as BlockId
from blocks.ids import Callback
from blocks.metadata import PlanModalState
from blocks.surfaces import plan_buttons, plan_fields
from blocks.text import actions, context, header, plain, section, title
from bot.services.accounts import AccountOverview


def build_loading_modal() -> dict[str, Any]:
    """Opened at once so the 3-second trigger_id never lapses while data loads."""
    return {
        "type": "modal",
        "callback_id": Callback.PLAN,
        "title": title("Licenses"),
        "close": plain("Close"),
        "blocks": [section(":hourglass_flowing_sand: Loading your plan…")],
    }


def build_plan_modal(view: AccountOverview) -> dict[str, Any]:
    blocks = [
        header(view.name),
        plan_fields(view),
        actions(plan_buttons(view), block_id=BlockId.PLAN_ACTIONS),
    ]
    if not view.capacity.allowed:
        blocks.append(context(f":information_source: {view.capacity.reason}"))
    return {
        "type": "modal",
        "callback_id": Callback.PLAN,
        "title": title("Licenses"),
        "close": plain("Close"),
        "private_metadata": PlanModalState(account_id=view.account_id).model_dump_json(),
        "blocks": blocks,
    }


def build_info_modal(heading: str, text: str, note: str | None = None) -> dict[str, Any]:
    """A read-only modal: confirmations, contacts, problems."""
    blocks = [section(text)]
    if note:
        blocks.append(context(note))
    return {
        "type": "modal",
        "callback_id": Callback.INFO,
        "title": title(heading),
        "close": plain("Close"),
        "blocks": blocks,
    }
