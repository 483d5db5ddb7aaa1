"""Routed requests: an admin asked their CSM, Sales or an admin for licenses."""

from __future__ import annotations

import uuid

from bot.services import audit
from bot.services.context import ServiceContext
from bot.services.outbox import enqueue


async def record_request(
    ctx: ServiceContext,
    account_id: str,
    requester: str,
    route: str,
    wanted: int | None,
    *,
    open_ticket: bool = False,
) -> None:
    """Leave a trace of every hand-off, so nobody's request depends on a chat message alone.

    With `open_ticket` the outbox also opens a ticket for it and tells the requester its
    reference (Sales requests: their team works from tickets).
    """
    async with ctx.sessions() as session, session.begin():
        audit.record(session, account_id, requester, f"request.{route}", wanted=wanted)
        if open_ticket:
            enqueue(
                session,
                "ticket.route",
                ctx.clock(),
                account_id=account_id,
                requester=requester,
                route=route,
                wanted=wanted,
                key=f"licensebot-{route}-{uuid.uuid4().hex}",
            )
