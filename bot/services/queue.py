"""The CSM queue: removal requests and requests for more licenses waiting for a CSM's
decision, oldest first."""

from __future__ import annotations

from sqlalchemy import exists, select

from bot.domain.linking import in_vendor_workspace
from bot.domain.removal import RemovalStatus
from bot.models import Account, RemovalRequest
from bot.readmodels import AddRequestView, CsmQueue, RemovalView
from bot.services.context import ServiceContext
from bot.services.removals import removal_view
from bot.services.requests import add_request_view, pending_csm_requests

# A modal holds 100 blocks; each request takes two.
QUEUE_LIMIT = 25


async def is_csm(ctx: ServiceContext, team_id: str, user_id: str) -> bool:
    """Someone who decides requests: in CSM_USER_IDS or some account's CSM, in the vendor's
    workspace (everywhere when none is configured)."""
    if not in_vendor_workspace(team_id, ctx.settings.vendor_team_id):
        return False
    if user_id in ctx.settings.csm_user_id_set:
        return True
    async with ctx.reading() as session, session.begin():
        found = await session.scalar(select(exists().where(Account.csm_slack_user_id == user_id)))
    return bool(found)


async def csm_queue(ctx: ServiceContext, user_id: str, limit: int = QUEUE_LIMIT) -> CsmQueue:
    """What `user_id` may decide: every account's requests for CSM_USER_IDS, else those of
    the accounts they are the CSM of."""
    everyone = user_id in ctx.settings.csm_user_id_set
    removals = (
        select(RemovalRequest, Account)
        .join(Account, Account.id == RemovalRequest.account_id)
        .where(RemovalRequest.status == RemovalStatus.PENDING.value)
        .order_by(RemovalRequest.created_at, RemovalRequest.id)
        .limit(limit + 1)
    )
    if not everyone:
        removals = removals.where(Account.csm_slack_user_id == user_id)
    additions = pending_csm_requests(limit + 1, None if everyone else user_id)
    async with ctx.reading() as session, session.begin():
        views: list[RemovalView | AddRequestView] = [
            removal_view(request, account)
            for request, account in (await session.execute(removals)).all()
        ]
        views += [
            add_request_view(request, account)
            for request, account in (await session.execute(additions)).all()
        ]
    views.sort(key=lambda view: view.created_at)
    return CsmQueue(views[:limit], more=len(views) > limit, now=ctx.clock())
