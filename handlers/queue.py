"""The CSM queue under a decision modal: which one it is, and redrawing it once decided."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from blocks.ids import Callback
from blocks.queue import build_queue_modal
from bot.bootstrap import Runtime
from bot.integrations.slack_errors import slack_error
from bot.services.queue import csm_queue
from handlers.surfaces import Interaction

log = logging.getLogger(__name__)


def queue_clicked_in(slack: Interaction) -> str | None:
    """The CSM queue modal a button was clicked in (redrawn once its request is decided)."""
    if slack.view.get("callback_id") == Callback.CSM_QUEUE and slack.view.get("id"):
        return str(slack.view["id"])
    return None


async def redraw_queue(slack: Interaction, runtime: Runtime, user_id: str, view_id: str) -> None:
    """The queue under a decided request, without it."""
    queue = await csm_queue(runtime.services, user_id)
    try:
        await slack.update_modal(build_queue_modal(queue), view_id)
    except SlackApiError as exc:
        # The queue was closed meanwhile: nothing to redraw.
        log.info("CSM queue not redrawn: %s", slack_error(exc))
