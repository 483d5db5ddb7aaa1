"""The sandbox page's JSON API and event stream, without a browser (the bot and fake are real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.sandbox.fake_slack import BOT_USER_ID
from bot.sandbox.runner import Sandbox, sandbox
from bot.sandbox.web import build_page_app

JsonDict = dict[str, Any]


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with sandbox(tmp_path) as running:
        yield running


@pytest.fixture
async def client(box: Sandbox) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_page_app(box))) as test_client:
        yield test_client


async def state(client: TestClient[Any, Any], user: str) -> JsonDict:
    response = await client.get("/api/state", params={"user": user})
    assert response.status == 200
    body: JsonDict = await response.json()
    return body


async def post(client: TestClient[Any, Any], path: str, **body: Any) -> JsonDict:
    response = await client.post(path, json=body)
    answer: JsonDict = await response.json()
    answer["http_status"] = response.status
    return answer


async def eventually(
    client: TestClient[Any, Any], box: Sandbox, user: str, check: Callable[[JsonDict], bool]
) -> JsonDict:
    """The user's state once the bot has done what it does after its acks; `check` holds."""
    await box.runtime.settle()
    seen = await state(client, user)
    assert check(seen), seen
    return seen


def top_modal(seen: JsonDict) -> JsonDict:
    modal: JsonDict = seen["modals"][-1]
    return modal


async def test_the_page_and_its_files_are_served(client: TestClient[Any, Any]) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert 'src="/static/app.js"' in await page.text()
    for name in ("app.js", "app.css"):
        assert (await client.get(f"/static/{name}")).status == 200


async def test_state_lists_users_conversations_and_no_modal(
    client: TestClient[Any, Any], box: Sandbox
) -> None:
    seen = await state(client, "U0ANN")
    assert [u["name"] for u in seen["users"]] == [
        "Ann",
        "Bob",
        "Erin",
        "Gil",
        "Ira",
        "Uma",
        "Casey",
        "Chris",
        "Nobody",
    ]
    names = {c["name"]: c for c in seen["conversations"]}
    assert {"general", "csm-requests", "licensebot"} <= set(names)
    assert names["licensebot"]["id"] == box.slack.dm_channel("U0ANN")
    assert seen["modals"] == [] and seen["home"] is None
    unknown = await client.get("/api/state", params={"user": "U0STRANGER"})
    assert unknown.status == 400


async def test_a_refused_command_shows_the_bots_ephemeral(
    client: TestClient[Any, Any], box: Sandbox
) -> None:
    answer = await post(client, "/api/command", user="U0BOB", text="/licenses", channel="C0GENERAL")
    assert answer["status"] == 200
    seen = await eventually(client, box, "U0BOB", lambda s: bool(s["messages"]["C0GENERAL"]))
    (message,) = seen["messages"]["C0GENERAL"]
    assert message["ephemeral"] and message["user"] == BOT_USER_ID
    assert "Only license admins of *Acme Corp*" in message["blocks"][0]["text"]["text"]
    # Nobody else sees it.
    assert (await state(client, "U0ANN"))["messages"]["C0GENERAL"] == []


async def test_bad_requests_are_refused_with_a_reason(client: TestClient[Any, Any]) -> None:
    other = await post(client, "/api/command", user="U0ANN", text="/deploy", channel="C0GENERAL")
    assert other["http_status"] == 400 and "not a command here" in other["error"]
    nowhere = await post(client, "/api/command", user="U0ANN", text="/licenses", channel="C0NOPE")
    assert nowhere["http_status"] == 400
    no_modal = await post(client, "/api/submit", user="U0ANN", values={})
    assert no_modal["http_status"] == 400 and "no modal open" in no_modal["error"]
    bad = await client.post("/api/click", data="not json")
    assert bad.status == 400


async def test_typing_answers_once_the_quote_is_shown_and_errors_are_kept(
    client: TestClient[Any, Any],
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
    client: TestClient[Any, Any], box: Sandbox
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
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/api/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert await response.content.readuntil(b"\n\n") == b"retry: 1000\nevent: hello\ndata: {}\n\n"
    await post(client, "/api/command", user="U0BOB", text="/licenses", channel="C0GENERAL")
    event = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 10)
    assert event.startswith(b"event: changed\n")
    response.close()


async def test_app_home_opens_through_the_app_home_opened_event(
    client: TestClient[Any, Any],
    box: Sandbox,
) -> None:
    answer = await post(client, "/api/home", user="U0ANN")
    assert answer["status"] == 200
    seen = await eventually(client, box, "U0ANN", lambda s: s["home"] is not None)
    assert seen["home"]["blocks"][0]["text"]["text"] == "Acme Corp licenses"
