"""The sandbox page's JSON API and event stream, without a browser (the bot and fake are real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.fake_slack import BOT_USER_ID
from bot.sandbox.runner import Sandbox
from tests.sandbox.page_client import (
    PageClient,
    channel_named,
    eventually,
    page_on,
    post,
    state,
    top_modal,
)


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[tuple[Sandbox, PageClient]]:
    async with page_on(tmp_path) as running:
        yield running


@pytest.fixture
def box(page: tuple[Sandbox, PageClient]) -> Sandbox:
    return page[0]


@pytest.fixture
def client(page: tuple[Sandbox, PageClient]) -> PageClient:
    return page[1]


async def test_the_page_and_its_files_are_served(client: PageClient) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert 'src="/static/app.js"' in await page.text()
    for name in ("app.js", "app.css"):
        assert (await client.get(f"/static/{name}")).status == 200


async def test_state_lists_the_workspaces_their_people_and_no_modal(
    client: PageClient, box: Sandbox
) -> None:
    seen = await state(client, "U0ANN")
    assert [(w["name"], w["installed"]) for w in seen["workspaces"]] == [
        ("Vendor", True),
        ("Acme", True),
        ("Globex", True),
        ("Initech", True),
        ("Umbrella", True),
        ("Soylent", True),
        ("Vandelay", True),
        ("Hooli", False),
        ("Elsewhere", True),
    ]
    people = {w["name"]: w["users"] for w in seen["workspaces"]}
    assert people["Vendor"] == ["U0CSM", "U0CSM2"]
    assert people["Acme"] == ["U0ANN", "U0BOB", "U0ERIN"]
    assert people["Hooli"] == ["U0HANA"]
    by_name = {u["name"]: u["team"] for u in seen["users"]}
    assert by_name["Casey"] == "T0VENDOR" and by_name["Hana"] == "T0HOOLI"
    assert seen["modals"] == [] and seen["home"] is None
    unknown = await client.get("/api/state", params={"user": "U0STRANGER"})
    assert unknown.status == 400


async def test_a_customer_sees_their_own_workspace_and_no_vendor_channel(
    client: PageClient, box: Sandbox
) -> None:
    seen = await state(client, "U0ANN")
    assert seen["workspace"]["name"] == "Acme" and seen["workspace"]["installed"]
    names = {c["name"]: c for c in seen["conversations"]}
    assert set(names) == {"general", "licensebot"}
    assert names["licensebot"]["id"] == box.slack.dm_channel("U0ANN")
    assert set(seen["messages"]) == {c["id"] for c in seen["conversations"]}
    # Every customer's own #general, never the vendor's #csm-requests.
    for user in ("U0GIL", "U0IRA", "U0UMA", "U0SOL", "U0VAL", "U0HANA", "U0NOBODY"):
        theirs = await state(client, user)
        assert "csm-requests" not in {c["name"] for c in theirs["conversations"]}
        assert channel_named(theirs, "general") != channel_named(seen, "general")
    refused = await post(client, "/api/command", user="U0ANN", text="/licenses", channel="C0CSM")
    assert refused["http_status"] == 400 and "unknown channel" in refused["error"]


async def test_the_vendor_workspace_has_the_csm_channel_and_the_csms(
    client: PageClient, box: Sandbox
) -> None:
    seen = await state(client, "U0CSM")
    assert seen["workspace"] == {
        "id": "T0VENDOR",
        "name": "Vendor",
        "installed": True,
        "users": ["U0CSM", "U0CSM2"],
    }
    assert {c["name"] for c in seen["conversations"]} == {"csm-requests", "general", "licensebot"}
    assert channel_named(seen, "csm-requests") == "C0CSM"
    assert channel_named(await state(client, "U0CSM2"), "csm-requests") == "C0CSM"


async def test_a_refused_command_shows_the_bots_ephemeral(client: PageClient, box: Sandbox) -> None:
    answer = await post(client, "/api/command", user="U0BOB", text="/licenses", channel="C0GENERAL")
    assert answer["status"] == 200
    seen = await eventually(client, box, "U0BOB", lambda s: bool(s["messages"]["C0GENERAL"]))
    (message,) = seen["messages"]["C0GENERAL"]
    assert message["ephemeral"] and message["user"] == BOT_USER_ID
    assert "Only license admins of *Acme Corp*" in message["blocks"][0]["text"]["text"]
    # Nobody else sees it.
    assert (await state(client, "U0ANN"))["messages"]["C0GENERAL"] == []


async def test_bad_requests_are_refused_with_a_reason(client: PageClient) -> None:
    other = await post(client, "/api/command", user="U0ANN", text="/deploy", channel="C0GENERAL")
    assert other["http_status"] == 400 and "not a command here" in other["error"]
    nowhere = await post(client, "/api/command", user="U0ANN", text="/licenses", channel="C0NOPE")
    assert nowhere["http_status"] == 400
    no_modal = await post(client, "/api/submit", user="U0ANN", values={})
    assert no_modal["http_status"] == 400 and "no modal open" in no_modal["error"]
    bad = await client.post("/api/click", data="not json")
    assert bad.status == 400


async def test_typing_answers_once_the_quote_is_shown_and_errors_are_kept(
    client: PageClient,
    box: Sandbox,
) -> None:
    await post(client, "/api/command", user="U0ANN", text="/licenses add", channel="C0GENERAL")
    seen = await eventually(client, box, "U0ANN", lambda s: bool(s["modals"]))
    view = top_modal(seen)
    typed = await post(
        client,
        "/api/type",
        user="U0ANN",
        view_id=view["id"],
        block_id="add_count",
        action_id="add_count_input",
        value="3",
    )
    assert typed["status"] == 200
    # /api/type answers after the bot's views.update: the quote is there at once.
    updated = top_modal(await state(client, "U0ANN"))
    assert "13 (10 + 3)" in str(updated["blocks"])
    assert updated["state"]["values"]["add_count"]["add_count_input"]["value"] == "3"

    values = {"add_count": {"add_count_input": {"type": "number_input", "value": "0"}}}
    answer = await post(client, "/api/submit", user="U0ANN", view_id=view["id"], values=values)
    assert answer["response"]["response_action"] == "errors"
    assert top_modal(await state(client, "U0ANN"))["errors"] == answer["response"]["errors"]

    closed = await post(client, "/api/close", user="U0ANN")
    assert closed["ok"]
    assert (await state(client, "U0ANN"))["modals"] == []


async def test_back_returns_to_the_view_under_a_pushed_one(
    client: PageClient, box: Sandbox
) -> None:
    await post(client, "/api/command", user="U0ANN", text="/licenses", channel="C0GENERAL")
    plan = top_modal(await eventually(client, box, "U0ANN", lambda s: bool(s["modals"])))
    await post(
        client,
        "/api/click",
        user="U0ANN",
        surface="modal",
        view_id=plan["id"],
        action_id="request_removal",
    )
    seen = await eventually(client, box, "U0ANN", lambda s: len(s["modals"]) == 2)
    assert top_modal(seen)["title"]["text"] == "Remove licenses"
    await post(client, "/api/back", user="U0ANN")
    assert [m["id"] for m in (await state(client, "U0ANN"))["modals"]] == [plan["id"]]


async def test_events_stream_a_change_when_the_bot_calls_slack(
    client: PageClient,
) -> None:
    response = await client.get("/api/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert await response.content.readuntil(b"\n\n") == b"retry: 1000\nevent: hello\ndata: {}\n\n"
    await post(client, "/api/command", user="U0BOB", text="/licenses", channel="C0GENERAL")
    event = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 10)
    assert event.startswith(b"event: changed\n")
    response.close()


async def test_app_home_opens_through_the_app_home_opened_event(
    client: PageClient,
    box: Sandbox,
) -> None:
    answer = await post(client, "/api/home", user="U0ANN")
    assert answer["status"] == 200
    seen = await eventually(client, box, "U0ANN", lambda s: s["home"] is not None)
    assert seen["home"]["blocks"][0]["text"]["text"] == "Acme Corp licenses"
