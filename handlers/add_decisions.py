"""A CSM approves or denies a request for more licenses, from its post or the CSM queue.

Approve places the order for the admin who asked, at the price the CSM's modal shows
(computed on the server, sealed in the modal, checked again under the account's lock),
exactly once. Deny tells the admin why.
"""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from blocks.add_decision import (
    already_decided_add_text,
    build_add_decided_modal,
    build_add_decision_modal,
    build_approving_modal,
    check_price_notice,
    stale_approval_notice,
)
from blocks.forms import AddDecisionForm
from blocks.ids import Action, Block, Callback
from blocks.metadata import AddDecisionRequest, AddDecisionState
from blocks.plan import build_info_modal
from bot.bootstrap import Runtime
from bot.domain.errors import MalformedPayload, QuoteNotHonoured, ServiceError
from bot.domain.policy import decide_approved_add, read_count
from bot.domain.removal import Verdict
from bot.effects.orders import WAIT_FOR_PENDING_SECONDS
from bot.integrations.slack_errors import slack_error
from bot.readmodels import AdminIdentity
from bot.services.orders import place_order
from bot.services.requests import (
    DENIAL_NEEDS_A_REASON,
    Approval,
    approval_quote,
    deny_add_request,
    get_add_request,
    open_add_decision,
)
from handlers.middleware import Caller, listener
from handlers.queue import queue_clicked_in, redraw_queue
from handlers.surfaces import Interaction

log = logging.getLogger(__name__)


async def on_add_decide_clicked(
    slack: Interaction, caller: Caller, runtime: Runtime, request: AddDecisionRequest
) -> None:
    await slack.ack()
    services = runtime.services
    view = await open_add_decision(services, request.request_id, caller.who)
    if not view.awaits_csm:
        await slack.tell(already_decided_add_text(view))
        return
    state = AddDecisionState(
        request_id=view.id,
        verdict=request.verdict,
        reference=view.reference,
        viewer=caller.user_id,
        team_id=caller.team_id,
        queue_view_id=queue_clicked_in(slack),
    )
    if request.verdict is Verdict.APPROVE and view.wanted is not None:
        quote = await approval_quote(services, view.account_id, view.wanted)
        state = state.model_copy(update={"quote": quote})
    ttl = services.settings.quote_ttl_seconds
    # From the CSM queue's modal it goes on top (Back returns to the queue).
    await slack.show_modal(build_add_decision_modal(view, state, ttl))


async def on_add_decision_submitted(
    slack: Interaction,
    caller: Caller,
    runtime: Runtime,
    state: AddDecisionState,
    form: AddDecisionForm,
) -> None:
    if not state.belongs_to(caller.user_id, caller.team_id):
        # Only the CSM it was opened for; whether they still may decide is checked next.
        raise MalformedPayload()
    if state.verdict is Verdict.DENY:
        await _deny(slack, caller, runtime, state, form)
    else:
        await _approve(slack, caller, runtime, state, form)


async def _deny(
    slack: Interaction,
    caller: Caller,
    runtime: Runtime,
    state: AddDecisionState,
    form: AddDecisionForm,
) -> None:
    if not (form.note or "").strip():
        await slack.ack_errors(Block.DECISION_NOTE, DENIAL_NEEDS_A_REASON)
        return
    # One short transaction: the modal can say at once whether this denial stood.
    view = await deny_add_request(runtime.services, state.request_id, caller.who, form.note or "")
    await slack.ack_update(build_add_decided_modal(view, None))
    await _after_decision(slack, caller, runtime, state)


async def _approve(
    slack: Interaction,
    caller: Caller,
    runtime: Runtime,
    state: AddDecisionState,
    form: AddDecisionForm,
) -> None:
    services = runtime.services
    count = read_count(form.count)
    if isinstance(count, str):
        await slack.ack_errors(Block.DECISION_COUNT, count)
        return
    decision = decide_approved_add(count, services.settings.max_licenses_per_order)
    if not decision.allowed:
        await slack.ack_errors(Block.DECISION_COUNT, decision.reason)
        return
    if state.quote is None or state.quote.added != count:
        # No price on screen for this number: nobody is charged a price the CSM hasn't seen.
        view = await open_add_decision(services, state.request_id, caller.who)
        if not view.awaits_csm:
            said = already_decided_add_text(view)
            await slack.ack_update(build_info_modal("Request decided", said))
            return
        quote = await approval_quote(services, view.account_id, count)
        again = state.model_copy(update={"quote": quote})
        await slack.ack_update(
            build_add_decision_modal(
                view,
                again,
                services.settings.quote_ttl_seconds,
                notice=check_price_notice(count),
                typed=str(count),
            )
        )
        return
    # The price the bot sealed into the modal answers the submit: the ack needs no
    # database. Who decides, the request and the price are checked after it.
    confirmed_at = services.clock()
    await slack.ack_update(build_approving_modal(state))
    await caller.answered()
    try:
        view = await open_add_decision(services, state.request_id, caller.who)
    except ServiceError as refused:
        await _refused(slack, refused, state)
        return
    try:
        receipt = await place_order(
            services,
            view.account_id,
            AdminIdentity(view.requested_by),
            count,
            state.order_key,
            state.quote,
            confirmed_at,
            wait_for_pending=WAIT_FOR_PENDING_SECONDS,
            approval=Approval(view.id, caller.user_id, form.note),
        )
    except QuoteNotHonoured as stale:
        fresh = state.model_copy(update={"quote": stale.fresh})
        repriced = build_add_decision_modal(
            view,
            fresh,
            services.settings.quote_ttl_seconds,
            notice=stale_approval_notice(str(stale)),
            typed=str(count),
        )
        await _show(slack, repriced, state)
        return
    except ServiceError as refused:
        await _refused(slack, refused, state)
        return
    decided = await get_add_request(services, view.id)
    await _show(slack, build_add_decided_modal(decided, receipt), state)
    await _after_decision(slack, caller, runtime, state)


async def _refused(slack: Interaction, refused: ServiceError, state: AddDecisionState) -> None:
    await _show(slack, build_info_modal("Request not approved", f":warning: {refused}"), state)


async def _show(slack: Interaction, modal: dict[str, object], state: AddDecisionState) -> None:
    try:
        # It keeps its name: a replay of the same submit finds it to update too.
        named = {**modal, "external_id": state.external_id}
        await slack.update_modal(named, external_id=state.external_id)
    except SlackApiError as exc:
        # Closed meanwhile: the request's post and the admin's DM say what happened.
        log.info("decision modal not updated: %s", slack_error(exc))


async def _after_decision(
    slack: Interaction, caller: Caller, runtime: Runtime, state: AddDecisionState
) -> None:
    runtime.drain_soon()
    if state.queue_view_id:
        await redraw_queue(slack, runtime, caller.user_id, state.queue_view_id)


def register(app: AsyncApp) -> None:
    app.action(re.compile(f"^{Action.DECIDE_ADD_REQUEST}:"))(listener(on_add_decide_clicked))
    app.view(Callback.ADD_DECISION)(listener(on_add_decision_submitted))
