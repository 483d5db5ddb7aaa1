"""Routed requests: an admin asked their CSM or Sales for licenses, or a member the admins.

A request to the CSM or Sales is recorded with what was asked, the quote it would have
cost when asked (computed here, from the account, never from what Slack sent back) and
one reference (LR-00001), which the requester, the CSM or Sales and App Home all show.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.periods import BillingPeriod
from bot.domain.plans import BillingInterval, plan_for
from bot.domain.policy import Route, requested_count
from bot.domain.pricing import Quote, build_quote
from bot.domain.removal import LicensePrice
from bot.models import Account, AddRequest, add_numbered
from bot.readmodels import AddRequestView, AdminIdentity
from bot.services import audit
from bot.services.accounts import load_account, lock_for_admin, terms_of
from bot.services.context import ServiceContext
from bot.services.outbox import (
    NotifyAddRequester,
    OpenRouteTicket,
    PostCsmRequest,
    PublishHome,
    SendDm,
    enqueue,
)

REFERENCE_PREFIX = "LR"


async def record_request(
    ctx: ServiceContext,
    account_id: str,
    requester: str,
    ask: str,
    wanted: int | None,
    messages: Sequence[SendDm] = (),
) -> None:
    """A member asked the admins `ask` (add, remove, manage) `wanted` licenses: on record,
    with the `messages` to the admins, so nobody's request depends on a chat message alone."""
    async with ctx.sessions() as session, session.begin():
        audit.record(session, account_id, requester, "request.admins", ask=ask, wanted=wanted)
        now = ctx.clock()
        for message in messages:
            enqueue(session, message, now)


async def request_licenses(
    ctx: ServiceContext,
    account_id: str,
    requester: AdminIdentity,
    team_id: str,
    route: Route,
    wanted: object,
    *,
    key: str | None = None,
) -> AddRequestView:
    """*Ask my CSM* / *Contact Sales*: an admin's request for `wanted` more licenses.

    Recorded with its quote and reference, then carried out through the outbox: to the
    CSM, a post addressed to them and a DM to the requester; to Sales, a ticket whose
    reference reaches the requester by DM. `key` (the click) makes a replay the same
    request. `team_id` is the requester's workspace.
    """
    async with ctx.sessions() as session, session.begin():
        account = await lock_for_admin(session, account_id, requester)
        return await _record(ctx, session, account, requester.user_id, team_id, route, wanted, key)


async def record_queued_request(
    ctx: ServiceContext,
    account_id: str,
    requester: str,
    team_id: str | None,
    route: Route,
    wanted: int | None,
    key: str,
) -> AddRequestView:
    """A request queued before requests had a reference: recorded when its outbox entry
    runs (`key` names the entry), then carried out as a new one is. Its admin was checked
    when it was queued."""
    async with ctx.sessions() as session, session.begin():
        account = await load_account(session, account_id)
        return await _record(ctx, session, account, requester, team_id, route, wanted, key)


async def _record(
    ctx: ServiceContext,
    session: AsyncSession,
    account: Account,
    requester: str,
    team_id: str | None,
    route: Route,
    wanted: object,
    key: str | None,
) -> AddRequestView:
    if key is not None:
        first = await session.scalar(select(AddRequest).where(AddRequest.idempotency_key == key))
        if first is not None:
            return add_request_view(first, account)
    now = ctx.clock()
    terms = terms_of(account)
    count = requested_count(wanted)
    period = terms.period_at(now)
    quote = build_quote(terms, count, now) if count is not None else None
    team_id = team_id or account.slack_team_id
    row = AddRequest(
        idempotency_key=key,
        account_id=account.id,
        requested_by=requester,
        team_id=team_id,
        route=route.value,
        wanted=count,
        licenses_at_request=terms.licenses,
        currency=terms.currency,
        unit_price_minor=terms.unit_price_minor,
        billing_interval=terms.interval.value,
        period_start=period.start,
        period_end=period.end,
        due_today_minor=quote.due_today_minor if quote else None,
        next_cycle_minor=quote.next_cycle_minor if quote else None,
        created_at=now,
    )
    await add_numbered(session, row, REFERENCE_PREFIX)
    audit.record(
        session,
        account.id,
        requester,
        f"request.{route.value}",
        request=row.reference,
        wanted=count,
        due_today_minor=row.due_today_minor,
        next_cycle_minor=row.next_cycle_minor,
        currency=row.currency,
    )
    if route is Route.SALES:
        # Sales works from tickets: the DM follows the ticket, with both references.
        ticket = OpenRouteTicket(
            team_id=team_id,
            account_id=account.id,
            requester=requester,
            wanted=count,
            route=route.value,
            key=f"licensebot-{row.reference}",
            request_id=row.id,
        )
        enqueue(session, ticket, now)
    else:
        post = PostCsmRequest(
            account_id=account.id, requester=requester, wanted=count, request_id=row.id
        )
        enqueue(session, post, now)
        enqueue(session, NotifyAddRequester(team_id=team_id, request_id=row.id), now)
    if team_id:
        enqueue(session, PublishHome(team_id=team_id, user_id=requester), now)
    return add_request_view(row, account)


def add_request_view(row: AddRequest, account: Account) -> AddRequestView:
    price = LicensePrice(row.currency, row.unit_price_minor, BillingInterval(row.billing_interval))
    quote = None
    due, following = row.due_today_minor, row.next_cycle_minor
    if row.wanted is not None and due is not None and following is not None:
        quote = Quote(
            account_id=account.id,
            current_licenses=row.licenses_at_request,
            added=row.wanted,
            currency=row.currency,
            unit_price_minor=row.unit_price_minor,
            due_today_minor=due,
            next_cycle_minor=following,
            period=BillingPeriod(row.period_start, row.period_end),
            quoted_at=row.created_at,
        )
    return AddRequestView(
        id=row.id,
        reference=row.reference,
        account_id=account.id,
        account_name=account.name,
        plan_name=plan_for(account.plan).display_name,
        requested_by=row.requested_by,
        team_id=row.team_id,
        route=Route(row.route),
        wanted=row.wanted,
        licenses_at_request=row.licenses_at_request,
        price=price,
        quote=quote,
        csm_name=account.csm_name,
        csm_email=account.csm_email,
        csm_user_id=account.csm_slack_user_id,
        ticket_reference=row.ticket_reference,
        ticket_url=row.ticket_url,
        created_at=row.created_at,
    )


def newest_add_requests(account_id: str, limit: int) -> Select[tuple[AddRequest]]:
    return (
        select(AddRequest)
        .where(AddRequest.account_id == account_id)
        .order_by(AddRequest.id.desc())
        .limit(limit)
    )


async def get_add_request(ctx: ServiceContext, request_id: int) -> AddRequestView:
    async with ctx.reading() as session, session.begin():
        row = await session.get(AddRequest, request_id)
        if row is None:
            raise LookupError(f"no add request {request_id}")
        account = await load_account(session, row.account_id)
        return add_request_view(row, account)


async def record_add_request_ticket(
    ctx: ServiceContext, request_id: int, reference: str, url: str | None
) -> AddRequestView:
    """Sales' ticket for a request, kept with it (App Home shows it beside the reference)."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(AddRequest, request_id)
        if row is None:
            raise LookupError(f"no add request {request_id}")
        account = await load_account(session, row.account_id)
        if row.ticket_reference is None:
            row.ticket_reference, row.ticket_url = reference, url
            audit.record(
                session,
                account.id,
                "licensebot",
                "request.ticket",
                request=row.reference,
                ticket=reference,
            )
            if row.team_id:
                home = PublishHome(team_id=row.team_id, user_id=row.requested_by)
                enqueue(session, home, ctx.clock())
        return add_request_view(row, account)
