"""The fake Slack's workspaces: tokens bound to where they were installed, and OAuth v2.

A distributed app holds one bot token per customer workspace (or Enterprise Grid org); Slack
refuses a token anywhere else as if the channel, person or view did not exist. These tests
drive the fake with slack_sdk's client, Bolt's own OAuth flow and a plain HTTP client, as
the bot and an installer's browser do.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.fake_slack import BOT_USER_ID, FakeSlack
from bot.sandbox.slack_side import SlackSide

# slack_sdk's own oauth_v2_access builds an aiohttp BasicAuth, which aiohttp now deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

TOKEN = "xoxb-single-workspace"
REDIRECT = "https://licensebot.example/slack/oauth_redirect"
SECRET = "client-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """Acme (the default workspace), Globex, and Grid Inc's org of two workspaces."""
    async with FakeSlack(bot_token=TOKEN, client_secret=SECRET) as fake:
        fake.clock = Clock()
        fake.add_team("T0GLOBEX", "Globex")
        fake.add_enterprise("E0GRID", "Grid Inc")
        fake.add_team("T0GRIDA", "Grid East", enterprise_id="E0GRID")
        fake.add_team("T0GRIDB", "Grid West", enterprise_id="E0GRID")
        fake.add_user("U0ANN", "ann", email="ann@acme.example")
        fake.add_user("U0GIL", "gil", email="gil@globex.example", team_id="T0GLOBEX")
        fake.add_user("U0ALI", "ali", team_id="T0GRIDA")
        fake.add_user("U0BEA", "bea", team_id="T0GRIDB")
        fake.add_channel("C0GENERAL", "general")
        fake.add_channel("C0GLOBEX", "general", team_id="T0GLOBEX")
        yield fake


def client(slack: FakeSlack, token: str | None) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.url)


async def error_of(call: Any) -> str:
    """Slack's error for a refused call (answered with HTTP 200, as Slack does)."""
    with pytest.raises(SlackApiError) as raised:
        await call
    assert raised.value.response.status_code == 200
    return str(raised.value.response["error"])


def modal(title: str = "Your plan", **extra: Any) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Pro, 10 licenses"}}
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [section],
        **extra,
    }


def home() -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Your plan"}}
    return {"type": "home", "blocks": [section]}


# --- tokens bound to their workspace -----------------------------------------------------


async def test_a_workspace_token_speaks_as_that_workspaces_bot(slack: FakeSlack) -> None:
    token = slack.install("T0GLOBEX")
    globex = client(slack, token)

    me = await globex.auth_test()
    assert (me["team_id"], me["team"], me["url"]) == (
        "T0GLOBEX",
        "Globex",
        "https://globex.slack.com/",
    )
    assert me["user_id"] != BOT_USER_ID
    assert me["is_enterprise_install"] is False
    assert "enterprise_id" not in me.data

    posted = await globex.chat_postMessage(channel="C0GLOBEX", text="Receipt")
    assert (posted["message"]["user"], posted["message"]["bot_id"]) == (me["user_id"], me["bot_id"])
    assert posted["message"]["team"] == "T0GLOBEX"
    assert (await globex.users_info(user="U0GIL"))["user"]["name"] == "gil"
    dm = (await globex.conversations_open(users="U0GIL"))["channel"]["id"]
    await globex.chat_postMessage(channel=dm, text="Your receipt")
    await globex.chat_postMessage(channel="U0GIL", text="Your receipt, again")
    assert len(slack.messages[dm]) == 2

    assert {(call.token, call.team_id) for call in slack.calls} == {(token, "T0GLOBEX")}
    assert all(call.ok for call in slack.calls)


async def test_another_workspaces_channels_do_not_exist_for_a_token(slack: FakeSlack) -> None:
    globex = client(slack, slack.install("T0GLOBEX"))
    acme = client(slack, slack.install("T0ACME"))
    posted = await acme.chat_postMessage(channel="C0GENERAL", text="Hello Acme")
    ann_dm = slack.dm_channel("U0ANN")

    for call in (
        globex.chat_postMessage(channel="C0GENERAL", text="Hello?"),
        globex.chat_postMessage(channel=ann_dm, text="Hello?"),
        globex.chat_postMessage(channel="U0ANN", text="Hello?"),
        globex.chat_postEphemeral(channel="C0GENERAL", user="U0GIL", text="Hello?"),
        globex.chat_update(channel="C0GENERAL", ts=posted["ts"], text="Edited"),
        globex.conversations_history(channel="C0GENERAL"),
        globex.conversations_replies(channel="C0GENERAL", ts=posted["ts"]),
    ):
        assert await error_of(call) == "channel_not_found"
    assert [m["text"] for m in slack.messages["C0GENERAL"]] == ["Hello Acme"]
    assert ann_dm not in slack.messages

    # Both workspaces have a #general: a name means the token's own.
    await globex.chat_postMessage(channel="#general", text="Hello Globex")
    assert [m["text"] for m in slack.messages["C0GLOBEX"]] == ["Hello Globex"]


async def test_another_workspaces_people_do_not_exist_for_a_token(slack: FakeSlack) -> None:
    globex = client(slack, slack.install("T0GLOBEX"))

    for call in (
        globex.users_info(user="U0ANN"),
        globex.conversations_open(users="U0ANN"),
        globex.conversations_open(users="U0GIL,U0ANN"),
        globex.chat_postEphemeral(channel="C0GLOBEX", user="U0ANN", text="Hello?"),
        globex.views_publish(user_id="U0ANN", view=home()),
    ):
        assert await error_of(call) == "user_not_found"
    assert await error_of(globex.users_lookupByEmail(email="ann@acme.example")) == (
        "users_not_found"
    )
    assert (await globex.users_lookupByEmail(email="gil@globex.example"))["user"]["id"] == "U0GIL"
    assert "U0ANN" not in slack.homes


async def test_another_workspaces_triggers_and_views_are_refused(slack: FakeSlack) -> None:
    globex = client(slack, slack.install("T0GLOBEX"))
    acme = client(slack, slack.install("T0ACME"))
    trigger = slack.new_trigger_id("U0ANN")

    assert await error_of(globex.views_open(trigger_id=trigger, view=modal())) == (
        "invalid_trigger_id"
    )
    # Refused, not spent: Ann's own workspace's token still opens her modal with it.
    opened = (await acme.views_open(trigger_id=trigger, view=modal(external_id="plan-ann")))["view"]
    assert opened["team_id"] == "T0ACME"
    assert opened["bot_id"] == (await acme.auth_test())["bot_id"]

    assert await error_of(globex.views_update(view_id=opened["id"], view=modal("Hijacked"))) == (
        "not_found"
    )
    assert await error_of(globex.views_update(external_id="plan-ann", view=modal("Hijacked"))) == (
        "not_found"
    )
    assert await error_of(
        globex.views_push(trigger_id=slack.new_trigger_id("U0ANN", opened["id"]), view=modal())
    ) == ("invalid_trigger_id")
    # External ids are unique per workspace: Globex may use the same one.
    gil_trigger = slack.new_trigger_id("U0GIL")
    await globex.views_open(trigger_id=gil_trigger, view=modal(external_id="plan-ann"))
    assert [v["title"]["text"] for v in slack.modal_stack("U0ANN")] == ["Your plan"]


async def test_the_single_workspace_token_reaches_every_workspace(slack: FakeSlack) -> None:
    slack.install("T0GLOBEX")
    everywhere = client(slack, TOKEN)

    await everywhere.chat_postMessage(channel="C0GLOBEX", text="Hello Globex")
    await everywhere.chat_postMessage(channel="C0GENERAL", text="Hello Acme")
    assert (await everywhere.users_info(user="U0ALI"))["user"]["team_id"] == "T0GRIDA"
    me = await everywhere.auth_test()
    assert (me["team_id"], me["user_id"]) == ("T0ACME", BOT_USER_ID)
    assert {call.token for call in slack.calls} == {TOKEN}
    assert all(call.installation and call.installation.everywhere for call in slack.calls)


async def test_an_org_wide_token_reaches_every_workspace_of_its_org(slack: FakeSlack) -> None:
    org = client(slack, slack.install(None, enterprise_id="E0GRID"))
    east = client(slack, slack.install("T0GRIDA"))

    me = await org.auth_test()
    assert me["enterprise_id"] == "E0GRID"
    assert me["is_enterprise_install"] is True
    assert me["team_id"] is None
    assert me["team"] == "Grid Inc"
    assert me["user_id"].startswith("W")

    assert (await org.users_info(user="U0ALI"))["user"]["team_id"] == "T0GRIDA"
    assert (await org.users_info(user="U0BEA"))["user"]["team_id"] == "T0GRIDB"
    assert await error_of(org.users_info(user="U0ANN")) == "user_not_found"
    await org.chat_postMessage(channel="U0BEA", text="Hello West")

    # A workspace install inside the org reaches only its own workspace.
    east_me = await east.auth_test()
    assert (east_me["team_id"], east_me["enterprise_id"]) == ("T0GRIDA", "E0GRID")
    assert await error_of(east.users_info(user="U0BEA")) == "user_not_found"

    org_calls = [call for call in slack.calls if call.enterprise_id and call.team_id is None]
    assert {call.method for call in org_calls} == {"auth.test", "users.info", "chat.postMessage"}


async def test_revoked_and_unknown_tokens_are_refused(slack: FakeSlack) -> None:
    token = slack.install("T0GLOBEX")
    acme = client(slack, slack.install("T0ACME"))
    slack.revoke("T0GLOBEX")

    assert await error_of(client(slack, token).auth_test()) == "token_revoked"
    assert await error_of(client(slack, token).chat_postMessage(channel="C0GLOBEX", text="x")) == (
        "token_revoked"
    )
    assert await error_of(client(slack, "xoxb-T0GLOBEX-guessed").auth_test()) == "invalid_auth"
    assert (await acme.auth_test())["team_id"] == "T0ACME"
    assert (await client(slack, TOKEN).auth_test())["ok"]

    # Installing again gives a new token; the old one stays dead.
    again = slack.install("T0GLOBEX")
    assert again != token
    assert (await client(slack, again).auth_test())["team_id"] == "T0GLOBEX"
    assert await error_of(client(slack, token).auth_test()) == "token_revoked"


async def test_revoking_an_org_revokes_its_org_wide_token(slack: FakeSlack) -> None:
    org = slack.install(None, enterprise_id="E0GRID")
    east = slack.install("T0GRIDA")
    slack.revoke("E0GRID")
    assert await error_of(client(slack, org).auth_test()) == "token_revoked"
    assert (await client(slack, east).auth_test())["team_id"] == "T0GRIDA"


async def test_reinstalling_keeps_the_token_and_adds_scopes(slack: FakeSlack) -> None:
    first = slack.install("T0GLOBEX", scopes=["commands"])
    second = slack.install("T0GLOBEX", scopes=["chat:write"])
    assert first == second
    response = await client(slack, first).auth_test()
    assert response.headers["x-oauth-scopes"] == "commands,chat:write"


async def test_auth_revoke_revokes_only_the_token_it_is_called_with(slack: FakeSlack) -> None:
    globex = slack.install("T0GLOBEX")
    acme = slack.install("T0ACME")
    assert (await client(slack, globex).auth_revoke(test=True))["revoked"] is True
    assert (await client(slack, globex).auth_test())["ok"]
    assert (await client(slack, globex).auth_revoke())["revoked"] is True
    assert await error_of(client(slack, globex).auth_test()) == "token_revoked"
    assert (await client(slack, acme).auth_test())["ok"]


# --- oauth.v2.access -------------------------------------------------------------------------


async def exchange(slack: FakeSlack, code: str, secret: str = SECRET, **kwargs: Any) -> Any:
    return await client(slack, None).oauth_v2_access(
        client_id=slack.client_id, client_secret=secret, code=code, **kwargs
    )


async def test_a_code_installs_the_workspace_it_was_allowed_in(slack: FakeSlack) -> None:
    code = slack.authorize_code("T0GLOBEX", slack.client_id, scopes=["commands", "chat:write"])
    answer = await exchange(slack, code)

    assert answer["token_type"] == "bot"
    assert answer["access_token"].startswith("xoxb-")
    assert answer["scope"] == "commands,chat:write"
    assert answer["team"] == {"id": "T0GLOBEX", "name": "Globex"}
    assert answer["enterprise"] is None
    assert answer["is_enterprise_install"] is False
    assert answer["authed_user"] == {"id": "U0GIL"}  # Globex's first person clicked Allow
    assert answer["app_id"]

    globex = client(slack, answer["access_token"])
    me = await globex.auth_test()
    assert (me["team_id"], me["user_id"]) == ("T0GLOBEX", answer["bot_user_id"])
    await globex.chat_postMessage(channel="C0GLOBEX", text="Installed")
    assert await error_of(globex.chat_postMessage(channel="C0GENERAL", text="x")) == (
        "channel_not_found"
    )
    # The app's secret never lands in the record.
    recorded = slack.last("oauth.v2.access").params
    assert recorded["client_id"] == slack.client_id
    assert SECRET not in str(recorded)


async def test_a_code_works_once_and_for_ten_minutes(slack: FakeSlack) -> None:
    code = slack.authorize_code("T0GLOBEX")
    await exchange(slack, code)
    assert await error_of(exchange(slack, code)) == "invalid_code"
    assert await error_of(exchange(slack, "123.456.nope")) == "invalid_code"

    late = slack.authorize_code("T0GLOBEX")
    assert isinstance(slack.clock, Clock)
    slack.clock.now += 601
    assert await error_of(exchange(slack, late)) == "invalid_code"


async def test_the_app_must_prove_who_it_is(slack: FakeSlack) -> None:
    code = slack.authorize_code("T0GLOBEX")
    assert await error_of(exchange(slack, code, secret="guessed")) == "bad_client_secret"
    anonymous = client(slack, None)
    assert await error_of(
        anonymous.oauth_v2_access(client_id="999.999", client_secret=SECRET, code=code)
    ) == ("invalid_client_id")
    # Refusals spend no code; and form fields are accepted as well as HTTP Basic.
    answer = await anonymous.api_call(
        "oauth.v2.access",
        data={"client_id": slack.client_id, "client_secret": SECRET, "code": code},
    )
    assert answer["team"]["id"] == "T0GLOBEX"


async def test_the_redirect_uri_must_be_the_one_the_code_was_sent_to(slack: FakeSlack) -> None:
    code = slack.authorize_code("T0GLOBEX", redirect_uri=REDIRECT)
    assert await error_of(exchange(slack, code, redirect_uri="https://evil.example/")) == (
        "bad_redirect_uri"
    )
    assert (await exchange(slack, code, redirect_uri=REDIRECT))["team"]["id"] == "T0GLOBEX"


async def test_an_org_admin_installs_org_wide(slack: FakeSlack) -> None:
    answer = await exchange(slack, slack.authorize_code("E0GRID", user_id="U0ALI"))
    assert answer["team"] is None
    assert answer["enterprise"] == {"id": "E0GRID", "name": "Grid Inc"}
    assert answer["is_enterprise_install"] is True
    assert answer["authed_user"] == {"id": "U0ALI"}
    org = client(slack, answer["access_token"])
    assert (await org.users_info(user="U0BEA"))["ok"]


@pytest.mark.parametrize("team", ["T0GLOBEX", "E0GRID"])
async def test_bolts_oauth_flow_accepts_the_answer(
    slack: FakeSlack, tmp_path: Path, team: str
) -> None:
    """What Bolt's `/slack/oauth_redirect` does with a code, against the fake."""
    flow = AsyncOAuthFlow(
        client=client(slack, None),
        settings=AsyncOAuthSettings(
            client_id=slack.client_id,
            client_secret=SECRET,
            scopes=["commands", "chat:write"],
            redirect_uri=REDIRECT,
            installation_store=FileInstallationStore(base_dir=str(tmp_path / "installs")),
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path)),
        ),
    )
    scopes = ["commands", "chat:write"]
    code = slack.authorize_code(team, scopes=scopes, redirect_uri=REDIRECT)
    installation = await flow.run_installation(code)

    assert installation is not None
    token = installation.bot_token
    assert token is not None
    me = await client(slack, token).auth_test()
    assert installation.bot_id == me["bot_id"]
    assert installation.bot_user_id == me["user_id"]
    if team == "E0GRID":
        assert (installation.team_id, installation.enterprise_id) == (None, "E0GRID")
        assert installation.is_enterprise_install is True
        assert installation.enterprise_url == "https://gridinc.enterprise.slack.com/"
    else:
        assert (installation.team_id, installation.team_name) == ("T0GLOBEX", "Globex")
        assert installation.enterprise_id is None
        assert installation.is_enterprise_install is False
    assert installation.bot_scopes == scopes


# --- the authorize page -----------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """An installer's browser: redirects are looked at, not followed."""
    async with aiohttp.ClientSession() as session:
        yield session


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_allow_sends_the_installer_back_with_a_code(
    slack: FakeSlack, browser: aiohttp.ClientSession
) -> None:
    params = {
        "client_id": slack.client_id,
        "scope": "commands,chat:write",
        "user_scope": "",
        "state": "s-123",
        "redirect_uri": REDIRECT,
        "team": "T0GLOBEX",
    }
    async with browser.get(slack.authorize_url, params=params) as page:
        assert page.status == 200
        text = await page.text()
    assert "Install licensebot to Globex" in text
    assert "<li>chat:write</li>" in text
    assert ">Allow</button>" in text

    # The Allow button posts the page's hidden fields back.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', text))
    form = {html.unescape(k): html.unescape(v) for k, v in fields.items()}
    assert form == params
    async with browser.post(slack.authorize_url, data=form, allow_redirects=False) as allowed:
        assert allowed.status == 302
        location = allowed.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    sent = query_of(location)
    assert sent["state"] == "s-123"

    answer = await exchange(slack, sent["code"], redirect_uri=REDIRECT)
    assert answer["team"] == {"id": "T0GLOBEX", "name": "Globex"}
    assert answer["scope"] == "commands,chat:write"


async def test_cancel_sends_the_installer_back_with_access_denied(
    slack: FakeSlack, browser: aiohttp.ClientSession
) -> None:
    slack.oauth_redirect_uri = REDIRECT
    slack.installing_team = "T0GLOBEX"
    params = {"client_id": slack.client_id, "scope": "commands", "state": "s-456"}
    async with browser.get(slack.authorize_url, params=params) as page:
        text = await page.text()
    assert "Install licensebot to Globex" in text  # the configured installing workspace

    cancel = html.unescape(re.findall(r'<a href="([^"]*)">Cancel</a>', text)[0])
    async with browser.get(slack.base_url + cancel, allow_redirects=False) as cancelled:
        assert cancelled.status == 302
        location = cancelled.headers["Location"]
    assert location.startswith(REDIRECT + "?")  # the configured redirect URI
    assert query_of(location) == {"error": "access_denied", "state": "s-456"}
    assert slack.installations == {}


async def test_a_bad_authorize_request_is_an_error_page(
    slack: FakeSlack, browser: aiohttp.ClientSession
) -> None:
    slack.oauth_redirect_uri = REDIRECT
    for params in (
        {"client_id": "999.999", "scope": "commands"},
        {"client_id": slack.client_id, "redirect_uri": "https://evil.example/"},
    ):
        async with browser.get(slack.authorize_url, params=params, allow_redirects=False) as page:
            assert page.status == 400
    with pytest.raises(Exception, match="invalid_client_id"):
        slack.authorize_code("T0GLOBEX", "999.999")


# --- what Slack says of the org in requests to the app ---------------------------------------


async def test_requests_from_a_grid_workspace_name_its_org(slack: FakeSlack) -> None:
    received: list[dict[str, str]] = []

    async def events(request: web.Request) -> web.Response:
        received.append({k: str(v) for k, v in (await request.post()).items()})
        return web.Response()

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            side = SlackSide(slack, f"http://127.0.0.1:{port}/slack/events", "secret", http)
            slack.install(None, enterprise_id="E0GRID")
            slack.install("T0GRIDB")
            for user in ("U0ALI", "U0BEA", "U0ANN"):
                await side.command(user, "plan")
    finally:
        await runner.cleanup()

    grid_east, grid_west, acme = received
    assert (grid_east["enterprise_id"], grid_east["is_enterprise_install"]) == ("E0GRID", "true")
    assert (grid_west["enterprise_id"], grid_west["is_enterprise_install"]) == ("E0GRID", "false")
    assert "enterprise_id" not in acme
    assert acme["is_enterprise_install"] == "false"
