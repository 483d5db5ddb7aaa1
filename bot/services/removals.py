"""Removal requests: ask, decide (approve or deny, one path), apply on schedule, remind."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import (
    DecidedInVendorWorkspace,
    InvalidRemoval,
    NotACsm,
    RemovalNotFound,
)
from bot.domain.linking import in_vendor_workspace
from bot.domain.plans import plan_for
from bot.domain.policy import licenses_after_removal
from bot.domain.pricing import iso
from bot.domain.removal import (
    LicensePrice,
    RemovalStatus,
    Timing,
    Verdict,
    check_decision_note,
    check_reason,
    check_request,
    may_decide,
    requested_effective_at,
)
from bot.models import Account, RemovalRequest, add_numbered
from bot.readmodels import (
    AdminIdentity,
    DecisionOutcome,
    RemovalView,
    SlackUser,
)
from bot.services import audit
from bot.services.accounts import (
    contacts_of,
    load_account,
    lock_for_admin,
    terms_of,
)
from bot.services.context import ServiceContext
from bot.services.outbox import (
    CreateRemovalTicket,
    NotifyRequester,
    PostRemoval,
    RefreshRemoval,
    RefreshRequesterHome,
    ReplyApplied,
    ReplyDecision,
    RequesterStage,
    ResolveRemovalTicket,
    SyncSubscription,
    enqueue,
)

log = logging.getLogger(__name__)

OPEN_STATUSES = (RemovalStatus.PENDING.value, RemovalStatus.APPROVED.value)


def removal_view(row: RemovalRequest, account: Account) -> RemovalView:
    return RemovalView(
        id=row.id,
        reference=row.reference,
        account_id=account.id,
        account_name=account.name,
        plan_name=plan_for(account.plan).display_name,
        team_id=account.slack_team_id,
        csm_user_id=account.csm_slack_user_id,
        requested_by=row.requested_by,
        licenses_at_request=row.licenses_at_request,
        remove_count=row.remove_count,
        reason=row.reason,
        timing=Timing(row.timing),
        requested_effective_at=row.requested_effective_at,
        status=RemovalStatus(row.status),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        effective_at=row.effective_at,
        applied_at=row.applied_at,
        ticket_reference=row.ticket_reference,
        ticket_url=row.ticket_url,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        created_at=row.created_at,
        applied_licenses=row.licenses_after,
        decision_key=row.decision_key,
        licenses_now=account.licenses,
        price=LicensePrice.of(terms_of(account)),
    )


async def _open_removals(session: AsyncSession, account_id: str) -> list[int]:
    rows = await session.scalars(
        select(RemovalRequest.remove_count).where(
            RemovalRequest.account_id == account_id, RemovalRequest.status.in_(OPEN_STATUSES)
        )
    )
    return list(rows)


async def load_removal(
    session: AsyncSession, request_id: int, *, lock: bool = False
) -> RemovalView:
    query = select(RemovalRequest).where(RemovalRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise RemovalNotFound(request_id)
    account = await load_account(session, row.account_id)
    return removal_view(row, account)


async def get_removal(ctx: ServiceContext, request_id: int) -> RemovalView:
    async with ctx.reading() as session, session.begin():
        return await load_removal(session, request_id)


def check_decider(
    ctx: ServiceContext, decider: SlackUser, csm_user_id: str | None, what: str = "removal requests"
) -> None:
    """Only a CSM decides (CSM_USER_IDS, or the account's CSM `csm_user_id`), and only from
    the vendor's workspace, whatever a button says."""
    if not in_vendor_workspace(decider.team_id, ctx.settings.vendor_team_id):
        raise DecidedInVendorWorkspace(what)
    if not may_decide(decider.user_id, ctx.settings.csm_user_id_set, csm_user_id):
        raise NotACsm(what)


async def open_decision(ctx: ServiceContext, request_id: int, decider: SlackUser) -> RemovalView:
    """The request a CSM is about to decide; refused for anyone who may not decide it."""
    view = await get_removal(ctx, request_id)
    check_decider(ctx, decider, view.csm_user_id)
    return view


async def request_removal(
    ctx: ServiceContext,
    account_id: str,
    requester: AdminIdentity,
    count: int,
    reason: str,
    timing: Timing,
    requester_name: str | None = None,
    idempotency_key: str | None = None,
) -> RemovalView:
    """A new request, or, for a key already used, the request it made (nothing new is sent)."""
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        # Locked so two requests at once can't together remove every license, and a
        # replay of one waits here until the first is recorded.
        account = await lock_for_admin(session, account_id, requester)
        if idempotency_key is not None:
            first = await session.scalar(
                select(RemovalRequest).where(RemovalRequest.idempotency_key == idempotency_key)
            )
            if first is not None:
                return removal_view(first, account)
        terms = terms_of(account)
        decision = check_request(
            terms,
            count,
            await _open_removals(session, account_id),
            contacts_of(account, ctx.settings),
        )
        if decision.is_input_error:
            raise InvalidRemoval("count", decision.reason)
        problem = check_reason(reason)
        if problem:
            raise InvalidRemoval("reason", problem)
        row = RemovalRequest(
            idempotency_key=idempotency_key,
            account_id=account.id,
            requested_by=requester.user_id,
            requester_name=requester_name,
            requester_email=requester.email,
            licenses_at_request=account.licenses,
            remove_count=count,
            reason=reason.strip(),
            timing=timing.value,
            requested_effective_at=requested_effective_at(terms, timing, now),
            status=RemovalStatus.PENDING.value,
            reminders_sent=0,
            created_at=now,
        )
        await add_numbered(session, row, "RR")
        audit.record(
            session,
            account.id,
            requester.user_id,
            "removal.requested",
            request=row.reference,
            remove=count,
            licenses=account.licenses,
            timing=timing.value,
            reason=row.reason,
        )
        # Ticket first, so the channel post usually carries its reference already.
        enqueue(session, CreateRemovalTicket(request_id=row.id), now)
        enqueue(session, PostRemoval(request_id=row.id), now)
        received = NotifyRequester(
            team_id=account.slack_team_id, request_id=row.id, stage=RequesterStage.RECEIVED
        )
        enqueue(session, received, now)
        return removal_view(row, account)


async def decide_removal(
    ctx: ServiceContext,
    request_id: int,
    decider: SlackUser,
    verdict: Verdict,
    *,
    note: str | None = None,
    effective_at: datetime | None = None,
    decision_key: str | None = None,
) -> DecisionOutcome:
    """Approve or deny: one atomic transition out of pending, whoever clicks first wins."""
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        current = await load_removal(session, request_id)
        check_decider(ctx, decider, current.csm_user_id)
        problem = check_decision_note(verdict, note)
        if problem:
            raise InvalidRemoval("note", problem)
        values: dict[str, object] = {
            "status": verdict.status.value,
            "decided_by": decider.user_id,
            "decided_at": now,
            "decision_note": (note or "").strip() or None,
            "decision_key": decision_key,
        }
        if verdict is Verdict.APPROVE:
            values["effective_at"] = effective_at or current.requested_effective_at
        result = await session.execute(
            update(RemovalRequest)
            .where(
                RemovalRequest.id == request_id,
                RemovalRequest.status == RemovalStatus.PENDING.value,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        won = result.rowcount == 1  # type: ignore[attr-defined]
        if won:
            audit.record(
                session,
                current.account_id,
                decider.user_id,
                f"removal.{verdict.status.value}",
                request=current.reference,
                remove=current.remove_count,
                note=values["decision_note"],
                effective_at=iso(values["effective_at"]) if verdict is Verdict.APPROVE else None,  # type: ignore[arg-type]
            )
            for effect in (
                RefreshRemoval(request_id=request_id),
                ReplyDecision(request_id=request_id),
                NotifyRequester(
                    team_id=current.team_id, request_id=request_id, stage=RequesterStage.DECIDED
                ),
                ResolveRemovalTicket(request_id=request_id),
            ):
                enqueue(session, effect, now)
    # Read after the commit: a loser may have read the request while it was still pending
    # (PostgreSQL re-checks the WHERE once the winner commits) and must learn who won.
    return DecisionOutcome(won, await get_removal(ctx, request_id))


async def apply_due_removals(ctx: ServiceContext) -> list[RemovalView]:
    """Approved removals whose date has come: the license count drops, once."""
    now = ctx.clock()
    applied: list[RemovalView] = []
    async with ctx.sessions() as session, session.begin():
        due = list(
            await session.scalars(
                select(RemovalRequest)
                .where(
                    RemovalRequest.status == RemovalStatus.APPROVED.value,
                    RemovalRequest.effective_at <= now,
                )
                .order_by(RemovalRequest.effective_at, RemovalRequest.id)
                .with_for_update(skip_locked=True)
            )
        )
        for row in due:
            account = await load_account(session, row.account_id, lock=True)
            before = account.licenses
            # Never below the minimum, whatever happened since the request.
            account.licenses = licenses_after_removal(before, row.remove_count)
            row.status = RemovalStatus.APPLIED.value
            row.applied_at = now
            row.licenses_after = account.licenses
            audit.record(
                session,
                account.id,
                "scheduler",
                "removal.applied",
                request=row.reference,
                licenses_before=before,
                licenses_after=account.licenses,
            )
            for effect in (
                RefreshRemoval(request_id=row.id),
                ReplyApplied(request_id=row.id),
                NotifyRequester(
                    team_id=account.slack_team_id, request_id=row.id, stage=RequesterStage.APPLIED
                ),
                RefreshRequesterHome(team_id=account.slack_team_id, request_id=row.id),
            ):
                enqueue(session, effect, now)
            if ctx.billing.needs_customer and account.stripe_subscription:
                # The next invoice bills the lower count; nothing is refunded for this one.
                enqueue(session, SyncSubscription(account_id=account.id), now)
            applied.append(removal_view(row, account))
    ctx.recent.forget()
    return applied


async def record_ticket(
    ctx: ServiceContext, request_id: int, reference: str, url: str | None
) -> RemovalView:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(RemovalRequest, request_id, with_for_update=True)
        if row is None:
            raise RemovalNotFound(request_id)
        row.ticket_reference, row.ticket_url = reference, url
        audit.record(
            session,
            row.account_id,
            "tickets",
            "removal.ticket",
            request=row.reference,
            ticket=reference,
        )
        if row.message_ts:
            enqueue(session, RefreshRemoval(request_id=request_id), ctx.clock())
        account = await load_account(session, row.account_id)
        return removal_view(row, account)


async def record_message(ctx: ServiceContext, request_id: int, channel_id: str, ts: str) -> None:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(RemovalRequest, request_id, with_for_update=True)
        if row is None:
            return
        row.channel_id, row.message_ts = channel_id, ts
        # A ticket recorded while the post was on its way would otherwise never show.
        if row.ticket_reference:
            enqueue(session, RefreshRemoval(request_id=request_id), ctx.clock())


async def requester_contact(ctx: ServiceContext, request_id: int) -> tuple[str | None, str | None]:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(RemovalRequest, request_id)
        if row is None:
            raise RemovalNotFound(request_id)
        return row.requester_name, row.requester_email


async def record_requester(
    ctx: ServiceContext, request_id: int, name: str | None, email: str | None
) -> None:
    """Who asked, as Slack's directory knows them: the ticket's requester."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(RemovalRequest, request_id, with_for_update=True)
        if row is None:
            raise RemovalNotFound(request_id)
        row.requester_name = name or row.requester_name
        row.requester_email = email or row.requester_email
