"""A Slack user's side of the conversation: signed requests in Slack's real payload shapes.

The bot runs for real (HTTP app on loopback, talking to the fake Web API); this driver
plays Slack's servers towards it: it signs each request with the signing secret, posts it
to /slack/events, and applies what the bot answers (response_action) to the fake's views.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.deps import AppDeps
from bot.sandbox.fake_slack import FakeSlack
from bot.services.context import ServiceContext

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test"
APP_ID = "A0LICENSES"
GENERAL = "C0GENERAL"
CSM_CHANNEL = "C0CSM"


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class Workspace:
    slack: FakeSlack
    url: str
    deps: AppDeps
    http: aiohttp.ClientSession
    clock: FakeClock
    team_id: str = "T0ACME"
    requests: list[Answer] = field(default_factory=list)

    @property
    def services(self) -> ServiceContext:
        return self.deps.services

    # --- transport -----------------------------------------------------------------------

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": sign(body, stamp, secret),
            **(headers or {}),
        }
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=sent) as response:
            answer = Answer(response.status, await response.text())
        self.requests.append(answer)
        return answer

    async def post_payload(self, payload: dict[str, Any], **kwargs: Any) -> Answer:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    # --- what people do ------------------------------------------------------------------

    def user(self, user_id: str) -> dict[str, Any]:
        name = self.slack.users[user_id]["name"]
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    async def command(
        self, user_id: str, text: str = "", *, team_id: str | None = None, **kwargs: Any
    ) -> Answer:
        team = team_id or self.team_id
        form = {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": GENERAL,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": self.slack.users.get(user_id, {}).get("name", "someone"),
            "command": "/licenses",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(GENERAL, user_id),
            "trigger_id": self.slack.new_trigger_id(user_id),
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **kwargs)

    def modal(self, user_id: str) -> dict[str, Any]:
        """The view on top of the user's open modal."""
        stack = self.slack.modal_stack(user_id)
        assert stack, f"{user_id} has no modal open"
        return stack[-1]

    def _base(self, user_id: str) -> dict[str, Any]:
        return {
            "user": self.user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "team": {"id": self.team_id, "domain": "acme"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def type_number(
        self, user_id: str, block_id: str, action_id: str, value: str, **kwargs: Any
    ) -> Answer:
        """A keystroke in a number_input with dispatch_action: block_actions from the modal."""
        view = self.modal(user_id)
        view["state"]["values"].setdefault(block_id, {})[action_id] = {
            "type": "number_input",
            "value": value,
        }
        payload = {
            "type": "block_actions",
            **self._base(user_id),
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.slack.new_trigger_id(user_id, view["id"]),
            "view": view,
            "actions": [
                {
                    "type": "number_input",
                    "block_id": block_id,
                    "action_id": action_id,
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.post_payload(payload, **kwargs)

    async def click_in_view(
        self, user_id: str, view: dict[str, Any], action_id: str, **kwargs: Any
    ) -> Answer:
        """A button in a modal or in App Home."""
        button, block_id = find_element(view["blocks"], action_id)
        payload = {
            "type": "block_actions",
            **self._base(user_id),
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.slack.new_trigger_id(user_id, view["id"]),
            "view": view,
            "actions": [
                {
                    "type": "button",
                    "block_id": block_id,
                    "action_id": action_id,
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.post_payload(payload, **kwargs)

    async def click_in_message(
        self, user_id: str, channel: str, message: dict[str, Any], action_id: str, **kwargs: Any
    ) -> Answer:
        button, block_id = find_element(message["blocks"], action_id)
        payload = {
            "type": "block_actions",
            **self._base(user_id),
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.slack.new_trigger_id(user_id),
            "channel": {"id": channel, "name": "csm"},
            "message": message,
            "response_url": self.slack.new_response_url(channel, user_id, message["ts"]),
            "actions": [
                {
                    "type": "button",
                    "block_id": block_id,
                    "action_id": action_id,
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.post_payload(payload, **kwargs)

    async def submit(
        self,
        user_id: str,
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
        *,
        view: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Answer:
        """Press the modal's submit button; the answer's response_action is applied."""
        view = view or self.modal(user_id)
        for block_id, actions in (values or {}).items():
            view["state"]["values"].setdefault(block_id, {}).update(actions)
        payload = {
            "type": "view_submission",
            **self._base(user_id),
            "trigger_id": self.slack.new_trigger_id(user_id, view["id"]),
            "view": view,
            "response_urls": [],
        }
        answer = await self.post_payload(payload, **kwargs)
        if answer.status == 200:
            self.slack.apply_view_response(user_id, view["id"], answer.json())
        return answer

    async def open_home(self, user_id: str) -> Answer:
        event = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": self.slack.dm_channel(user_id),
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
        }
        return await self.post(json.dumps(event), "application/json")

    # --- waiting for the bot's work after the ack -----------------------------------------

    async def settle(self, quiet: float = 0.1, limit: float = 15.0) -> None:
        """Wait until the bot has finished what it does after its acks.

        Bolt runs a listener's remaining work as a task once it has acked; that work and
        the outbox drains it starts are done when none is running and the fake Web API
        has heard nothing new for `quiet` seconds.
        """
        deadline = asyncio.get_running_loop().time() + limit
        while asyncio.get_running_loop().time() < deadline:
            seen = len(self.slack.calls)
            running = [task for task in asyncio.all_tasks() if _is_listener(task)]
            if running:
                await asyncio.wait(running, timeout=limit)
            await self.deps.settle()
            await asyncio.sleep(quiet)
            if len(self.slack.calls) == seen and not any(
                _is_listener(task) for task in asyncio.all_tasks()
            ):
                return
        raise AssertionError("the bot kept working for longer than the test allows")


def _is_listener(task: asyncio.Task[Any]) -> bool:
    return not task.done() and "run_ack_function_asynchronously" in repr(task.get_coro())


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str]:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element, block.get("block_id", "")
        accessory = block.get("accessory")
        if accessory and accessory.get("action_id") == action_id:
            return accessory, block.get("block_id", "")
    raise LookupError(f"no element {action_id!r} in these blocks")


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
