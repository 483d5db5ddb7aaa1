"""Removing licenses: the admin's request, and the CSM's approve or deny (one code path)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, RemovalAction, RemovalBlock, RemovalCallback
from blocks.metadata import DecisionRequest, RemovalModalState
from blocks.plan import build_info_modal
from blocks.removal import build_decision_modal, build_removal_modal, ticket_text
from blocks.text import day, licenses
from bot.deps import deps_of
from bot.domain.removal import RemovalStatus, Timing, Verdict, may_decide
from bot.services.errors import ServiceError
from bot.services.removals import (
    InvalidRemoval,
    NotACsm,
    RemovalView,
    apply_due_removals,
    decide_removal,
    get_removal,
    record_requester,
    request_removal,
)
from handlers.add_modal import read_count
from handlers.common import access_of, show_modal, user_of

FIELD_BLOCKS = {
    "count": RemovalBlock.COUNT,
    "reason": RemovalBlock.REASON,
    "note": RemovalBlock.NOTE,
}


def _value(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    values: dict[str, Any] = view["state"]["values"].get(block, {}).get(action, {})
    return values


async def on_request_removal(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    access = await access_of(deps_of(context), body)
    if access.overview is None or not access.is_admin:
        view = build_info_modal(
            "Remove licenses", "Only license admins can ask to remove licenses."
        )
    else:
        view = build_removal_modal(access.overview)
    await show_modal(client, body, view)


async def on_removal_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    deps = deps_of(context)
    state = RemovalModalState.model_validate_json(view["private_metadata"])
    count = read_count(
        _value(view, RemovalBlock.COUNT, RemovalAction.COUNT).get("value"), purpose="remove"
    )
    reason = _value(view, RemovalBlock.REASON, RemovalAction.REASON).get("value") or ""
    option = _value(view, RemovalBlock.TIMING, RemovalAction.TIMING).get("selected_option") or {}
    timing = Timing(option.get("value", Timing.RENEWAL.value))
    if isinstance(count, str):
        await ack(response_action="errors", errors={RemovalBlock.COUNT: count})
        return
    # Recording the request is one quick transaction, so the admin's modal can show its
    # reference at once; the ticket and the messages follow after the ack.
    access = await access_of(deps, body)
    try:
        if access.identity is None:
            raise ServiceError("Only license admins can ask to remove licenses.")
        created = await request_removal(
            deps.services, state.account_id, access.identity, count, reason, timing
        )
    except InvalidRemoval as invalid:
        await ack(response_action="errors", errors={FIELD_BLOCKS[invalid.field]: str(invalid)})
        return
    except ServiceError as refused:
        await ack(
            response_action="update",
            view=build_info_modal("Remove licenses", f":warning: {refused}"),
        )
        return
    await ack(
        response_action="update",
        view=build_info_modal(
            "Request sent",
            f":white_check_mark: Request *{created.reference}* is with your Customer Success "
            f"Manager: remove {licenses(created.remove_count)} "
            f"({created.licenses_at_request:,} → {created.licenses_after:,}), "
            f"{created.timing.label.lower()}.",
            "You'll get the ticket reference by DM now, and another DM when it is decided.",
        ),
    )
    # The ticket names its requester; Slack's directory tells who that is.
    profile = await deps.directory.profile(access.user_id)
    await record_requester(deps.services, created.id, profile.name, profile.email)
    deps.run_effects_soon()


async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer in the channel where the button was clicked."""
    channel = str((body.get("channel") or {}).get("id") or body["container"]["channel_id"])
    await client.chat_postEphemeral(channel=channel, user=user_of(body), text=text)


def decided_text(view: RemovalView) -> str:
    when = view.decided_at.strftime("%Y-%m-%d %H:%M UTC") if view.decided_at else ""
    return f"<@{view.decided_by}> already {view.status.value} {view.reference} ({when}); nothing changed."


async def on_decide_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    deps = deps_of(context)
    request = DecisionRequest.model_validate_json(action["value"])
    user_id = user_of(body)
    view = await get_removal(deps.services, request.request_id)
    if not may_decide(user_id, deps.settings.csm_user_id_set, view.csm_user_id):
        await _tell(client, body, f":no_entry: {NotACsm()}")
        return
    if view.status is not RemovalStatus.PENDING:
        await _tell(client, body, decided_text(view))
        return
    channel = (body.get("channel") or {}).get("id")
    request = request.model_copy(update={"channel_id": channel})
    await client.views_open(trigger_id=body["trigger_id"], view=build_decision_modal(view, request))


def parse_effective(raw: str | None, view: RemovalView, today: date) -> datetime | str:
    """The chosen date as a UTC moment, or what is wrong with it."""
    if not raw:
        return view.requested_effective_at
    try:
        chosen = date.fromisoformat(raw)
    except ValueError:
        return "Pick a date."
    if chosen == view.requested_effective_at.date():
        # The requested moment itself (the renewal instant, or "now" for ASAP).
        return view.requested_effective_at
    if chosen < today:
        return "Pick today or a later date."
    return datetime.combine(chosen, time(0, 0), tzinfo=UTC)


async def on_decision_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    deps = deps_of(context)
    request = DecisionRequest.model_validate_json(view["private_metadata"])
    note = _value(view, RemovalBlock.NOTE, RemovalAction.NOTE).get("value")
    current = await get_removal(deps.services, request.request_id)
    effective: datetime | None = None
    if request.verdict is Verdict.APPROVE:
        raw = _value(view, RemovalBlock.EFFECTIVE, RemovalAction.EFFECTIVE).get("selected_date")
        parsed = parse_effective(raw, current, deps.services.clock().date())
        if isinstance(parsed, str):
            await ack(response_action="errors", errors={RemovalBlock.EFFECTIVE: parsed})
            return
        effective = parsed
    elif not (note or "").strip():
        await ack(
            response_action="errors",
            errors={RemovalBlock.NOTE: "Give the admin a reason for the denial."},
        )
        return
    # The decision is one atomic UPDATE: deciding before the ack lets the modal say at
    # once who won; the messages, the ticket and the effect follow after it.
    try:
        outcome = await decide_removal(
            deps.services,
            request.request_id,
            user_of(body),
            request.verdict,
            note=note,
            effective_at=effective,
        )
    except InvalidRemoval as invalid:
        await ack(response_action="errors", errors={FIELD_BLOCKS[invalid.field]: str(invalid)})
        return
    except ServiceError as refused:
        await ack(
            response_action="update",
            view=build_info_modal("Removal request", f":warning: {refused}"),
        )
        return
    if not outcome.won:
        await ack(
            response_action="update",
            view=build_info_modal("Already decided", decided_text(outcome.view)),
        )
        return
    await ack(
        response_action="update",
        view=build_info_modal("Removal request", _done_text(outcome.view)),
    )
    if request.verdict is Verdict.APPROVE:
        await apply_due_removals(deps.services)
    deps.run_effects_soon()


def _done_text(view: RemovalView) -> str:
    if view.status is RemovalStatus.DENIED:
        return f":x: You denied {view.reference}. The admin is told, and ticket {ticket_text(view)} is solved."
    when = day(view.effective_at) if view.effective_at else "on schedule"
    return (
        f":white_check_mark: You approved {view.reference}: {view.account_name} goes from "
        f"{view.licenses_at_request:,} to {view.licenses_after:,} licenses, effective {when}."
    )


def register(app: AsyncApp) -> None:
    app.action(Action.REQUEST_REMOVAL)(on_request_removal)
    app.view(RemovalCallback.REQUEST)(on_removal_submitted)
    app.action(re.compile(f"^{RemovalAction.DECIDE}:"))(on_decide_clicked)
    app.view(RemovalCallback.DECISION)(on_decision_submitted)
