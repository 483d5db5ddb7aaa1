"""Only Slack's signed, fresh requests reach the bot: everything else is 401 and changes nothing."""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from blocks.ids import Action, Block, Callback
from bot.models import Account, AuditEntry, LedgerCharge, Order
from bot.sandbox.slack_side import keystroke, view_actions, view_submission
from bot.seal import seal
from tests.slack.driver import SIGNING_SECRET, Answer, Workspace, block_text, sign

ANN = "U0ANN"
FORM_TYPE = "application/x-www-form-urlencoded"
FORGERIES = ["wrong secret", "stale timestamp"]


async def snapshot(ws: Workspace) -> tuple[int, int, int, int]:
    """What any accepted request would change: orders, charges, audit entries, licenses."""
    async with ws.services.sessions() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        charges = await session.scalar(select(func.count()).select_from(LedgerCharge))
        audit = await session.scalar(select(func.count()).select_from(AuditEntry))
        licenses = await session.scalar(select(Account.licenses).where(Account.id == "acme"))
    assert orders is not None and charges is not None and audit is not None
    assert licenses is not None
    return orders, charges, audit, licenses


def forged(kind: str) -> dict[str, Any]:
    """How the driver signs a forgery: another secret, or Slack's signature from 10 min ago."""
    if kind == "wrong secret":
        return {"secret": "not-the-signing-secret"}
    return {"timestamp": int(time.time()) - 600}


async def open_add_modal_with_quote(ws: Workspace) -> dict[str, Any]:
    await ws.command(ANN, "add")
    await ws.settle()
    await ws.type_number(ANN, Block.ADD_COUNT, Action.ADD_COUNT, "3")
    await ws.settle()
    view = ws.modal(ANN)
    assert "*Total Licenses*\n13 (10 + 3)" in block_text(view["blocks"])
    return view


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_or_stale_slash_command_is_refused(workspace: Workspace, forgery: str) -> None:
    ws = workspace
    before = await snapshot(ws)

    answer = await ws.command(ANN, "add 3", **forged(forgery))
    await ws.settle()

    assert answer.status == 401
    assert ws.slack.calls == []
    assert ws.slack.modal_stack(ANN) == []
    assert await snapshot(ws) == before

    # The same request, signed for real and fresh, is served: the refusal was the signature.
    assert (await ws.command(ANN, "add 3")).status == 200
    await ws.settle()
    assert ws.modal(ANN)["callback_id"] == Callback.ADD


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_or_stale_order_now_places_nothing(workspace: Workspace, forgery: str) -> None:
    ws = workspace
    view = await open_add_modal_with_quote(ws)
    shown = copy.deepcopy(view)
    before = await snapshot(ws)
    ws.slack.clear()

    answer = await ws.submit(ANN, view=copy.deepcopy(view), **forged(forgery))
    await ws.settle()

    assert answer.status == 401
    assert ws.slack.calls == []
    assert await snapshot(ws) == before == (0, 0, before[2], 10)
    assert ws.modal(ANN)["blocks"] == shown["blocks"]
    assert ws.slack.dm_channel(ANN) not in ws.slack.messages


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_or_stale_keystroke_changes_no_quote(
    workspace: Workspace, forgery: str
) -> None:
    ws = workspace
    view = await open_add_modal_with_quote(ws)
    ws.slack.clear()

    answer = await ws.type_number(ANN, Block.ADD_COUNT, Action.ADD_COUNT, "9", **forged(forgery))
    await ws.settle()

    assert answer.status == 401
    assert ws.slack.calls == []
    assert ws.modal(ANN)["hash"] == view["hash"]
    assert "*Total Licenses*\n13 (10 + 3)" in block_text(ws.modal(ANN)["blocks"])


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_or_stale_event_publishes_nothing(workspace: Workspace, forgery: str) -> None:
    ws = workspace
    event = {
        "token": "legacy-verification-token",
        "team_id": "T0ACME",
        "api_app_id": "A0LICENSES",
        "event": {"type": "app_home_opened", "user": ANN, "tab": "home", "event_ts": "1.0"},
        "type": "event_callback",
        "event_id": "Ev0FORGED",
        "event_time": int(time.time()),
    }
    answer = await ws.post(json.dumps(event), "application/json", **forged(forgery))
    await ws.settle()

    assert answer.status == 401
    assert ws.slack.calls == []
    assert ANN not in ws.slack.homes


async def post_raw(ws: Workspace, body: str, headers: dict[str, str]) -> Answer:
    async with ws.http.post(f"{ws.url}/slack/events", data=body, headers=headers) as response:
        return Answer(response.status, await response.text())


@pytest.mark.parametrize("sent", ["none", "timestamp only", "signature only"])
async def test_missing_signature_headers_are_refused(workspace: Workspace, sent: str) -> None:
    ws = workspace
    view = await open_add_modal_with_quote(ws)
    before = await snapshot(ws)
    ws.slack.clear()

    payload = {
        "type": "view_submission",
        "user": ws.user(ANN),
        "api_app_id": "A0LICENSES",
        "team": {"id": "T0ACME", "domain": "acme"},
        "trigger_id": ws.slack.new_trigger_id(ANN, view["id"]),
        "view": view,
    }
    body = urlencode({"payload": json.dumps(payload)})
    stamp = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sent == "timestamp only":
        headers["X-Slack-Request-Timestamp"] = str(stamp)
    if sent == "signature only":
        headers["X-Slack-Signature"] = sign(body, stamp, SIGNING_SECRET)

    answer = await post_raw(ws, body, headers)
    await ws.settle()

    assert answer.status == 401
    assert ws.slack.calls == []
    assert await snapshot(ws) == before
    assert (before[0], before[3]) == (0, 10)


@pytest.mark.parametrize("stamp", ["abc", "1.5", "", "-1", "１２３", "9" * 40, " 1700000000"])
async def test_a_malformed_timestamp_is_refused_before_anything_reads_the_body(
    workspace: Workspace, stamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    before = await snapshot(ws)
    form = urlencode({"command": "/licenses", "text": "add 3", "user_id": ANN, "team_id": "T0ACME"})
    signature = sign(form, int(time.time()), SIGNING_SECRET)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }

    answer = await post_raw(ws, form, headers)
    await ws.settle()

    assert answer.status == 401
    assert ws.slack.calls == []  # nobody was messaged
    assert await snapshot(ws) == before
    assert [r.getMessage() for r in caplog.records if r.levelno > logging.INFO] == []


# --- what comes back from Slack is checked, never trusted -------------------------------------

GIL = "U0GIL"


def reseal(ws: Workspace, view: dict[str, Any], key: bytes, **changes: Any) -> None:
    """Edit the modal's metadata as an attacker would, sealing it again with `key`."""
    state = ws.metadata(view)
    quote = state["quote"]
    quote.update({k: v for k, v in changes.items() if k in quote})
    state.update({k: v for k, v in changes.items() if k not in quote})
    view["private_metadata"] = seal(json.dumps(state), key)


@pytest.mark.parametrize(
    "changes",
    [
        {"due_today_minor": 1},
        {"due_today_minor": 0},
        {"due_today_minor": -500000},
        {"quoted_at": "2099-01-01T00:00:00Z"},
        {"account_id": "globex"},
    ],
)
async def test_order_now_with_altered_metadata_charges_nothing(
    workspace: Workspace, changes: dict[str, Any]
) -> None:
    ws = workspace
    view = await open_add_modal_with_quote(ws)
    before = await snapshot(ws)
    reseal(ws, view, b"a key that is not the bot's", **changes)

    answer = await ws.submit(ANN, view=view)
    await ws.settle()

    assert answer.status == 200
    assert "out of date" in block_text(ws.modal(ANN)["blocks"])
    assert await snapshot(ws) == before


async def test_someone_elses_modal_is_not_theirs_to_use(workspace: Workspace) -> None:
    """Gil, admin of Globex, sends a keystroke and Order Now carrying Ann's modal."""
    ws = workspace
    anns = copy.deepcopy(await open_add_modal_with_quote(ws))
    before = await snapshot(ws)
    ws.slack.clear()
    typed, action = keystroke(anns, Block.ADD_COUNT, Action.ADD_COUNT, "4")
    trigger = ws.slack.new_trigger_id(GIL, anns["id"])

    keyed = await ws.post_payload(view_actions(ws.user(GIL), typed, [action], trigger))
    ordered = await ws.post_payload(view_submission(ws.user(GIL), anns, trigger))
    await ws.settle()

    assert (keyed.status, ordered.status) == (200, 200)
    assert ws.slack.calls_to("views.update") == []  # Ann's modal is left as she sees it
    assert "*Total Licenses*\n13 (10 + 3)" in block_text(ws.modal(ANN)["blocks"])
    assert "out of date" in block_text(ordered.json()["view"]["blocks"])
    assert await snapshot(ws) == before


async def test_a_keystroke_naming_another_users_view_updates_only_the_callers_own(
    workspace: Workspace,
) -> None:
    ws = workspace
    anns = copy.deepcopy(await open_add_modal_with_quote(ws))
    await ws.command(GIL, "add")
    await ws.settle()
    gils = ws.modal(GIL)
    # Gil's own (sealed, his) metadata, with the id and hash of Ann's view.
    forged = {**gils, "id": anns["id"], "hash": anns["hash"]}
    typed, action = keystroke(forged, Block.ADD_COUNT, Action.ADD_COUNT, "1")

    answer = await ws.post_payload(
        view_actions(ws.user(GIL), typed, [action], ws.slack.new_trigger_id(GIL))
    )
    await ws.settle()

    assert answer.status == 200
    assert ws.modal(ANN)["blocks"] == anns["blocks"]
    [update] = ws.slack.calls_to("views.update")[-1:]
    assert update.params["external_id"] == gils["external_id"]
    assert "*Total Licenses*\n4 (3 + 1)" in block_text(ws.modal(GIL)["blocks"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%5D%7D", FORM_TYPE),
        ("payload=not-json", FORM_TYPE),
        ('{"type": "event_callback", "event": 5}', "application/json"),
        ("command=%2Flicenses&text=add", FORM_TYPE),
        ("[1, 2, 3]", "application/json"),
    ],
)
async def test_a_signed_body_that_is_no_slack_request_is_400_and_does_nothing(
    workspace: Workspace, body: str, content_type: str
) -> None:
    ws = workspace
    before = await snapshot(ws)

    answer = await ws.post(body, content_type)
    await ws.settle()

    assert answer.status == 400
    assert ws.slack.calls == []
    assert await snapshot(ws) == before
