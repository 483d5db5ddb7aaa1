"""Removal surfaces: the request modal, the CSM channel message, the decision modal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

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
    money,
    per_period,
    plain,
    section,
    title,
)
from blocks.tickets import renewal_text, support_ticket, verdict_word
from blocks.tickets import ticket_text as ticket_text  # blocks/escalation.py reads it here
from bot.domain.policy import MIN_LICENSES, most_removable
from bot.domain.removal import (
    MAX_REASON_LENGTH,
    MAX_REMINDERS,
    NO_REFUND,
    LicensePrice,
    RemovalStatus,
    Timing,
    Verdict,
    read_removal,
    renewal_change,
)
from bot.readmodels import AccountOverview, AddRequestView, RemovalView


def _timing_option(timing: Timing, when: datetime) -> dict[str, Any]:
    if timing is Timing.RENEWAL:
        return {"text": plain(f"{timing.label} ({day(when)})"), "value": timing.value}
    # As soon as possible saves nothing now: removals never refund (README, Stripe billing).
    return {"text": plain(timing.label), "description": plain(NO_REFUND), "value": timing.value}


def timing_text(timing: Timing, requested_at: datetime) -> str:
    """When a request asked to take effect, with what that costs, for the CSM's surfaces."""
    if timing is Timing.RENEWAL:
        return f"{timing.label} ({day(requested_at)})"
    return f"{timing.label}. {NO_REFUND}"


def renewal_preview(view: AccountOverview, count: int | None) -> str:
    """What the removal form says the renewal costs: before → after for a count it may
    ask for, else the price per license each removed license takes off."""
    terms = view.terms
    price = LicensePrice.of(terms)
    if count is None:
        per = per_period(terms.interval)
        unit = money(terms.unit_price_minor, terms.currency)
        return (
            f":moneybag: *Renewal:* {money(terms.cycle_amount_minor, terms.currency)} per "
            f"{per} for {licenses(terms.licenses)}. Each license removed lowers it by {unit} "
            f"per {per}."
        )
    change = renewal_change(price, terms.licenses, count)
    return (
        f":moneybag: *Renewal:* {renewal_text(change)}\n"
        f"{licenses(change.licenses_after)} × {money(price.unit_price_minor, price.currency)} "
        f"instead of {change.licenses_before:,}"
    )


def removal_modal_id(state: RemovalModalState) -> str:
    """The modal's own name in Slack (external_id): keystrokes update it by this name."""
    return f"licensebot-{state.idempotency_key}"


# What a count typed as a command argument may pre-fill: enough for any real number.
MAX_TYPED = 30


def build_removal_modal(
    view: AccountOverview,
    initial: int | str | None = None,
    problem: str | None = None,
    *,
    typed: str | None = None,
    state: RemovalModalState | None = None,
) -> dict[str, Any]:
    """The request form; `problem` explains a count given with the command, pre-filled.

    `typed` is what the input holds as the admin types (Slack keeps it across updates),
    `state` the modal's own when it is redrawn. The renewal follows the count shown.
    """
    most = most_removable(view.terms.licenses)
    state = state or RemovalModalState(account_id=view.account_id)
    # A text input, not a number_input: Slack would check a number_input itself (bounds,
    # letters) in its own words, before the bot can explain in ours.
    count: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": RemovalAction.COUNT,
        # Every keystroke is sent to the bot so the renewal follows the typing.
        "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
    }
    if initial is not None and str(initial).strip():
        count["initial_value"] = str(initial).strip()[:MAX_TYPED]
    seen = read_removal(view.terms, typed if typed is not None else initial)
    if problem is None and typed is not None and isinstance(seen, str):
        problem = seen
    count_block: Block = {
        "type": "input",
        "block_id": RemovalBlock.COUNT,
        "dispatch_action": True,
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
        "external_id": removal_modal_id(state),
        "title": title("Remove licenses"),
        "submit": plain("Send request"),
        "close": plain("Cancel"),
        "private_metadata": state.model_dump_json(),
        "blocks": [
            section(
                f"*{view.name}* has {licenses(view.terms.licenses)}. Your Customer Success "
                "Manager reviews every removal; your request gets its reference as soon as "
                "you send it, and you get a DM when they decide."
            ),
            count_block,
            *explained,
            section(renewal_preview(view, seen if isinstance(seen, int) else None)),
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


def removal_summary(view: RemovalView) -> list[Block]:
    reason = view.reason.replace("\n", "\n>")
    pairs = [
        ("Requested by", f"<@{view.requested_by}>"),
        (
            "Licenses",
            f"{view.licenses_from:,} → {view.licenses_after:,} (remove {view.remove_count:,})",
        ),
    ]
    if view.renewal is not None:
        pairs.append(("Renewal", renewal_text(view.renewal)))
    pairs += [
        ("Takes effect", timing_text(view.timing, view.requested_effective_at)),
        ("Support ticket", ticket_text(view)),
    ]
    return [
        section(
            f":outbox_tray: *License removal request {view.reference}* for *{view.account_name}* "
            f"({view.plan_name})"
        ),
        fields(pairs),
        section(f"*Reason*\n>{reason}"),
    ]


def verdict_buttons(action: str, value_of: Callable[[Verdict], BaseModel]) -> list[dict[str, Any]]:
    """Approve and Deny: one action per verdict (`action`:approve, `action`:deny), both
    going to the same decision listener, each carrying `value_of` its verdict."""
    return [
        button(label, f"{action}:{verdict.value}", value_of(verdict).model_dump_json(), style=style)
        for verdict, label, style in (
            (Verdict.APPROVE, "Approve", "primary"),
            (Verdict.DENY, "Deny", "danger"),
        )
    ]


def decision_note_input(block_id: str, action_id: str, approving: bool) -> Block:
    """The CSM's words to the admin: optional on an approval, the reason for a denial."""
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain("Note to the admin" if approving else "Reason for the denial"),
        "optional": approving,
        "element": {
            "type": "plain_text_input",
            "action_id": action_id,
            "multiline": True,
            "max_length": MAX_REASON_LENGTH,
        },
    }


def decision_buttons(view: RemovalView) -> list[dict[str, Any]]:
    return verdict_buttons(
        RemovalAction.DECIDE, lambda verdict: DecisionRequest(request_id=view.id, verdict=verdict)
    )


def build_removal_message(view: RemovalView) -> list[Block]:
    """The CSM channel message: the request, then buttons while pending, else the outcome."""
    blocks = removal_summary(view)
    if view.status is RemovalStatus.PENDING:
        blocks.append(actions(decision_buttons(view), block_id=RemovalBlock.DECISION))
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
            f"{'Approve' if approving else 'Deny'} request *{view.reference}*: remove "
            f"{licenses(view.remove_count)} from *{view.account_name}* "
            f"({view.licenses_from:,} → {view.licenses_after:,})."
        )
    ]
    if view.renewal is not None:
        blocks.append(section(f"*Renewal:* {renewal_text(view.renewal)}"))
    # Whatever the date, the current period stays paid: approving early saves nothing now.
    blocks.append(
        context(f"{NO_REFUND} The first renewal after the removal bills the lower count.")
    )
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
    blocks.append(decision_note_input(RemovalBlock.NOTE, RemovalAction.NOTE, approving))
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
        f"{view.licenses_after:,}) · *{status}* · {support_ticket(view)}"
    )


def requester_update_text(view: RemovalView, stage: str) -> str:
    """The DM the admin gets at each step."""
    if stage == "received":
        renewal = f" (renewal {renewal_text(view.renewal)})" if view.renewal else ""
        ticket = f" It is filed as {support_ticket(view)}." if view.ticket_reference else ""
        return (
            f"We received your request {view.reference} to remove {licenses(view.remove_count)} "
            f"from {view.account_name}{renewal}. Your CSM will decide soon; quote "
            f"{view.reference} if you ask about it.{ticket}"
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


def reminder_reply(view: RemovalView | AddRequestView, number: int) -> str:
    who = f"<@{view.csm_user_id}>" if view.csm_user_id else "CSM team"
    return (
        f":bell: {who}, {view.reference} from <@{view.requested_by}> is still waiting for a "
        f"decision (reminder {number} of {MAX_REMINDERS})."
    )


def build_request_sent_modal(view: RemovalView) -> dict[str, Any]:
    renewal = f" Renewal: {renewal_text(view.renewal)}." if view.renewal else ""
    return build_info_modal(
        "Request sent",
        f":white_check_mark: Request *{view.reference}* is with your Customer Success "
        f"Manager: remove {licenses(view.remove_count)} "
        f"({view.licenses_from:,} → {view.licenses_after:,}), "
        f"{view.timing.label.lower()}.{renewal}",
        f"Quote {view.reference} if you ask about it. A DM confirms it now, and another "
        "comes when it is decided.",
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
        ticket = support_ticket(view)
        return f":x: You denied {view.reference}. The admin is told, and {ticket} is solved."
    when = day(view.effective_at) if view.effective_at else "on schedule"
    return (
        f":white_check_mark: You approved {view.reference}: {view.account_name} goes from "
        f"{view.licenses_from:,} to {licenses(view.licenses_after)}, effective {when}."
    )
