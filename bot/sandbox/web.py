"""The sandbox's browser page: a small Slack in plain HTML, CSS and JavaScript, and its JSON API.

Everything a person does on the page reaches the bot the way Slack sends it, through
`SlackSide` (signed slash-command forms, `payload=` JSON for block_actions, view_submission
and view_closed, app_home_opened events). What the bot does comes back through the fake Web
API, which the page reads with `GET /api/state` and follows live with `GET /api/events`.

The page is in one workspace at a time, the current user's: it lists that workspace's
people and conversations only. Where licensebot is not installed, `/licenses` is no command
(as in Slack) and *Add to Slack* (`GET /add-to-slack`) runs the bot's own OAuth routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.domain.plans import plan_for
from bot.domain.policy import count_words, is_admin
from bot.models import Account
from bot.oauth import INSTALL_PATH
from bot.sandbox.demo import DemoUser
from bot.sandbox.fake_slack import BOT_USER_ID
from bot.sandbox.runner import Sandbox
from bot.sandbox.slack_side import Answer

JsonDict = dict[str, Any]

STATIC_DIR = Path(__file__).parent / "static"
COMMAND = "/licenses"
# After a keystroke in a dispatching input the answer waits for the bot's views.update,
# so the page sends the next keystroke against the updated view (its hash), as Slack does.
TYPE_SETTLE_SECONDS = 3.0
KEEPALIVE_SECONDS = 15.0
# Calls that change nothing the page shows.
QUIET_METHODS = frozenset({"auth.test", "users.info", "users.lookupByEmail"})
_STOP: JsonDict = {"type": "stop"}


class BadRequest(Exception):
    """The page asked for something that does not exist; answered 400 with the reason."""


class PageApp:
    """The page's API over one running sandbox."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.slack = box.slack
        self.side = box.side
        self.users = {user.user_id: user for user in box.users}
        self.teams = box.teams
        # The last submission's `response_action: errors`: view id -> (view hash, errors).
        self.errors: dict[str, tuple[str, dict[str, str]]] = {}
        self.streams: set[asyncio.Queue[JsonDict]] = set()

    # --- reading ----------------------------------------------------------------------------

    def user_id(self, raw: Any) -> str:
        if not isinstance(raw, str) or raw not in self.users:
            raise BadRequest(f"unknown user {raw!r}; the demo users are {sorted(self.users)}")
        return raw

    def team_of(self, user_id: str) -> str:
        return self.users[user_id].team_id

    def conversations(self, user_id: str) -> list[JsonDict]:
        """The user's workspace's channels, and their DM with licensebot once it is there."""
        team_id = self.team_of(user_id)
        channels = [
            {"id": channel_id, "name": info["name"], "kind": "channel"}
            for channel_id, info in self.slack.channels.items()
            if info.get("is_channel") and info.get("context_team_id") == team_id
        ]
        if not self.box.installed(team_id):
            return channels
        dm = {"id": self.slack.dm_channel(user_id), "name": "licensebot", "kind": "dm"}
        return [*channels, dm]

    def workspace(self, team_id: str) -> JsonDict:
        return {
            "id": team_id,
            "name": self.teams[team_id],
            "installed": self.box.installed(team_id),
            "users": [user.user_id for user in self.box.users if user.team_id == team_id],
        }

    def messages(self, user_id: str, channel_ids: list[str]) -> dict[str, list[JsonDict]]:
        """Every message of each conversation, the user's ephemerals among them, by time."""
        found: dict[str, list[JsonDict]] = {channel: [] for channel in channel_ids}
        for channel in channel_ids:
            found[channel] = [message_json(m, False) for m in self.slack.messages.get(channel, [])]
        for ephemeral in self.slack.ephemerals:
            if ephemeral.get("user") == user_id and ephemeral.get("channel") in found:
                found[ephemeral["channel"]].append(message_json(ephemeral, True))
        for listed in found.values():
            listed.sort(key=lambda message: float(message["ts"]))
        return found

    def modals(self, user_id: str) -> list[JsonDict]:
        stack = []
        for view in self.slack.modal_stack(user_id):
            shown = view_json(view)
            kept = self.errors.get(view["id"])
            shown["errors"] = kept[1] if kept and kept[0] == view["hash"] else {}
            stack.append(shown)
        return stack

    async def accounts(self) -> dict[str, Account]:
        """The accounts linked to the demo workspaces, by workspace, as the database has them
        now (what people ordered, imported or linked since, restarts included).
        """
        async with self.box.runtime.services.reading() as session:
            found = await session.scalars(
                select(Account)
                .options(selectinload(Account.admins))
                .where(Account.slack_team_id.in_(list(self.teams)))
            )
            return {account.slack_team_id: account for account in found if account.slack_team_id}

    async def state(self, user_id: str) -> JsonDict:
        conversations = self.conversations(user_id)
        home = self.slack.homes.get(user_id)
        accounts = await self.accounts()
        return {
            "me": user_id,
            "workspace": self.workspace(self.team_of(user_id)),
            "workspaces": [self.workspace(team_id) for team_id in self.teams],
            "users": [
                {
                    "id": user.user_id,
                    "name": user.name,
                    "team": user.team_id,
                    **role_of(user, accounts.get(user.team_id)),
                }
                for user in self.box.users
            ],
            "names": {
                uid: str(info.get("real_name") or info.get("name") or uid)
                for uid, info in self.slack.users.items()
            },
            "bot_user_id": BOT_USER_ID,
            "conversations": conversations,
            "messages": self.messages(user_id, [c["id"] for c in conversations]),
            "home": view_json(home) if home else None,
            "modals": self.modals(user_id),
        }

    # --- finding what was clicked -------------------------------------------------------------

    def modal_view(self, user_id: str, view_id: Any) -> JsonDict:
        stack = self.slack.modal_stack(user_id)
        if not stack:
            raise BadRequest(f"{user_id} has no modal open")
        if view_id is None:
            return stack[-1]
        view = next((v for v in stack if v["id"] == view_id), None)
        if view is None:
            raise BadRequest(f"view {view_id!r} is not open any more")
        return view

    def message(self, user_id: str, channel: Any, ts: Any) -> JsonDict:
        for message in self.slack.messages.get(str(channel), []):
            if message["ts"] == ts:
                return message
        for ephemeral in self.slack.ephemerals:
            if (ephemeral["channel"], ephemeral["user"], ephemeral["ts"]) == (channel, user_id, ts):
                shown = {k: v for k, v in ephemeral.items() if k not in {"channel", "user"}}
                return {**shown, "ephemeral": True}
        raise BadRequest(f"no message {ts!r} in {channel!r}")

    def channel_for(self, user_id: str, raw: Any) -> str:
        channel = str(raw or "")
        if channel not in {c["id"] for c in self.conversations(user_id)}:
            raise BadRequest(f"unknown channel {raw!r}")
        return channel

    def require_installed(self, user_id: str) -> None:
        team_id = self.team_of(user_id)
        if not self.box.installed(team_id):
            raise BadRequest(f"licensebot isn't installed in {self.teams[team_id]}")

    # --- doing --------------------------------------------------------------------------------

    async def command(self, body: JsonDict) -> JsonDict:
        user_id = self.user_id(body.get("user"))
        channel = self.channel_for(user_id, body.get("channel"))
        text = str(body.get("text") or "").strip()
        if text.startswith("/"):
            name, _, text = text.partition(" ")
            if name != COMMAND:
                raise BadRequest(f"{name} is not a command here; try {COMMAND}")
        team_id = self.team_of(user_id)
        if not self.box.installed(team_id):
            # Slack has no /licenses where the app is not installed: nothing reaches the bot.
            return {
                "ok": False,
                "not_installed": True,
                "error": not_installed_text(self.teams[team_id]),
            }
        return answer_json(await self.side.command(user_id, text.strip(), channel=channel))

    async def type(self, body: JsonDict) -> JsonDict:
        user_id = self.user_id(body.get("user"))
        view = self.modal_view(user_id, body.get("view_id"))
        if view is not self.side.modal(user_id):
            raise BadRequest("only the top view takes typing")
        block_id, action_id = str(body.get("block_id")), str(body.get("action_id"))
        value = str(body.get("value") or "")
        sent = self.side.type_in_view(user_id, block_id, action_id, value)
        answer = await self.settled(sent, lambda call: updates_view(call, view["id"]))
        return answer_json(answer)

    async def click(self, body: JsonDict) -> JsonDict:
        user_id = self.user_id(body.get("user"))
        action_id = str(body.get("action_id") or "")
        surface = body.get("surface")
        try:
            if surface == "modal":
                view = self.modal_view(user_id, body.get("view_id"))
                answer = await self.side.click_in_view(user_id, view, action_id)
            elif surface == "home":
                home = self.slack.homes.get(user_id)
                if home is None:
                    raise BadRequest(f"{user_id} has no App Home yet")
                answer = await self.side.click_in_view(user_id, home, action_id)
            elif surface == "message":
                channel = str(body.get("channel") or "")
                message = self.message(user_id, channel, body.get("ts"))
                answer = await self.side.click_in_message(user_id, channel, message, action_id)
            else:
                raise BadRequest(f"surface must be modal, home or message, not {surface!r}")
        except LookupError as missing:
            raise BadRequest(str(missing)) from None
        return answer_json(answer)

    async def submit(self, body: JsonDict) -> JsonDict:
        user_id = self.user_id(body.get("user"))
        view = self.modal_view(user_id, body.get("view_id"))
        values = body.get("values") or {}
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise BadRequest("values must be Slack's state shape: {block_id: {action_id: {...}}}")
        answer = await self.side.submit(user_id, values, view=view)
        reply = answer.json() if answer.status == 200 else None
        if isinstance(reply, dict) and reply.get("response_action") == "errors":
            errors = {str(k): str(v) for k, v in (reply.get("errors") or {}).items()}
            self.errors[view["id"]] = (view["hash"], errors)
        else:
            self.errors.pop(view["id"], None)
        self.notify()
        return answer_json(answer)

    async def close(self, body: JsonDict, *, back: bool = False) -> JsonDict:
        user_id = self.user_id(body.get("user"))
        if not self.slack.modal_stack(user_id):
            return {"ok": True, "status": None, "response": None}
        answer = await (self.side.back(user_id) if back else self.side.close(user_id))
        self.notify()
        return answer_json(answer)

    async def home(self, body: JsonDict) -> JsonDict:
        user_id = self.user_id(body.get("user"))
        self.require_installed(user_id)
        return answer_json(await self.side.open_home(user_id))

    def add_to_slack(self, user_id: str) -> str:
        """Add to Slack, clicked by `user_id`: Slack's authorize page will install licensebot
        in their workspace, as they are signed in there; returns the bot's install URL.
        """
        self.slack.installing_team = self.team_of(user_id)
        self.slack.installing_user = user_id
        return f"{self.box.bot_url}{INSTALL_PATH}"

    async def settled(self, action: Awaitable[Answer], done: Callable[[JsonDict], bool]) -> Answer:
        """`action`'s answer, once a Web API call for which `done` is true arrived (or a timeout)."""
        queue = self.slack.subscribe()
        try:
            answer = await action
            if answer.status == 200:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(TYPE_SETTLE_SECONDS):
                        while not done(await queue.get()):
                            pass
            return answer
        finally:
            self.slack.unsubscribe(queue)

    # --- live updates ---------------------------------------------------------------------------

    def notify(self) -> None:
        """Changes the page made itself (a closed modal, errors): tell every open page."""
        for queue in self.streams:
            queue.put_nowait({"type": "page"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue = self.slack.subscribe()
        self.streams.add(queue)
        try:
            await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        event = await queue.get()
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                events = [event]
                while not queue.empty():
                    events.append(queue.get_nowait())
                if any(e is _STOP for e in events):
                    break
                methods = sorted({str(e.get("method", "page")) for e in events} - QUIET_METHODS)
                if methods:
                    data = json.dumps({"methods": methods})
                    await response.write(f"event: changed\ndata: {data}\n\n".encode())
        except ConnectionResetError:
            pass
        finally:
            self.streams.discard(queue)
            self.slack.unsubscribe(queue)
        return response

    async def stop_streams(self, app: web.Application) -> None:
        """On shutdown: end the open event streams, so stopping does not wait for browsers."""
        for queue in self.streams:
            queue.put_nowait(_STOP)


def role_of(user: DemoUser, account: Account | None) -> dict[str, str]:
    """What the switcher says of a demo user: `role` short, for its options ("admin ·
    Enterprise, 5 licenses"), `about` whole, for the line under it and its tooltip ("admin of
    Globex (Enterprise, annual, 5 licenses)"). From their workspace's account as it is now;
    the demo's own words where no account is linked to their workspace.
    """
    if account is None:
        return {"role": user.role, "about": user.role}
    admins = [admin.identifier for admin in account.admins]
    kind = "admin" if is_admin(admins, user.user_id, user.email) else "member"
    plan = plan_for(account.plan).display_name
    licenses = count_words(account.licenses)
    who = f"{kind} of {account.name}" + ("" if kind == "admin" else ", not an admin")
    note = f", {user.note}" if user.note else ""
    return {
        "role": f"{kind} · {plan}, {licenses}",
        "about": f"{who}{note} ({plan}, {account.billing_interval}, {licenses})",
    }


def not_installed_text(team_name: str) -> str:
    return (
        f"{COMMAND} is not a valid command in {team_name}: licensebot isn't installed in "
        "this workspace. Add it to Slack first."
    )


def message_json(message: JsonDict, ephemeral: bool) -> JsonDict:
    thread_ts = message.get("thread_ts")
    # An ephemeral's "user" is who sees it; everything in this workspace comes from the bot.
    sender = BOT_USER_ID if message.get("bot_id") else message.get("user")
    return {
        "ts": message["ts"],
        "user": sender,
        "text": message.get("text") or "",
        "blocks": message.get("blocks") or [],
        "thread_ts": thread_ts if thread_ts and thread_ts != message["ts"] else None,
        "edited": bool(message.get("edited")),
        "ephemeral": ephemeral,
    }


def view_json(view: JsonDict) -> JsonDict:
    keys = ("id", "type", "hash", "title", "submit", "close", "blocks", "state", "callback_id")
    return {key: view.get(key) for key in keys}


def answer_json(answer: Answer | None) -> JsonDict:
    """What the bot answered Slack: status and body (a view_submission's response_action)."""
    if answer is None:
        return {"ok": True, "status": None, "response": None}
    try:
        body = answer.json()
    except ValueError:
        body = answer.text
    return {"ok": answer.status == 200, "status": answer.status, "response": body}


def updates_view(call: JsonDict, view_id: str) -> bool:
    return call.get("method") == "views.update" and call.get("params", {}).get("view_id") == view_id


Handler = Callable[[JsonDict], Awaitable[JsonDict]]


def json_endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "send a JSON object"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "send a JSON object"}, status=400)
        try:
            return web.json_response(await handler(body))
        except BadRequest as bad:
            return web.json_response({"ok": False, "error": str(bad)}, status=400)

    return endpoint


def build_page_app(box: Sandbox) -> web.Application:
    page = PageApp(box)

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def state(request: web.Request) -> web.StreamResponse:
        try:
            user_id = page.user_id(request.query.get("user"))
        except BadRequest as bad:
            return web.json_response({"ok": False, "error": str(bad)}, status=400)
        return web.json_response(await page.state(user_id))

    async def back(body: JsonDict) -> JsonDict:
        return await page.close(body, back=True)

    async def add_to_slack(request: web.Request) -> web.StreamResponse:
        try:
            user_id = page.user_id(request.query.get("user"))
        except BadRequest as bad:
            return web.json_response({"ok": False, "error": str(bad)}, status=400)
        raise web.HTTPFound(page.add_to_slack(user_id))

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC_DIR)
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/events", page.events)
    app.router.add_get("/add-to-slack", add_to_slack)
    app.router.add_post("/api/command", json_endpoint(page.command))
    app.router.add_post("/api/type", json_endpoint(page.type))
    app.router.add_post("/api/click", json_endpoint(page.click))
    app.router.add_post("/api/submit", json_endpoint(page.submit))
    app.router.add_post("/api/close", json_endpoint(page.close))
    app.router.add_post("/api/back", json_endpoint(back))
    app.router.add_post("/api/home", json_endpoint(page.home))
    app.on_shutdown.append(page.stop_streams)
    return app
