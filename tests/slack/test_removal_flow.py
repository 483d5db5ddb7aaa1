"""Removing licenses through Slack: request, CSM decision, effect, reminders, failures."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.domain.removal import RemovalStatus
from bot.integrations import zendesk
from bot.models import OutboxEntry
from bot.sandbox.demo import VENDOR_TEAM
from bot.scheduler import run_due_work
from bot.services.accounts import show_account
from bot.services.removals import get_removal
from tests.periods import day
from tests.slack.conftest import start_workspace
from tests.slack.driver import CSM_CHANNEL, Workspace, block_text
from tests.slack.removal_helpers import (
    ANN,
    APPROVE,
    BOB,
    CSM,
    CSM2,
    DENY,
    REASON,
    ask,
    audit,
    click,
    decide,
    decision_values,
    dms,
    final_view,
    has_buttons,
    licenses,
    posts,
    renewal_day,
    request_values,
    text_of,
    the_post,
    thread,
    tickets,
    travel_past_renewal,
    view_text,
)

ZENDESK = "https://acme.zendesk.com"


# --- the approve path --------------------------------------------------------------------


def medium(iso_day: str) -> str:
    """A YYYY-MM-DD day as people read it everywhere: "Nov 30, 2026"."""
    return day(datetime.fromisoformat(iso_day))


async def test_an_admin_asks_and_a_csm_approves_for_the_renewal(workspace: Workspace) -> None:
    ws = workspace
    await ws.command(ANN, "remove 2")
    await ws.settle()
    modal = ws.modal(ANN)
    assert modal["callback_id"] == "removal_request"
    assert "Acme Corp* has 10 licenses" in block_text(modal["blocks"])

    answer = await ws.submit(ANN, request_values("2", REASON, "renewal"))
    await ws.settle()

    assert answer.json()["response_action"] == "update"
    assert "Request *RR-00001* is with your Customer Success Manager" in view_text(ws, modal["id"])
    (ticket,) = await tickets(ws)
    assert (ticket.reference, ticket.status) == ("LB-00001", "open")
    assert ticket.requester == "Ann <ann@acme.example>"
    assert ticket.subject == "Remove 2 licenses from Acme Corp (RR-00001)"
    assert REASON in ticket.body
    # The CSM channel: who, what, why, when, which ticket, and the two buttons.
    post = the_post(ws)
    shown = text_of(post)
    renewal = await renewal_day(ws)
    for expected in (
        "RR-00001",
        "*Acme Corp* (Pro)",
        "<@U0ANN>",
        "10 → 8 (remove 2)",
        REASON,
        "At the next renewal",
        "LB-00001",
    ):
        assert expected in shown
    labels = [
        el["text"]["text"] for b in post["blocks"] if b["type"] == "actions" for el in b["elements"]
    ]
    assert labels == ["Approve", "Deny"]
    (received,) = dms(ws, ANN)
    assert "We received your request RR-00001" in received and "LB-00001" in received

    # The CSM approves: the date is prefilled from the request.
    await click(ws, CSM, APPROVE)
    decision = ws.modal(CSM)
    assert decision["callback_id"] == "removal_decision"
    (picker,) = [
        b["element"] for b in decision["blocks"] if b.get("block_id") == "removal_effective"
    ]
    assert picker["initial_date"] == renewal
    await ws.submit(CSM, decision_values(renewal, "Fine by the contract."))
    await ws.settle()

    assert "You approved RR-00001" in view_text(ws, decision["id"])
    after = the_post(ws)
    assert after["ts"] == post["ts"] and "edited" in after
    assert not has_buttons(after)
    assert "*Approved* by <@U0CSM> on" in text_of(after)
    assert thread(ws, post) == [
        f"<@U0CSM> approved this request, effective {medium(renewal)}. "
        "Reason: Fine by the contract."
    ]
    assert "RR-00001: :white_check_mark: *Approved* by <@U0CSM>" in dms(ws, ANN)[-1]
    (ticket,) = await tickets(ws)
    assert ticket.status == "solved"
    assert ticket.comments == ["Approved in Slack by U0CSM. Reason: Fine by the contract."]
    assert await audit(ws) == [
        ("U0ANN", "removal.requested"),
        ("tickets", "removal.ticket"),
        ("U0CSM", "removal.approved"),
    ]
    # Approved is not applied: nothing changes before the renewal.
    await run_due_work(ws.runtime)
    assert await licenses(ws) == 10

    await travel_past_renewal(ws)
    ws.slack.clear()
    await run_due_work(ws.runtime)
    await run_due_work(ws.runtime)

    overview = await show_account(ws.services, "acme")
    assert overview.terms.licenses == 8
    assert overview.to_json()["next_cycle_amount"] == "392.00"
    assert (await get_removal(ws.services, 1)).status is RemovalStatus.APPLIED
    assert thread(ws, post)[1:] == ["Applied: 2 licenses removed; Acme Corp now has 8 licenses."]
    assert "*Applied* on" in text_of(the_post(ws))
    assert dms(ws, ANN)[-1] == "Your removal RR-00001 took effect: Acme Corp now has 8 licenses."
    home = block_text(ws.slack.homes[ANN]["blocks"])
    assert "RR-00001" in home and "applied" in home and "LB-00001" in home
    assert [call.params["user_id"] for call in ws.slack.calls_to("views.publish")] == [ANN]
    assert (await audit(ws))[-1] == ("scheduler", "removal.applied")


async def test_as_soon_as_possible_applies_when_approved(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws, count="3", timing="asap")
    assert "As soon as possible" in text_of(the_post(ws))

    await click(ws, CSM2, APPROVE)
    today = ws.clock().date().isoformat()
    (picker,) = [
        b["element"] for b in ws.modal(CSM2)["blocks"] if b.get("block_id") == "removal_effective"
    ]
    assert picker["initial_date"] == today
    await ws.submit(CSM2, decision_values(today))
    await ws.settle()

    assert await licenses(ws) == 7
    post = the_post(ws)
    assert "*Applied* on" in text_of(post) and "went to 7 licenses" in text_of(post)
    assert thread(ws, post) == [
        f"<@U0CSM2> approved this request, effective {medium(today)}.",
        "Applied: 3 licenses removed; Acme Corp now has 7 licenses.",
    ]
    assert dms(ws, ANN)[-1] == "Your removal RR-00001 took effect: Acme Corp now has 7 licenses."
    (ticket,) = await tickets(ws)
    assert (ticket.status, ticket.comments) == ("solved", ["Approved in Slack by U0CSM2."])
    # Running the jobs afterwards changes nothing.
    await run_due_work(ws.runtime)
    assert await licenses(ws) == 7
    assert [a for _, a in await audit(ws)].count("removal.applied") == 1


# --- the deny path -----------------------------------------------------------------------


async def test_a_csm_denies_with_a_reason(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws, count="4")
    post = the_post(ws)
    await ws.open_home(ANN)
    await ws.settle()
    home = block_text(ws.slack.homes[ANN]["blocks"])
    assert (
        "`RR-00001` · remove 4 (10 → 6) · *waiting for your CSM* · support ticket LB-00001" in home
    )

    await click(ws, CSM2, DENY)
    modal = ws.modal(CSM2)
    assert modal["title"]["text"] == "Deny removal"
    assert not [b for b in modal["blocks"] if b.get("block_id") == "removal_effective"]

    for empty in (None, "", "   "):
        answer = await ws.submit(CSM2, decision_values(note=empty))
        assert answer.json() == {
            "response_action": "errors",
            "errors": {"removal_note": "Give the admin a reason for the denial."},
        }
    await ws.settle()
    assert (await get_removal(ws.services, 1)).status is RemovalStatus.PENDING
    assert has_buttons(the_post(ws))

    await ws.submit(CSM2, decision_values(note="Licenses are committed until March."))
    await ws.settle()

    assert "You denied RR-00001" in view_text(ws, modal["id"])
    after = the_post(ws)
    assert after["ts"] == post["ts"] and not has_buttons(after)
    assert "*Denied* by <@U0CSM2> on" in text_of(after)
    assert "Reason: Licenses are committed until March." in text_of(after)
    assert thread(ws, post) == [
        "<@U0CSM2> denied this request. Reason: Licenses are committed until March."
    ]
    assert ":x: *Denied* by <@U0CSM2>" in dms(ws, ANN)[-1]
    (ticket,) = await tickets(ws)
    assert ticket.status == "solved"
    assert ticket.comments == [
        "Denied in Slack by U0CSM2. Reason: Licenses are committed until March."
    ]
    assert (await audit(ws))[-1] == ("U0CSM2", "removal.denied")
    await ws.open_home(ANN)
    await ws.settle()
    assert "*denied*" in block_text(ws.slack.homes[ANN]["blocks"])

    await travel_past_renewal(ws)
    await run_due_work(ws.runtime)
    assert await licenses(ws) == 10


# --- who may decide, and only once --------------------------------------------------------


VAL = "U0VAL"  # vendor staff, not a CSM
ONLY_CSMS = "Only Customer Success Managers can approve or deny"
FROM_THE_VENDOR = "in the vendor's Slack workspace, not from this one"


@pytest.mark.parametrize(
    ("user", "told"), [(VAL, ONLY_CSMS), (BOB, FROM_THE_VENDOR), (ANN, FROM_THE_VENDOR)]
)
async def test_only_csms_can_decide(workspace: Workspace, user: str, told: str) -> None:
    ws = workspace
    ws.slack.add_user(VAL, "val", team_id=VENDOR_TEAM)
    await ask(ws)
    before = json.dumps(the_post(ws), sort_keys=True)
    ws.slack.clear()

    for action in (APPROVE, DENY):
        await click(ws, user, action)

    ephemerals = [e for e in ws.slack.ephemerals if e["user"] == user]
    assert len(ephemerals) == 2
    for ephemeral in ephemerals:
        assert ephemeral["channel"] == CSM_CHANNEL
        assert told in ephemeral["text"]
    assert ws.slack.calls_to("views.open") == []
    assert ws.slack.calls_to("chat.update") == []
    assert json.dumps(the_post(ws), sort_keys=True) == before
    assert (await get_removal(ws.services, 1)).status is RemovalStatus.PENDING
    assert [a for _, a in await audit(ws)] == ["removal.requested", "removal.ticket"]


async def test_a_double_click_makes_one_decision(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws)
    stale = copy.deepcopy(the_post(ws))
    renewal = await renewal_day(ws)
    await click(ws, CSM, APPROVE)
    first = ws.modal(CSM)
    await click(ws, CSM, APPROVE)
    second = ws.modal(CSM)
    assert first["id"] != second["id"]

    await ws.submit(CSM, decision_values(renewal), view=first)
    await ws.settle()
    await ws.submit(CSM, decision_values(renewal), view=second)
    await ws.settle()

    assert "You approved RR-00001" in view_text(ws, first["id"])
    assert final_view(ws, second["id"])["title"]["text"] == "Already decided"
    assert "<@U0CSM> already approved RR-00001" in view_text(ws, second["id"])
    # When, as every surface writes a day (not "2026-11-30 14:05 UTC").
    decided = ws.clock()
    assert f"RR-00001 ({day(decided)}, " in view_text(ws, second["id"])
    assert not re.search(r"\d{4}-\d{2}-\d{2}", view_text(ws, second["id"]))
    assert len(thread(ws, the_post(ws))) == 1
    assert [a for _, a in await audit(ws)].count("removal.approved") == 1

    # A late click on a copy of the message from before the decision is answered, not acted on.
    ws.slack.clear()
    await ws.click_in_message(CSM2, CSM_CHANNEL, stale, DENY)
    await ws.settle()
    assert ws.slack.calls_to("views.open") == []
    assert "<@U0CSM> already approved RR-00001" in ws.slack.ephemerals[-1]["text"]


# --- what the admin can get wrong ----------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("", "Tell your CSM why you want to remove licenses."),
        ("   \n ", "Tell your CSM why you want to remove licenses."),
        ("x" * 1001, "Keep the reason under 1000 characters (it has 1001)."),
    ],
)
async def test_a_reason_is_required_and_at_most_1000_characters(
    workspace: Workspace, reason: str, error: str
) -> None:
    ws = workspace
    answer = await ask(ws, reason=reason)

    assert answer.json() == {"response_action": "errors", "errors": {"removal_reason": error}}
    assert ws.modal(ANN)["callback_id"] == "removal_request"
    assert posts(ws) == [] and await tickets(ws) == []


@pytest.mark.parametrize(
    ("count", "words"),
    [
        ("10", "The account has 10 licenses and keeps at least 1, so at most 9 can be removed."),
        ("250", "at most 9 can be removed"),
        ("0", "at least 1"),
        ("2.5", "not a whole number"),
    ],
)
async def test_removing_more_than_the_account_has_is_refused(
    workspace: Workspace, count: str, words: str
) -> None:
    answer = await ask(workspace, count=count)

    assert answer.json()["response_action"] == "errors"
    assert words in answer.json()["errors"]["removal_count"]
    assert posts(workspace) == [] and await tickets(workspace) == []


async def test_a_request_overlapping_a_pending_one_is_refused(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws, count="6")

    answer = await ask(ws, count="4")

    assert answer.json()["response_action"] == "errors"
    assert answer.json()["errors"]["removal_count"].startswith(
        "Requests already open would remove 6 of 10 licenses"
    )
    assert len(posts(ws)) == 1
    # What is left can still be asked for.
    assert (await ask(ws, count="3")).json()["response_action"] == "update"
    assert len(posts(ws)) == 2


# --- the outside world failing ---------------------------------------------------------------


class ZendeskStub:
    """Zendesk's ticket endpoints; `state` is "down" (503), "timeout", "ratelimited" (429),
    "lost answer" (the ticket is made but the answer never arrives) or "up".

    Like Zendesk, a create repeating an Idempotency-Key gets the first ticket back.
    """

    def __init__(self, router: respx.MockRouter) -> None:
        self.state = "down"
        self.created: list[dict[str, Any]] = []
        self.keys: set[str] = set()
        self.solved: list[dict[str, Any]] = []
        router.route(host="127.0.0.1").pass_through()
        router.post("/api/v2/tickets.json").mock(side_effect=self._create)
        router.put("/api/v2/tickets/35436.json").mock(side_effect=self._solve)

    def _create(self, request: httpx.Request) -> httpx.Response:
        if self.state == "down":
            return httpx.Response(503, text="<html>Service Unavailable</html>")
        if self.state == "timeout":
            raise httpx.ConnectTimeout("timed out", request=request)
        if self.state == "ratelimited":
            return httpx.Response(429, headers={"Retry-After": "0"}, text="Too Many Requests")
        key = request.headers.get("Idempotency-Key", "")
        if key not in self.keys:
            self.keys.add(key)
            self.created.append({"body": json.loads(request.content), "headers": request.headers})
        if self.state == "lost answer":
            raise httpx.ReadTimeout("the answer never came", request=request)
        return httpx.Response(
            201,
            json={"ticket": {"id": 35436, "url": f"{ZENDESK}/api/v2/tickets/35436.json"}},
        )

    def _solve(self, request: httpx.Request) -> httpx.Response:
        self.solved.append(json.loads(request.content))
        return httpx.Response(200, json={"ticket": {"id": 35436, "status": "solved"}})


@pytest.fixture
def zendesk_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskStub]:
    # The provider's own retries within one call, without the real waits.
    monkeypatch.setattr(zendesk, "BACKOFF_BASE", 0.0)
    with respx.mock(base_url=ZENDESK, assert_all_called=False) as router:
        yield ZendeskStub(router)


@pytest.fixture
async def zendesk_workspace(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    async for ws in start_workspace(
        sqlite_url,
        tmp_path,
        zendesk_url=ZENDESK,
        zendesk_email="bot@vendor.example",
        zendesk_api_token="zd-token",
    ):
        yield ws


async def outbox_entry(ws: Workspace, kind: str) -> OutboxEntry:
    async with ws.services.sessions() as session:
        (row,) = await session.scalars(select(OutboxEntry).where(OutboxEntry.kind == kind))
        return row


async def test_zendesk_down_then_back_creates_the_ticket_later(
    zendesk_stub: ZendeskStub, zendesk_workspace: Workspace
) -> None:
    ws = zendesk_workspace
    await ask(ws)

    # The request is not lost: the CSMs see it, the ticket waits in the outbox.
    post = the_post(ws)
    assert "being created…" in text_of(post) and has_buttons(post)
    entry = await outbox_entry(ws, "ticket.create")
    assert entry.status == "pending"
    assert entry.last_error == (
        "TicketUnavailable: Zendesk create ticket failed after 4 attempts: HTTP 503"
    )

    zendesk_stub.state = "timeout"
    assert await ws.runtime.effects.drain() == 0  # still backing off
    ws.clock.travel(seconds=11)
    await ws.runtime.effects.drain()
    entry = await outbox_entry(ws, "ticket.create")
    assert (entry.status, entry.attempts) == ("pending", 2)
    assert entry.last_error is not None and entry.last_error.endswith("ConnectTimeout")

    zendesk_stub.state = "up"
    ws.clock.travel(seconds=21)
    await ws.runtime.effects.drain()
    await ws.runtime.effects.drain()

    (created,) = zendesk_stub.created
    ticket = created["body"]["ticket"]
    assert ticket["requester"] == {"name": "Ann", "email": "ann@acme.example"}
    assert "RR-00001" in ticket["subject"] and "license_removal" in ticket["tags"]
    assert REASON in ticket["comment"]["body"]
    credentials = base64.b64encode(b"bot@vendor.example/token:zd-token").decode()
    assert created["headers"]["authorization"] == f"Basic {credentials}"
    assert (await outbox_entry(ws, "ticket.create")).status == "done"
    after = the_post(ws)
    assert after["ts"] == post["ts"]
    assert f"<{ZENDESK}/agent/tickets/35436|#35436>" in text_of(after)
    assert has_buttons(after)

    # Deciding comments on and solves the Zendesk ticket.
    await decide(ws, CSM, APPROVE, decision_values(await renewal_day(ws)))
    (solved,) = zendesk_stub.solved
    assert solved["ticket"]["status"] == "solved"
    assert solved["ticket"]["comment"]["body"] == "Approved in Slack by U0CSM."


@pytest.mark.parametrize(("error", "status"), [("internal_error", 200), ("fatal_error", 500)])
async def test_a_failed_channel_post_is_retried_until_it_works(
    workspace: Workspace, error: str, status: int
) -> None:
    ws = workspace
    ws.slack.fail_next("chat.postMessage", error=error, status=status)

    await ask(ws)

    assert posts(ws) == []
    assert len(dms(ws, ANN)) == 1  # the DM went out regardless
    assert await ws.runtime.effects.drain() == 0  # backing off
    ws.clock.travel(seconds=11)
    await ws.runtime.effects.drain()
    await ws.runtime.effects.drain()

    post = the_post(ws)
    assert "RR-00001" in text_of(post) and "LB-00001" in text_of(post) and has_buttons(post)
    assert (await outbox_entry(ws, "removal.post")).status == "done"
    # And the request is decidable from the late post.
    await decide(ws, CSM, DENY, decision_values(note="Not this quarter."))
    assert (await get_removal(ws.services, 1)).status is RemovalStatus.DENIED


# --- the schedule ---------------------------------------------------------------------------


async def test_a_restart_between_approval_and_effect_still_applies_it(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ask(ws, count="5")
    await decide(ws, CSM, APPROVE, decision_values(await renewal_day(ws)))
    post = the_post(ws)
    # The process goes away: its engine with it.
    await ws.services.sessions.kw["bind"].dispose()

    async with bootstrap(ws.runtime.settings, clock=ws.clock, migrate=False) as restarted:
        await travel_past_renewal(ws)
        await run_due_work(restarted)
        await run_due_work(restarted)

    assert await licenses(ws) == 5
    assert thread(ws, post)[-1] == "Applied: 5 licenses removed; Acme Corp now has 5 licenses."
    assert dms(ws, ANN)[-1] == "Your removal RR-00001 took effect: Acme Corp now has 5 licenses."
    assert "applied" in block_text(ws.slack.homes[ANN]["blocks"])
    assert [a for _, a in await audit(ws)].count("removal.applied") == 1


async def test_pending_requests_remind_the_csm_daily_at_most_three_times(
    workspace: Workspace,
) -> None:
    ws = workspace
    await ask(ws)
    post = the_post(ws)

    ws.clock.travel(hours=23)
    await run_due_work(ws.runtime)
    assert thread(ws, post) == []

    for _ in range(5):
        ws.clock.travel(hours=1)
        await run_due_work(ws.runtime)
        await run_due_work(ws.runtime)
        ws.clock.travel(hours=23)

    replies = thread(ws, post)
    assert replies == [
        f":bell: <@U0CSM>, RR-00001 from <@U0ANN> is still waiting for a decision "
        f"(reminder {n} of 3)."
        for n in (1, 2, 3)
    ]


@pytest.mark.parametrize("fault", ["down", "timeout", "ratelimited", "lost answer"])
async def test_a_ticket_system_fault_ends_in_exactly_one_ticket(
    zendesk_stub: ZendeskStub, zendesk_workspace: Workspace, fault: str
) -> None:
    ws = zendesk_workspace
    zendesk_stub.state = fault
    await ask(ws)
    entry = await outbox_entry(ws, "ticket.create")
    assert entry.status == "pending" and entry.last_error

    zendesk_stub.state = "up"
    for _ in range(4):
        ws.clock.travel(minutes=1)
        await ws.runtime.effects.drain()

    assert len(zendesk_stub.created) == 1
    assert (await outbox_entry(ws, "ticket.create")).status == "done"
    assert "35436" in text_of(the_post(ws))
    received = [dm for dm in dms(ws, ANN) if dm.startswith("We received your request")]
    assert len(received) == 1
