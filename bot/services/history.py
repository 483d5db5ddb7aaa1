"""An account's history: its orders, removal requests and requests for more licenses,
newest first, for people to read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.models import RemovalRequest
from bot.readmodels import AddRequestView, History, Receipt, RemovalView
from bot.services.accounts import recent_account
from bot.services.context import ServiceContext
from bot.services.orders import newest_orders, receipt_of
from bot.services.removals import removal_view
from bot.services.requests import add_request_view, newest_add_requests

# A modal holds 100 blocks: a heading, then one per entry with room to spare.
HISTORY_LIMIT = 40


Entry = Receipt | RemovalView | AddRequestView


def _when(entry: Entry) -> datetime:
    return entry.placed_at if isinstance(entry, Receipt) else entry.created_at


async def account_history(
    ctx: ServiceContext, account_id: str, limit: int = HISTORY_LIMIT
) -> History:
    account = await recent_account(ctx, account_id=account_id)
    assert account is not None
    async with ctx.reading() as session, session.begin():
        orders = await session.scalars(newest_orders(account_id).limit(limit + 1))
        receipts: list[Entry] = [receipt_of(order) for order in orders]
        rows = await session.scalars(
            select(RemovalRequest)
            .where(RemovalRequest.account_id == account_id)
            .order_by(RemovalRequest.created_at.desc(), RemovalRequest.id.desc())
            .limit(limit + 1)
        )
        removals: list[Entry] = [removal_view(row, account) for row in rows]
        asked = await session.scalars(newest_add_requests(account_id, limit + 1))
        requests: list[Entry] = [add_request_view(row, account) for row in asked]
    entries = sorted(receipts + removals + requests, key=_when, reverse=True)
    return History(account.name, entries[:limit], more=len(entries) > limit)
