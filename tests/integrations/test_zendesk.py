"""Zendesk provider against the documented Ticketing API shapes, mocked with respx."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.config import Settings
from bot.integrations.tickets import NewTicket, TicketUnavailable
from bot.integrations.zendesk import ZendeskTickets, retry_after_seconds, zendesk_from_settings

BASE = "https://acme.zendesk.com"
EMAIL = "bot@acme.example"
TOKEN = "s3cr3t-Zd-T0ken-6wiPvsvuVp"
TICKET = NewTicket(
    account_id="acct-1",
    requester_name="Ada Admin",
    requester_email="ada@customer.example",
    subject="License removal request: Customer Inc",
    body="Account: Customer Inc\nLicenses: 10 → 7\nReason: team shrank\nTiming: next renewal",
)


def created(ticket_id: int = 35436) -> httpx.Response:
    """201 body as in Zendesk's Create Ticket example (trimmed)."""
    return httpx.Response(
        201,
        json={
            "ticket": {
                "id": ticket_id,
                "url": f"{BASE}/api/v2/tickets/{ticket_id}.json",
                "subject": TICKET.subject,
                "status": "new",
                "requester_id": 20978392,
                "tags": list(TICKET.tags),
            }
        },
    )


def solved(ticket_id: int = 35436) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "ticket": {
                "id": ticket_id,
                "url": f"{BASE}/api/v2/tickets/{ticket_id}.json",
                "status": "solved",
            },
            "audit": {"events": []},
        },
    )


class SleepRecorder:
    """Stands in for asyncio.sleep: records waits, never sleeps."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def zendesk() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleep() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def provider(sleep: SleepRecorder) -> AsyncIterator[ZendeskTickets]:
    async with httpx.AsyncClient() as client:
        yield ZendeskTickets(BASE, EMAIL, TOKEN, client=client, sleep=sleep)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def all_text(exc: BaseException) -> str:
    """Everything a log of this exception could show, causes included."""
    return "".join(traceback.format_exception(exc)) + repr(exc)


# --- create / resolve -------------------------------------------------------------


async def test_create_posts_documented_body_with_token_auth(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(return_value=created())

    ref = await provider.create(TICKET)

    assert ref.reference == "#35436"
    assert ref.url == f"{BASE}/agent/tickets/35436"
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.url == f"{BASE}/api/v2/tickets.json"
    assert request.headers["content-type"] == "application/json"
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{EMAIL}/token:{TOKEN}"
    assert body_of(request) == {
        "ticket": {
            "subject": TICKET.subject,
            "comment": {"body": TICKET.body},
            "requester": {"name": "Ada Admin", "email": "ada@customer.example"},
            "tags": ["licensebot", "license_removal"],
        }
    }
    assert request.headers["idempotency-key"]


async def test_trailing_slashes_on_base_url_are_ignored(
    zendesk: respx.MockRouter, sleep: SleepRecorder
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(return_value=created(7))
    async with httpx.AsyncClient() as client:
        tickets = ZendeskTickets(f"{BASE}//", EMAIL, TOKEN, client=client, sleep=sleep)
        ref = await tickets.create(TICKET)
    assert route.calls.last.request.url == f"{BASE}/api/v2/tickets.json"
    assert ref.url == f"{BASE}/agent/tickets/7"


async def test_requester_name_falls_back_to_email_and_is_omitted_without_email(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(return_value=created())

    await provider.create(
        NewTicket("acct-1", None, "ada@customer.example", "s", "b", tags=("licensebot",))
    )
    first = body_of(route.calls[0].request)["ticket"]
    assert first["requester"] == {"name": "ada@customer.example", "email": "ada@customer.example"}
    assert first["tags"] == ["licensebot"]

    await provider.create(NewTicket("acct-1", "Ada", None, "s", "b"))
    assert "requester" not in body_of(route.calls[1].request)["ticket"]


async def test_caller_idempotency_key_is_sent(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(return_value=created())
    await provider.create(TICKET, idempotency_key="removal-42")
    assert route.calls.last.request.headers["idempotency-key"] == "removal-42"


async def test_create_without_ticket_id_is_unavailable(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    zendesk.post("/api/v2/tickets.json").mock(return_value=httpx.Response(201, json={}))
    with pytest.raises(TicketUnavailable, match="no ticket id"):
        await provider.create(TICKET)


@pytest.mark.parametrize("reference", ["#35436", "35436", " #35436 "])
async def test_resolve_puts_solved_status_with_public_comment(
    zendesk: respx.MockRouter, provider: ZendeskTickets, reference: str
) -> None:
    route = zendesk.put("/api/v2/tickets/35436.json").mock(return_value=solved())

    await provider.resolve(reference, "Approved by Carla: 3 licenses removed at renewal.")

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "PUT"
    assert body_of(request) == {
        "ticket": {
            "status": "solved",
            "comment": {
                "body": "Approved by Carla: 3 licenses removed at renewal.",
                "public": True,
            },
        }
    }
    _, _, encoded = request.headers["authorization"].partition(" ")
    assert base64.b64decode(encoded).decode() == f"{EMAIL}/token:{TOKEN}"


@pytest.mark.parametrize("reference", ["LB-00001", "#", "", "#12a"])
async def test_resolve_rejects_foreign_references_without_calling(
    zendesk: respx.MockRouter, provider: ZendeskTickets, reference: str
) -> None:
    with pytest.raises(TicketUnavailable, match="not a Zendesk ticket reference"):
        await provider.resolve(reference, "done")
    assert zendesk.calls.call_count == 0


# --- retries ----------------------------------------------------------------------


async def test_429_waits_retry_after_then_succeeds(
    zendesk: respx.MockRouter, provider: ZendeskTickets, sleep: SleepRecorder
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), created()]
    )
    ref = await provider.create(TICKET)
    assert ref.reference == "#35436"
    assert sleep.waits == [2.0]
    assert route.call_count == 2


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "soon"}, {"Retry-After": ""}])
async def test_429_without_usable_retry_after_waits_the_fallback(
    zendesk: respx.MockRouter, sleep: SleepRecorder, headers: dict[str, str]
) -> None:
    route = zendesk.put("/api/v2/tickets/9.json").mock(
        side_effect=[httpx.Response(429, headers=headers), solved(9)]
    )
    async with httpx.AsyncClient() as client:
        tickets = ZendeskTickets(
            BASE, EMAIL, TOKEN, client=client, sleep=sleep, fallback_retry_after=7.5
        )
        await tickets.resolve("#9", "ok")
    assert sleep.waits == [7.5]
    assert route.call_count == 2


async def test_429_retry_after_http_date(
    zendesk: respx.MockRouter, provider: ZendeskTickets, sleep: SleepRecorder
) -> None:
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    when = format_datetime(now + timedelta(seconds=3), usegmt=True)
    zendesk.post("/api/v2/tickets.json").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": when}), created()]
    )
    with time_machine.travel(now, tick=False):
        await provider.create(TICKET)
    assert sleep.waits == [3.0]


async def test_retry_after_is_capped_at_max_wait(
    zendesk: respx.MockRouter, sleep: SleepRecorder
) -> None:
    zendesk.post("/api/v2/tickets.json").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), created()]
    )
    async with httpx.AsyncClient() as client:
        tickets = ZendeskTickets(BASE, EMAIL, TOKEN, client=client, sleep=sleep, max_wait=30)
        await tickets.create(TICKET)
    assert sleep.waits == [30.0]


async def test_5xx_backs_off_exponentially_then_succeeds(
    zendesk: respx.MockRouter, provider: ZendeskTickets, sleep: SleepRecorder
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), created()]
    )
    ref = await provider.create(TICKET)
    assert ref.reference == "#35436"
    assert sleep.waits == [0.5, 1.0]
    assert route.call_count == 3


async def test_timeout_then_success_reuses_the_idempotency_key(
    zendesk: respx.MockRouter, provider: ZendeskTickets, sleep: SleepRecorder
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(
        side_effect=[httpx.ReadTimeout("read timed out"), created()]
    )
    ref = await provider.create(TICKET)
    assert ref.reference == "#35436"
    assert sleep.waits == [0.5]
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 1  # a timed-out POST may have landed: the retry must not duplicate it


async def test_always_500_gives_up_after_max_attempts(
    zendesk: respx.MockRouter, provider: ZendeskTickets, sleep: SleepRecorder
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(return_value=httpx.Response(500))
    with pytest.raises(TicketUnavailable, match="after 4 attempts: HTTP 500"):
        await provider.create(TICKET)
    assert route.call_count == 4
    assert sleep.waits == [0.5, 1.0, 2.0]  # no pointless wait after the last attempt


async def test_always_429_gives_up_after_max_attempts(
    zendesk: respx.MockRouter, sleep: SleepRecorder
) -> None:
    route = zendesk.put("/api/v2/tickets/1.json").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"})
    )
    async with httpx.AsyncClient() as client:
        tickets = ZendeskTickets(BASE, EMAIL, TOKEN, client=client, sleep=sleep, max_attempts=2)
        with pytest.raises(TicketUnavailable, match="after 2 attempts: HTTP 429"):
            await tickets.resolve("#1", "ok")
    assert route.call_count == 2
    assert sleep.waits == [1.0]


async def test_transport_errors_give_up_naming_the_error_class(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(
        side_effect=httpx.ConnectError("connection refused")
    )
    with pytest.raises(TicketUnavailable, match="ConnectError"):
        await provider.create(TICKET)
    assert route.call_count == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_4xx_fail_immediately(
    zendesk: respx.MockRouter, provider: ZendeskTickets, sleep: SleepRecorder, status: int
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(return_value=httpx.Response(status))
    with pytest.raises(TicketUnavailable, match=f"HTTP {status}"):
        await provider.create(TICKET)
    assert route.call_count == 1
    assert sleep.waits == []


async def test_422_carries_zendesk_error_text(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    route = zendesk.post("/api/v2/tickets.json").mock(
        return_value=httpx.Response(
            422,
            json={
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": {
                    "requester": [
                        {"description": "Requester: Email is invalid", "error": "InvalidValue"}
                    ]
                },
            },
        )
    )
    with pytest.raises(TicketUnavailable) as caught:
        await provider.create(TICKET)
    assert route.call_count == 1
    message = str(caught.value)
    assert "HTTP 422" in message
    assert "RecordInvalid" in message
    assert "Record validation errors" in message
    assert "Requester: Email is invalid" in message


async def test_nested_error_object_and_plain_text_bodies(
    zendesk: respx.MockRouter, provider: ZendeskTickets
) -> None:
    zendesk.put("/api/v2/tickets/5.json").mock(
        side_effect=[
            httpx.Response(
                403, json={"error": {"title": "Forbidden", "message": "You do not have access"}}
            ),
            httpx.Response(401, text="Couldn't authenticate you"),
        ]
    )
    with pytest.raises(TicketUnavailable, match="Forbidden; You do not have access"):
        await provider.resolve("#5", "x")
    with pytest.raises(TicketUnavailable, match="HTTP 401: Couldn't authenticate you"):
        await provider.resolve("#5", "x")


# --- secrets ----------------------------------------------------------------------

SECRET_SHAPES = [TOKEN, base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()]


@pytest.mark.parametrize(
    "outcome",
    [
        httpx.Response(500),
        httpx.ReadTimeout("timed out"),
        httpx.Response(429),
        # A body echoing the credentials must not carry them into our message.
        httpx.Response(401, json={"error": f"Bad token {TOKEN}", "description": SECRET_SHAPES[1]}),
    ],
    ids=["500", "timeout", "429", "401-echo"],
)
async def test_token_never_appears_in_errors_or_logs(
    zendesk: respx.MockRouter,
    provider: ZendeskTickets,
    caplog: pytest.LogCaptureFixture,
    outcome: httpx.Response | Exception,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.integrations.zendesk")
    route = zendesk.post("/api/v2/tickets.json")
    if isinstance(outcome, Exception):
        route.mock(side_effect=outcome)
    else:
        route.mock(return_value=outcome)
    with pytest.raises(TicketUnavailable) as caught:
        await provider.create(TICKET)
    visible = all_text(caught.value) + caplog.text + repr(provider)
    for secret in SECRET_SHAPES:
        assert secret not in visible
    assert "Authorization" not in visible and "authorization" not in visible


# --- settings and lifecycle -------------------------------------------------------

FULL: dict[str, Any] = {
    "zendesk_url": BASE + "/",
    "zendesk_email": EMAIL,
    "zendesk_api_token": SecretStr(TOKEN),
}


async def test_from_settings_builds_a_provider_when_all_three_are_set() -> None:
    tickets = zendesk_from_settings(Settings(_env_file=None, **FULL))
    assert isinstance(tickets, ZendeskTickets)
    assert TOKEN not in repr(tickets)
    await tickets.aclose()


@pytest.mark.parametrize(
    "missing",
    [
        {"zendesk_url": None},
        {"zendesk_email": None},
        {"zendesk_api_token": None},
        {"zendesk_url": "  "},
        {"zendesk_email": ""},
        {"zendesk_api_token": SecretStr(" ")},
    ],
    ids=["no-url", "no-email", "no-token", "blank-url", "blank-email", "blank-token"],
)
def test_from_settings_is_none_when_any_setting_is_missing(missing: dict[str, Any]) -> None:
    settings = Settings(_env_file=None, **{**FULL, **missing})
    assert zendesk_from_settings(settings) is None


async def test_aclose_closes_only_its_own_client() -> None:
    async with httpx.AsyncClient() as injected:
        borrowed = ZendeskTickets(BASE, EMAIL, TOKEN, client=injected)
        await borrowed.aclose()
        assert not injected.is_closed
    owned = ZendeskTickets(BASE, EMAIL, TOKEN)
    await owned.aclose()
    assert owned._client.is_closed


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ZendeskTickets(BASE, EMAIL, TOKEN, max_attempts=0)


# --- Retry-After parsing ----------------------------------------------------------

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_delta_seconds(seconds: int) -> None:
    assert retry_after_seconds(str(seconds), NOW) == seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sat, 01 Mar 2025 12:00:10 GMT", 10.0),
        ("Sat, 01 Mar 2025 11:59:00 GMT", 0.0),  # already past: retry now
        (None, None),
        ("", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("tomorrow", None),
    ],
)
def test_retry_after_http_date_and_garbage(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, NOW) == expected
