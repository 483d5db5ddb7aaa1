"""An account's activity as admins read it: App Home's last orders, removal requests and
requests for more licenses, and the longer history, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.models import RemovalRequest
from bot.readmodels import (
    HISTORY_LIMIT,
    RECENT_ADD_REQUESTS,
    RECENT_ORDERS,
    RECENT_REMOVALS,
    AddRequestView,
    History,
    Receipt,
    RemovalView,
)
from bot.services.accounts import recent_account
from bot.services.context import ServiceContext
from bot.services.orders import newest_orders, receipt_of
from bot.services.removals import removal_view
from bot.services.requests import add_request_view, newest_add_requests

Activity = tuple[list[Receipt], list[RemovalView], list[AddRequestView]]


async def _newest(
    ctx: ServiceContext, account_id: str, orders: int, removals: int, requests: int
) -> tuple[str, Activity]:
    """The account's name and its newest orders, removal requests and requests for more
    licenses (at most that many of each), in one read."""
    account = await recent_account(ctx, account_id=account_id)
    assert account is not None
    async with ctx.reading() as session, session.begin():
        ordered = await session.scalars(newest_orders(account_id).limit(orders))
        removing = await session.scalars(
            select(RemovalRequest)
            .where(RemovalRequest.account_id == account_id)
            .order_by(RemovalRequest.id.desc())
            .limit(removals)
        )
        asked = await session.scalars(newest_add_requests(account_id, requests))
        return account.name, (
            [receipt_of(order) for order in ordered],
            [removal_view(row, account) for row in removing],
            [add_request_view(row, account) for row in asked],
        )


async def home_lists(ctx: ServiceContext, account_id: str) -> Activity:
    """Every list in one read: App Home is drawn after every order."""
    _, lists = await _newest(ctx, account_id, RECENT_ORDERS, RECENT_REMOVALS, RECENT_ADD_REQUESTS)
    return lists


def _when(entry: Receipt | RemovalView | AddRequestView) -> datetime:
    return entry.placed_at if isinstance(entry, Receipt) else entry.created_at


async def account_history(
    ctx: ServiceContext, account_id: str, limit: int = HISTORY_LIMIT, offset: int = 0
) -> History:
    """Everything together, newest first: the page after the `offset` newest entries.

    The newest `offset + limit + 1` of each kind hold every entry of the page, and one
    more tells whether there is an older page."""
    wanted = offset + limit + 1
    name, (receipts, removals, requests) = await _newest(ctx, account_id, wanted, wanted, wanted)
    together: list[Receipt | RemovalView | AddRequestView] = [*receipts, *removals, *requests]
    entries = sorted(together, key=_when, reverse=True)
    page = entries[offset : offset + limit]
    return History(name, page, more=len(entries) > offset + limit, offset=offset)
