"""Slack's side of the conversation with the bot: signed requests in Slack's real shapes.

Slack's servers sign every request they send an app and put the interaction's context in
it (trigger_id, response_url, the view with its state). This plays that part, for the
browser workspace and the tests alike: it signs with the signing secret, posts to the
bot's /slack/events, and applies what the bot answers (response_action) to the fake
Web API's views, as Slack would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.sandbox.fake_slack import FakeSlack

JsonDict = dict[str, Any]
APP_ID = "A0LICENSES"
FORM = "application/x-www-form-urlencoded"


def sign(body: str, timestamp: int, secret: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def find_element(blocks: list[JsonDict], action_id: str) -> tuple[JsonDict, str]:
    """The interactive element with `action_id`, and its block's id."""
    for block in blocks:
        candidates = [
            *block.get("elements", []),
            block.get("accessory") or {},
            block.get("element") or {},
        ]
        for element in candidates:
            if element.get("action_id") == action_id:
                return element, str(block.get("block_id", ""))
    raise LookupError(f"no element {action_id!r} in these blocks")


class SlackSide:
    def __init__(
        self, slack: FakeSlack, events_url: str, signing_secret: str, http: aiohttp.ClientSession
    ) -> None:
        self.slack = slack
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.http = http

    # --- transport -------------------------------------------------------------------------

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": sign(body, stamp, secret or self.signing_secret),
            **(headers or {}),
        }
        async with self.http.post(self.events_url, data=body, headers=sent) as response:
            return Answer(response.status, await response.text())

    async def post_payload(self, payload: JsonDict, **kwargs: Any) -> Answer:
        return await self.post(urlencode({"payload": json.dumps(payload)}), FORM, **kwargs)

    # --- who is acting ---------------------------------------------------------------------

    def team_of(self, user_id: str) -> str:
        return str(self.slack.users.get(user_id, {}).get("team_id") or self.slack.team_id)

    def user(self, user_id: str) -> JsonDict:
        name = self.slack.users.get(user_id, {}).get("name", "someone")
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_of(user_id)}

    def _base(self, user_id: str) -> JsonDict:
        return {
            "user": self.user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "team": {"id": self.team_of(user_id), "domain": "workspace"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def modal(self, user_id: str) -> JsonDict:
        """The view on top of the user's open modal."""
        stack = self.slack.modal_stack(user_id)
        if not stack:
            raise LookupError(f"{user_id} has no modal open")
        return stack[-1]

    # --- what people do --------------------------------------------------------------------

    async def command(
        self,
        user_id: str,
        text: str = "",
        *,
        channel: str = "C0GENERAL",
        team_id: str | None = None,
        **kwargs: Any,
    ) -> Answer:
        """A slash command, as the form body Slack posts."""
        channel_name = self.slack.channels.get(channel, {}).get("name", "directmessage")
        form = {
            "token": "legacy-verification-token",
            "team_id": team_id or self.team_of(user_id),
            "team_domain": "workspace",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self.slack.users.get(user_id, {}).get("name", "someone"),
            "command": "/licenses",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(channel, user_id),
            "trigger_id": self.slack.new_trigger_id(user_id),
        }
        return await self.post(urlencode(form), FORM, **kwargs)

    def _action(self, element: JsonDict, block_id: str, **fields: Any) -> JsonDict:
        return {
            "type": element.get("type", "button"),
            "block_id": block_id,
            "action_id": element["action_id"],
            "action_ts": f"{time.time():.6f}",
            **fields,
        }

    async def type_in_view(
        self, user_id: str, block_id: str, action_id: str, value: str, **kwargs: Any
    ) -> Answer:
        """A keystroke in a dispatching input: the state changes and block_actions follows."""
        view = self.modal(user_id)
        element_type = "number_input"
        for block in view.get("blocks", []):
            if block.get("block_id") == block_id:
                element_type = (block.get("element") or {}).get("type", element_type)
        view["state"]["values"].setdefault(block_id, {})[action_id] = {
            "type": element_type,
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
                    "type": element_type,
                    "block_id": block_id,
                    "action_id": action_id,
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.post_payload(payload, **kwargs)

    async def click_in_view(
        self, user_id: str, view: JsonDict, action_id: str, **kwargs: Any
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
                self._action(
                    button, block_id, text=button.get("text"), value=button.get("value", "")
                )
            ],
        }
        return await self.post_payload(payload, **kwargs)

    async def click_in_message(
        self, user_id: str, channel: str, message: JsonDict, action_id: str, **kwargs: Any
    ) -> Answer:
        """A button in a message (or an ephemeral one) in a channel or DM."""
        button, block_id = find_element(message["blocks"], action_id)
        payload = {
            "type": "block_actions",
            **self._base(user_id),
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": bool(message.get("ephemeral")),
            },
            "trigger_id": self.slack.new_trigger_id(user_id),
            "channel": {
                "id": channel,
                "name": self.slack.channels.get(channel, {}).get("name", "directmessage"),
            },
            "message": message,
            "response_url": self.slack.new_response_url(channel, user_id, message["ts"]),
            "actions": [
                self._action(
                    button, block_id, text=button.get("text"), value=button.get("value", "")
                )
            ],
        }
        return await self.post_payload(payload, **kwargs)

    async def submit(
        self,
        user_id: str,
        values: dict[str, dict[str, JsonDict]] | None = None,
        *,
        view: JsonDict | None = None,
        **kwargs: Any,
    ) -> Answer:
        """The modal's submit button; the answer's response_action is applied."""
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

    async def close(self, user_id: str) -> Answer | None:
        """The modal's close button: Slack tells the app only when the view asked to be told."""
        view = self.modal(user_id)
        self.slack.close_modal(user_id)
        if not view.get("notify_on_close"):
            return None
        payload = {"type": "view_closed", **self._base(user_id), "view": view, "is_cleared": True}
        return await self.post_payload(payload)

    async def back(self, user_id: str) -> Answer | None:
        """The close button of a pushed view: back to the view under it (the root's closes)."""
        view = self.modal(user_id)
        if len(self.slack.modal_stack(user_id)) <= 1:
            return await self.close(user_id)
        self.slack.pop_modal(user_id)
        if not view.get("notify_on_close"):
            return None
        payload = {"type": "view_closed", **self._base(user_id), "view": view, "is_cleared": False}
        return await self.post_payload(payload)

    async def open_home(self, user_id: str) -> Answer:
        event = {
            "token": "legacy-verification-token",
            "team_id": self.team_of(user_id),
            "api_app_id": APP_ID,
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": self.slack.dm_channel(user_id),
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1e6):X}",
            "event_time": int(time.time()),
        }
        return await self.post(json.dumps(event), "application/json")
