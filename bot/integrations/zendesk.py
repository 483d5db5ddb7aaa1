"""Zendesk ticket provider over the Support (Ticketing) REST API.

Retries happen inside one call and are short; anything still failing becomes
`TicketUnavailable`, which the outbox retries later with its own backoff.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from bot.integrations.retries import TryAgain, retry_after_seconds, with_retries
from bot.integrations.tickets import NewTicket, TicketRef, TicketUnavailable

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5
_MAX_ERROR_TEXT = 300


def _error_text(response: httpx.Response) -> str:
    """Zendesk's own explanation of a refusal, short enough for a log line or a DM."""
    try:
        payload = response.json()
    except ValueError:
        text = response.text.strip()
        # An HTML error page says nothing useful; plain text usually does.
        return "" if text.startswith("<") else text[:_MAX_ERROR_TEXT]
    if not isinstance(payload, Mapping):
        return ""
    parts: list[str] = []
    error = payload.get("error")
    if isinstance(error, str):
        parts.append(error)
    elif isinstance(error, Mapping):  # some endpoints nest {"title", "message"}
        parts.extend(str(error[key]) for key in ("title", "message") if error.get(key))
    if isinstance(payload.get("description"), str):
        parts.append(payload["description"])
    details = payload.get("details")
    if isinstance(details, Mapping):
        for field, problems in details.items():
            if isinstance(problems, list):
                for problem in problems:
                    if isinstance(problem, Mapping) and problem.get("description"):
                        parts.append(f"{field}: {problem['description']}")
    return "; ".join(parts)[:_MAX_ERROR_TEXT]


def _ticket_id(reference: str) -> int:
    """`#123` (what `create` hands out) or a bare `123` → 123."""
    text = reference.strip().removeprefix("#")
    if not text.isdigit():
        raise TicketUnavailable(f"not a Zendesk ticket reference: {reference!r}")
    return int(text)


class ZendeskTickets:
    """Creates and solves Zendesk tickets with API-token basic auth."""

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        fallback_retry_after: float = 5.0,
        max_wait: float = 60.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._email = email
        # The token lives only inside the auth object, so no attribute or repr shows it.
        self._auth = httpx.BasicAuth(f"{email}/token", api_token)
        encoded = base64.b64encode(f"{email}/token:{api_token}".encode()).decode()
        self._secrets = tuple(secret for secret in (api_token, encoded) if secret)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._fallback_retry_after = fallback_retry_after
        self._max_wait = max_wait

    def __repr__(self) -> str:
        return f"ZendeskTickets(base_url={self._base_url!r}, email={self._email!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if we made it; an injected one belongs to the caller."""
        if self._owns_client:
            await self._client.aclose()

    async def create(self, ticket: NewTicket, *, idempotency_key: str | None = None) -> TicketRef:
        """Open a ticket; the key makes a retried POST (e.g. after a timeout) return the
        first ticket instead of a duplicate. Pass a stable key to dedupe across calls."""
        body: dict[str, Any] = {
            "subject": ticket.subject,
            "comment": {"body": ticket.body},
            "tags": list(ticket.tags),
        }
        if ticket.requester_email:
            # Zendesk needs a name to create an unknown requester; the email will do.
            body["requester"] = {
                "name": ticket.requester_name or ticket.requester_email,
                "email": ticket.requester_email,
            }
        response = await self._send(
            "POST",
            "/api/v2/tickets.json",
            {"ticket": body},
            action="create ticket",
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        )
        try:
            ticket_id = int(response.json()["ticket"]["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TicketUnavailable("Zendesk create ticket: response has no ticket id") from exc
        return TicketRef(
            reference=f"#{ticket_id}", url=f"{self._base_url}/agent/tickets/{ticket_id}"
        )

    async def resolve(self, reference: str, comment: str) -> None:
        ticket_id = _ticket_id(reference)
        await self._send(
            "PUT",
            f"/api/v2/tickets/{ticket_id}.json",
            {"ticket": {"status": "solved", "comment": {"body": comment, "public": True}}},
            action=f"solve ticket #{ticket_id}",
        )

    async def _send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any],
        *,
        action: str,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One logical request with bounded retries on 429, 5xx and transport errors."""
        url = f"{self._base_url}{path}"

        async def attempt(number: int) -> httpx.Response | TryAgain:
            backoff = BACKOFF_BASE * 2**number
            try:
                response = await self._client.request(
                    method,
                    url,
                    json=payload,
                    headers=headers,
                    auth=self._auth,
                    timeout=self._timeout,
                )
            except httpx.TransportError as exc:  # includes every TimeoutException
                # Only the class name: exception text is not ours to vouch for.
                return TryAgain(type(exc).__name__, min(backoff, self._max_wait))
            status = response.status_code
            if response.is_success:
                return response
            if status == 429 or status >= 500:
                asked = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
                if asked is not None:
                    wait = asked
                elif status == 429:
                    wait = self._fallback_retry_after
                else:
                    wait = backoff
                return TryAgain(f"HTTP {status}", min(wait, self._max_wait))
            # Our request is wrong (or the ticket is gone): retrying cannot help.
            detail = _error_text(response)
            message = f"Zendesk {action} failed: HTTP {status}"
            raise TicketUnavailable(self._redact(f"{message}: {detail}" if detail else message))

        outcome, _ = await with_retries(
            attempt,
            attempts=self._max_attempts,
            sleep=self._sleep,
            what=f"Zendesk {action}",
            log=log,
        )
        if isinstance(outcome, TryAgain):
            raise TicketUnavailable(
                f"Zendesk {action} failed after {self._max_attempts} attempts: {outcome.reason}"
            )
        return outcome

    def _redact(self, text: str) -> str:
        """Belt and braces: a message built from a response body must not echo credentials."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def zendesk_from_settings(settings: Settings) -> ZendeskTickets | None:
    """A Zendesk provider when all three settings are present, else None (built-in tickets)."""
    token = (
        settings.zendesk_api_token.get_secret_value().strip() if settings.zendesk_api_token else ""
    )
    if not (settings.zendesk_url and settings.zendesk_email and token):
        return None
    return ZendeskTickets(settings.zendesk_url, settings.zendesk_email, token)
