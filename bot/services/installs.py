"""A workspace's installation ending: what is kept (the account link) and who is told."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Account
from bot.services import audit
from bot.services.context import ServiceContext
from bot.services.outbox import NotifyCsmChannel, enqueue


async def record_uninstall(
    ctx: ServiceContext, team_id: str | None, enterprise_id: str | None, why: str
) -> None:
    """Audit the end of an installation and tell the CSMs; the account link stays.

    `team_id` is None for an org-wide (Enterprise Grid) install: every account linked to a
    workspace of that org is concerned.
    """
    async with ctx.sessions() as session, session.begin():
        where = (
            Account.slack_team_id == team_id
            if team_id
            else Account.slack_enterprise_id == enterprise_id
        )
        accounts = list(await session.scalars(select(Account).where(where)))
        details = {"team_id": team_id, "enterprise_id": enterprise_id, "event": why}
        if not accounts:
            audit.record(session, None, "slack", "workspace.uninstalled", **details)
        workspace = team_id or f"the Enterprise Grid org {enterprise_id}"
        for account in accounts:
            audit.record(session, account.id, "slack", "workspace.uninstalled", **details)
            text = (
                f"licensebot was removed from {account.name}'s Slack workspace ({workspace}). "
                "The account stays linked: it works again as soon as they reinstall."
            )
            enqueue(session, NotifyCsmChannel(text=text), ctx.clock())
