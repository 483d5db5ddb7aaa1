"""A CSM's Approve or Deny of a request for more licenses (LR-…): its post, its place in
the CSM queue, the modal it is decided in, and what the admin who asked hears."""

from __future__ import annotations

from typing import Any

from blocks.add import MAX_TYPED, quote_lines, receipt_blocks
from blocks.ids import Action, Callback
from blocks.ids import Block as BlockId
from blocks.messages import request_price, request_wish, route_request_blocks
from blocks.metadata import AddDecisionRequest, AddDecisionState
from blocks.plan import build_info_modal
from blocks.removal import decision_note_input, verdict_buttons
from blocks.text import (
    Block,
    actions,
    context,
    day,
    day_and_time,
    header,
    licenses,
    money,
    per_period,
    plain,
    section,
    title,
)
from bot.domain.policy import RequestStatus
from bot.domain.removal import Verdict
from bot.readmodels import AddRequestView, Receipt


def add_decision_buttons(view: AddRequestView) -> list[dict[str, Any]]:
    return verdict_buttons(
        Action.DECIDE_ADD_REQUEST,
        lambda verdict: AddDecisionRequest(request_id=view.id, verdict=verdict),
    )


def add_request_status(view: AddRequestView) -> str:
    """Where a request to the CSM stands, in one line."""
    who = f"<@{view.decided_by}>" if view.decided_by else "a CSM"
    when = f" on {day(view.decided_at)}" if view.decided_at else ""
    if view.status is RequestStatus.APPROVED:
        note = f" Note: {view.decision_note}" if view.decision_note else ""
        return (
            f":white_check_mark: *Approved* by {who}{when}: order `{view.order_reference}`.{note}"
        )
    if view.status is RequestStatus.DENIED:
        reason = f" Reason: {view.decision_note}" if view.decision_note else ""
        return f":x: *Denied* by {who}{when}.{reason}"
    return ":hourglass_flowing_sand: *Waiting for a CSM decision.*"


def csm_post_blocks(view: AddRequestView) -> list[Block]:
    """The CSM's post: the request, then Approve / Deny while it waits, else the decision."""
    blocks = route_request_blocks(view)
    if view.awaits_csm:
        blocks.append(actions(add_decision_buttons(view), block_id=BlockId.ADD_REQUEST_DECISION))
    else:
        blocks.append(context(add_request_status(view)))
    return blocks


def request_counts(view: AddRequestView) -> str:
    """ "add 2 (12 → 14)" from the licenses as they are now; "add more" without a number."""
    if view.wanted is None:
        return "add more (no number given)"
    return f"add {view.wanted:,} ({view.licenses_now:,} → {view.licenses_now + view.wanted:,})"


def queue_entry_for_request(view: AddRequestView, waited: str) -> list[Block]:
    heading = f"*{view.account_name}* · {view.plan_name} · {licenses(view.licenses_now)}"
    asked = (
        f"`{view.reference}` · {request_counts(view)} · asked by <@{view.requested_by}> · "
        f"open {waited}"
    )
    return [
        section(f"{heading}\n{asked}\n>When asked: {request_price(view)}"),
        actions(add_decision_buttons(view), block_id=f"queue_add_{view.id}"),
    ]


def _count_input(initial: int | str | None) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": Action.DECISION_COUNT,
        "placeholder": plain("How many licenses?"),
    }
    if initial is not None and str(initial).strip():
        element["initial_value"] = str(initial).strip()[:MAX_TYPED]
    return {
        "type": "input",
        "block_id": BlockId.DECISION_COUNT,
        "label": plain("Licenses to add"),
        "hint": plain("What the admin asked for. Change it if you agreed on another number."),
        "element": element,
    }


def build_add_decision_modal(
    view: AddRequestView,
    state: AddDecisionState,
    quote_ttl_seconds: int,
    *,
    notice: str | None = None,
    typed: str | None = None,
) -> dict[str, Any]:
    """Approve (with the price it charges now, for the number in the count) or Deny."""
    approving = state.verdict is Verdict.APPROVE
    blocks: list[Block] = [
        section(
            f"{'Approve' if approving else 'Deny'} request *{view.reference}*: "
            f"<@{view.requested_by}> asks {request_wish(view)} for *{view.account_name}* "
            f"({view.plan_name}, {licenses(view.licenses_now)} now)."
        ),
        context(f"When asked, {day_and_time(view.created_at)}: {request_price(view)}."),
    ]
    if approving:
        quote = state.quote
        initial = typed if typed is not None else (quote.added if quote else None)
        blocks.append(_count_input(initial))
        if quote is not None:
            blocks.append(quote_lines(quote, view.price.interval, quote_ttl_seconds))
            blocks.append(
                context(
                    f"Approving places this order for {view.account_name} now: "
                    f"{money(quote.due_today_minor, quote.currency)} is charged today to the "
                    f"account's payment method, and <@{view.requested_by}> gets the receipt."
                )
            )
        else:
            blocks.append(
                context(
                    "Enter how many licenses to add: the price is shown before anything is charged."
                )
            )
    if notice:
        blocks.append(section(f":warning: {notice}"))
    blocks.append(decision_note_input(BlockId.DECISION_NOTE, Action.DECISION_NOTE, approving))
    return {
        "type": "modal",
        "external_id": state.external_id,
        "callback_id": Callback.ADD_DECISION,
        "title": title("Approve request" if approving else "Deny request"),
        "submit": plain("Approve and charge" if approving else "Deny"),
        "close": plain("Cancel"),
        "private_metadata": state.model_dump_json(),
        "blocks": blocks,
    }


def check_price_notice(count: int) -> str:
    return f"This is the price for {licenses(count)}. Check it, then press Approve and charge."


def stale_approval_notice(why: str) -> str:
    return f"{why} Check it, then press Approve and charge again."


def build_approving_modal(state: AddDecisionState) -> dict[str, Any]:
    """Drawn from the modal's own sealed state: the ack needs no database."""
    quote = state.quote
    amount = f" for {money(quote.due_today_minor, quote.currency)}" if quote else ""
    added = licenses(quote.added) if quote else "licenses"
    return {
        "type": "modal",
        "external_id": state.external_id,
        "callback_id": Callback.INFO,
        "title": title("Approve request"),
        "close": plain("Close"),
        "blocks": [
            section(
                f":hourglass_flowing_sand: Approving {state.reference}: placing the order of "
                f"{added}{amount}…"
            )
        ],
    }


def build_add_decided_modal(
    view: AddRequestView, receipt: Receipt | None, external_id: str | None = None
) -> dict[str, Any]:
    """What the CSM's decision did: the order it placed, or the denial sent."""
    if receipt is not None and receipt.status == "paid":
        # The receipt as the admin gets it, under a heading for the CSM, who added nothing.
        blocks = [
            header(f"{licenses(receipt.added)} added to {view.account_name}"),
            *receipt_blocks(receipt, per_period(receipt.interval))[1:],
            context(
                f":white_check_mark: Approved {view.reference}. <@{view.requested_by}> has the "
                "receipt in their direct messages."
            ),
        ]
        modal = {
            "type": "modal",
            "callback_id": Callback.INFO,
            "title": title("Request approved"),
            "close": plain("Done"),
            "blocks": blocks,
        }
    elif receipt is not None and receipt.status == "failed":
        why = receipt.failure_message or "The payment was declined."
        modal = build_info_modal(
            "Payment declined",
            f":x: The order for {view.reference} was not placed: “{why}” Nothing was charged, "
            f"and the request is waiting for a decision again.",
            f"<@{view.requested_by}> was told to update the card on file.",
        )
    elif receipt is not None:
        modal = build_info_modal(
            "Request approved",
            f":hourglass_flowing_sand: Approved {view.reference}. The payment provider hasn't "
            f"confirmed the charge of {money(receipt.charged_minor, receipt.currency)} yet; "
            f"licensebot finishes it and <@{view.requested_by}> gets the receipt.",
        )
    else:
        modal = build_info_modal(
            "Request denied",
            f":x: Denied {view.reference}. <@{view.requested_by}> was told why by direct message.",
        )
    return {**modal, "external_id": external_id} if external_id else modal


def add_decision_text(view: AddRequestView, receipt: Receipt | None = None) -> str:
    """The requester's DM once a CSM has decided; an approval names the order it placed."""
    who = f"<@{view.decided_by}>" if view.decided_by else "Your Customer Success Manager"
    if view.status is RequestStatus.APPROVED:
        added = receipt.added if receipt is not None else view.wanted
        what = f"{licenses(added)} added" if added else "licenses added"
        if receipt is not None and view.wanted and receipt.added != view.wanted:
            what += f" (you asked for {view.wanted:,})"
        return (
            f":white_check_mark: {who} approved your request {view.reference} for "
            f"{view.account_name}: {what}, order {view.order_reference}. The receipt "
            "follows in a separate message."
        )
    return (
        f":x: {who} denied your request {view.reference} {request_wish(view)} for "
        f"{view.account_name}. Reason: {view.decision_note or 'none given'}"
    )


def add_decision_blocks(view: AddRequestView, receipt: Receipt | None = None) -> list[Block]:
    blocks = [section(add_decision_text(view, receipt))]
    if view.status is RequestStatus.APPROVED and view.decision_note:
        blocks.append(context(f"Note: {view.decision_note}"))
    return blocks


def already_decided_add_text(view: AddRequestView) -> str:
    return f"Request {view.reference} was decided already. {add_request_status(view)}"
