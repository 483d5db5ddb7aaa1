"""The one error handler: typed errors become their sentence, on the surface the user is on.

A modal submit not yet acked gets `response_action: errors` on the input at fault (or
the modal updated with the sentence); a command or a button gets an ephemeral reply; an
event, or work past the ack, gets a DM. Anything untyped is our bug: logged in full, and
the user reads a calm apology.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from blocks.forms import FIELD_BLOCKS
from blocks.messages import something_went_wrong
from blocks.plan import build_info_modal
from bot.domain.errors import InvalidRemoval, ServiceError
from handlers.surfaces import Interaction

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

log = logging.getLogger(__name__)


def modal_answer(error: Exception, text: str, view: dict[str, Any]) -> dict[str, Any]:
    """The error beside the input at fault, or the modal replaced by the sentence."""
    if isinstance(error, InvalidRemoval) and error.field in FIELD_BLOCKS:
        return {"response_action": "errors", "errors": {FIELD_BLOCKS[error.field]: str(error)}}
    heading = str((view.get("title") or {}).get("text") or "Licenses")
    return {"response_action": "update", "view": build_info_modal(heading, text)}


async def answer_error(
    error: Exception,
    body: dict[str, Any],
    ack: AsyncAck,
    client: AsyncWebClient,
    respond: AsyncRespond,
    response: BoltResponse | None,
    runtime: Runtime,
) -> BoltResponse | None:
    if isinstance(error, ServiceError):
        text = f":warning: {error}"
    else:
        error_id = uuid.uuid4().hex[:8]
        log.error("unhandled error %s in a listener", error_id, exc_info=error)
        text = something_went_wrong(error_id)
    # `response` is None once the listener has acked: then only a message can reach the user.
    acked = response is None
    if body.get("type") == "view_submission" and not acked:
        return BoltResponse(status=200, body=modal_answer(error, text, body.get("view") or {}))
    answer = Interaction(body, ack, client, respond, runtime)
    if answer.user_id:
        try:
            await answer.reply(text)
        except Exception as exc:
            log.warning("could not answer %s through its response_url: %s", answer.user_id, exc)
    return None if acked else BoltResponse(status=200, body="")


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.error
    async def on_error(
        error: Exception,
        body: dict[str, Any],
        ack: AsyncAck,
        client: AsyncWebClient,
        respond: AsyncRespond,
        response: BoltResponse | None,
    ) -> BoltResponse | None:
        return await answer_error(error, body, ack, client, respond, response, runtime)
