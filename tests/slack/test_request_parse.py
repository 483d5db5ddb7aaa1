"""The bot parses Slack's bodies itself (C URL decoding); Bolt must read the same request."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from slack_bolt.request.internals import parse_body as bolt_parse_body

from bot.server import parse_body

FORM = "application/x-www-form-urlencoded"
VIEW = {
    "type": "modal",
    "blocks": [{"type": "section", "text": {"text": "3 × $49.00 + tax = 100%"}}],
}
BODIES = [
    ("", FORM),
    (urlencode({"command": "/licenses", "text": "add 3", "user_id": "U1", "team_id": "T1"}), FORM),
    (urlencode({"command": "/licenses", "text": "", "user_name": "zoë+ann"}), FORM),
    (urlencode({"payload": json.dumps({"type": "view_submission", "view": VIEW})}), FORM),
    # "payload" as a word in another field: Bolt looks for the payload field, finds none.
    (urlencode({"command": "/licenses", "text": "payload"}), FORM),
    ("payload=%7B%22a%22%3A+1%7D&payload=%7B%22a%22%3A+2%7D", FORM),
    ("a=1;b=2&c=%zz&d&=e", FORM),
    (
        json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}),
        "application/json",
    ),
]


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_the_bot_reads_a_body_as_bolt_would(body: str, content_type: str) -> None:
    assert parse_body(body, content_type) == bolt_parse_body(body, content_type)
