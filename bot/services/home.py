"""What an admin's App Home lists: the account's last orders, removal requests and
requests for more licenses to the CSM or Sales."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import RemovalRequest
from bot.readmodels import (
    RECENT_ADD_REQUESTS,
    RECENT_ORDERS,
    RECENT_REMOVALS,
    AddRequestView,
    Receipt,
    RemovalView,
)
from bot.services.accounts import recent_account
from bot.services.context import ServiceContext
from bot.services.orders import newest_orders, receipt_of
from bot.services.removals import removal_view
from bot.services.requests import add_request_view, newest_add_requests


async def home_lists(
    ctx: ServiceContext, account_id: str
) -> tuple[list[Receipt], list[RemovalView], list[AddRequestView]]:
    """Every list in one read: App Home is drawn after every order."""
    account = await recent_account(ctx, account_id=account_id)
    assert account is not None
    async with ctx.reading() as session, session.begin():
        orders = await session.scalars(newest_orders(account_id).limit(RECENT_ORDERS))
        receipts = [receipt_of(order) for order in orders]
        removals = await session.scalars(
            select(RemovalRequest)
            .where(RemovalRequest.account_id == account_id)
            .order_by(RemovalRequest.id.desc())
            .limit(RECENT_REMOVALS)
        )
        removal_views = [removal_view(row, account) for row in removals]
        requests = await session.scalars(newest_add_requests(account_id, RECENT_ADD_REQUESTS))
        return receipts, removal_views, [add_request_view(row, account) for row in requests]
