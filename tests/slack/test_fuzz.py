"""Fuzzing the bot with signed, mutated payloads built by the sandbox's Slack side.

Every request is signed, so it reaches the listeners: wrong types, missing keys, unicode,
huge strings, numbers at the edges, garbage bodies. None may get a 5xx, take 3 s to ack,
log a traceback, or leave the books inconsistent.
"""

from __future__ import annotations

import copy
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blocks.ids import Action, Block
from bot.models import Account, Order
from bot.sandbox.slack_side import (
    FORM,
    keystroke,
    payload_form,
    slash_command,
    view_actions,
    view_submission,
)
from tests.slack.driver import Workspace, logged_errors
from tests.slack.removal_helpers import ANN, BOB, CSM, request_values
from tests.slack.test_security import open_add_modal_with_quote

# At least 2,000 requests in CI; fewer on a developer's machine unless asked for.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (2000 if os.environ.get("CI") else 300))
JSON = "application/json"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "1", "1.0", "٣", "0x10", "1e3", " 3 ", "\x00", "x" * 20_000]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON value."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutated(base: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    """`base` with the value at `path` replaced by `value` (how="set") or removed."""
    copied = copy.deepcopy(base)
    parent = copied
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copied


class Target:
    """One kind of request and how to send a version of it."""

    def __init__(self, name: str, payload: Any, send: str) -> None:
        self.name, self.payload, self.send = name, payload, send

    def body(self, payload: Any) -> tuple[str, str]:
        if self.send == "form":
            flat = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
            return urlencode(flat), FORM
        if self.send == "event":
            return json.dumps(payload), JSON
        return payload_form(payload), FORM


async def targets(ws: Workspace) -> list[Target]:
    """A valid request of every kind the bot handles, as Slack would send them."""
    add = await open_add_modal_with_quote(ws)
    typed, action = keystroke(add, Block.ADD_COUNT, Action.ADD_COUNT, "4")
    await ws.command(ANN, "remove")
    await ws.settle()
    removal = copy.deepcopy(ws.modal(ANN))
    for block_id, acts in request_values().items():
        removal["state"]["values"][block_id] = acts
    await ws.command(BOB, "")
    await ws.settle()
    refusal = ws.slack.ephemerals[-1]
    ask_admins = next(e for b in refusal["blocks"] if b["type"] == "actions" for e in b["elements"])
    trigger = ws.slack.new_trigger_id
    command = slash_command(
        ws.user(ANN),
        "add 3",
        channel="C0GENERAL",
        channel_name="general",
        response_url=ws.slack.new_response_url("C0GENERAL", ANN),
        trigger_id=trigger(ANN),
    )
    click = {
        "type": "block_actions",
        "user": ws.user(BOB),
        "api_app_id": "A0LICENSE",
        "team": {"id": "T0ACME", "domain": "acme"},
        "container": {"type": "message", "channel_id": "C0GENERAL", "is_ephemeral": True},
        "channel": {"id": "C0GENERAL", "name": "general"},
        "trigger_id": trigger(BOB),
        "response_url": ws.slack.new_response_url("C0GENERAL", BOB),
        "actions": [{**ask_admins, "block_id": "b", "action_ts": "1.0"}],
    }
    event = {
        "team_id": "T0ACME",
        "api_app_id": "A0LICENSE",
        "type": "event_callback",
        "event_id": "Ev0FUZZ",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": CSM, "tab": "home", "event_ts": "1.0"},
    }
    return [
        Target("command", command, "form"),
        Target("keystroke", view_actions(ws.user(ANN), typed, [action], trigger(ANN)), "payload"),
        Target("order now", view_submission(ws.user(ANN), add, trigger(ANN)), "payload"),
        Target("removal", view_submission(ws.user(ANN), removal, trigger(ANN)), "payload"),
        Target("button", click, "payload"),
        Target("event", event, "event"),
    ]


async def books_agree(ws: Workspace) -> None:
    """Orders are whole, never negative, and the licenses add up to what was ordered."""
    async with ws.services.reading() as session:
        orders = list(await session.scalars(select(Order).where(Order.account_id == "acme")))
        licenses = await session.scalar(select(Account.licenses).where(Account.id == "acme"))
    assert licenses == 10 + sum(order.added for order in orders)
    for order in orders:
        assert order.added >= 1 and order.due_today_minor >= 0
        assert order.licenses_after == order.licenses_before + order.added


@pytest.fixture
async def fuzzed(workspace: Workspace) -> tuple[Workspace, list[Target]]:
    return workspace, await targets(workspace)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_mutated_payload_gets_a_5xx_a_slow_ack_or_a_traceback(
    fuzzed: tuple[Workspace, list[Target]], data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    ws, kinds = fuzzed
    target = data.draw(st.sampled_from(kinds), label="target")
    how = data.draw(st.sampled_from(["set", "set", "delete", "garbage"]), label="how")
    if how == "garbage":
        body = data.draw(st.text(max_size=200), label="body")
        content_type = data.draw(st.sampled_from([FORM, JSON]), label="content type")
    else:
        path = data.draw(st.sampled_from(paths(target.payload)), label="path")
        value = data.draw(values, label="value")
        payload = mutated(target.payload, path, how, value)
        body, content_type = target.body(payload)

    started = time.monotonic()
    answer = await ws.post(body, content_type)
    acked_in = time.monotonic() - started
    await ws.settle()

    assert answer.status < 500, answer.text
    assert acked_in < 3.0
    assert logged_errors(caplog) == []
    await books_agree(ws)
