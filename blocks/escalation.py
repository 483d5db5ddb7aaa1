"""The escalation of a request nobody decided after its last reminder (CSM side): a
removal request, or a request for more licenses."""

from __future__ import annotations

from datetime import datetime

from blocks.messages import request_price
from blocks.removal import ticket_text
from blocks.text import Block, context, day, fields, licenses, more_licenses, open_for, section
from bot.domain.removal import MAX_REMINDERS
from bot.readmodels import AddRequestView, RemovalView

Escalated = RemovalView | AddRequestView


def requester_text(view: Escalated, name: str | None) -> str:
    return f"{name} (<@{view.requested_by}>)" if name else f"<@{view.requested_by}>"


def request_link(view: Escalated, permalink: str | None) -> str:
    if permalink:
        return f"<{permalink}|Open {view.reference} in the CSM channel>"
    elsewhere = "the CSM queue (`/licenses`)"
    if isinstance(view, RemovalView):
        elsewhere += " or its ticket"
    return (
        f"{view.reference} has no post in the CSM channel to link to: decide it from {elsewhere}."
    )


def _kind(view: Escalated) -> str:
    return "removal request" if isinstance(view, RemovalView) else "request for more licenses"


def _asked(view: Escalated) -> str:
    """ "remove 2 licenses", "add 2 licenses", "add more licenses"."""
    if isinstance(view, RemovalView):
        return f"remove {licenses(view.remove_count)}"
    return f"add {licenses(view.wanted) if view.wanted else 'more licenses'}"


def _details(view: Escalated) -> list[tuple[str, str]]:
    if isinstance(view, RemovalView):
        return [
            (
                "Licenses to remove",
                f"{licenses(view.remove_count)} "
                f"({view.licenses_at_request:,} → {view.licenses_after:,})",
            ),
        ]
    return [
        ("Licenses to add", more_licenses(view.wanted)),
        ("Price when asked", request_price(view)),
    ]


def escalation_text(
    view: Escalated, now: datetime, permalink: str | None, requester_name: str | None = None
) -> str:
    """The notification text (and the whole message where blocks don't show)."""
    asked_by = requester_name or f"<@{view.requested_by}>"
    link = f" {permalink}" if permalink else ""
    return (
        f":rotating_light: Escalated: {_kind(view)} {view.reference} for {view.account_name} "
        f"({_asked(view)}, asked by {asked_by}) has been open for "
        f"{open_for(now - view.created_at)} without a decision.{link}"
    )


def escalation_blocks(
    view: Escalated, now: datetime, permalink: str | None, requester_name: str | None = None
) -> list[Block]:
    """Which account, who asked, how many, how long open, the reference, and the links."""
    pairs = [
        ("Account", f"{view.account_name} ({view.plan_name})"),
        ("Requested by", requester_text(view, requester_name)),
        *_details(view),
        ("Open for", f"{open_for(now - view.created_at)} (since {day(view.created_at)})"),
        ("Reference", view.reference),
    ]
    if isinstance(view, RemovalView):
        pairs.append(("Support ticket", ticket_text(view)))
    return [
        section(
            f":rotating_light: *Escalated: {_kind(view)} {view.reference}* for "
            f"*{view.account_name}* is still waiting for a CSM decision after "
            f"{MAX_REMINDERS} reminders."
        ),
        fields(pairs),
        section(request_link(view, permalink)),
        context(f"Requested {view.created_at.strftime('%Y-%m-%d %H:%M UTC')}."),
    ]
