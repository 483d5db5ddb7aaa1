"""What ticket systems receive: subjects, bodies and solving comments."""

from __future__ import annotations

from dataclasses import dataclass

from blocks.messages import asked_with_price, quote_detail, request_wish
from blocks.text import day, licenses, money, per_period
from bot.domain.policy import Route
from bot.domain.removal import NO_REFUND, RemovalStatus, RenewalChange, Timing
from bot.readmodels import AddRequestView, RemovalView


@dataclass(frozen=True)
class TicketText:
    subject: str
    body: str


def ticket_text(view: RemovalView) -> str:
    """The ticket's own number (linked when it has a page): never the request's reference."""
    if view.ticket_url and view.ticket_reference:
        return f"<{view.ticket_url}|{view.ticket_reference}>"
    return view.ticket_reference or "being created…"


def support_ticket(view: RemovalView) -> str:
    """The ticket named as the ticket it is, beside the request's reference."""
    return f"support ticket {ticket_text(view)}"


def renewal_text(change: RenewalChange) -> str:
    """ "$490.00 → $392.00 per month": licenses × price per license, before and after."""
    price = change.price
    return (
        f"{money(change.before_minor, price.currency)} → "
        f"{money(change.after_minor, price.currency)} per {per_period(price.interval)}"
    )


def removal_ticket(view: RemovalView) -> TicketText:
    renewal = f"Renewal: {renewal_text(view.renewal)}\n" if view.renewal else ""
    refund = f" {NO_REFUND}" if view.timing is Timing.ASAP else ""
    return TicketText(
        subject=(
            f"Remove {licenses(view.remove_count)} from {view.account_name} ({view.reference})"
        ),
        body=(
            f"Removal request {view.reference} (the reference the admin and the CSMs quote "
            "in Slack)\n"
            f"Account: {view.account_name} ({view.account_id}), plan {view.plan_name}\n"
            f"Licenses now: {view.licenses_at_request:,}\n"
            f"Requested: remove {view.remove_count:,}, leaving {view.licenses_after:,}\n"
            f"{renewal}"
            f"Timing: {view.timing.label} ({day(view.requested_effective_at)}).{refund}\n"
            f"Requested by Slack user {view.requested_by}\n\n"
            f"Reason:\n{view.reason}\n"
        ),
    )


def route_ticket(view: AddRequestView) -> TicketText:
    """Sales' ticket for a request: the request's reference, who asked, how many, the price."""
    whom = "Sales" if view.route is Route.SALES else "the Customer Success Manager"
    return TicketText(
        subject=f"{view.account_name} asks {request_wish(view)} ({view.reference})",
        body=(
            f"Request {view.reference} (the reference the admin quotes in Slack)\n"
            f"Account: {view.account_name} ({view.account_id}), plan {view.plan_name}, "
            f"{licenses(view.licenses_at_request)}\n"
            f"Requested by Slack user {view.requested_by}, asking {asked_with_price(view)}\n"
            f"{quote_detail(view)}\n"
            f"Not self-serve: the plan rules send it to {whom}.\n"
        ),
    )


def verdict_word(view: RemovalView) -> str:
    """What the CSM decided; by the time it is told, an approval may already have applied."""
    return "denied" if view.status is RemovalStatus.DENIED else "approved"


def resolution_comment(view: RemovalView) -> str:
    note = f" Reason: {view.decision_note}" if view.decision_note else ""
    return f"{verdict_word(view).capitalize()} in Slack by {view.decided_by}.{note}"
