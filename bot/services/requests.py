"""Routed requests: an admin asked their CSM, Sales or an admin for licenses."""

from __future__ import annotations

from bot.services import audit
from bot.services.context import ServiceContext


async def record_request(
    ctx: ServiceContext, account_id: str, requester: str, route: str, wanted: int | None
) -> None:
    """Leave a trace of every hand-off, so nobody's request depends on a chat message alone."""
    async with ctx.sessions() as session, session.begin():
        audit.record(session, account_id, requester, f"request.{route}", wanted=wanted)
