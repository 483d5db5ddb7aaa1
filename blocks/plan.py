"""The plan modal, the light "loading" modal, and small informational modals."""

from __future__ import annotations

from typing import Any

from blocks.ids import Block as BlockId
from blocks.ids import Callback
from blocks.messages import only_admins_text
from blocks.metadata import PlanModalState
from blocks.surfaces import plan_buttons, plan_fields
from blocks.text import actions, context, header, licenses, plain, section, title
from bot.domain.policy import Route, requested_count
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


def build_plan_modal(view: AccountOverview, wanted: int | None = None) -> dict[str, Any]:
    """The plan; when the rules route adding licenses to someone, their button asks for
    `wanted` (the N of `/licenses add N`), which the modal says."""
    wanted = requested_count(wanted)
    blocks = [
        header(view.name),
        plan_fields(view),
        actions(plan_buttons(view, wanted), block_id=BlockId.PLAN_ACTIONS),
    ]
    if not view.capacity.allowed:
        blocks.append(context(f":information_source: {view.capacity.reason}"))
        if wanted is not None and view.capacity.route is not None:
            label = "Contact Sales" if view.capacity.route is Route.SALES else "Ask my CSM"
            blocks.append(
                context(
                    f"*{label}* sends your request to add {licenses(wanted)}, with its price "
                    f"and a reference."
                )
            )
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


def build_contact_sales_modal(
    sales_email: str | None, account_id: str | None, reference: str | None = None
) -> dict[str, Any]:
    """Where Sales is; with an admin's request (`account_id`, `reference`) a ticket was
    opened for them too."""
    contact = (
        f"write to *{sales_email}*" if sales_email else "your Customer Success Manager connects you"
    )
    text = f"Our Sales team handles larger plans: {contact}."
    if account_id is None or reference is None:
        return build_info_modal("Contact Sales", text)
    return build_info_modal(
        "Contact Sales",
        f":white_check_mark: Your request `{reference}` is with Sales. {text} Mention your "
        f"account `{account_id}` and `{reference}`.",
        "We opened a ticket for Sales; what you asked, its price and the ticket come by DM.",
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
