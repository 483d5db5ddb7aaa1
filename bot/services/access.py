"""Who is asking: which account a workspace belongs to and whether the user administers it."""

from __future__ import annotations

from bot.domain.policy import is_admin, is_email, lists_emails
from bot.integrations.slack_directory import Directory
from bot.readmodels import Access, AdminIdentity
from bot.services.accounts import overview_of, recent_account
from bot.services.context import ServiceContext


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
        email = await directory.email_of(user_id, team_id)
        if email and is_admin(overview.admins, user_id, email):
            return Access(team_id, user_id, overview, AdminIdentity(user_id, email))
    return Access(team_id, user_id, overview, None)


async def admin_user_ids(directory: Directory, admins: list[str], team_id: str | None) -> list[str]:
    """The Slack user IDs of an account's admins; those listed by email are looked up."""
    found = []
    for admin in admins:
        user_id = await directory.user_id_for(admin, team_id) if is_email(admin) else admin
        if user_id:
            found.append(user_id)
    return found
