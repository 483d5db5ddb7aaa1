"""Slack's side of the conversation with the bot: signed requests in Slack's real shapes.

Slack's servers sign every request they send an app and put the interaction's context in
it (trigger_id, response_url, the view with its state). This plays that part, for the
browser workspace and the tests alike: it signs with the signing secret, posts to the
bot's /slack/events, and applies what the bot answers (response_action) to the fake
Web API's views, as Slack would.

The payloads themselves are built by plain functions (`slash_command`, `keystroke`,
`view_actions`, `view_submission`, ...) that need no fake Web API, so the bench can send
Slack's requests to a bot whose fake Slack runs in another process.
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


def signed_headers(
    body: str, content_type: str, secret: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack sends with `body`: its type, the time, the signature (now by default)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp, secret),
    }


def payload_form(payload: JsonDict) -> str:
    """An interaction's body: its payload as JSON in the form field `payload`."""
    return urlencode({"payload": json.dumps(payload)})


# --- payloads, as Slack builds them ----------------------------------------------------------


def payload_user(user_id: str, name: str, team_id: str) -> JsonDict:
    """The `user` of an interaction payload."""
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def interaction(kind: str, user: JsonDict, **fields: Any) -> JsonDict:
    """An interaction payload of type `kind` by `user` (see payload_user): the envelope and `fields`."""
    return {
        "type": kind,
        "user": user,
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "team": {"id": user["team_id"], "domain": "workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        **fields,
    }


def slash_command(
    user: JsonDict,
    text: str,
    *,
    channel: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
    team_id: str | None = None,
) -> dict[str, str]:
    """`/licenses text` by `user` in `channel`: the form Slack posts (urlencode it)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id or user["team_id"],
        "team_domain": "workspace",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user["id"],
        "user_name": user["name"],
        "command": "/licenses",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def keystroke(
    view: JsonDict, block_id: str, action_id: str, value: str
) -> tuple[JsonDict, JsonDict]:
    """Typing `value` into a dispatching input of `view`: the view as Slack then holds it
    (the value in its state; `view` itself is left alone) and the action it reports.
    """
    element_type = "number_input"
    for block in view.get("blocks", []):
        if block.get("block_id") == block_id:
            element_type = (block.get("element") or {}).get("type", element_type)
    values = dict(view["state"]["values"])
    values[block_id] = {
        **values.get(block_id, {}),
        action_id: {"type": element_type, "value": value},
    }
    typed = {**view, "state": {**view["state"], "values": values}}
    action = {
        "type": element_type,
        "block_id": block_id,
        "action_id": action_id,
        "value": value,
        "action_ts": f"{time.time():.6f}",
    }
    return typed, action


def button_action(button: JsonDict, block_id: str) -> JsonDict:
    """The action a click on `button` (in the block `block_id`) reports."""
    return {
        "type": button.get("type", "button"),
        "block_id": block_id,
        "action_id": button["action_id"],
        "action_ts": f"{time.time():.6f}",
        "text": button.get("text"),
        "value": button.get("value", ""),
    }


def view_actions(
    user: JsonDict, view: JsonDict, actions: list[JsonDict], trigger_id: str
) -> JsonDict:
    """block_actions from inside a modal or App Home."""
    return interaction(
        "block_actions",
        user,
        container={"type": "view", "view_id": view["id"]},
        trigger_id=trigger_id,
        view=view,
        actions=actions,
    )


def view_submission(user: JsonDict, view: JsonDict, trigger_id: str) -> JsonDict:
    """The modal's submit button; `view` carries what the user entered in its state."""
    return interaction("view_submission", user, trigger_id=trigger_id, view=view, response_urls=[])


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
        sent = {
            **signed_headers(body, content_type, secret or self.signing_secret, timestamp),
            **(headers or {}),
        }
        async with self.http.post(self.events_url, data=body, headers=sent) as response:
            return Answer(response.status, await response.text())

    async def post_payload(self, payload: JsonDict, **kwargs: Any) -> Answer:
        grid = self.grid(payload.get("user", {}).get("team_id"))
        if grid is not None:
            payload = {**payload, "enterprise": grid[0], "is_enterprise_install": grid[1]}
        return await self.post(payload_form(payload), FORM, **kwargs)

    # --- who is acting ---------------------------------------------------------------------

    def grid(self, team_id: str | None) -> tuple[JsonDict, bool] | None:
        """The Enterprise Grid org of a workspace ({id, name}) and whether licensebot is
        installed org-wide there, which Slack says in every request from it; None outside one.
        """
        enterprise_id, org_wide = self.slack.org_of(team_id or "")
        if enterprise_id is None:
            return None
        name = self.slack.enterprises.get(enterprise_id, enterprise_id)
        return {"id": enterprise_id, "name": name}, org_wide

    def team_of(self, user_id: str) -> str:
        return str(self.slack.users.get(user_id, {}).get("team_id") or self.slack.team_id)

    def user(self, user_id: str) -> JsonDict:
        name = self.slack.users.get(user_id, {}).get("name", "someone")
        return payload_user(user_id, name, self.team_of(user_id))

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
        form = slash_command(
            self.user(user_id),
            text,
            channel=channel,
            channel_name=self.slack.channels.get(channel, {}).get("name", "directmessage"),
            response_url=self.slack.new_response_url(channel, user_id),
            trigger_id=self.slack.new_trigger_id(user_id),
            team_id=team_id,
        )
        grid = self.grid(form["team_id"])
        if grid is not None:
            org, org_wide = grid
            form.update(
                enterprise_id=org["id"],
                enterprise_name=org["name"],
                is_enterprise_install=str(org_wide).lower(),
            )
        return await self.post(urlencode(form), FORM, **kwargs)

    async def type_in_view(
        self, user_id: str, block_id: str, action_id: str, value: str, **kwargs: Any
    ) -> Answer:
        """A keystroke in a dispatching input: the state changes and block_actions follows."""
        view = self.modal(user_id)
        _, action = keystroke(view, block_id, action_id, value)
        # Slack keeps what was typed in the view it holds (here: the fake's).
        typed = {"type": action["type"], "value": value}
        view["state"]["values"].setdefault(block_id, {})[action_id] = typed
        trigger_id = self.slack.new_trigger_id(user_id, view["id"])
        payload = view_actions(self.user(user_id), view, [action], trigger_id)
        return await self.post_payload(payload, **kwargs)

    async def click_in_view(
        self, user_id: str, view: JsonDict, action_id: str, **kwargs: Any
    ) -> Answer:
        """A button in a modal or in App Home."""
        button, block_id = find_element(view["blocks"], action_id)
        trigger_id = self.slack.new_trigger_id(user_id, view["id"])
        action = button_action(button, block_id)
        payload = view_actions(self.user(user_id), view, [action], trigger_id)
        return await self.post_payload(payload, **kwargs)

    async def click_in_message(
        self, user_id: str, channel: str, message: JsonDict, action_id: str, **kwargs: Any
    ) -> Answer:
        """A button in a message (or an ephemeral one) in a channel or DM."""
        button, block_id = find_element(message["blocks"], action_id)
        payload = interaction(
            "block_actions",
            self.user(user_id),
            container={
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": bool(message.get("ephemeral")),
            },
            trigger_id=self.slack.new_trigger_id(user_id),
            channel={
                "id": channel,
                "name": self.slack.channels.get(channel, {}).get("name", "directmessage"),
            },
            message=message,
            response_url=self.slack.new_response_url(channel, user_id, message["ts"]),
            actions=[button_action(button, block_id)],
        )
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
        trigger_id = self.slack.new_trigger_id(user_id, view["id"])
        answer = await self.post_payload(
            view_submission(self.user(user_id), view, trigger_id), **kwargs
        )
        if answer.status == 200:
            self.slack.apply_view_response(user_id, view["id"], answer.json())
        return answer

    async def close(self, user_id: str) -> Answer | None:
        """The modal's close button: Slack tells the app only when the view asked to be told."""
        view = self.modal(user_id)
        self.slack.close_modal(user_id)
        if not view.get("notify_on_close"):
            return None
        payload = interaction("view_closed", self.user(user_id), view=view, is_cleared=True)
        return await self.post_payload(payload)

    async def back(self, user_id: str) -> Answer | None:
        """The close button of a pushed view: back to the view under it (the root's closes)."""
        view = self.modal(user_id)
        if len(self.slack.modal_stack(user_id)) <= 1:
            return await self.close(user_id)
        self.slack.pop_modal(user_id)
        if not view.get("notify_on_close"):
            return None
        payload = interaction("view_closed", self.user(user_id), view=view, is_cleared=False)
        return await self.post_payload(payload)

    async def open_home(self, user_id: str) -> Answer:
        home = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.slack.dm_channel(user_id),
            "tab": "home",
        }
        return await self.event(self.team_of(user_id), home)

    async def event(self, team_id: str, event: JsonDict) -> Answer:
        """An Events API delivery from workspace `team_id` (app_home_opened, app_uninstalled…)."""
        delivery: JsonDict = {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": {**event, "event_ts": f"{time.time():.6f}"},
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1e6):X}",
            "event_time": int(time.time()),
        }
        grid = self.grid(team_id)
        if grid is not None:
            delivery.update(enterprise_id=grid[0]["id"], is_enterprise_install=grid[1])
        return await self.post(json.dumps(delivery), "application/json")
