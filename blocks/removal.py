"""Removal surfaces: the request modal, the CSM channel message, the decision modal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from blocks.ids import RemovalAction, RemovalBlock, RemovalCallback
from blocks.metadata import DecisionRequest, RemovalModalState
from blocks.plan import build_info_modal, build_only_admins_modal
from blocks.text import (
    Block,
    actions,
    button,
    context,
    day,
    day_and_time,
    fields,
    licenses,
    plain,
    section,
    title,
)
from blocks.tickets import verdict_word
from bot.domain.policy import MIN_LICENSES, most_removable
from bot.domain.removal import MAX_REASON_LENGTH, MAX_REMINDERS, RemovalStatus, Timing, Verdict
from bot.readmodels import AccountOverview, RemovalView


def _timing_option(timing: Timing, when: datetime) -> dict[str, Any]:
    detail = f" ({day(when)})" if timing is Timing.RENEWAL else ""
    return {"text": plain(f"{timing.label}{detail}"), "value": timing.value}


# What a count typed as a command argument may pre-fill: enough for any real number.
MAX_TYPED = 30


def build_removal_modal(
    view: AccountOverview, initial: int | str | None = None, problem: str | None = None
) -> dict[str, Any]:
    """The request form; `problem` explains a count given with the command, pre-filled."""
    most = most_removable(view.terms.licenses)
    # A text input, not a number_input: Slack would check a number_input itself (bounds,
    # letters) in its own words, before the bot can explain in ours.
    count: dict[str, Any] = {"type": "plain_text_input", "action_id": RemovalAction.COUNT}
    if initial is not None and str(initial).strip():
        count["initial_value"] = str(initial).strip()[:MAX_TYPED]
    count_block: Block = {
        "type": "input",
        "block_id": RemovalBlock.COUNT,
        "label": plain("Licenses to remove"),
        "hint": plain(
            f"The account keeps at least {licenses(MIN_LICENSES)}, so at most {most:,} "
            "can be removed."
        ),
        "element": count,
    }
    explained = [section(f":warning: {problem}", block_id=RemovalBlock.PROBLEM)] if problem else []
    renewal = _timing_option(Timing.RENEWAL, view.period.end)
    return {
        "type": "modal",
        "callback_id": RemovalCallback.REQUEST,
        "title": title("Remove licenses"),
        "submit": plain("Send request"),
        "close": plain("Cancel"),
        "private_metadata": RemovalModalState(account_id=view.account_id).model_dump_json(),
        "blocks": [
            section(
                f"*{view.name}* has {licenses(view.terms.licenses)}. Your Customer Success "
                "Manager reviews every removal; you'll get a ticket reference and a DM when "
                "they decide."
            ),
            count_block,
            *explained,
            {
                "type": "input",
                "block_id": RemovalBlock.REASON,
                "label": plain("Reason"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": RemovalAction.REASON,
                    "multiline": True,
                    "max_length": MAX_REASON_LENGTH,
                    "placeholder": plain("Why fewer licenses? Your CSM reads this."),
                },
            },
            {
                "type": "input",
                "block_id": RemovalBlock.TIMING,
                "label": plain("Takes effect"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": RemovalAction.TIMING,
                    "initial_option": renewal,
                    "options": [renewal, _timing_option(Timing.ASAP, view.period.end)],
                },
            },
        ],
    }


def _status_line(view: RemovalView) -> str:
    who = f"<@{view.decided_by}>" if view.decided_by else "someone"
    when = day(view.decided_at) if view.decided_at else ""
    if view.status is RemovalStatus.APPROVED:
        effective = day(view.effective_at) if view.effective_at else "on schedule"
        return f":white_check_mark: *Approved* by {who} on {when}; takes effect {effective}."
    if view.status is RemovalStatus.DENIED:
        note = f" Reason: {view.decision_note}" if view.decision_note else ""
        return f":x: *Denied* by {who} on {when}.{note}"
    if view.status is RemovalStatus.APPLIED:
        applied = day(view.applied_at) if view.applied_at else ""
        return (
            f":white_check_mark: *Applied* on {applied}: approved by {who}; the account went "
            f"to {licenses(view.licenses_left)}."
        )
    return ":hourglass_flowing_sand: *Waiting for a CSM decision.*"


def ticket_text(view: RemovalView) -> str:
    if view.ticket_url and view.ticket_reference:
        return f"<{view.ticket_url}|{view.ticket_reference}>"
    return view.ticket_reference or "being created…"


def removal_summary(view: RemovalView) -> list[Block]:
    when = view.timing.label
    if view.timing is Timing.RENEWAL:
        when += f" ({day(view.requested_effective_at)})"
    reason = view.reason.replace("\n", "\n>")
    return [
        section(
            f":outbox_tray: *License removal request {view.reference}* for *{view.account_name}* "
            f"({view.plan_name})"
        ),
        fields(
            [
                ("Requested by", f"<@{view.requested_by}>"),
                (
                    "Licenses",
                    f"{view.licenses_from:,} → {view.licenses_after:,} (remove {view.remove_count:,})",
                ),
                ("Takes effect", when),
                ("Ticket", ticket_text(view)),
            ]
        ),
        section(f"*Reason*\n>{reason}"),
    ]


def build_removal_message(view: RemovalView) -> list[Block]:
    """The CSM channel message: the request, then buttons while pending, else the outcome."""
    blocks = removal_summary(view)
    if view.status is RemovalStatus.PENDING:
        # One action per verdict; both go to the same decision listener.
        buttons = [
            button(
                label,
                f"{RemovalAction.DECIDE}:{verdict.value}",
                DecisionRequest(request_id=view.id, verdict=verdict).model_dump_json(),
                style=style,
            )
            for verdict, label, style in (
                (Verdict.APPROVE, "Approve", "primary"),
                (Verdict.DENY, "Deny", "danger"),
            )
        ]
        blocks.append(actions(buttons, block_id=RemovalBlock.DECISION))
    else:
        blocks.append(context(_status_line(view)))
    return blocks


def removal_message_text(view: RemovalView) -> str:
    return (
        f"License removal request {view.reference}: {view.account_name} asks to remove "
        f"{licenses(view.remove_count)} ({view.status.value})"
    )


def build_decision_modal(view: RemovalView, request: DecisionRequest) -> dict[str, Any]:
    approving = request.verdict is Verdict.APPROVE
    blocks: list[Block] = [
        section(
            f"{'Approve' if approving else 'Deny'} removing {licenses(view.remove_count)} from "
            f"*{view.account_name}* ({view.licenses_from:,} → {view.licenses_after:,})."
        )
    ]
    if approving:
        blocks.append(
            {
                "type": "input",
                "block_id": RemovalBlock.EFFECTIVE,
                "label": plain("Takes effect on"),
                "hint": plain(f"Requested: {view.timing.label.lower()}. Dates are UTC."),
                "element": {
                    "type": "datepicker",
                    "action_id": RemovalAction.EFFECTIVE,
                    "initial_date": view.requested_effective_at.date().isoformat(),
                },
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": RemovalBlock.NOTE,
            "label": plain("Note to the admin" if approving else "Reason for the denial"),
            "optional": approving,
            "element": {
                "type": "plain_text_input",
                "action_id": RemovalAction.NOTE,
                "multiline": True,
                "max_length": MAX_REASON_LENGTH,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": RemovalCallback.DECISION,
        "title": title("Approve removal" if approving else "Deny removal"),
        "submit": plain("Approve" if approving else "Deny"),
        "close": plain("Cancel"),
        "private_metadata": request.model_dump_json(),
        "blocks": blocks,
    }


def removal_home_line(view: RemovalView) -> str:
    status = {
        RemovalStatus.PENDING: "waiting for your CSM",
        RemovalStatus.APPROVED: f"approved, takes effect {day(view.effective_at) if view.effective_at else ''}",
        RemovalStatus.DENIED: "denied",
        RemovalStatus.APPLIED: f"applied {day(view.applied_at) if view.applied_at else ''}",
    }[view.status]
    return (
        f"`{view.reference}` · remove {view.remove_count:,} ({view.licenses_from:,} → "
        f"{view.licenses_after:,}) · *{status}* · ticket {ticket_text(view)}"
    )


def requester_update_text(view: RemovalView, stage: str) -> str:
    """The DM the admin gets at each step."""
    if stage == "received":
        return (
            f"We received your request {view.reference} to remove {licenses(view.remove_count)} "
            f"from {view.account_name}. Ticket: {ticket_text(view)}. Your CSM will decide soon."
        )
    if stage == "applied":
        return (
            f"Your removal {view.reference} took effect: {view.account_name} now has "
            f"{licenses(view.licenses_left)}."
        )
    return f"Your removal request {view.reference}: {_status_line(view)}"


# --- replies in the request's thread in the CSM channel ---------------------------------


def decision_reply(view: RemovalView) -> str:
    note = f" Reason: {view.decision_note}" if view.decision_note else ""
    when = f", effective {day(view.effective_at)}" if view.effective_at else ""
    return f"<@{view.decided_by}> {verdict_word(view)} this request{when}.{note}"


def applied_reply(view: RemovalView) -> str:
    return (
        f"Applied: {licenses(view.remove_count)} removed; {view.account_name} now has "
        f"{licenses(view.licenses_left)}."
    )


def reminder_reply(view: RemovalView, number: int) -> str:
    who = f"<@{view.csm_user_id}>" if view.csm_user_id else "CSM team"
    return (
        f":bell: {who}, {view.reference} from <@{view.requested_by}> is still waiting for a "
        f"decision (reminder {number} of {MAX_REMINDERS})."
    )


def build_request_sent_modal(view: RemovalView) -> dict[str, Any]:
    return build_info_modal(
        "Request sent",
        f":white_check_mark: Request *{view.reference}* is with your Customer Success "
        f"Manager: remove {licenses(view.remove_count)} "
        f"({view.licenses_from:,} → {view.licenses_after:,}), "
        f"{view.timing.label.lower()}.",
        "You'll get the ticket reference by DM now, and another DM when it is decided.",
    )


def build_removal_not_allowed_modal() -> dict[str, Any]:
    return build_only_admins_modal("Remove licenses", "ask to remove licenses")


def build_already_decided_modal(view: RemovalView) -> dict[str, Any]:
    return build_info_modal("Already decided", already_decided_text(view))


def build_decided_modal(view: RemovalView) -> dict[str, Any]:
    return build_info_modal("Removal request", decided_text(view))


def already_decided_text(view: RemovalView) -> str:
    when = f" ({day_and_time(view.decided_at)})" if view.decided_at else ""
    return (
        f"<@{view.decided_by}> already {view.status.value} {view.reference}{when}; nothing changed."
    )


def decided_text(view: RemovalView) -> str:
    """What the CSM who decided reads in the modal."""
    if view.status is RemovalStatus.DENIED:
        return f":x: You denied {view.reference}. The admin is told, and ticket {ticket_text(view)} is solved."
    when = day(view.effective_at) if view.effective_at else "on schedule"
    return (
        f":white_check_mark: You approved {view.reference}: {view.account_name} goes from "
        f"{view.licenses_from:,} to {licenses(view.licenses_after)}, effective {when}."
    )
