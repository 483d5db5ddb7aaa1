"""What the listener middleware and the one error handler do with payloads that don't parse,
refusals from the rules, and our own bugs: a sentence on the surface the user is on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from blocks.ids import Action, Block, Callback, RemovalAction, RemovalBlock
from bot.integrations.slack_directory import Profile
from bot.sandbox.demo import VENDOR_TEAM
from tests.slack.conftest import start_workspace
from tests.slack.driver import CSM_CHANNEL, Workspace, block_text, logged_errors
from tests.slack.removal_helpers import ask, dms, the_post
from tests.slack.test_security import open_add_modal_with_quote, snapshot

ANN, BOB, CSM = "U0ANN", "U0BOB", "U0CSM"
OUT_OF_DATE = "This form or button is out of date"


async def test_order_now_with_unreadable_metadata_changes_nothing_and_says_why(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    view = await open_add_modal_with_quote(ws)
    before = await snapshot(ws)
    view["private_metadata"] = '{"account_id": "acme", "quote": '

    answer = await ws.submit(ANN, view=view)
    await ws.settle()

    assert answer.status == 200
    shown = ws.modal(ANN)
    assert shown["callback_id"] == Callback.INFO
    assert shown["title"]["text"] == "Add licenses"
    assert OUT_OF_DATE in block_text(shown["blocks"])
    assert await snapshot(ws) == before
    assert logged_errors(caplog) == []


async def test_a_button_whose_value_does_not_parse_answers_the_clicker_only(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    await ws.command(BOB, "")
    await ws.settle()
    refusal = ws.slack.ephemerals[-1]
    button = next(
        element
        for block in refusal["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    )
    assert button["action_id"] == Action.ASK_ADMINS
    button["value"] = "not json"
    before = await snapshot(ws)
    seen = len(ws.slack.ephemerals)
    ws.slack.clear()

    answer = await ws.click_in_message(BOB, "C0GENERAL", refusal, Action.ASK_ADMINS)
    await ws.settle()

    assert answer.status == 200
    [told] = ws.slack.ephemerals[seen:]
    assert told["user"] == BOB and OUT_OF_DATE in told["text"]
    assert ws.slack.calls_to("chat.postMessage") == []  # no admin was bothered
    assert await snapshot(ws) == before
    assert logged_errors(caplog) == []


async def test_a_refusal_by_the_rules_is_shown_beside_the_input_at_fault(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ws.command(ANN, "remove 2")
    await ws.settle()
    values = {
        RemovalBlock.REASON: {RemovalAction.REASON: {"type": "plain_text_input", "value": "  "}}
    }

    answer = await ws.submit(ANN, values)

    assert answer.status == 200
    assert answer.json() == {
        "response_action": "errors",
        "errors": {RemovalBlock.REASON: "Tell your CSM why you want to remove licenses."},
    }


async def test_someone_not_a_csm_clicking_approve_is_told_in_the_channel_only(
    workspace: Workspace,
) -> None:
    ws = workspace
    val = "U0VAL"  # vendor staff, not a CSM
    ws.slack.add_user(val, "val", team_id=VENDOR_TEAM)
    await ask(ws)
    post = the_post(ws)
    seen = len(ws.slack.ephemerals)
    ws.slack.clear()

    answer = await ws.click_in_message(val, CSM_CHANNEL, post, f"{RemovalAction.DECIDE}:approve")
    await ws.settle()

    assert answer.status == 200
    [told] = ws.slack.ephemerals[seen:]
    assert told["user"] == val and told["channel"] == CSM_CHANNEL
    assert "Only Customer Success Managers can approve or deny" in told["text"]
    assert ws.slack.calls_to("views.open") == []


class BrokenDirectory:
    """A Slack directory with a bug of ours in it: profiles fail."""

    async def profile(self, user_id: str, team_id: str | None = None) -> Profile:
        raise RuntimeError("a bug in the directory")

    async def email_of(self, user_id: str, team_id: str | None = None) -> str | None:
        return None

    async def user_id_for(self, email: str, team_id: str | None = None) -> str | None:
        return None


@pytest.fixture
async def buggy_workspace(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    async for ws in start_workspace(sqlite_url, tmp_path, parts={"directory": BrokenDirectory()}):
        yield ws


async def test_our_own_bug_after_the_ack_is_logged_and_the_user_gets_an_apology(
    buggy_workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = buggy_workspace

    answer = await ask(ws)

    assert answer.status == 200
    assert "RR-00001" in block_text(ws.modal(ANN)["blocks"])  # the request itself stands
    apologies = [text for text in dms(ws, ANN) if "Something went wrong on our side" in text]
    assert len(apologies) == 1
    [logged] = logged_errors(caplog)
    error_id = logged.removeprefix("unhandled error ").removesuffix(" in a listener")
    assert f"(error `{error_id}`)" in apologies[0]
    assert "nothing was changed" not in apologies[0]


@pytest.mark.parametrize(
    ("value", "explanation"),
    [
        (True, "“true” is not a whole number of licenses."),
        (1.0, "“1.0” is not a whole number of licenses."),
        ("1.0", "“1.0” is not a whole number of licenses."),
        ({"n": 1}, OUT_OF_DATE),
    ],
)
async def test_a_number_input_in_an_odd_form_gets_the_usual_message(
    workspace: Workspace, value: object, explanation: str, caplog: pytest.LogCaptureFixture
) -> None:
    ws = workspace
    await open_add_modal_with_quote(ws)
    before = await snapshot(ws)
    typed = {Block.ADD_COUNT: {Action.ADD_COUNT: {"type": "number_input", "value": value}}}

    answer = await ws.submit(ANN, typed)

    assert answer.status == 200
    body = answer.json()
    shown = body.get("errors", {}).get(Block.ADD_COUNT) or block_text(body["view"]["blocks"])
    assert explanation in shown
    assert await snapshot(ws) == before
    assert logged_errors(caplog) == []


async def test_under_overload_the_work_after_the_ack_queues_and_acks_still_go_out(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import handlers.add_licenses as add_licenses
    from tests.slack.test_add_licenses import ANN, open_add_modal

    ws = workspace
    await open_add_modal(ws)
    ws.runtime.after_ack = asyncio.Semaphore(1)
    release = asyncio.Event()
    started: list[str] = []
    real_preview = add_licenses.preview

    async def slow_preview(*args: object, **kwargs: object) -> object:
        started.append("preview")
        await release.wait()
        return await real_preview(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(add_licenses, "preview", slow_preview)

    answers = await asyncio.wait_for(
        asyncio.gather(
            ws.type_number(ANN, Block.ADD_COUNT, Action.ADD_COUNT, "2"),
            ws.type_number(ANN, Block.ADD_COUNT, Action.ADD_COUNT, "3"),
        ),
        timeout=2,
    )

    # Both acked at once; only one keystroke's work runs, the other waits for its slot.
    assert [answer.status for answer in answers] == [200, 200]
    await asyncio.sleep(0.1)
    assert started == ["preview"]
    release.set()
    await ws.settle()
    assert started == ["preview", "preview"]
    assert "3 × $49.00" in block_text(ws.modal(ANN)["blocks"])
