"""The CSM channel: removal requests with their buttons, thread replies, routed requests."""

from __future__ import annotations

import logging

from blocks.add_decision import csm_post_blocks
from blocks.messages import csm_request_text
from blocks.removal import (
    applied_reply,
    build_removal_message,
    decision_reply,
    reminder_reply,
    removal_message_text,
)
from bot.domain.policy import Route
from bot.effects.context import EffectDeps, NotYet, record_queued
from bot.readmodels import AddRequestView, RemovalView
from bot.services.outbox import (
    NotifyCsmChannel,
    PostCsmRequest,
    PostRemoval,
    RefreshAddRequest,
    RefreshRemoval,
    RemindAddRequest,
    ReplyApplied,
    ReplyDecision,
    ReplyReminder,
)
from bot.services.removals import record_message
from bot.services.requests import get_add_request, record_add_message

log = logging.getLogger(__name__)


async def csm_destination(deps: EffectDeps, csm_user_id: str | None) -> str | None:
    """Where CSM requests go: the CSM channel, else a DM with the account's CSM, else nowhere."""
    channel = deps.services.settings.csm_channel_id
    if channel is None and csm_user_id:
        opened = await (await deps.slack(None)).conversations_open(users=csm_user_id)
        channel = str(opened["channel"]["id"])
    return channel


async def post_removal(deps: EffectDeps, effect: PostRemoval) -> None:
    view = await deps.removal(effect)
    if view.message_ts:
        return
    channel = await csm_destination(deps, view.csm_user_id)
    if channel is None:
        log.warning(
            "no CSM_CHANNEL_ID and no CSM for %s: %s waits in App Home and the ticket",
            view.account_id,
            view.reference,
        )
        return
    posted_in, ts = await deps.post(
        None, channel, removal_message_text(view), build_removal_message(view)
    )
    await record_message(deps.services, view.id, posted_in, ts)


async def refresh_removal(deps: EffectDeps, effect: RefreshRemoval) -> None:
    view = await deps.removal(effect)
    if view.message_ts and view.channel_id:
        await (await deps.slack(None)).chat_update(
            channel=view.channel_id,
            ts=view.message_ts,
            text=removal_message_text(view),
            blocks=build_removal_message(view),
        )


async def _reply(deps: EffectDeps, view: RemovalView | AddRequestView, text: str) -> None:
    """A reply in the request's thread, once the request has been posted."""
    if view.message_ts and view.channel_id:
        await deps.post(None, view.channel_id, text, thread_ts=view.message_ts)
    elif deps.services.settings.csm_channel_id is not None or view.csm_user_id:
        raise NotYet("the channel message has not been posted yet")


async def reply_decision(deps: EffectDeps, effect: ReplyDecision) -> None:
    view = await deps.removal(effect)
    await _reply(deps, view, decision_reply(view))


async def reply_applied(deps: EffectDeps, effect: ReplyApplied) -> None:
    view = await deps.removal(effect)
    await _reply(deps, view, applied_reply(view))


async def reply_reminder(deps: EffectDeps, effect: ReplyReminder) -> None:
    view = await deps.removal(effect)
    await _reply(deps, view, reminder_reply(view, effect.number))


async def remind_add_request(deps: EffectDeps, effect: RemindAddRequest) -> None:
    view = await get_add_request(deps.services, effect.request_id)
    if view.awaits_csm:
        await _reply(deps, view, reminder_reply(view, effect.number))


async def post_csm_request(deps: EffectDeps, effect: PostCsmRequest) -> None:
    """ "Ask my CSM": the request where CSMs work, addressed to the account's CSM."""
    if effect.request_id is None:
        await record_queued(deps, effect, Route.CSM, None)
        return
    view = await get_add_request(deps.services, effect.request_id)
    if view.message_ts:
        return
    channel = await csm_destination(deps, view.csm_user_id)
    if channel is None:
        log.warning(
            "no CSM channel and no CSM for %s: %s waits in App Home and the audit log",
            view.account_id,
            view.reference,
        )
        return
    posted_in, ts = await deps.post(None, channel, csm_request_text(view), csm_post_blocks(view))
    await record_add_message(deps.services, view.id, posted_in, ts)


async def refresh_add_request(deps: EffectDeps, effect: RefreshAddRequest) -> None:
    """The post's buttons become the decision (or come back, when a payment was declined)."""
    view = await get_add_request(deps.services, effect.request_id)
    if view.message_ts and view.channel_id:
        await (await deps.slack(None)).chat_update(
            channel=view.channel_id,
            ts=view.message_ts,
            text=csm_request_text(view),
            blocks=csm_post_blocks(view),
        )


async def notify_csm_channel(deps: EffectDeps, effect: NotifyCsmChannel) -> None:
    channel = deps.services.settings.csm_channel_id
    if channel is None:
        log.info("no CSM_CHANNEL_ID; not posted: %s", effect.text)
        return
    await deps.post(None, channel, effect.text)


HANDLERS = {
    NotifyCsmChannel: notify_csm_channel,
    PostRemoval: post_removal,
    RefreshRemoval: refresh_removal,
    ReplyDecision: reply_decision,
    ReplyApplied: reply_applied,
    ReplyReminder: reply_reminder,
    PostCsmRequest: post_csm_request,
    RefreshAddRequest: refresh_add_request,
    RemindAddRequest: remind_add_request,
}
