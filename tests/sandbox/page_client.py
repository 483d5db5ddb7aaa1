"""Using the sandbox page's JSON API as the browser does, for the tests of tests/sandbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.sandbox.runner import Sandbox, sandbox
from bot.sandbox.web import build_page_app

JsonDict = dict[str, Any]
PageClient = TestClient[Any, Any]
LINK_CODE = re.compile(r"Link code for Hooli: (\S+)")


@asynccontextmanager
async def page_on(data_dir: Path) -> AsyncIterator[tuple[Sandbox, PageClient]]:
    """`licensebot sandbox` on `data_dir`, and a client of its page."""
    async with sandbox(data_dir) as box, TestClient(TestServer(build_page_app(box))) as client:
        yield box, client


async def state(client: PageClient, user: str) -> JsonDict:
    response = await client.get("/api/state", params={"user": user})
    assert response.status == 200
    body: JsonDict = await response.json()
    return body


async def post(client: PageClient, path: str, **body: Any) -> JsonDict:
    response = await client.post(path, json=body)
    answer: JsonDict = await response.json()
    answer["http_status"] = response.status
    return answer


async def eventually(
    client: PageClient, box: Sandbox, user: str, check: Callable[[JsonDict], bool]
) -> JsonDict:
    """The user's state once the bot has done what it does after its acks; `check` holds."""
    await box.runtime.settle()
    seen = await state(client, user)
    assert check(seen), seen
    return seen


def top_modal(seen: JsonDict) -> JsonDict:
    modal: JsonDict = seen["modals"][-1]
    return modal


def channel_named(seen: JsonDict, name: str) -> str:
    """The id of a channel the user's workspace has."""
    [channel] = [c["id"] for c in seen["conversations"] if c["name"] == name]
    return str(channel)


async def command(client: PageClient, user: str, text: str, channel: str) -> None:
    """`user` types a command in `channel`, and the bot acknowledges it."""
    answer = await post(client, "/api/command", user=user, text=text, channel=channel)
    assert answer["status"] == 200, answer


async def last_reply(client: PageClient, box: Sandbox, user: str, text: str, channel: str) -> str:
    """What the bot answered `user`'s command (only they see it), as text."""
    await command(client, user, text, channel)
    seen = await eventually(client, box, user, lambda s: bool(s["messages"][channel]))
    reply = seen["messages"][channel][-1]
    assert reply["ephemeral"], reply
    return f"{reply['text']} {reply['blocks']}"


async def link_hooli(client: PageClient, box: Sandbox) -> None:
    """Casey makes Hooli's code in the vendor's workspace; Hana types it in Hooli's."""
    casey = await state(client, "U0CSM")
    made = await last_reply(
        client, box, "U0CSM", "/licenses link-code hooli", channel_named(casey, "csm-requests")
    )
    found = LINK_CODE.search(made)
    assert found, made
    hana = await state(client, "U0HANA")
    linked = await last_reply(
        client, box, "U0HANA", f"/licenses link {found.group(1)}", channel_named(hana, "general")
    )
    assert "now linked to Hooli" in linked
