"""Removing licenses: the admin's request, and the CSM's approve or deny (one code path)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.forms import DecisionForm, RemovalForm
from blocks.ids import Action, RemovalAction, RemovalBlock, RemovalCallback
from blocks.metadata import DecisionRequest, RemovalModalState
from blocks.removal import (
    already_decided_text,
    build_already_decided_modal,
    build_decided_modal,
    build_decision_modal,
    build_removal_modal,
    build_removal_not_allowed_modal,
    build_request_sent_modal,
    removal_modal_id,
)
from bot.bootstrap import Runtime
from bot.domain.errors import InvalidRemoval
from bot.domain.policy import read_count
from bot.domain.removal import RemovalStatus, Verdict, parse_effective
from bot.services.removals import (
    apply_due_removals,
    decide_removal,
    get_removal,
    open_decision,
    record_requester,
    request_removal,
)
from handlers.add_licenses import LatestKeystroke
from handlers.middleware import Caller, listener
from handlers.queue import queue_clicked_in, redraw_queue
from handlers.surfaces import Interaction

keystrokes = LatestKeystroke()


async def on_request_removal(slack: Interaction, caller: Caller) -> None:
    await slack.ack()
    admin = await caller.admin()
    if admin is None:
        await slack.show_modal(build_removal_not_allowed_modal())
    else:
        await slack.show_modal(build_removal_modal(admin.overview))


async def on_removal_count_changed(
    slack: Interaction,
    action: dict[str, Any],
    caller: Caller,
    runtime: Runtime,
    state: RemovalModalState,
) -> None:
    """A keystroke in the count: the renewal before and after follows what is typed."""
    await slack.ack()
    admin = await caller.admin_of(state.account_id, "ask to remove licenses")
    modal = removal_modal_id(state)
    stamp = str(action.get("action_ts") or "0")
    if not keystrokes.see(modal, stamp):
        return
    typed = str(action.get("value") or "")
    new_view = build_removal_modal(admin.overview, typed=typed, state=state)
    await keystrokes.show(slack, new_view, modal, stamp)


async def on_removal_submitted(
    slack: Interaction,
    caller: Caller,
    runtime: Runtime,
    state: RemovalModalState,
    form: RemovalForm,
) -> None:
    count = read_count(form.count, purpose="remove")
    if isinstance(count, str):
        await slack.ack_errors(RemovalBlock.COUNT, count)
        return
    admin = await caller.admin_of(state.account_id, "ask to remove licenses")
    # Recording the request is one quick transaction, so the admin's modal can show its
    # reference at once; the ticket and the messages follow after the ack.
    created = await request_removal(
        runtime.services,
        admin.account_id,
        admin.identity,
        count,
        form.reason,
        form.timing,
        idempotency_key=state.idempotency_key,
    )
    await slack.ack_update(build_request_sent_modal(created))
    # The ticket names its requester; Slack's directory tells who that is.
    profile = await runtime.directory.profile(caller.user_id, caller.team_id)
    await record_requester(runtime.services, created.id, profile.name, profile.email)
    runtime.drain_soon()


async def on_decide_clicked(
    slack: Interaction, caller: Caller, runtime: Runtime, request: DecisionRequest
) -> None:
    await slack.ack()
    view = await open_decision(runtime.services, request.request_id, caller.who)
    if view.status is not RemovalStatus.PENDING:
        await slack.tell(already_decided_text(view))
        return
    # Where the decision was asked for, so the modal's answer can point back to it.
    channel = (slack.body.get("channel") or {}).get("id")
    request = request.model_copy(
        update={
            "channel_id": channel,
            "decision_key": f"decide-{uuid.uuid4().hex}",
            "queue_view_id": queue_clicked_in(slack),
        }
    )
    # From the CSM queue's modal it goes on top (Back returns to the queue).
    await slack.show_modal(build_decision_modal(view, request))


async def on_decision_submitted(
    slack: Interaction,
    caller: Caller,
    runtime: Runtime,
    request: DecisionRequest,
    form: DecisionForm,
) -> None:
    services = runtime.services
    effective = await _effective_date(runtime, request, form)
    # One atomic UPDATE: deciding before the ack lets the modal say at once who won; the
    # messages, the ticket and the effect follow after it.
    outcome = await decide_removal(
        services,
        request.request_id,
        caller.who,
        request.verdict,
        note=form.note,
        effective_at=effective,
        decision_key=request.decision_key,
    )
    if not outcome.won and not outcome.repeats(request.decision_key):
        await slack.ack_update(build_already_decided_modal(outcome.view))
        return
    await slack.ack_update(build_decided_modal(outcome.view))
    if not outcome.won:
        return  # a replay: the first submission did the rest
    if request.verdict is Verdict.APPROVE:
        await apply_due_removals(services)
    runtime.drain_soon()
    if request.queue_view_id:
        await redraw_queue(slack, runtime, caller.user_id, request.queue_view_id)


async def _effective_date(
    runtime: Runtime, request: DecisionRequest, form: DecisionForm
) -> datetime | None:
    """The date an approval takes effect (None for a denial); InvalidRemoval if it can't."""
    if request.verdict is not Verdict.APPROVE:
        return None
    current = await get_removal(runtime.services, request.request_id)
    today = runtime.services.clock().date()
    chosen = parse_effective(form.effective, current.requested_effective_at, today)
    if isinstance(chosen, str):
        raise InvalidRemoval("effective", chosen)
    return chosen


def register(app: AsyncApp) -> None:
    app.action(Action.REQUEST_REMOVAL)(listener(on_request_removal))
    app.action(RemovalAction.COUNT)(listener(on_removal_count_changed))
    app.view(RemovalCallback.REQUEST)(listener(on_removal_submitted))
    app.action(re.compile(f"^{RemovalAction.DECIDE}:"))(listener(on_decide_clicked))
    app.view(RemovalCallback.DECISION)(listener(on_decision_submitted))
