"""Escalations: a request nobody decided (a removal, or more licenses), to the escalation
channel or CSMs' DMs."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from blocks.escalation import escalation_blocks, escalation_text
from bot.domain.removal import RemovalStatus
from bot.effects.context import EffectDeps
from bot.effects.dms import dm
from bot.integrations.slack_errors import slack_error
from bot.readmodels import AddRequestView, RemovalView
from bot.services.outbox import EscalateAddRequest, EscalateRemoval
from bot.services.removals import requester_contact
from bot.services.requests import get_add_request

log = logging.getLogger(__name__)

# Answers that may change on a retry: the escalation waits for the link instead.
TRANSIENT_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


async def permalink(deps: EffectDeps, view: RemovalView | AddRequestView) -> str | None:
    """chat.getPermalink for the request's post (vendor workspace), None if there is none.

    A post Slack can't link to (deleted, a channel gone, a Web API without the method)
    doesn't hold the escalation back: it goes out without the link.
    """
    if not (view.channel_id and view.message_ts):
        return None
    client = await deps.slack(None)
    try:
        found = await client.chat_getPermalink(channel=view.channel_id, message_ts=view.message_ts)
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in TRANSIENT_SLACK_ERRORS or error.startswith("http_5"):
            raise
        log.warning("no permalink for %s (%s): escalated without it", view.reference, error)
        return None
    link = found.get("permalink")
    return str(link) if link else None


async def escalate_removal(deps: EffectDeps, effect: EscalateRemoval) -> None:
    view = await deps.removal(effect)
    if view.status is not RemovalStatus.PENDING:
        return  # decided while this waited in the outbox: nothing to escalate any more
    name, _ = await requester_contact(deps.services, view.id)
    await _escalate(deps, view, effect.channel, effect.user_id, name)


async def escalate_add_request(deps: EffectDeps, effect: EscalateAddRequest) -> None:
    view = await get_add_request(deps.services, effect.request_id)
    if not view.awaits_csm:
        return  # decided while this waited in the outbox
    await _escalate(deps, view, effect.channel, effect.user_id, None)


async def _escalate(
    deps: EffectDeps,
    view: RemovalView | AddRequestView,
    channel: str | None,
    user_id: str | None,
    requester_name: str | None,
) -> None:
    link = await permalink(deps, view)
    now = deps.services.clock()
    text = escalation_text(view, now, link, requester_name)
    blocks = escalation_blocks(view, now, link, requester_name)
    if channel is not None:
        await deps.post(None, channel, text, blocks)
    elif user_id is not None:
        await dm(deps, None, user_id, text, blocks)


HANDLERS = {EscalateRemoval: escalate_removal, EscalateAddRequest: escalate_add_request}
