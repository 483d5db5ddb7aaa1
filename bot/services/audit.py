"""The append-only audit log: every change to an account leaves one entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry


def record(
    session: AsyncSession, account_id: str | None, actor: str, action: str, **detail: Any
) -> None:
    session.add(AuditEntry(account_id=account_id, actor=actor, action=action, detail=detail))
