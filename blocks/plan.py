"""The plan modal, the light "loading" modal, and small informational modals."""

from __future__ import annotations

from typing import Any

from blocks.ids import Block as BlockId
from blocks.ids import Callback
from blocks.messages import only_admins_text
from blocks.metadata import PlanModalState
from blocks.surfaces import plan_buttons, plan_fields
from blocks.text import actions, context, header, plain, section, title
from bot.readmodels import AccountOverview


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


def build_only_admins_modal(heading: str, what: str) -> dict[str, Any]:
    """For someone who is not a license admin of this workspace's account."""
    return build_info_modal(heading, only_admins_text(what))


def build_contact_sales_modal(sales_email: str | None, account_id: str | None) -> dict[str, Any]:
    """Where Sales is; with `account_id` (an admin asked) a ticket was opened for them too."""
    contact = (
        f"write to *{sales_email}*" if sales_email else "your Customer Success Manager connects you"
    )
    text = f"Our Sales team handles larger plans: {contact}."
    if account_id is None:
        return build_info_modal("Contact Sales", text)
    return build_info_modal(
        "Contact Sales",
        f"{text} Mention your account `{account_id}`.",
        "We also opened a ticket for Sales; its reference comes by DM.",
    )


def build_contact_support_modal(support_url: str | None, sales_email: str | None) -> dict[str, Any]:
    lines = ["*Need help with your licenses?*"]
    if support_url:
        lines.append(f"• Support: <{support_url}|{support_url}>")
    if sales_email:
        lines.append(f"• Sales: {sales_email}")
    if len(lines) == 1:
        lines.append("• Ask your Customer Success Manager; their name is on your plan.")
    return build_info_modal("Contact support", "\n".join(lines))
