"""Replays and Slack's retries: the first answer again, and nothing done twice."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.sandbox.slack_side import payload_form, slash_command, view_submission
from tests.slack.driver import Workspace, block_text, logged_errors
from tests.slack.removal_helpers import (
    ANN,
    APPROVE,
    CSM,
    audit,
    click,
    decision_values,
    dms,
    posts,
    request_values,
)

FORM = "application/x-www-form-urlencoded"


def submission(ws: Workspace, user: str, values: dict[str, Any]) -> str:
    """The body Slack posts when `user` submits their open modal filled with `values`,
    kept so that it can be sent again as a replay or a retry."""
    view = copy.deepcopy(ws.modal(user))
    view["state"]["values"].update(values)
    return payload_form(view_submission(ws.user(user), view, ws.slack.new_trigger_id(user)))


async def test_a_removal_submitted_replayed_and_retried_is_one_request(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    await ws.command(ANN, "remove")
    await ws.settle()
    body = submission(ws, ANN, request_values())

    first = await ws.post(body, FORM)
    replay = await ws.post(body, FORM)
    retry = await ws.post(body, FORM, headers={"X-Slack-Retry-Num": "1"})
    await ws.settle()

    answers = [block_text(a.json()["view"]["blocks"]) for a in (first, replay, retry)]
    assert all("Request *RR-00001* is with your Customer Success Manager" in a for a in answers)
    assert len(posts(ws)) == 1
    assert [a for _, a in await audit(ws)].count("removal.requested") == 1
    assert len([dm for dm in dms(ws, ANN) if dm.startswith("We received your request")]) == 1
    assert logged_errors(caplog) == []


async def test_a_replayed_approval_repeats_the_first_answer_and_decides_once(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    await ws.command(ANN, "remove")
    await ws.settle()
    await ws.submit(ANN, request_values())
    await ws.settle()
    await click(ws, CSM, APPROVE)
    body = submission(ws, CSM, decision_values(note="Fine."))

    answers = [await ws.post(body, FORM) for _ in range(3)]
    await ws.settle()

    texts = [block_text(a.json()["view"]["blocks"]) for a in answers]
    assert all("You approved RR-00001" in text for text in texts)
    assert [a for _, a in await audit(ws)].count("removal.approved") == 1
    assert not any("Something went wrong" in dm for dm in dms(ws, CSM))
    assert logged_errors(caplog) == []


async def test_a_replayed_command_says_it_took_too_long_without_a_traceback(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    await ws.command(ANN, "add")
    await ws.settle()
    spent = ws.slack.last("views.open").params["trigger_id"]
    seen = len(ws.slack.ephemerals)
    form = slash_command(
        ws.user(ANN),
        "add",
        channel="C0GENERAL",
        channel_name="general",
        response_url=ws.slack.new_response_url("C0GENERAL", ANN),
        trigger_id=spent,  # the replay carries the trigger the first one used
    )

    answer = await ws.post(urlencode(form), FORM)
    await ws.settle()

    assert answer.status == 200
    told = [e["text"] for e in ws.slack.ephemerals[seen:]]
    assert told == [":warning: That took Slack too long to open. Please try again."]
    assert logged_errors(caplog) == []


async def test_a_retried_event_does_its_work_once(workspace: Workspace) -> None:
    ws = workspace
    await ws.open_home(ANN)
    await ws.settle()
    published = len(ws.slack.calls_to("views.publish"))
    event = {
        "token": "legacy-verification-token",
        "team_id": "T0ACME",
        "api_app_id": "A0LICENSE",
        "event": {"type": "app_home_opened", "user": ANN, "tab": "home", "event_ts": "1.0"},
        "type": "event_callback",
        "event_id": "Ev0RETRIED",
        "event_time": 1,
    }

    answer = await ws.post(
        json.dumps(event), "application/json", headers={"X-Slack-Retry-Num": "1"}
    )
    await ws.settle()

    assert answer.status == 200
    assert len(ws.slack.calls_to("views.publish")) == published
