"""The fake Slack Web API, driven by slack_sdk's own client the way the bot drives it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox import blockkit
from bot.sandbox.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack
from tests import blockkit_schema

TOKEN = "xoxb-test"


class Clock:
    """Stands in for time.monotonic so tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def schema() -> None:
    """Tests of the strict JSON schema: skipped without it, except in CI."""
    blockkit_schema.require_schema()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=TOKEN) as fake:
        fake.clock = Clock()
        fake.add_user("U0ANN", "ann", email="ann@acme.example", real_name="Ann Admin")
        fake.add_user("U0BOB", "bob")
        fake.add_channel("C0CSM", "csm")
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.url)


def clock(slack: FakeSlack) -> Clock:
    assert isinstance(slack.clock, Clock)
    return slack.clock


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def modal(title: str = "Your plan", *blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": list(blocks) or [section("Pro, 10 licenses")],
        **extra,
    }


def home(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "home", "blocks": list(blocks) or [section("Your plan")]}


async def refused(call: Any) -> dict[str, Any]:
    """The body of a refused call, after checking Slack answered HTTP 200 as it does."""
    with pytest.raises(SlackApiError) as raised:
        await call
    assert raised.value.response.status_code == 200
    data: dict[str, Any] = raised.value.response.data
    assert data["ok"] is False
    return data


# --- authentication and dispatch -----------------------------------------------------------


async def test_a_bearer_token_is_required(slack: FakeSlack, client: AsyncWebClient) -> None:
    anonymous = AsyncWebClient(base_url=slack.url)
    assert (await refused(anonymous.auth_test()))["error"] == "not_authed"
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.url)
    assert (await refused(wrong.chat_postMessage(channel="C0CSM", text="hi")))[
        "error"
    ] == "invalid_auth"
    assert slack.messages == {}
    assert [call.response["error"] for call in slack.calls] == ["not_authed", "invalid_auth"]


async def test_auth_test_describes_the_bot(client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["team_id"] == "T0ACME"
    assert response["user_id"] == BOT_USER_ID
    assert response["bot_id"] == BOT_ID
    assert "chat:write" in response.headers["x-oauth-scopes"]


async def test_unknown_methods_are_refused(client: AsyncWebClient) -> None:
    assert (await refused(client.api_call("licenses.buy")))["error"] == "unknown_method"


async def test_form_bodies_and_body_tokens_are_accepted(slack: FakeSlack) -> None:
    anonymous = AsyncWebClient(base_url=slack.url)
    blocks = [section("from a form")]
    response = await anonymous.api_call(
        "chat.postMessage",
        data={"token": TOKEN, "channel": "C0CSM", "text": "hi", "blocks": json.dumps(blocks)},
    )
    assert response["ok"]
    call = slack.last("chat.postMessage")
    assert call.params["blocks"] == blocks  # JSON string decoded
    assert "token" not in call.params


# --- views ------------------------------------------------------------------------------


async def test_views_open_returns_the_view_as_slack_does(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = slack.new_trigger_id(user_id="U0ANN")
    view = (await client.views_open(trigger_id=trigger, view=modal(callback_id="plan")))["view"]
    assert view["id"].startswith("V")
    assert view["root_view_id"] == view["id"]
    assert view["previous_view_id"] is None
    assert view["team_id"] == "T0ACME"
    assert view["state"] == {"values": {}}
    assert view["hash"] and view["app_id"] and view["bot_id"] == BOT_ID
    assert view["callback_id"] == "plan"
    assert view["blocks"][0]["block_id"]  # Slack fills in missing block ids
    assert slack.views[view["id"]] == view
    assert slack.modal_stack("U0ANN") == [view]
    assert slack.last("views.open").params["view"]["callback_id"] == "plan"


async def test_a_trigger_id_works_once(slack: FakeSlack, client: AsyncWebClient) -> None:
    trigger = slack.new_trigger_id()
    await client.views_open(trigger_id=trigger, view=modal())
    again = await refused(client.views_open(trigger_id=trigger, view=modal()))
    assert again["error"] == "exchanged_trigger_id"
    assert len(slack.views) == 1


async def test_a_trigger_id_expires_after_3_seconds(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    in_time, too_late = slack.new_trigger_id(), slack.new_trigger_id()
    clock(slack).now += 2.9
    await client.views_open(trigger_id=in_time, view=modal())
    clock(slack).now += 0.2
    expired = await refused(client.views_open(trigger_id=too_late, view=modal()))
    assert expired["error"] == "expired_trigger_id"


async def test_unknown_or_missing_trigger_ids_are_refused(client: AsyncWebClient) -> None:
    unknown = await refused(client.views_open(trigger_id="1.2.abc", view=modal()))
    assert unknown["error"] == "invalid_trigger_id"
    missing = await refused(client.api_call("views.open", json={"view": json.dumps(modal())}))
    assert missing["error"] == "invalid_arguments"
    assert missing["response_metadata"]["messages"] == [
        "[ERROR] missing required field: trigger_id"
    ]


async def test_views_update_refuses_a_stale_hash(slack: FakeSlack, client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id=slack.new_trigger_id(), view=modal()))["view"]
    first = await client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal("Quote", section("$49.00"))
    )
    assert first["view"]["hash"] != opened["hash"]
    assert first["view"]["id"] == opened["id"]

    stale = await refused(
        client.views_update(
            view_id=opened["id"], hash=opened["hash"], view=modal("Quote", section("$98.00"))
        )
    )
    assert stale["error"] == "hash_conflict"
    assert slack.views[opened["id"]]["blocks"][0]["text"]["text"] == "$49.00"

    await client.views_update(view_id=opened["id"], view=modal("Quote", section("$98.00")))
    assert slack.views[opened["id"]]["blocks"][0]["text"]["text"] == "$98.00"


async def test_views_update_by_external_id_and_unknown_views(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.views_open(trigger_id=slack.new_trigger_id(), view=modal(external_id="order-1"))
    taken = await refused(
        client.views_open(trigger_id=slack.new_trigger_id(), view=modal(external_id="order-1"))
    )
    assert taken["error"] == "duplicate_external_id"
    updated = await client.views_update(external_id="order-1", view=modal("Receipt"))
    assert updated["view"]["title"]["text"] == "Receipt"
    unknown = await refused(client.views_update(view_id="V0NOPE", view=modal()))
    assert unknown["error"] == "not_found"


async def test_views_update_keeps_input_state_of_surviving_blocks(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    opened = (
        await client.views_open(
            trigger_id=slack.new_trigger_id(),
            view=modal("Add", section("a", "count"), section("b", "quote")),
        )
    )["view"]
    typed = {"count": {"n": {"type": "number_input", "value": "3"}}, "quote": {}}
    slack.views[opened["id"]]["state"]["values"] = typed
    updated = await client.views_update(
        view_id=opened["id"], view=modal("Add", section("a", "count"))
    )
    assert updated["view"]["state"]["values"] == {"count": typed["count"]}


async def test_the_modal_stack_holds_three_views(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = (
        await client.views_open(trigger_id=slack.new_trigger_id(user_id="U0ANN"), view=modal())
    )["view"]
    second = (
        await client.views_push(
            trigger_id=slack.new_trigger_id("U0ANN", view_id=root["id"]), view=modal("Second")
        )
    )["view"]
    third = (
        await client.views_push(trigger_id=slack.new_trigger_id("U0ANN"), view=modal("Third"))
    )["view"]
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])
    assert (third["root_view_id"], third["previous_view_id"]) == (root["id"], second["id"])

    full = await refused(
        client.views_push(trigger_id=slack.new_trigger_id("U0ANN"), view=modal("Fourth"))
    )
    assert full["error"] == "push_limit_reached"
    assert [v["id"] for v in slack.modal_stack("U0ANN")] == [root["id"], second["id"], third["id"]]

    slack.close_modal("U0ANN")
    assert slack.modal_stack("U0ANN") == [] and slack.views == {}


async def test_views_publish_keeps_one_home_per_user(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = (await client.views_publish(user_id="U0ANN", view=home()))["view"]
    second = (
        await client.views_publish(
            user_id="U0ANN", view=home(section("10 licenses")), hash=first["hash"]
        )
    )["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert slack.homes["U0ANN"] == second
    stale = await refused(client.views_publish(user_id="U0ANN", view=home(), hash=first["hash"]))
    assert stale["error"] == "hash_conflict"
    wrong_kind = await refused(client.views_publish(user_id="U0ANN", view=modal()))
    assert wrong_kind["error"] == "invalid_arguments"


# --- Block Kit validation ---------------------------------------------------------------------


async def test_an_invalid_modal_is_refused_and_the_trigger_survives(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = slack.new_trigger_id()
    bad = modal("A title far longer than twenty-four characters", {"type": "section"})
    refusal = await refused(client.views_open(trigger_id=trigger, view=bad))
    assert refusal["error"] == "invalid_arguments"
    messages = refusal["response_metadata"]["messages"]
    assert "[ERROR] title must be between 1 and 24 characters [json-pointer:/view/title]" in (
        messages
    )
    assert (
        "[ERROR] text or fields attribute must be specified [json-pointer:/view/blocks/0]"
        in messages
    )
    assert slack.views == {}
    await client.views_open(trigger_id=trigger, view=modal())  # arguments are checked first


async def test_invalid_message_blocks_are_refused(slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "header", "text": {"type": "mrkdwn", "text": "*Receipt*"}}]
    refusal = await refused(client.chat_postMessage(channel="C0CSM", text="x", blocks=blocks))
    assert refusal["error"] == "invalid_blocks"
    assert refusal["errors"] == ["must be 'plain_text' [json-pointer:/blocks/0/text/type]"]
    assert refusal["response_metadata"]["messages"] == [f"[ERROR] {refusal['errors'][0]}"]
    assert slack.messages == {}


async def test_surface_rules_apply_to_messages(client: AsyncWebClient) -> None:
    twins = [section("a", "same"), section("b", "same")]
    refusal = await refused(client.chat_postMessage(channel="C0CSM", text="x", blocks=twins))
    assert refusal["errors"] == ["duplicate block_id 'same' [json-pointer:/blocks/1/block_id]"]
    empty = await refused(client.api_call("chat.postMessage", json={"channel": "C0CSM"}))
    assert empty["error"] == "no_text"


async def test_extra_block_checks_refuse_too() -> None:
    seen: list[tuple[str, str]] = []

    def no_dividers(surface: str, instance: Any, at: str) -> list[str]:
        seen.append((surface, at))
        blocks = instance["blocks"] if isinstance(instance, dict) else instance
        return [f"no dividers [json-pointer:{at}]" for b in blocks if b["type"] == "divider"]

    async with FakeSlack(block_checks=[no_dividers]) as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
        refusal = await refused(
            client.chat_postMessage(channel="U0BOT", text="x", blocks=[{"type": "divider"}])
        )
        assert refusal["errors"] == ["no dividers [json-pointer:/blocks]"]
        home_view = home(section("ok"), {"type": "divider"})
        published = await refused(client.views_publish(user_id="U0BOT", view=home_view))
        assert published["response_metadata"]["messages"] == [
            "[ERROR] no dividers [json-pointer:/view]"
        ]
        await client.views_open(trigger_id=slack.new_trigger_id(), view=modal())
    assert seen == [("message", "/blocks"), ("home", "/view"), ("modal", "/view")]


@pytest.mark.usefixtures("schema")
async def test_the_tests_fake_slack_also_applies_the_schema(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """What slack-sdk lets through and the strict schema refuses: an unknown field."""
    typo = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}, "colour": "red"}]
    assert blockkit.validate_message_blocks(typo) == []
    refusal = await refused(client.chat_postMessage(channel="C0CSM", text="x", blocks=typo))
    assert refusal["error"] == "invalid_blocks"
    assert any("'colour'" in e and "[json-pointer:/blocks/0]" in e for e in refusal["errors"])


async def test_validation_can_be_turned_off() -> None:
    async with FakeSlack(validate_blocks=False, block_checks=[lambda *_: ["never"]]) as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
        bad = modal("A title far longer than twenty-four characters", {"type": "section"})
        await client.views_open(trigger_id=slack.new_trigger_id(), view=bad)


# --- messages and people ------------------------------------------------------------------


async def test_dms_through_conversations_open(slack: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U0ANN")
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and dm == slack.dm_channel("U0ANN")
    again = await client.conversations_open(users=["U0ANN"])
    assert again["channel"]["id"] == dm and again["already_open"]

    posted = await client.chat_postMessage(channel=dm, text="Your receipt")
    by_user_id = await client.chat_postMessage(channel="U0ANN", text="Another")
    assert posted["channel"] == by_user_id["channel"] == dm
    assert [m["text"] for m in slack.messages[dm]] == ["Your receipt", "Another"]
    assert slack.messages[dm][0]["user"] == BOT_USER_ID

    group = await client.conversations_open(users="U0ANN,U0BOB")
    assert group["channel"]["id"].startswith("G")
    assert (await refused(client.conversations_open(users="U0NOBODY")))["error"] == "user_not_found"


async def test_chat_update_edits_the_stored_message(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(
        channel="C0CSM", text="Removal requested", blocks=[section("Ann asks to remove 2")]
    )
    reply = await client.chat_postMessage(channel="C0CSM", text="noted", thread_ts=posted["ts"])
    assert reply["ts"] > posted["ts"]
    assert slack.messages["C0CSM"][1]["thread_ts"] == posted["ts"]

    await client.chat_update(
        channel="C0CSM", ts=posted["ts"], text="Approved", blocks=[section("Approved by Casey")]
    )
    stored = slack.messages["C0CSM"][0]
    assert stored["text"] == "Approved"
    assert stored["blocks"][0]["text"]["text"] == "Approved by Casey"
    assert "edited" in stored
    assert slack.calls_to("chat.postMessage")[0].response["message"]["text"] == "Removal requested"

    missing = await refused(client.chat_update(channel="C0CSM", ts="1.000001", text="x"))
    assert missing["error"] == "message_not_found"
    nowhere = await refused(client.chat_postMessage(channel="C0NOPE", text="x"))
    assert nowhere["error"] == "channel_not_found"


async def test_chat_post_ephemeral(slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.chat_postEphemeral(channel="C0CSM", user="U0BOB", text="Ask Ann")
    assert response["message_ts"]
    assert [(e["user"], e["text"]) for e in slack.ephemerals] == [("U0BOB", "Ask Ann")]
    unknown = await refused(client.chat_postEphemeral(channel="C0CSM", user="U0NOBODY", text="x"))
    assert unknown["error"] == "user_not_found"


async def test_users_info(client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U0ANN"))["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U0ANN", "ann", "Ann Admin")
    assert user["team_id"] == "T0ACME"
    assert user["profile"]["email"] == "ann@acme.example"
    assert (await refused(client.users_info(user="U0NOBODY")))["error"] == "user_not_found"


# --- response_url ---------------------------------------------------------------------------


async def test_response_url_posts_are_recorded_and_applied(slack: FakeSlack) -> None:
    url = slack.new_response_url(channel="C0CSM", user="U0ANN")
    assert url.startswith(slack.base_url + "/response/")
    webhook = AsyncWebhookClient(url)

    assert (await webhook.send(text="Only you can see this")).status_code == 200
    assert [(e["user"], e["text"]) for e in slack.ephemerals] == [
        ("U0ANN", "Only you can see this")
    ]
    await webhook.send(text="Replaced", replace_original=True)
    assert [e["text"] for e in slack.ephemerals] == ["Replaced"]
    await webhook.send(text="Everyone", response_type="in_channel")
    assert [m["text"] for m in slack.messages["C0CSM"]] == ["Everyone"]
    await webhook.send(delete_original=True)
    assert slack.ephemerals == []

    assert slack.last("response_url").params == {"delete_original": True}
    assert len(slack.calls_to("response_url")) == 4


async def test_response_url_refusals(slack: FakeSlack) -> None:
    posted = await AsyncWebClient(token=TOKEN, base_url=slack.url).chat_postMessage(
        channel="C0CSM", text="Request"
    )
    webhook = AsyncWebhookClient(slack.new_response_url("C0CSM", "U0ANN", posted["ts"]))
    twins = [section("a", "same"), section("b", "same")]
    assert (await webhook.send(text="x", blocks=twins)).status_code == 400
    await webhook.send(text="Approved", replace_original=True)
    assert [m["text"] for m in slack.messages["C0CSM"]] == ["Approved"]
    for _ in range(3):
        await webhook.send(text="more")
    used = await webhook.send(text="a sixth time")
    assert (used.status_code, json.loads(used.body)["error"]) == (404, "used_url")

    late = AsyncWebhookClient(slack.new_response_url("C0CSM", "U0ANN"))
    clock(slack).now += 31 * 60
    assert (await late.send(text="too late")).status_code == 404


# --- failure injection and live updates ------------------------------------------------------


async def test_fail_next(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", "channel_is_archived", times=2)
    for _ in range(2):
        failed = await refused(client.chat_postMessage(channel="C0CSM", text="x"))
        assert failed["error"] == "channel_is_archived"
    await client.chat_postMessage(channel="C0CSM", text="x")

    slack.fail_next("views.open", status=429)
    with pytest.raises(SlackApiError) as limited:
        await client.views_open(trigger_id=slack.new_trigger_id(), view=modal())
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.response["error"] == "ratelimited"

    slack.fail_next("users.info", status=500)
    with pytest.raises(SlackApiError) as broken:
        await client.users_info(user="U0ANN")
    assert broken.value.response.status_code == 500
    assert (await client.users_info(user="U0ANN"))["ok"]


async def test_subscribers_see_every_call(slack: FakeSlack, client: AsyncWebClient) -> None:
    queue = slack.subscribe()
    await client.chat_postMessage(channel="C0CSM", text="hello")
    event = queue.get_nowait()
    assert (event["type"], event["method"]) == ("call", "chat.postMessage")
    assert event["response"]["ok"] and event["params"]["text"] == "hello"
    slack.unsubscribe(queue)


# --- blockkit.py on its own ------------------------------------------------------------------

NUMBER = {
    "type": "input",
    "block_id": "count",
    "dispatch_action": True,
    "label": {"type": "plain_text", "text": "Licenses to add"},
    "element": {
        "type": "number_input",
        "action_id": "count",
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": "500",
    },
}


def test_valid_surfaces_have_no_errors() -> None:
    assert blockkit.validate_modal(modal("Add licenses", NUMBER, submit=_text("Order Now"))) == []
    assert blockkit.validate_home(home()) == []
    assert blockkit.validate_message_blocks([section("hi"), {"type": "divider"}]) == []


@pytest.mark.usefixtures("schema")
def test_valid_surfaces_match_the_schema() -> None:
    errors = blockkit_schema.schema_errors
    assert errors("modal", modal("Add licenses", NUMBER, submit=_text("Order Now"))) == []
    assert errors("home", home()) == []
    assert errors("message", [section("hi"), {"type": "divider"}]) == []


def test_slack_sdk_models_refuse_and_point_at_the_problem() -> None:
    too_long = modal("A title far longer than twenty-four characters", section("x" * 3001))
    assert blockkit.validate_modal(too_long, at="/view") == [
        "text attribute cannot exceed 3000 characters [json-pointer:/view/blocks/0/text]",
        "title must be between 1 and 24 characters [json-pointer:/view/title]",
    ]
    assert blockkit.validate_message_blocks([{"type": "banner"}]) == [
        "unsupported type 'banner' [json-pointer:/blocks/0]"
    ]
    no_label = {"type": "input", "element": {"type": "plain_text_input", "action_id": "why"}}
    assert blockkit.validate_modal(modal("Why", no_label, submit=_text("Send"))) == [
        "'label' is a required property [json-pointer:/blocks/0]"
    ]
    button = {"type": "button", "text": _text("x" * 76), "action_id": "go"}
    assert blockkit.validate_message_blocks([{"type": "actions", "elements": [button]}]) == [
        "text attribute cannot exceed 75 characters [json-pointer:/blocks/0/elements/0/text]"
    ]


def test_surface_rules_beyond_slack_sdk() -> None:
    fifty_one = [{"type": "divider"}] * 51
    assert blockkit.validate_message_blocks(fifty_one) == [
        "no more than 50 items allowed [json-pointer:/blocks]"
    ]
    buttons = {
        "type": "actions",
        "elements": [
            {"type": "button", "text": _text("Approve"), "action_id": "decide"},
            {"type": "button", "text": _text("Deny"), "action_id": "decide"},
        ],
    }
    assert blockkit.validate_message_blocks([buttons]) == [
        "duplicate action_id 'decide' in one block [json-pointer:/blocks/0/elements/1/action_id]"
    ]
    outside = {**NUMBER, "element": {**NUMBER["element"], "initial_value": "501"}}
    assert blockkit.validate_modal(modal("Add", outside, submit=_text("Go")), at="/view") == [
        "initial_value must lie within min_value and max_value "
        "[json-pointer:/view/blocks/0/element/initial_value]"
    ]
    bounds = {**NUMBER, "element": {**NUMBER["element"], "min_value": "9", "max_value": "2"}}
    assert blockkit.validate_modal(modal("Add", bounds, submit=_text("Go")), at="/view") == [
        "min_value must not exceed max_value [json-pointer:/view/blocks/0/element/min_value]"
    ]
    assert blockkit.validate_modal(modal("Add", NUMBER)) == [
        "'submit' is required when a modal has input blocks [json-pointer:]"
    ]
    header = {"type": "header", "text": {"type": "mrkdwn", "text": "*Plan*"}}
    assert blockkit.validate_home(home(header, section(""))) == [
        "must be 'plain_text' [json-pointer:/blocks/0/text/type]",
        "must not be empty [json-pointer:/blocks/1/text/text]",
    ]
    markdown = [{"type": "markdown", "text": "x" * 6001}] * 2
    assert blockkit.validate_message_blocks(markdown) == [
        "markdown blocks exceed 12000 characters in total [json-pointer:/blocks]"
    ]


def test_malformed_input_is_refused_not_raised() -> None:
    assert blockkit.validate_modal("view") == ["must be an object [json-pointer:]"]
    assert blockkit.validate_home({"type": "home"}) == ["must be an array [json-pointer:/blocks]"]
    assert blockkit.validate_message_blocks([3, {"text": "x"}, {"type": "section", "text": 5}]) == [
        "must be an object [json-pointer:/blocks/0]",
        "'type' is a required property [json-pointer:/blocks/1]",
        "text or fields attribute must be specified [json-pointer:/blocks/2/text]",
    ]


@pytest.mark.usefixtures("schema")
def test_schema_errors_point_at_the_problem() -> None:
    errors = blockkit_schema.schema_errors
    no_submit = modal(
        "Add", {"type": "input", "label": _text("n"), "element": {"type": "plain_text_input"}}
    )
    assert errors("modal", no_submit) == ["'submit' is a required property [json-pointer:]"]
    assert errors("message", [{"type": "banner"}], "/blocks") == [
        "unsupported type 'banner' [json-pointer:/blocks/0]"
    ]
    too_long = errors("home", home(section("x" * 3001)), "/view")
    assert too_long == ["must be at most 3000 characters [json-pointer:/view/blocks/0/text/text]"]


def test_schema_location_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BLOCK_KIT_SCHEMA", str(tmp_path / "missing.json"))
    assert blockkit_schema.schema_path() == tmp_path / "missing.json"
    assert not blockkit_schema.schema_available()
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"missing\.json"):
        blockkit_schema.require_schema()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must validate Block Kit"):
        blockkit_schema.require_schema()
    # The product's own checks never needed it.
    title = modal("A title far longer than twenty-four characters")
    assert blockkit.validate_modal(title) == [
        "title must be between 1 and 24 characters [json-pointer:/title]"
    ]


def test_the_product_checks_block_kit_without_jsonschema_or_the_schema() -> None:
    """`pip install .` has no jsonschema: the fake Slack must neither import it nor need it."""
    script = (
        "import sys, bot.sandbox.fake_slack, bot.sandbox.blockkit as b\n"
        "assert 'jsonschema' not in sys.modules, 'the product imports jsonschema'\n"
        "assert b.validate_modal({'type': 'modal', 'title': {'type': 'plain_text', 'text': ''},"
        " 'blocks': [{'type': 'divider'}]})\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=repo, check=False
    )
    assert done.returncode == 0, done.stderr


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}
