"""Linking a customer's Slack workspace to its account: codes, the link itself, unlinking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import (
    AccountAlreadyLinked,
    AccountLinkedElsewhere,
    LinkInputError,
    LinkTriesExhausted,
    NotAnAdminToLink,
    OnlyCsmsMakeCodes,
    VendorWorkspaceNotLinkable,
    WorkspaceAlreadyLinked,
    WrongLinkCode,
)
from bot.domain.linking import (
    DEFAULT_TTL_HOURS,
    WRONG_CODE_WINDOW,
    NotACode,
    code_hash,
    display_code,
    in_vendor_workspace,
    linked_notice,
    locked_until,
    new_code,
    normalise_code,
    ttl_problem,
)
from bot.domain.policy import is_admin, lists_emails
from bot.domain.pricing import iso
from bot.domain.removal import may_decide
from bot.integrations.slack_directory import Directory
from bot.models import Account, LinkCode, LinkFailure
from bot.services import audit
from bot.services.accounts import account_for_team, load_account
from bot.services.context import ServiceContext
from bot.services.outbox import NotifyCsmChannel, enqueue


@dataclass(frozen=True)
class IssuedCode:
    """A new link code; `code` is shown once, to whoever asked for it, and never stored."""

    account_id: str
    account_name: str
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkedWorkspace:
    account_id: str
    account_name: str
    team_id: str


# --- making a code ---------------------------------------------------------------------


async def issue_link_code(
    ctx: ServiceContext, account_id: str, created_by: str, ttl_hours: int = DEFAULT_TTL_HOURS
) -> IssuedCode:
    """A code for the vendor's command line, which is trusted with every account."""
    async with ctx.sessions() as session, session.begin():
        account = await load_account(session, account_id, lock=True)
        return await _issue(session, account, created_by, ttl_hours, ctx.clock())


async def issue_link_code_for_csm(
    ctx: ServiceContext, account_id: str, team_id: str, user_id: str
) -> IssuedCode:
    """A code a CSM asked for in Slack: only in the vendor's workspace, only by a CSM."""
    if not in_vendor_workspace(team_id, ctx.settings.vendor_team_id):
        # Refused before the account is looked up: a customer learns nothing of accounts.
        raise OnlyCsmsMakeCodes(in_vendor_workspace=False)
    async with ctx.sessions() as session, session.begin():
        account = await load_account(session, account_id, lock=True)
        # The CSMs who decide an account's removals: CSM_USER_IDS and the account's own.
        if not may_decide(user_id, ctx.settings.csm_user_id_set, account.csm_slack_user_id):
            raise OnlyCsmsMakeCodes(in_vendor_workspace=True)
        return await _issue(session, account, user_id, DEFAULT_TTL_HOURS, ctx.clock())


async def _issue(
    session: AsyncSession, account: Account, created_by: str, ttl_hours: int, now: datetime
) -> IssuedCode:
    problem = ttl_problem(ttl_hours)
    if problem:
        raise LinkInputError(problem)
    if account.slack_team_id is not None:
        # It could never be used; a move to another workspace starts with an unlink.
        raise AccountAlreadyLinked(account.id, account.slack_team_id)
    code = new_code()
    row = LinkCode(
        account_id=account.id,
        code_hash=code_hash(code),
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(hours=ttl_hours),
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        account.id,
        created_by,
        "link_code.created",
        link_code=row.id,
        expires_at=iso(row.expires_at),
    )
    return IssuedCode(account.id, account.name, display_code(code), row.expires_at)


# --- using a code ----------------------------------------------------------------------


async def link_workspace(
    ctx: ServiceContext,
    directory: Directory,
    team_id: str,
    user_id: str,
    typed: str,
    enterprise_id: str | None = None,
) -> LinkedWorkspace:
    """Link `team_id` to the account of the code an admin of that account typed there.

    `enterprise_id` is the workspace's Enterprise Grid org, if any: an org-wide install
    then serves it.

    Unknown, expired and used codes count against the workspace's tries; a valid code
    typed by someone who is not an admin does not count, and stays valid.
    """
    try:
        code = normalise_code(typed)
    except NotACode as exc:
        raise LinkInputError(str(exc)) from None
    if ctx.settings.vendor_team_id == team_id:
        raise VendorWorkspaceNotLinkable()
    hashed = code_hash(code)
    # Slack is asked for the email outside the transaction, and only when it can matter.
    email = await _email_if_needed(ctx, directory, hashed, team_id, user_id)
    try:
        linked = await _link_once(ctx, team_id, enterprise_id, user_id, email, hashed)
    except IntegrityError:
        # Another code linked this workspace at the same moment; that link stands.
        async with ctx.reading() as session, session.begin():
            winner = await account_for_team(session, team_id)
        if winner is None:
            raise
        raise WorkspaceAlreadyLinked(winner.name) from None
    ctx.recent.forget()
    return linked


async def _email_if_needed(
    ctx: ServiceContext, directory: Directory, hashed: str, team_id: str, user_id: str
) -> str | None:
    """The caller's email when the code is usable and its account lists admins by email."""
    async with ctx.reading() as session, session.begin():
        row = await session.scalar(select(LinkCode).where(LinkCode.code_hash == hashed))
        if row is None or _code_problem(row, ctx.clock()) is not None:
            return None
        account = await load_account(session, row.account_id)
        admins = [admin.identifier for admin in account.admins]
    if is_admin(admins, user_id) or not lists_emails(admins):
        return None
    return await directory.email_of(user_id, team_id)


async def _link_once(
    ctx: ServiceContext,
    team_id: str,
    enterprise_id: str | None,
    user_id: str,
    email: str | None,
    hashed: str,
) -> LinkedWorkspace:
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        earlier_wrong_tries = await _check_workspace_may_try(session, team_id, now)
        # Locked: of two tries with one code at once, the second sees it used.
        row = await session.scalar(
            select(LinkCode).where(LinkCode.code_hash == hashed).with_for_update()
        )
        problem = _code_problem(row, now)
        if problem is not None:
            wrong = await _count_wrong_try(session, team_id, earlier_wrong_tries, now, problem)
        else:
            assert row is not None  # a code without a problem exists
            account = await load_account(session, row.account_id, lock=True)
            _check_may_link(account, user_id, email)
            row.used_at = now
            row.used_by_team = team_id
            account.slack_team_id = team_id
            account.slack_enterprise_id = enterprise_id
            audit.record(
                session,
                account.id,
                user_id,
                "workspace.linked",
                team=team_id,
                email=email,
                link_code=row.id,
            )
            notice = linked_notice(account.name, account.id, team_id, user_id, email)
            enqueue(session, NotifyCsmChannel(text=notice), now)
            return LinkedWorkspace(account.id, account.name, team_id)
    # Raised once the wrong try is committed: it must count.
    raise wrong


async def _check_workspace_may_try(
    session: AsyncSession, team_id: str, now: datetime
) -> list[datetime]:
    """The workspace's wrong tries of the last hour; refused when they are used up."""
    wrong_tries = list(
        await session.scalars(
            select(LinkFailure.at).where(
                LinkFailure.team_id == team_id, LinkFailure.at > now - WRONG_CODE_WINDOW
            )
        )
    )
    until = locked_until(wrong_tries, now)
    if until is not None:
        raise LinkTriesExhausted(until)
    # Before the code is looked at: a linked workspace can't be used to try codes out.
    current = await account_for_team(session, team_id)
    if current is not None:
        raise WorkspaceAlreadyLinked(current.name)
    return wrong_tries


def _code_problem(row: LinkCode | None, now: datetime) -> str | None:
    if row is None:
        return "That link code isn't one we know"
    if row.used_at is not None:
        return "That link code was already used"
    if row.expires_at <= now:
        return "That link code has expired"
    return None


async def _count_wrong_try(
    session: AsyncSession,
    team_id: str,
    earlier_wrong_tries: list[datetime],
    now: datetime,
    problem: str,
) -> WrongLinkCode:
    # Tries older than the window no longer count: they need not be kept.
    await session.execute(
        delete(LinkFailure).where(
            LinkFailure.team_id == team_id, LinkFailure.at <= now - WRONG_CODE_WINDOW
        )
    )
    session.add(LinkFailure(team_id=team_id, at=now))
    return WrongLinkCode(problem, locked_until([*earlier_wrong_tries, now], now))


def _check_may_link(account: Account, user_id: str, email: str | None) -> None:
    admins = [admin.identifier for admin in account.admins]
    if not is_admin(admins, user_id, email):
        raise NotAnAdminToLink(account.name)
    if account.slack_team_id is not None:
        raise AccountLinkedElsewhere(account.name)


# --- unlinking -------------------------------------------------------------------------


async def unlink_account(ctx: ServiceContext, account_id: str, actor: str) -> str | None:
    """Forget the account's workspace; the workspace it had, or None if it had none.

    Codes made before and not used expire with it: linking again takes a new code.
    """
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        account = await load_account(session, account_id, lock=True)
        team_id = account.slack_team_id
        if team_id is None:
            return None
        account.slack_team_id = None
        account.slack_enterprise_id = None
        await session.execute(
            update(LinkCode)
            .where(
                LinkCode.account_id == account.id,
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .values(expires_at=now)
        )
        audit.record(session, account.id, actor, "workspace.unlinked", team=team_id)
    ctx.recent.forget()
    return team_id
