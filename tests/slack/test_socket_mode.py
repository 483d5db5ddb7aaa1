"""Socket Mode: the same listeners; the receipt waits until Slack has the ack it replaces."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from blocks.ids import Callback
from bot.sandbox.slack_side import view_submission
from bot.server import SocketModeHandler
from tests.slack.driver import Workspace, block_text
from tests.slack.test_security import open_add_modal_with_quote

ANN = "U0ANN"


class SlowSocket:
    """The socket to Slack, slow to carry an ack: Slack applies it when it arrives."""

    def __init__(self, ws: Workspace, view_id: str) -> None:
        self.logger = logging.getLogger(__name__)
        self.ws = ws
        self.view_id = view_id
        self.sent: list[dict[str, Any]] = []

    async def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        await asyncio.sleep(0.3)
        self.sent.append(response.payload or {})
        self.ws.slack.apply_view_response(ANN, self.view_id, response.payload)


async def test_order_now_over_socket_mode_ends_on_the_receipt(workspace: Workspace) -> None:
    ws = workspace
    view = await open_add_modal_with_quote(ws)
    handler = SocketModeHandler(ws.runtime, "xapp-test")
    socket = SlowSocket(ws, view["id"])
    trigger_id = ws.slack.new_trigger_id(ANN, view["id"])
    request = SocketModeRequest(
        type="interactive",
        envelope_id="envelope-1",
        payload=view_submission(ws.user(ANN), view, trigger_id),
    )

    await handler.handle(socket, request)  # type: ignore[arg-type]
    await ws.settle()

    [ack] = socket.sent
    assert ack["response_action"] == "update"
    assert "Placing your order" in block_text(ack["view"]["blocks"])
    receipt = ws.modal(ANN)
    assert receipt["callback_id"] == Callback.INFO
    assert receipt["title"]["text"] == "Order placed"
    assert "You added 3 licenses" in block_text(receipt["blocks"])
