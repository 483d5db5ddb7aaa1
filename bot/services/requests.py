"""Routed requests: an admin asked their CSM or Sales for licenses, or a member the admins.

A request to the CSM or Sales is recorded with what was asked, the quote it would have
cost when asked (computed here, from the account, never from what Slack sent back) and
one reference (LR-00001), which the requester, the CSM or Sales and App Home all show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import (
    AccountNotFound,
    AddRequestNotFound,
    RequestAlreadyDecided,
    ServiceError,
)
from bot.domain.periods import BillingPeriod
from bot.domain.plans import BillingInterval, plan_for
from bot.domain.policy import RequestStatus, Route, requested_count
from bot.domain.pricing import Quote, build_quote
from bot.domain.removal import MAX_REASON_LENGTH, LicensePrice
from bot.models import Account, AddRequest, add_numbered
from bot.readmodels import AddRequestView, AdminIdentity, SlackUser
from bot.services import audit
from bot.services.accounts import load_account, lock_for_admin, recent_account, terms_of
from bot.services.context import ServiceContext
from bot.services.outbox import (
    NotifyAddRequester,
    OpenRouteTicket,
    PostCsmRequest,
    PublishHome,
    RefreshAddRequest,
    SendDm,
    enqueue,
)
from bot.services.removals import check_decider

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
        status=RequestStatus.PENDING.value,
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
        licenses_now=account.licenses,
        status=RequestStatus(row.status),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        order_reference=row.order_reference,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
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


# --- a CSM's decision --------------------------------------------------------------------

WHAT_IS_DECIDED = "requests for more licenses"
DENIAL_NEEDS_A_REASON = "Say why it is denied: the admin reads it."


@dataclass(frozen=True)
class Approval:
    """A CSM approving request `request_id`: its order is placed for the requester."""

    request_id: int
    decider: str
    note: str | None = None


async def open_add_decision(
    ctx: ServiceContext, request_id: int, decider: SlackUser
) -> AddRequestView:
    """The request a CSM is about to decide; refused for anyone who may not decide it."""
    view = await get_add_request(ctx, request_id)
    check_decider(ctx, decider, view.csm_user_id, WHAT_IS_DECIDED)
    if view.route is not Route.CSM:
        raise AddRequestNotFound(request_id)
    return view


async def _pending_request(session: AsyncSession, request_id: int, account_id: str) -> AddRequest:
    """The request, locked, while it still waits for a decision; else who decided it."""
    row = await session.scalar(
        select(AddRequest).where(AddRequest.id == request_id).with_for_update()
    )
    if row is None or row.account_id != account_id or row.route != Route.CSM.value:
        raise AddRequestNotFound(request_id)
    if row.status != RequestStatus.PENDING.value:
        raise RequestAlreadyDecided(row.reference, row.status, row.decided_by)
    return row


def _decided(
    session: AsyncSession,
    row: AddRequest,
    account_id: str,
    decider: str,
    now: datetime,
    added: int | None = None,
) -> None:
    """What every decision is followed by: the CSM's post redrawn, the requester told by
    DM, their App Home redrawn; all in the decision's transaction."""
    audit.record(
        session,
        account_id,
        decider,
        f"request.{row.status}",
        request=row.reference,
        wanted=row.wanted,
        added=added,
        order=row.order_reference,
        note=row.decision_note,
    )
    enqueue(session, RefreshAddRequest(request_id=row.id), now)
    enqueue(session, NotifyAddRequester(team_id=row.team_id, request_id=row.id, decided=True), now)
    if row.team_id:
        enqueue(session, PublishHome(team_id=row.team_id, user_id=row.requested_by), now)


async def approve_in(
    session: AsyncSession,
    approval: Approval,
    account: Account,
    order_reference: str,
    added: int,
    now: datetime,
) -> None:
    """In the order's transaction, under the account's lock: the request is approved with
    the order it placed, once (a second approval finds it decided and places nothing)."""
    row = await _pending_request(session, approval.request_id, account.id)
    row.status = RequestStatus.APPROVED.value
    row.decided_by = approval.decider
    row.decided_at = now
    row.decision_note = (approval.note or "").strip() or None
    row.order_reference = order_reference
    _decided(session, row, account.id, approval.decider, now, added)


async def _request_of_order(session: AsyncSession, order_reference: str) -> AddRequest | None:
    row: AddRequest | None = await session.scalar(
        select(AddRequest).where(AddRequest.order_reference == order_reference).with_for_update()
    )
    return row


async def reopen_after_decline(session: AsyncSession, order_reference: str, now: datetime) -> None:
    """An approved request whose order's payment was declined waits for a CSM again: no
    licenses were added, and the admin was told why.

    It keeps the order's reference (and who approved it) until another approval replaces
    them: should the provider report the charge as paid after all, the request is approved
    by that order again, and no second approval can charge for it twice."""
    row = await _request_of_order(session, order_reference)
    if row is None or row.status != RequestStatus.APPROVED.value:
        return
    row.status = RequestStatus.PENDING.value
    audit.record(
        session,
        row.account_id,
        "licensebot",
        "request.reopened",
        request=row.reference,
        order=order_reference,
    )
    enqueue(session, RefreshAddRequest(request_id=row.id), now)


async def approve_after_late_payment(
    session: AsyncSession, order_reference: str, now: datetime
) -> None:
    """A declined order the provider reports as paid after all: the request it was placed
    for, reopened by the decline, is approved by it again (the licenses were given)."""
    row = await _request_of_order(session, order_reference)
    if row is None or row.status != RequestStatus.PENDING.value:
        return
    row.status = RequestStatus.APPROVED.value
    _decided(session, row, row.account_id, row.decided_by or "licensebot", now)


async def deny_add_request(
    ctx: ServiceContext, request_id: int, decider: SlackUser, reason: str
) -> AddRequestView:
    """Deny: the requester hears why. A request decided meanwhile stays as it was."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(DENIAL_NEEDS_A_REASON)
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        current = await session.get(AddRequest, request_id)
        if current is None:
            raise AddRequestNotFound(request_id)
        account = await load_account(session, current.account_id, lock=True)
        check_decider(ctx, decider, account.csm_slack_user_id, WHAT_IS_DECIDED)
        row = await _pending_request(session, request_id, account.id)
        row.status = RequestStatus.DENIED.value
        row.decided_by = decider.user_id
        row.decided_at = now
        row.decision_note = reason[:MAX_REASON_LENGTH]
        _decided(session, row, account.id, decider.user_id, now)
        return add_request_view(row, account)


async def record_add_message(
    ctx: ServiceContext, request_id: int, channel_id: str, ts: str
) -> None:
    """Where the CSM's post of a request is, so its decision can redraw it."""
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(AddRequest)
            .where(AddRequest.id == request_id)
            .values(channel_id=channel_id, message_ts=ts)
        )


def pending_csm_requests(limit: int, csm_user_id: str | None) -> Select[tuple[AddRequest, Account]]:
    """Requests waiting for a CSM, oldest first: all of them, or those of `csm_user_id`'s
    accounts."""
    query = (
        select(AddRequest, Account)
        .join(Account, Account.id == AddRequest.account_id)
        .where(
            AddRequest.status == RequestStatus.PENDING.value,
            AddRequest.route == Route.CSM.value,
        )
        .order_by(AddRequest.created_at, AddRequest.id)
        .limit(limit)
    )
    if csm_user_id is not None:
        query = query.where(Account.csm_slack_user_id == csm_user_id)
    return query


async def approval_quote(ctx: ServiceContext, account_id: str, count: int) -> Quote:
    """The price of approving `count` licenses now, as the CSM's modal shows it (the order
    checks it again under the account's lock)."""
    account = await recent_account(ctx, account_id=account_id)
    if account is None:
        raise AccountNotFound(account_id)
    return build_quote(terms_of(account), count, ctx.clock())
