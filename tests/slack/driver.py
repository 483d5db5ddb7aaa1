"""The test side of a Slack workspace: the bot for real, with what tests need to look at.

The bot runs for real (HTTP app on loopback, talking to the fake Web API); this driver
plays Slack's servers towards it: it signs each request with the signing secret, posts it
to /slack/events, and applies what the bot answers (response_action) to the fake's views.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.bootstrap import Runtime
from bot.sandbox.demo import CSM_CHANNEL, GENERAL
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_side import APP_ID, Answer, SlackSide, find_element
from bot.sandbox.slack_side import sign as sign_with
from bot.seal import unseal
from bot.services.context import ServiceContext

__all__ = ["APP_ID", "CSM_CHANNEL", "GENERAL", "Answer", "Workspace", "block_text", "find_element"]

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test"


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    return sign_with(body, timestamp, secret)


class Workspace(SlackSide):
    """Slack's side (bot/sandbox/slack_side.py) plus what tests look at: services, clock.

    `team_id`, when set, overrides the workspace the acting users belong to.
    """

    def __init__(
        self,
        slack: FakeSlack,
        url: str,
        runtime: Runtime,
        http: aiohttp.ClientSession,
        clock: FakeClock,
        team_id: str | None = None,
    ) -> None:
        super().__init__(slack, f"{url}/slack/events", SIGNING_SECRET, http)
        self.url = url
        self.runtime = runtime
        self.clock = clock
        self.team_id = team_id
        self.requests: list[Answer] = []

    @property
    def services(self) -> ServiceContext:
        return self.runtime.services

    def metadata(self, view: dict[str, Any]) -> Any:
        """A modal's private_metadata, read as the bot reads it: the seal must check out."""
        opened = unseal(view["private_metadata"], self.runtime.settings.seal_key)
        assert opened is not None, "private_metadata is not sealed by the bot"
        return json.loads(opened)

    def team_of(self, user_id: str) -> str:
        return self.team_id or super().team_of(user_id)

    async def post(self, body: str, content_type: str, **kwargs: Any) -> Answer:
        answer = await super().post(body, content_type, **kwargs)
        self.requests.append(answer)
        return answer

    async def type_number(
        self, user_id: str, block_id: str, action_id: str, value: str, **kwargs: Any
    ) -> Answer:
        return await self.type_in_view(user_id, block_id, action_id, value, **kwargs)

    # --- waiting for the bot's work after the ack -----------------------------------------

    async def settle(self, limit: float = 15.0) -> None:
        """Wait until the bot has finished what it does after its acks (listeners, drains)."""
        try:
            async with asyncio.timeout(limit):
                await self.runtime.settle()
        except TimeoutError:
            raise AssertionError("the bot kept working for longer than the test allows") from None


def block_text(blocks: list[dict[str, Any]]) -> str:
    """Everything a person reads in some blocks, as one string."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"plain_text", "mrkdwn"} and isinstance(node.get("text"), str):
                parts.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(parts)


class FakeClock:
    """The bot's clock: real time plus however far a test has travelled."""

    def __init__(self, now: Callable[[], Any]) -> None:
        self._now = now
        self.offset = __import__("datetime").timedelta(0)

    def __call__(self) -> Any:
        return self._now() + self.offset

    def travel(self, **delta: float) -> None:
        self.offset += __import__("datetime").timedelta(**delta)


def assert_calls_ok(ws: Workspace, allowed: frozenset[str] = frozenset()) -> None:
    """No Web API call was refused (but `allowed` errors) and nobody got an apology."""
    refused = [
        (call.method, call.response.get("error"))
        for call in ws.slack.calls
        if not call.ok and call.response.get("error") not in allowed
    ]
    assert refused == []
    texts = [str(call.params.get("text")) for call in ws.slack.calls_to("chat.postMessage")]
    assert not any("Something went wrong" in text or ":warning:" in text for text in texts)


def logged_errors(caplog: Any) -> list[str]:
    """What the bot logged at ERROR or above: our bugs, which no request may cause."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
