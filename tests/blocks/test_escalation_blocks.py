"""The escalation of an undecided removal request, or request for more licenses: valid Block
Kit that says what CSMs need."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import timedelta

import pytest

from blocks.escalation import escalation_blocks, escalation_text
from blocks.text import open_for
from bot.sandbox.blockkit import validate_message_blocks
from tests import blockkit_schema, examples

LINK = "https://vendor.slack.com/archives/C0CSM/p1700000000000100"
ESCALATED = examples.NOW + timedelta(days=4, hours=2)


def surfaces() -> dict[str, list[dict[str, object]]]:
    pending = examples.removal()
    ticketed = examples.removal(ticket=("TCK-00042", "https://support.example/42"))
    return {
        "with link": escalation_blocks(pending, ESCALATED, LINK, "Ann Admin"),
        "with link and ticket": escalation_blocks(ticketed, ESCALATED, LINK, "Ann Admin"),
        "without link or name": escalation_blocks(pending, ESCALATED, None),
        **add_request_surfaces(),
    }


def add_request_surfaces() -> dict[str, list[dict[str, object]]]:
    """Initech's request for 2 more licenses (LR-00001), or for an unsaid number, with the
    link to its post in the CSM channel or without one."""
    two, unsaid = examples.add_request(), examples.add_request(wanted=None)
    return {
        "add request with link": escalation_blocks(two, ESCALATED, LINK, "Ira"),
        "add request without link": escalation_blocks(two, ESCALATED, None),
        "add request without number": escalation_blocks(unsaid, ESCALATED, LINK, "Ira"),
        "add request without number or link": escalation_blocks(unsaid, ESCALATED, None),
    }


@pytest.mark.parametrize("name", sorted(surfaces()))
def test_the_escalation_is_valid_block_kit(name: str) -> None:
    blocks = surfaces()[name]
    sent = copy.deepcopy(blocks)
    assert validate_message_blocks(blocks) == []
    assert blocks == sent


@pytest.mark.parametrize("name", sorted(surfaces()))
def test_the_escalation_matches_the_block_kit_schema(name: str) -> None:
    blockkit_schema.require_schema()
    assert blockkit_schema.schema_errors("message", surfaces()[name]) == []


def shown(blocks: list[dict[str, object]]) -> str:
    texts: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            texts.append(str(text["text"]))
        for part in block.get("fields", []) or block.get("elements", []):  # type: ignore[attr-defined]
            texts.append(str(part["text"]))
    return "\n".join(texts)


def test_the_escalation_says_what_who_how_many_how_long_and_links_the_request() -> None:
    seen = shown(surfaces()["with link and ticket"])

    assert "Acme Corp" in seen
    assert "Ann Admin (<@U0ANN>)" in seen
    assert "2 licenses (10 → 8)" in seen
    assert "4 days 2 hours" in seen
    assert "RR-00001" in seen
    assert f"<{LINK}|Open RR-00001 in the CSM channel>" in seen
    assert "<https://support.example/42|TCK-00042>" in seen


def test_without_a_post_the_escalation_says_where_to_decide() -> None:
    seen = shown(surfaces()["without link or name"])
    assert "no post in the CSM channel to link to" in seen
    assert "<@U0ANN>" in seen


def test_the_notification_text_stands_alone() -> None:
    text = escalation_text(examples.removal(), ESCALATED, LINK, "Ann Admin")
    assert "RR-00001" in text and "Acme Corp" in text and "Ann Admin" in text
    assert "2 licenses" in text and "4 days 2 hours" in text and LINK in text


def test_an_add_request_escalation_says_what_who_how_many_at_what_price_and_links_it() -> None:
    blocks = add_request_surfaces()["add request with link"]
    seen = shown(blocks)

    assert "request for more licenses LR-00001* for *Initech*" in str(blocks[0]["text"])
    assert "*Account*\nInitech (Enterprise)" in seen
    assert "*Requested by*\nIra (<@U0IRA>)" in seen
    assert "*Licenses to add*\n2 more licenses" in seen
    # 2 × $1,100.00 a year for the 104.6 days left of Initech's year, then 14 licenses a year.
    assert "*Price when asked*\n$630.49 due today, then $15,400.00 per year" in seen
    assert "*Open for*\n4 days 2 hours" in seen
    assert "*Reference*\nLR-00001" in seen
    assert f"<{LINK}|Open LR-00001 in the CSM channel>" in seen
    assert "removal" not in seen and "ticket" not in seen.lower()  # no removal fields


def test_an_add_request_without_a_number_shows_the_price_per_license() -> None:
    seen = shown(add_request_surfaces()["add request without number"])

    assert "*Licenses to add*\nmore licenses" in seen
    assert "*Price when asked*\n$1,100.00 per license per year" in seen
    assert "due today" not in seen


@pytest.mark.parametrize("name", ["add request without link", "add request without number or link"])
def test_an_add_request_without_a_post_is_decided_from_the_queue(name: str) -> None:
    seen = shown(add_request_surfaces()[name])

    assert (
        "LR-00001 has no post in the CSM channel to link to: "
        "decide it from the CSM queue (`/licenses`)."
    ) in seen
    assert "<@U0IRA>" in seen and "Ira (" not in seen  # no name: the mention alone
    assert "archives" not in seen and "its ticket" not in seen


@pytest.mark.parametrize(
    ("wanted", "link", "asked"), [(2, LINK, "add 2 licenses"), (None, None, "add more licenses")]
)
def test_an_add_request_notification_text_stands_alone(
    wanted: int | None, link: str | None, asked: str
) -> None:
    said = escalation_text(examples.add_request(wanted=wanted), ESCALATED, link, "Ira")

    assert said == (
        ":rotating_light: Escalated: request for more licenses LR-00001 for Initech "
        f"({asked}, asked by Ira) has been open for 4 days 2 hours without a decision."
        + (f" {link}" if link else "")
    )


@pytest.mark.parametrize(
    ("waited", "said"),
    [
        (timedelta(seconds=20), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=2, minutes=5), "2 hours 5 minutes"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=36, minutes=59), "1 day 12 hours"),
        (timedelta(days=4), "4 days"),
    ],
)
def test_how_long_a_request_has_been_open(waited: timedelta, said: str) -> None:
    assert open_for(waited) == said


def test_importing_the_builder_loads_no_database_or_service_code() -> None:
    check = (
        "import sys, blocks.escalation; "
        "print(sorted(m for m in sys.modules if m.startswith("
        "('sqlalchemy', 'bot.services', 'bot.db', 'bot.models', 'slack_bolt', 'aiohttp'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
