"""Routed requests: an admin asked their CSM, Sales or an admin for licenses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bot.domain.policy import Route
from bot.services import audit
from bot.services.context import ServiceContext
from bot.services.outbox import OpenRouteTicket, PostCsmRequest, SendDm, enqueue


async def record_request(
    ctx: ServiceContext,
    account_id: str,
    requester: str,
    team_id: str,
    route: str,
    wanted: int | None,
    messages: Sequence[SendDm] = (),
    *,
    ask: str | None = None,
) -> None:
    """Leave a trace of every hand-off, so nobody's request depends on a chat message alone.

    A request to the CSM is posted for them through the outbox; one to Sales opens a
    ticket and tells the requester its reference (their team works from tickets).
    `messages` (to admins, for a member's request) go out with the record. `team_id` is
    the requester's workspace. `ask` is what a member asked the admins to do (add,
    remove, manage), `wanted` then its number.
    """
    detail = {"wanted": wanted} if ask is None else {"ask": ask, "wanted": wanted}
    async with ctx.sessions() as session, session.begin():
        audit.record(session, account_id, requester, f"request.{route}", **detail)
        now = ctx.clock()
        for message in messages:
            enqueue(session, message, now)
        if route == Route.CSM:
            enqueue(
                session,
                PostCsmRequest(account_id=account_id, requester=requester, wanted=wanted),
                now,
            )
        elif route == Route.SALES:
            ticket = OpenRouteTicket(
                team_id=team_id,
                account_id=account_id,
                requester=requester,
                wanted=wanted,
                route=route,
                key=f"licensebot-{route}-{uuid.uuid4().hex}",
            )
            enqueue(session, ticket, now)
