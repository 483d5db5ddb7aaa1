"""Who is asking: which account a workspace belongs to and whether the user administers it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.policy import is_admin, lists_emails
from bot.integrations.slack_directory import Directory
from bot.services.accounts import AccountOverview, AdminIdentity, overview_of, recent_account
from bot.services.context import ServiceContext


@dataclass(frozen=True)
class Access:
    """`overview` is None for a workspace no account is linked to."""

    team_id: str
    user_id: str
    overview: AccountOverview | None
    identity: AdminIdentity | None

    @property
    def is_admin(self) -> bool:
        return self.identity is not None


async def resolve_access(
    ctx: ServiceContext, directory: Directory, team_id: str, user_id: str
) -> Access:
    account = await recent_account(ctx, team_id=team_id)
    overview = overview_of(account, ctx.settings, ctx.clock()) if account else None
    if overview is None:
        return Access(team_id, user_id, None, None)
    if is_admin(overview.admins, user_id):
        return Access(team_id, user_id, overview, AdminIdentity(user_id))
    # Only ask Slack for the email when some admin is listed by email.
    if lists_emails(overview.admins):
        email = await directory.email_of(user_id)
        if email and is_admin(overview.admins, user_id, email):
            return Access(team_id, user_id, overview, AdminIdentity(user_id, email))
    return Access(team_id, user_id, overview, None)
