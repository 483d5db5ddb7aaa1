"""Ticket providers: built-in tickets in our database, or Zendesk when configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Ticket, add_numbered


@dataclass(frozen=True)
class NewTicket:
    account_id: str
    requester_name: str | None
    requester_email: str | None
    subject: str
    body: str
    tags: tuple[str, ...] = field(default=("licensebot", "license_removal"))


@dataclass(frozen=True)
class TicketRef:
    """`reference` is what people read and what `resolve` takes back."""

    reference: str
    url: str | None = None


class TicketUnavailable(Exception):
    """The ticket system could not be reached or refused; the outbox retries later."""


class TicketProvider(Protocol):
    async def create(self, ticket: NewTicket, *, idempotency_key: str | None = None) -> TicketRef:
        """Open a ticket; the same key must not open a second one."""
        ...

    async def resolve(self, reference: str, comment: str) -> None:
        """Add `comment` to the ticket and mark it solved."""
        ...


class BuiltinTickets:
    """Tickets stored with the licenses, referenced LB-00001, LB-00002, …"""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, ticket: NewTicket, *, idempotency_key: str | None = None) -> TicketRef:
        requester = " ".join(
            part
            for part in (
                ticket.requester_name,
                f"<{ticket.requester_email}>" if ticket.requester_email else None,
            )
            if part
        )
        async with self._sessions() as session, session.begin():
            if idempotency_key is not None:
                existing = await session.scalar(
                    select(Ticket).where(Ticket.idempotency_key == idempotency_key)
                )
                if existing is not None:
                    return TicketRef(existing.reference)
            row = Ticket(
                idempotency_key=idempotency_key,
                account_id=ticket.account_id,
                requester=requester or "unknown",
                subject=ticket.subject,
                body=ticket.body,
                tags=list(ticket.tags),
                status="open",
                comments=[],
            )
            return TicketRef(await add_numbered(session, row, "LB"))

    async def resolve(self, reference: str, comment: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.scalar(select(Ticket).where(Ticket.reference == reference))
            if row is None:
                raise TicketUnavailable(f"no ticket {reference}")
            row.comments = [*row.comments, comment]
            row.status = "solved"
