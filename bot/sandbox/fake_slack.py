"""A fake Slack Web API on loopback, shared by the end-to-end tests and the local sandbox.

It is a real HTTP server, so the bot's own slack_sdk client talks to it unchanged, and it
enforces the Slack rules that break bots in production: a bearer token on every call, bound
to the workspace (or Enterprise Grid org) it was installed in, trigger_ids that work once
and for 3 seconds, view hashes, the 3-view modal stack, and Block Kit validation of every
view and message. Refusals have Slack's shapes, and every call is recorded for assertions
(and streamed to subscribers, for the sandbox page).

Workspaces install the app through OAuth v2 as on slack.com: `/oauth/v2/authorize` asks the
installer (Allow or Cancel) and `oauth.v2.access` trades the one-time code for a bot token.
The `bot_token` given to the constructor is the single-workspace token: valid everywhere.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import html
import json
import secrets
import string
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from bot.oauth import BOT_SCOPES
from bot.sandbox import blockkit

JsonDict = dict[str, Any]
# A Block Kit check beyond blockkit's: (surface "modal" | "home" | "message", the view or the
# blocks, the pointer prefix "/view" or "/blocks") -> Slack-style errors, [] when valid.
BlockCheck = Callable[[str, Any, str], list[str]]

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0LICENSE"
# What an install grants unless a test asks otherwise: what Add to Slack requests.
DEFAULT_SCOPES = BOT_SCOPES

TRIGGER_TTL_SECONDS = 3.0
MODAL_STACK_LIMIT = 3
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
MAX_VIEW_BYTES = 250_000
MAX_TEXT_CHARS = 40_000
OAUTH_CODE_TTL_SECONDS = 600.0

# Called by the app with its client id and secret (HTTP Basic or form fields), not a token.
_CLIENT_METHODS = frozenset({"oauth.v2.access"})

_JSON_FIELDS = ("view", "blocks", "attachments", "metadata")
# Add to Slack's question to the installer; Allow posts the request back, Cancel is a link.
_AUTHORIZE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Install licensebot</title></head>
<body>
<h1>Install licensebot to {workspace}</h1>
<p>licensebot is requesting permission to access the {workspace} Slack workspace. It will be able to:</p>
<ul>{scopes}</ul>
<form method="post" action="/oauth/v2/authorize">{fields}<button type="submit">Allow</button></form>
<a href="{cancel}">Cancel</a>
</body></html>
"""
_ID_CHARS = string.ascii_uppercase + string.digits
_VIEW_DEFAULTS: JsonDict = {
    "close": None,
    "submit": None,
    "private_metadata": "",
    "callback_id": "",
    "external_id": "",
    "clear_on_close": False,
    "notify_on_close": False,
}
_INTERACTIVE = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "email_input",
        "url_input",
        "number_input",
        "plain_text_input",
        "radio_buttons",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "overflow",
        "rich_text_input",
        "file_input",
        "workflow_button",
    }
)


@dataclass
class Installation:
    """A bot token and where it speaks: one workspace, or every workspace of an Enterprise
    Grid org (an org-wide install: `team_id` None).
    """

    token: str
    team_id: str | None
    enterprise_id: str | None
    bot_user_id: str
    bot_id: str
    scopes: list[str]
    # The single-workspace token (`FakeSlack(bot_token=...)`): every workspace.
    everywhere: bool = False

    @property
    def key(self) -> str:
        """The workspace or the org installed in."""
        return self.team_id or self.enterprise_id or ""


@dataclass
class Call:
    """One request the fake answered: params as the bot sent them, JSON-string fields decoded."""

    method: str
    params: JsonDict
    at: float
    response: JsonDict = field(default_factory=dict)
    status: int = 200
    token: str = ""  # as sent; "" without one (and for response_url posts)
    # What the token resolved to; None when it was refused, or no token is involved.
    installation: Installation | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def team_id(self) -> str | None:
        """The workspace the call's token is bound to (None: org-wide or single-workspace)."""
        return self.installation.team_id if self.installation else None

    @property
    def enterprise_id(self) -> str | None:
        return self.installation.enterprise_id if self.installation else None


def permalink(channel: str, ts: str) -> str:
    """A message's link, in the shape of Slack's."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


class SlackError(Exception):
    """A refusal, answered as Slack does: `{"ok": false, "error": ...}` (HTTP 200 for the API)."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body: JsonDict = {"ok": False, "error": error, **extra}


def invalid_arguments(*messages: str) -> SlackError:
    """Slack's shape for a malformed argument, views' invalid blocks included."""
    return SlackError(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]}
    )


def invalid_blocks(errors: list[str]) -> SlackError:
    """Slack's shape for refused message blocks (chat.* methods)."""
    return SlackError(
        "invalid_blocks",
        errors=errors,
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )


@dataclass
class _Trigger:
    issued_at: float
    user_id: str | None
    view_id: str | None
    team_id: str | None = None  # the user's workspace: only its tokens may exchange it
    used: bool = False


@dataclass
class _OAuthCode:
    issued_at: float
    client_id: str
    team: str  # a workspace, or an org for an org-wide install
    scopes: list[str]
    user_id: str
    redirect_uri: str | None  # as the authorize request sent it: the exchange must repeat it
    used: bool = False


@dataclass
class _ResponseUrl:
    created_at: float
    channel: str
    user: str
    message_ts: str | None
    uses: int = 0
    ephemeral: JsonDict | None = None


@dataclass
class _Failure:
    error: str
    status: int
    # The call is carried out, and only its answer fails (lost on the way back).
    after: bool = False


class FakeSlack:
    """The Web API methods licensebot calls, with Slack's rules, on `http://127.0.0.1:PORT/api/`."""

    # Checks a FakeSlack applies after blockkit's when not given `block_checks`: none in the
    # product; the tests add the strict Block Kit JSON schema (tests/blockkit_schema.py).
    default_block_checks: ClassVar[tuple[BlockCheck, ...]] = ()

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0ACME",
        validate_blocks: bool = True,
        strict_triggers: bool = True,
        block_checks: Sequence[BlockCheck] | None = None,
        *,
        team_name: str = "Acme",
        client_id: str = "1000000000.2000000000",
        client_secret: str | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id  # the default workspace: users and channels added without one
        self.scopes = list(DEFAULT_SCOPES)
        self.teams: dict[str, JsonDict] = {}
        self.enterprises: dict[str, str] = {}  # Enterprise Grid org id -> name
        self.installations: dict[str, Installation] = {}  # bot token -> where it speaks
        self._revoked: set[str] = set()
        # The app's OAuth credentials, and where the authorize page sends the installer back
        # when the request names no redirect_uri.
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_hex(16)
        self.oauth_redirect_uri: str | None = None
        # Who installs when the authorize request names no `team`, and who clicks Allow
        # (None: the workspace's first person).
        self.installing_team = team_id
        self.installing_user: str | None = None
        self._codes: dict[str, _OAuthCode] = {}
        # The request being answered, for its handler and its record: set and cleared with
        # nothing awaited in between, so requests never see each other's.
        self._token = ""
        self._caller: Installation | None = None
        self.validate_blocks = validate_blocks
        self.block_checks = tuple(
            self.default_block_checks if block_checks is None else block_checks
        )
        # Off only for load tests that make trigger ids in another process.
        self.strict_triggers = strict_triggers
        self.clock: Callable[[], float] = time.monotonic
        self.users: dict[str, JsonDict] = {}
        self.channels: dict[str, JsonDict] = {}
        self.calls: list[Call] = []
        self.views: dict[str, JsonDict] = {}
        self.homes: dict[str, JsonDict] = {}
        self.messages: dict[str, list[JsonDict]] = {}
        self.ephemerals: list[JsonDict] = []
        self._triggers: dict[str, _Trigger] = {}
        self._stacks: dict[str, list[str]] = {}  # root view id -> the stack's view ids
        self._open_modal: dict[str, str] = {}  # user id -> root view id of their modal
        self._dms: dict[str, str] = {}  # DM channel id -> user id
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._subscribers: list[asyncio.Queue[JsonDict]] = []
        self._last_ts_us = 0
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "auth.revoke": self._auth_revoke,
            "oauth.v2.access": self._oauth_v2_access,
        }
        self.add_team(team_id, team_name)
        self.add_user(BOT_USER_ID, "licensebot", is_bot=True)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        app.router.add_post("/oauth/v2/authorize", self._handle_allow)
        app.router.add_get("/oauth/v2/authorize/cancel", self._handle_cancel)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/_fake/views", self._handle_views)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """The Web API base URL, for `AsyncWebClient(base_url=...)` and `SLACK_API_URL`."""
        return f"{self.base_url}/api/"

    @property
    def authorize_url(self) -> str:
        """Add to Slack's page, for `SLACK_OAUTH_AUTHORIZE_URL`."""
        return f"{self.base_url}/oauth/v2/authorize"

    # --- workspaces and installs ----------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        name: str | None = None,
        *,
        enterprise_id: str | None = None,
        domain: str | None = None,
    ) -> JsonDict:
        """A workspace (or more about a known one); `enterprise_id` puts it in that
        Enterprise Grid org, whose org-wide token then reaches it.
        """
        known = self.teams.get(team_id, {})
        name = name or known.get("name") or team_id
        team: JsonDict = {
            "id": team_id,
            "name": name,
            "domain": domain or known.get("domain") or _slug(name),
            "enterprise_id": enterprise_id or known.get("enterprise_id"),
        }
        if team["enterprise_id"]:
            self.enterprises.setdefault(team["enterprise_id"], team["enterprise_id"])
        self.teams[team_id] = team
        return team

    def add_enterprise(self, enterprise_id: str, name: str) -> None:
        self.enterprises[enterprise_id] = name

    def install(
        self,
        team_id: str | None,
        team_name: str | None = None,
        enterprise_id: str | None = None,
        *,
        scopes: Sequence[str] | None = None,
    ) -> str:
        """Install licensebot in a workspace (or, with `enterprise_id` and no `team_id`, in a
        whole Enterprise Grid org): its bot token, bound to it. As on Slack, reinstalling
        answers the same token until it is revoked, with the scopes added up.
        """
        if team_id is not None:
            self.add_team(team_id, team_name, enterprise_id=enterprise_id)
        elif enterprise_id is not None:
            self.enterprises[enterprise_id] = team_name or self.enterprises.get(
                enterprise_id, enterprise_id
            )
        return self._install(team_id or enterprise_id or "", scopes).token

    def revoke(self, team_id: str) -> None:
        """The workspace (or, given an org's id, the org) uninstalled licensebot: its tokens
        are refused from now on with `token_revoked`, as Slack refuses them.
        """
        self._revoked.update(i.token for i in self.installations.values() if i.key == team_id)

    def authorize_code(
        self,
        team_id: str | None = None,
        client_id: str | None = None,
        *,
        scopes: Sequence[str] | None = None,
        redirect_uri: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """The one-time code an installer's Allow sends to the redirect URI (no page needed).

        `team_id` is the workspace installing (default `installing_team`), or the id of an org
        the fake knows (`add_enterprise`, `add_team(enterprise_id=...)`) for an org-wide
        install; `user_id` who clicked Allow (default `installing_user`, else the workspace's
        first person). The authorize page's `team` parameter means the same.
        """
        client_id = client_id or self.client_id
        self._redirect_for(client_id, redirect_uri)
        team = team_id or self.installing_team
        code = f"{_slack_number()}.{_slack_number()}.{secrets.token_hex(32)}"
        self._codes[code] = _OAuthCode(
            issued_at=self.clock(),
            client_id=client_id,
            team=team,
            scopes=list(scopes or self.scopes),
            user_id=user_id or self.installing_user or self._installer(team),
            redirect_uri=redirect_uri,
        )
        return code

    def org_of(self, team_id: str) -> tuple[str | None, bool]:
        """A workspace's Enterprise Grid org (None outside one), and whether licensebot reaches
        it through the org's org-wide install: what Slack tells the app of both in every
        request it sends from that workspace.
        """
        enterprise_id = self.teams.get(team_id, {}).get("enterprise_id")
        keys = {i.key for i in self._live()}
        return enterprise_id, enterprise_id in keys and team_id not in keys

    # --- directory and interactions -------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        email: str | None = None,
        team_id: str | None = None,
        is_bot: bool = False,
        real_name: str | None = None,
    ) -> JsonDict:
        team = team_id or self.team_id
        real = real_name or name
        profile: JsonDict = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "team": team,
        }
        if email:
            profile["email"] = email
        user: JsonDict = {
            "id": user_id,
            "team_id": team,
            "name": name,
            "real_name": real,
            "deleted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "tz": "Etc/UTC",
            "tz_label": "Coordinated Universal Time",
            "tz_offset": 0,
            "updated": int(time.time()),
            "profile": profile,
        }
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, team_id: str | None = None) -> JsonDict:
        channel: JsonDict = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_private": False,
            "context_team_id": team_id or self.team_id,
        }
        self.channels[channel_id] = channel
        return channel

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with a user: stable, so tests and the sandbox can name it."""
        channel = _stable_id("D", user_id)
        self._dms[channel] = user_id
        return channel

    def new_trigger_id(self, user_id: str | None = None, view_id: str | None = None) -> str:
        """A trigger_id as Slack puts in an interaction: usable once, within 3 seconds.

        `view_id` is the modal the interaction came from (where views.push stacks up).
        """
        trigger_id = f"{_slack_number()}.{_slack_number()}.{secrets.token_hex(16)}"
        team = self.users.get(user_id or "", {}).get("team_id")
        self._triggers[trigger_id] = _Trigger(self.clock(), user_id, view_id, team)
        return trigger_id

    def new_response_url(
        self, channel: str = "", user: str = "", message_ts: str | None = None
    ) -> str:
        """A response_url on this server for an interaction by `user` in `channel`.

        `message_ts` is the message the interaction came from (what replace/delete_original act on).
        """
        key = secrets.token_hex(12)
        self._response_urls[key] = _ResponseUrl(self.clock(), channel, user, message_ts)
        return f"{self.base_url}/response/{key}"

    def modal_stack(self, user_id: str) -> list[JsonDict]:
        """The views of the user's open modal, root first."""
        root = self._open_modal.get(user_id, "")
        return [self.views[v] for v in self._stacks.get(root, []) if v in self.views]

    def close_modal(self, user_id: str) -> None:
        """The user dismissed their modal (or the app answered `response_action: clear`)."""
        for view_id in self._stacks.pop(self._open_modal.pop(user_id, ""), []):
            self.views.pop(view_id, None)

    def pop_modal(self, user_id: str) -> None:
        """The user went back from a pushed view; going back from the root closes the modal."""
        stack = self._stacks.get(self._open_modal.get(user_id, ""), [])
        if len(stack) <= 1:
            self.close_modal(user_id)
            return
        self.views.pop(stack.pop(), None)

    def apply_view_response(self, user_id: str, view_id: str, response: JsonDict | None) -> None:
        """What Slack does with a view_submission's answer (an empty answer closes the modal)."""
        action = (response or {}).get("response_action")
        if action in {"update", "push"}:
            view = response["view"] if isinstance(response, dict) else {}
            self._submitted_view({"view": view}, "modal")
            if action == "update":
                current = self.views[view_id]
                self.views[view_id] = self._stored_view(
                    view,
                    team_id=current["team_id"],
                    view_id=view_id,
                    root_id=current["root_view_id"],
                    previous_id=current["previous_view_id"],
                    state_of=current,
                )
            else:
                stack = self._stacks[self.views[view_id]["root_view_id"]]
                team = self.views[stack[0]]["team_id"]
                stored = self._stored_view(
                    view, team_id=team, root_id=stack[0], previous_id=stack[-1]
                )
                self.views[stored["id"]] = stored
                stack.append(stored["id"])
        elif action == "errors":
            return
        elif action == "clear" or action is None:
            self.close_modal(user_id)

    # --- assertions, failure injection, live updates --------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def last(self, method: str) -> Call:
        calls = self.calls_to(method)
        if not calls:
            called = sorted({call.method for call in self.calls})
            raise LookupError(f"no call to {method}; calls so far: {called}")
        return calls[-1]

    def clear(self) -> None:
        """Forget the recorded calls (the workspace's state stays)."""
        self.calls.clear()

    def fail_next(
        self,
        method: str,
        error: str = "internal_error",
        status: int = 200,
        times: int = 1,
        *,
        after: bool = False,
    ) -> None:
        """Make the next `times` calls to `method` (or "response_url") fail.

        status 429 answers `ratelimited` with `Retry-After: 1`; 5xx a plain-text server error;
        anything else `{"ok": false, "error": error}` with that status.
        """
        queue = self._failures.setdefault(method, deque())
        queue.extend(_Failure(error, status, after) for _ in range(times))

    def subscribe(self) -> asyncio.Queue[JsonDict]:
        """A queue receiving `{"type": "call", ...}` for every call from now on."""
        queue: asyncio.Queue[JsonDict] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JsonDict]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    # --- HTTP -----------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
        except SlackError as refusal:
            return self._answer(method, {}, refusal.body)
        body_token = params.pop("token", None)  # allowed by Slack, never recorded
        self._token = _bearer(request) or str(body_token or "")
        try:
            return self._call(method, request, params)
        finally:
            self._token, self._caller = "", None

    def _call(self, method: str, request: web.Request, params: JsonDict) -> web.Response:
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise SlackError("unknown_method", req_method=method)
            if method in _CLIENT_METHODS:
                self._check_client(request, params)
            else:
                self._caller = self._authenticate(self._token)
            failure = self._take_failure(method)
            if failure is not None:
                if failure.after:
                    handler(params)
                return self._fail(method, params, failure)
            body = {"ok": True, **handler(params)}
        except SlackError as refusal:
            body = refusal.body
        return self._answer(method, params, body)

    async def _handle_authorize(self, request: web.Request) -> web.StreamResponse:
        """Add to Slack's page: the installer allows licensebot in a workspace, or cancels."""
        query = dict(request.query)
        self._authorize_redirect(query)
        team = query.get("team") or self.installing_team
        where = self.teams.get(team, {}).get("name") or self.enterprises.get(team) or team
        scopes = _split(query.get("scope")) or self.scopes
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        page = _AUTHORIZE_PAGE.format(
            workspace=html.escape(where),
            scopes="".join(f"<li>{html.escape(scope)}</li>" for scope in scopes),
            fields=fields,
            cancel=html.escape(f"/oauth/v2/authorize/cancel?{urlencode(query)}"),
        )
        return web.Response(text=page, content_type="text/html")

    async def _handle_allow(self, request: web.Request) -> web.StreamResponse:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        redirect_uri = self._authorize_redirect(form)
        code = self.authorize_code(
            form.get("team"),
            form["client_id"],
            scopes=_split(form.get("scope")),
            redirect_uri=form.get("redirect_uri"),
        )
        raise web.HTTPFound(_with_query(redirect_uri, code=code, state=form.get("state")))

    async def _handle_cancel(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        redirect_uri = self._authorize_redirect(query)
        raise web.HTTPFound(
            _with_query(redirect_uri, error="access_denied", state=query.get("state"))
        )

    def _authorize_redirect(self, query: Mapping[str, str]) -> str:
        """Where an authorize request sends the installer back; a bad one gets Slack's error
        page instead, since there is nowhere safe to send them.
        """
        try:
            target = self._redirect_for(query.get("client_id", ""), query.get("redirect_uri"))
            if target is None:
                raise SlackError("bad_redirect_uri")
        except SlackError as refusal:
            raise web.HTTPBadRequest(
                text=f"<p>Something went wrong: {refusal}</p>", content_type="text/html"
            ) from None
        return target

    async def _handle_views(self, request: web.Request) -> web.StreamResponse:
        """The open views, for a driver in another process (load tests)."""
        return web.json_response({"views": self.views, "calls": len(self.calls)})

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        params: JsonDict = payload if isinstance(payload, dict) else {}
        if isinstance(params.get("blocks"), str):
            params["blocks"] = _loads_or_keep(params["blocks"])
        failure = self._take_failure("response_url")
        if failure is not None:
            return self._fail("response_url", params, failure)
        hook = self._response_urls.get(request.match_info["key"])
        try:
            if hook is None:
                raise SlackError("no_service", status=404)
            if not isinstance(payload, dict):
                raise SlackError("invalid_payload", status=400)
            if self.clock() - hook.created_at > RESPONSE_URL_TTL_SECONDS:
                raise SlackError("expired_url", status=404)
            if hook.uses >= RESPONSE_URL_USES:
                raise SlackError("used_url", status=404)
            hook.uses += 1
            self._respond(hook, params)
            body: JsonDict = {"ok": True}
            status = 200
        except SlackError as refusal:
            body, status = refusal.body, refusal.status if refusal.status != 200 else 400
        return self._answer("response_url", params, body, status)

    def _answer(
        self, method: str, params: JsonDict, body: JsonDict, status: int = 200
    ) -> web.Response:
        self._record(method, params, body, status)
        scopes = self._caller.scopes if self._caller else self.scopes
        return web.json_response(body, status=status, headers={"x-oauth-scopes": ",".join(scopes)})

    def _fail(self, method: str, params: JsonDict, failure: _Failure) -> web.Response:
        if failure.status == 429:
            body: JsonDict = {"ok": False, "error": "ratelimited"}
            self._record(method, params, body, 429)
            return web.json_response(body, status=429, headers={"Retry-After": "1"})
        if failure.status >= 500:
            self._record(method, params, {"ok": False, "error": failure.error}, failure.status)
            return web.Response(status=failure.status, text="Internal Server Error")
        return self._answer(method, params, {"ok": False, "error": failure.error}, failure.status)

    def _record(self, method: str, params: JsonDict, response: JsonDict, status: int) -> None:
        # A copy: later edits of the workspace must not rewrite what a call returned.
        call = Call(
            method,
            params,
            self.clock(),
            copy.deepcopy(response),
            status,
            self._token,
            self._caller,
        )
        self.calls.append(call)
        event = {"type": "call", "method": method, "params": params, "at": call.at}
        for queue in self._subscribers:
            queue.put_nowait({**event, "response": call.response, "status": status})

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    # --- tokens and workspaces ----------------------------------------------------------------

    def _authenticate(self, token: str) -> Installation:
        if not token:
            raise SlackError("not_authed")
        if token in self._revoked:
            raise SlackError("token_revoked")
        if token == self.bot_token:
            return self._single_workspace()
        installation = self.installations.get(token)
        if installation is None:
            raise SlackError("invalid_auth")
        return installation

    def _single_workspace(self) -> Installation:
        return Installation(
            self.bot_token, None, None, BOT_USER_ID, BOT_ID, self.scopes, everywhere=True
        )

    def _check_client(self, request: web.Request, params: JsonDict) -> None:
        """The app's credentials: HTTP Basic as slack_sdk sends them, or form fields."""
        secret = params.pop("client_secret", None)  # never recorded
        basic = _basic(request)
        if basic is not None:
            params["client_id"], secret = basic
        if params.get("client_id") != self.client_id:
            raise SlackError("invalid_client_id")
        if secret != self.client_secret:
            raise SlackError("bad_client_secret")

    def _redirect_for(self, client_id: str, redirect_uri: str | None) -> str | None:
        """The redirect URI of an authorize request (the configured one when it names none),
        refused as Slack refuses a wrong client id or a URI other than the configured one.
        """
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if redirect_uri and self.oauth_redirect_uri and redirect_uri != self.oauth_redirect_uri:
            raise SlackError("bad_redirect_uri")
        return redirect_uri or self.oauth_redirect_uri

    def _install(self, key: str, scopes: Sequence[str] | None) -> Installation:
        """The live installation in a workspace or an org (`key`), made on the first install."""
        if not key:
            raise ValueError("install needs a team_id, or an enterprise_id for an org-wide install")
        installation = next((i for i in self._live() if i.key == key), None)
        if installation is None:
            org_wide = key in self.enterprises and key not in self.teams
            if not org_wide and key not in self.teams:
                self.add_team(key)
            # Slack keeps one bot user per installation, across reinstalls.
            bot_user = _stable_id("W" if org_wide else "U", f"bot:{key}")
            self.add_user(bot_user, "licensebot", team_id=key, is_bot=True)
            installation = Installation(
                token=f"xoxb-{key}-{secrets.token_hex(12)}",
                team_id=None if org_wide else key,
                enterprise_id=key if org_wide else self.teams[key]["enterprise_id"],
                bot_user_id=bot_user,
                bot_id=_stable_id("B", key),
                scopes=[],
            )
            self.installations[installation.token] = installation
        installation.scopes = list(dict.fromkeys([*installation.scopes, *(scopes or self.scopes)]))
        return installation

    def _live(self) -> Iterator[Installation]:
        return (i for i in self.installations.values() if i.token not in self._revoked)

    def _installer(self, key: str) -> str:
        """Who clicks Allow by default: the first person of the workspace (or org)."""
        people = (u for u in self.users.values() if not u["is_bot"])
        found = next((u["id"] for u in people if self._within(u["team_id"], key)), None)
        return found or _stable_id("U", f"installer:{key}")

    def _within(self, team: str, key: str) -> bool:
        """Whether `team` is the workspace `key`, or a workspace of the org `key`."""
        return team == key or self.teams.get(team, {}).get("enterprise_id") == key

    def _covers(self, team: str | None) -> bool:
        """Whether the caller's token reaches `team` (no caller, or no team: no binding)."""
        caller = self._caller
        if caller is None or caller.everywhere or team is None:
            return True
        return self._within(team, caller.key)

    def _speaker(self, team: str) -> Installation:
        """The bot that writes in `team`: the caller's, or (for a response_url) the team's."""
        if self._caller is not None:
            return self._caller
        enterprise = self.teams.get(team, {}).get("enterprise_id")
        live = (i for i in self._live() if i.key in (team, enterprise))
        return next(live, None) or self._single_workspace()

    def _team_of(self, channel: str) -> str:
        """A conversation's workspace (a DM's: its person's)."""
        if channel in self._dms:
            return str(self.users.get(self._dms[channel], {}).get("team_id") or self.team_id)
        return str(self.channels.get(channel, {}).get("context_team_id") or self.team_id)

    def _user(self, user_id: Any) -> JsonDict:
        """A person the caller's token can see; anyone else is `user_not_found`."""
        user = self.users.get(str(user_id or ""))
        if user is None or not self._covers(user["team_id"]):
            raise SlackError("user_not_found")
        return user

    # --- methods ----------------------------------------------------------------------------

    def _auth_test(self, params: JsonDict) -> JsonDict:
        caller = self._caller or self._single_workspace()
        team_id = self.team_id if caller.everywhere else caller.team_id
        if team_id is not None:
            team = self.teams.get(team_id) or self.add_team(team_id)
            name, url = team["name"], f"https://{team['domain']}.slack.com/"
            enterprise_id = team["enterprise_id"]
        else:  # org-wide: the org's name and URL, and no workspace
            enterprise_id = caller.enterprise_id
            name = self.enterprises.get(enterprise_id or "", enterprise_id or "")
            url = f"https://{_slug(name)}.enterprise.slack.com/"
        body: JsonDict = {
            "url": url,
            "team": name,
            "user": "licensebot",
            "team_id": team_id,
            "user_id": caller.bot_user_id,
            "bot_id": caller.bot_id,
            "is_enterprise_install": team_id is None,
        }
        if enterprise_id:
            body["enterprise_id"] = enterprise_id
        return body

    def _auth_revoke(self, params: JsonDict) -> JsonDict:
        """Revokes the token it is called with (only it: the app stays installed)."""
        if not _truthy(params.get("test")):
            self._revoked.add(self._token)
        return {"revoked": True}

    def _oauth_v2_access(self, params: JsonDict) -> JsonDict:
        """A code from the authorize page for a bot token, in the shape Bolt's OAuth flow reads."""
        code = self._codes.get(str(params.get("code") or ""))
        if (
            code is None
            or code.used
            or code.client_id != params["client_id"]
            or self.clock() - code.issued_at > OAUTH_CODE_TTL_SECONDS
        ):
            raise SlackError("invalid_code")
        if code.redirect_uri and params.get("redirect_uri") != code.redirect_uri:
            raise SlackError("bad_redirect_uri")
        code.used = True
        installation = self._install(code.team, code.scopes)
        team = self.teams.get(installation.team_id or "")
        enterprise_id = installation.enterprise_id
        return {
            "access_token": installation.token,
            "token_type": "bot",
            "scope": ",".join(installation.scopes),
            "bot_user_id": installation.bot_user_id,
            "app_id": APP_ID,
            "team": {"id": team["id"], "name": team["name"]} if team else None,
            "enterprise": (
                {"id": enterprise_id, "name": self.enterprises.get(enterprise_id, enterprise_id)}
                if enterprise_id
                else None
            ),
            "is_enterprise_install": installation.team_id is None,
            "authed_user": {"id": code.user_id},
        }

    def _views_open(self, params: JsonDict) -> JsonDict:
        view = self._submitted_view(params, "modal")
        self._check_external_id(view)
        trigger = self._exchange_trigger(params)
        return {"view": self._open_root(view, trigger)}

    def _views_push(self, params: JsonDict) -> JsonDict:
        view = self._submitted_view(params, "modal")
        self._check_external_id(view)
        trigger = self._exchange_trigger(params)
        root = self._stack_root(trigger)
        if root is None:
            return {"view": self._open_root(view, trigger)}
        stack = self._stacks[root]
        if len(stack) >= MODAL_STACK_LIMIT:
            raise SlackError("push_limit_reached")
        team = self.views[root]["team_id"]
        stored = self._stored_view(view, team_id=team, root_id=root, previous_id=stack[-1])
        self.views[stored["id"]] = stored
        stack.append(stored["id"])
        return {"view": stored}

    def _views_update(self, params: JsonDict) -> JsonDict:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise invalid_arguments("either view_id or external_id is required")
        current = next(
            (
                v
                for v in self._visible_views()
                if (v["id"] == view_id if view_id else v["external_id"] == external_id)
            ),
            None,
        )
        if current is None:
            raise SlackError("not_found")
        view = self._submitted_view(params, current["type"])
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        self._check_external_id(view, current["id"])
        stored = self._stored_view(
            view,
            team_id=current["team_id"],
            view_id=current["id"],
            root_id=current["root_view_id"],
            previous_id=current["previous_view_id"],
            state_of=current,
        )
        if current["type"] == "home":
            for user_id, home in self.homes.items():
                if home["id"] == current["id"]:
                    self.homes[user_id] = stored
        else:
            self.views[current["id"]] = stored
        return {"view": stored}

    def _views_publish(self, params: JsonDict) -> JsonDict:
        user_id = params.get("user_id")
        if not user_id:
            raise invalid_arguments("missing required field: user_id")
        team = self._user(user_id)["team_id"]
        view = self._submitted_view(params, "home")
        current = self.homes.get(user_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        self._check_external_id(view, current["id"] if current else None)
        stored = self._stored_view(view, team_id=team, view_id=current["id"] if current else None)
        self.homes[user_id] = stored
        return {"view": stored}

    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"), allow_user=True)
        text, blocks = self._content(params)
        message = self._new_message(text, blocks, params.get("thread_ts"), channel)
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": _public(message)}

    def _conversations_history(self, params: JsonDict) -> JsonDict:
        """Top-level messages, newest first; metadata only when asked for."""
        channel = self._channel(params.get("channel"), allow_user=False)
        found = [m for m in reversed(self.messages.get(channel, [])) if not m.get("thread_ts")]
        return _listed(found, params, default_limit=100)

    def _conversations_replies(self, params: JsonDict) -> JsonDict:
        """A thread, its parent first, oldest first; metadata only when asked for."""
        channel = self._channel(params.get("channel"), allow_user=False)
        parent = str(params.get("ts") or "")
        thread = [
            m
            for m in self.messages.get(channel, [])
            if m["ts"] == parent or m.get("thread_ts") == parent
        ]
        if not any(m["ts"] == parent for m in thread):
            raise SlackError("thread_not_found")
        return _listed(thread, params, default_limit=1000)

    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"), allow_user=True)
        user = self._user(params.get("user"))["id"]
        text, blocks = self._content(params)
        message = self._new_message(text, blocks, params.get("thread_ts"), channel)
        self.ephemerals.append({**message, "channel": channel, "user": user})
        return {"message_ts": message["ts"]}

    def _chat_get_permalink(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"), allow_user=True)
        ts = str(params.get("message_ts") or "")
        if not any(m["ts"] == ts for m in self.messages.get(channel, [])):
            raise SlackError("message_not_found")
        return {"channel": channel, "permalink": permalink(channel, ts)}

    def _chat_update(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"), allow_user=False)
        ts = params.get("ts")
        message = next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)
        if message is None:
            raise SlackError("message_not_found")
        text, blocks = self._content(params)
        self._edit(message, text, blocks, channel)
        return {"channel": channel, "ts": ts, "text": message["text"], "message": _public(message)}

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        users = params.get("users") or []
        if isinstance(users, str):
            users = [user.strip() for user in users.split(",") if user.strip()]
        if not users:
            if params.get("channel") in self._dms:
                channel = self._channel(params["channel"], allow_user=False)
                return {"no_op": True, "already_open": True, "channel": {"id": channel}}
            raise SlackError("users_list_not_supplied")
        for user in users:
            self._user(user)
        if len(users) == 1:
            opened_before = _stable_id("D", users[0]) in self._dms
            channel = self.dm_channel(users[0])
        else:
            members = sorted(set(users))
            channel = _stable_id("G", ",".join(members))
            opened_before = channel in self.channels
            name = "mpdm-" + "--".join(self.users[u]["name"] for u in members) + "-1"
            team = self.users[members[0]]["team_id"]
            self.channels[channel] = {
                "id": channel,
                "name": name,
                "is_mpim": True,
                "context_team_id": team,
            }
        if opened_before:
            return {"no_op": True, "already_open": True, "channel": {"id": channel}}
        return {"channel": {"id": channel}}

    def _users_info(self, params: JsonDict) -> JsonDict:
        return {"user": self._user(params.get("user"))}

    def _users_lookup_by_email(self, params: JsonDict) -> JsonDict:
        wanted = str(params.get("email") or "").strip().lower()
        for user in self.users.values():
            email = str(user["profile"].get("email", "")).lower()
            if email == wanted and wanted and self._covers(user["team_id"]):
                return {"user": user}
        raise SlackError("users_not_found")

    # --- rules --------------------------------------------------------------------------------

    def _exchange_trigger(self, params: JsonDict) -> _Trigger:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise invalid_arguments("missing required field: trigger_id")
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None and not self.strict_triggers:
            trigger = self._triggers[str(trigger_id)] = _Trigger(self.clock(), None, None)
        if trigger is None or not self._covers(trigger.team_id):
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _submitted_view(self, params: JsonDict, kind: str) -> JsonDict:
        view = params.get("view")
        if view is None:
            raise invalid_arguments("missing required field: view")
        if not isinstance(view, dict):
            raise invalid_arguments("`view` must be a JSON object [json-pointer:/view]")
        if view.get("type") != kind:
            raise invalid_arguments(f"must be '{kind}' [json-pointer:/view/type]")
        if len(json.dumps(view)) > MAX_VIEW_BYTES:
            raise SlackError("view_too_large")
        errors = self._block_errors(kind, view, "/view")
        if errors:
            raise invalid_arguments(*errors)
        return view

    def _block_errors(self, surface: str, instance: Any, at: str) -> list[str]:
        """What Slack would refuse in a view or a message's blocks: blockkit, then block_checks."""
        if not self.validate_blocks:
            return []
        if surface == "message":
            errors = blockkit.validate_message_blocks(instance, at)
        else:
            check = blockkit.validate_modal if surface == "modal" else blockkit.validate_home
            errors = check(instance, at)
        for extra in self.block_checks:
            errors += extra(surface, instance, at)
        return list(dict.fromkeys(errors))

    def _check_external_id(self, view: JsonDict, own_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if not external_id:
            return
        # Unique within a workspace: the views the caller's token reaches.
        for other in self._visible_views():
            if other["external_id"] == external_id and other["id"] != own_id:
                raise SlackError("duplicate_external_id")

    def _visible_views(self) -> Iterator[JsonDict]:
        """Open modals and App Homes in the workspaces the caller's token reaches."""
        for view in [*self.views.values(), *self.homes.values()]:
            if self._covers(view["team_id"]):
                yield view

    def _open_root(self, view: JsonDict, trigger: _Trigger) -> JsonDict:
        stored = self._stored_view(view, team_id=trigger.team_id or self.team_id)
        self.views[stored["id"]] = stored
        self._stacks[stored["id"]] = [stored["id"]]
        if trigger.user_id:
            self._open_modal[trigger.user_id] = stored["id"]
        return stored

    def _stack_root(self, trigger: _Trigger) -> str | None:
        """The stack an interaction came from: its view's, else the user's open modal's."""
        origin = self.views.get(trigger.view_id or "")
        root = origin["root_view_id"] if origin else self._open_modal.get(trigger.user_id or "")
        return root if root in self._stacks else None

    def _stored_view(
        self,
        view: JsonDict,
        *,
        team_id: str,
        view_id: str | None = None,
        root_id: str | None = None,
        previous_id: str | None = None,
        state_of: JsonDict | None = None,
    ) -> JsonDict:
        """The view as Slack returns and keeps it: ids, hash and state added."""
        view_id = view_id or _new_id("V")
        stored: JsonDict = {**_VIEW_DEFAULTS, **copy.deepcopy(view)}
        stored["blocks"] = _with_ids(stored.get("blocks") or [])
        # Slack keeps what the user typed in inputs whose block_id survives an update.
        kept_ids = {block.get("block_id") for block in stored["blocks"] if isinstance(block, dict)}
        values = state_of["state"]["values"] if state_of else {}
        kept = {k: v for k, v in values.items() if k in kept_ids}
        stored.update(
            id=view_id,
            team_id=team_id,
            state={"values": {**_initial_values(stored["blocks"]), **kept}},
            hash=f"{int(time.time())}.{secrets.token_hex(4)}",
            root_view_id=root_id or view_id,
            previous_view_id=previous_id,
            app_id=APP_ID,
            bot_id=self._speaker(team_id).bot_id,
            app_installed_team_id=team_id,
        )
        return stored

    def _channel(self, channel: Any, *, allow_user: bool) -> str:
        """A conversation id; `#name` and (where Slack allows it) a user id for their DM.

        Only in the workspaces the caller's token reaches: elsewhere, no such channel.
        """
        if not isinstance(channel, str):
            raise SlackError("channel_not_found")
        if channel.startswith("#"):
            channel = next(
                (
                    c
                    for c, info in self.channels.items()
                    if info["name"] == channel[1:] and self._covers(self._team_of(c))
                ),
                "",
            )
        if channel in self.channels or channel in self._dms:
            team = self._team_of(channel)
        elif allow_user and channel in self.users:
            team = self.users[channel]["team_id"]
        else:
            raise SlackError("channel_not_found")
        if not self._covers(team):
            raise SlackError("channel_not_found")
        return self.dm_channel(channel) if channel in self.users else channel

    def _content(self, params: JsonDict) -> tuple[str | None, list[Any] | None]:
        """A message's text and blocks, refused the way chat.postMessage refuses them."""
        text, blocks = params.get("text"), params.get("blocks")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        if text is not None:
            text = str(text)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        if text and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        errors = self._block_errors("message", blocks, "/blocks") if blocks else []
        if errors:
            raise invalid_blocks(errors)
        return text, blocks

    def _new_message(
        self, text: str | None, blocks: list[Any] | None, thread_ts: Any, channel: str
    ) -> JsonDict:
        team = self._team_of(channel)
        bot = self._speaker(team)
        return {
            "type": "message",
            "ts": self._new_ts(),
            "user": bot.bot_user_id,
            "bot_id": bot.bot_id,
            "app_id": APP_ID,
            "team": team,
            "text": text or "",
            "blocks": _with_ids(blocks or []),
            "thread_ts": thread_ts or None,
        }

    def _edit(
        self, message: JsonDict, text: str | None, blocks: list[Any] | None, channel: str
    ) -> None:
        """chat.update semantics: omitted text or blocks keep their old value."""
        if text is not None:
            message["text"] = text
        if blocks is not None:
            message["blocks"] = _with_ids(blocks)
        bot = self._speaker(self._team_of(channel))
        message["edited"] = {"user": bot.bot_user_id, "ts": self._new_ts()}

    def _respond(self, hook: _ResponseUrl, params: JsonDict) -> None:
        """A response_url post: a new message, or a replacement or deletion of the original."""
        original = self._original(hook)
        if _truthy(params.get("delete_original")):
            if original is not None:
                box, message = original
                box.remove(message)
            return
        text, blocks = self._content(params)
        if _truthy(params.get("replace_original")) and original is not None:
            self._edit(original[1], text or "", blocks or [], hook.channel)
            return
        message = self._new_message(text, blocks, params.get("thread_ts"), hook.channel)
        if params.get("response_type") == "in_channel":
            self.messages.setdefault(hook.channel, []).append(message)
        else:
            hook.ephemeral = {**message, "channel": hook.channel, "user": hook.user}
            self.ephemerals.append(hook.ephemeral)

    def _original(self, hook: _ResponseUrl) -> tuple[list[JsonDict], JsonDict] | None:
        """The message an interaction came from, or the last ephemeral this URL posted."""
        for box in (self.messages.get(hook.channel, []), self.ephemerals):
            for message in box:
                if (
                    hook.message_ts and message["ts"] == hook.message_ts
                ) or message is hook.ephemeral:
                    return box, message
        return None

    def _new_ts(self) -> str:
        """Slack's message ts: epoch seconds with microseconds, unique and increasing."""
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"


# --- helpers ---------------------------------------------------------------------------------


async def _read_params(request: web.Request) -> JsonDict:
    """Query string, then a JSON or form body; slack_sdk uses all three depending on the method."""
    params: JsonDict = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str):
            params[key] = _loads_or_keep(params[key])
    return params


def _loads_or_keep(text: str) -> Any:
    """Decoded JSON, or the text itself for the method to refuse."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _basic(request: web.Request) -> tuple[str, str] | None:
    """HTTP Basic credentials, as slack_sdk sends the app's client id and secret."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, _, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except ValueError:  # bad base64 or UTF-8
        return "", ""
    return login, password


def _initial_values(blocks: list[Any]) -> JsonDict:
    """What inputs hold before anyone types: their initial values, as Slack submits them."""
    values: JsonDict = {}
    for block in blocks:
        element = block.get("element") if isinstance(block, dict) else None
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        kind, state = element.get("type"), None
        if "initial_value" in element:
            state = {"type": kind, "value": element["initial_value"]}
        elif "initial_option" in element:
            state = {"type": kind, "selected_option": element["initial_option"]}
        elif "initial_date" in element:
            state = {"type": kind, "selected_date": element["initial_date"]}
        if state is not None:
            values[block["block_id"]] = {element["action_id"]: state}
    return values


def _slack_number() -> str:
    """One of the long numbers Slack strings together in trigger ids and OAuth codes."""
    return str(secrets.randbelow(9 * 10**12) + 10**12)


def _slug(name: str) -> str:
    """A workspace's domain from its name: "Acme Corp" -> "acmecorp"."""
    return "".join(ch for ch in name.lower() if ch.isalnum()) or "workspace"


def _split(scopes: str | None) -> list[str]:
    """OAuth's comma-separated scopes."""
    return [scope.strip() for scope in (scopes or "").split(",") if scope.strip()]


def _with_query(url: str, **params: str | None) -> str:
    """`url` with `params` added to its query (None: left out), as OAuth redirects are built."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update({k: v for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=urlencode(query)))


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(10))


def _stable_id(prefix: str, key: str) -> str:
    return prefix + hashlib.sha1(key.encode()).hexdigest()[:10].upper()


def _with_ids(blocks: list[Any]) -> list[Any]:
    """Blocks as Slack stores them: every block and interactive element gets an id."""
    blocks = copy.deepcopy(blocks)
    for block in blocks:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", secrets.token_urlsafe(3))
        children = [block.get("element"), block.get("accessory")]
        if block.get("type") == "actions":
            children += block.get("elements") or []
        for child in children:
            if isinstance(child, dict) and child.get("type") in _INTERACTIVE:
                child.setdefault("action_id", secrets.token_urlsafe(3))
    return blocks


def _listed(found: list[JsonDict], params: JsonDict, default_limit: int) -> JsonDict:
    """A page of messages as Slack lists them; metadata only when asked for."""
    limit = int(params.get("limit") or default_limit)
    with_metadata = _truthy(params.get("include_all_metadata"))
    messages = [
        {k: v for k, v in _public(m).items() if with_metadata or k != "metadata"}
        for m in found[:limit]
    ]
    return {"messages": messages, "has_more": len(found) > limit}


def _public(message: JsonDict) -> JsonDict:
    return {k: v for k, v in message.items() if v is not None}


def _truthy(value: Any) -> bool:
    return value in (True, 1, "true", "1")


async def _serve(port: int, token: str) -> None:
    slack = FakeSlack(bot_token=token, validate_blocks=False, strict_triggers=False)
    slack.add_user("U0ANN", "ann", email="ann@acme.example")
    await slack.start(port)
    print(slack.url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="The fake Slack Web API alone, for load tests.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default="xoxb-test")
    options = parser.parse_args()
    asyncio.run(_serve(options.port, options.token))
