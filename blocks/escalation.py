"""The escalation of a removal request nobody decided after its last reminder (CSM side)."""

from __future__ import annotations

from datetime import datetime

from blocks.removal import ticket_text
from blocks.text import Block, context, day, fields, licenses, open_for, section
from bot.domain.removal import MAX_REMINDERS
from bot.readmodels import RemovalView


def requester_text(view: RemovalView, name: str | None) -> str:
    return f"{name} (<@{view.requested_by}>)" if name else f"<@{view.requested_by}>"


def request_link(view: RemovalView, permalink: str | None) -> str:
    if permalink:
        return f"<{permalink}|Open {view.reference} in the CSM channel>"
    return (
        f"{view.reference} has no post in the CSM channel to link to: decide it from the "
        "CSM queue (`/licenses`) or its ticket."
    )


def escalation_text(
    view: RemovalView, now: datetime, permalink: str | None, requester_name: str | None = None
) -> str:
    """The notification text (and the whole message where blocks don't show)."""
    asked_by = requester_name or f"<@{view.requested_by}>"
    link = f" {permalink}" if permalink else ""
    return (
        f":rotating_light: Escalated: removal request {view.reference} for {view.account_name} "
        f"(remove {licenses(view.remove_count)}, asked by {asked_by}) has been open for "
        f"{open_for(now - view.created_at)} without a decision.{link}"
    )


def escalation_blocks(
    view: RemovalView, now: datetime, permalink: str | None, requester_name: str | None = None
) -> list[Block]:
    """Which account, who asked, how many, how long open, the reference, and the links."""
    return [
        section(
            f":rotating_light: *Escalated: removal request {view.reference}* for "
            f"*{view.account_name}* is still waiting for a CSM decision after "
            f"{MAX_REMINDERS} reminders."
        ),
        fields(
            [
                ("Account", f"{view.account_name} ({view.plan_name})"),
                ("Requested by", requester_text(view, requester_name)),
                (
                    "Licenses to remove",
                    f"{licenses(view.remove_count)} "
                    f"({view.licenses_at_request:,} → {view.licenses_after:,})",
                ),
                ("Open for", f"{open_for(now - view.created_at)} (since {day(view.created_at)})"),
                ("Reference", view.reference),
                ("Support ticket", ticket_text(view)),
            ]
        ),
        section(request_link(view, permalink)),
        context(f"Requested {view.created_at.strftime('%Y-%m-%d %H:%M UTC')}."),
    ]
