"""Requests for more licenses nobody decides are reminded and escalated as removals are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("add_requests") as table:
        table.add_column(
            sa.Column("reminders_sent", sa.Integer, nullable=False, server_default="0")
        )
        table.add_column(sa.Column("last_reminder_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("escalated_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("add_requests") as table:
        for column in ("escalated_at", "last_reminder_at", "reminders_sent"):
            table.drop_column(column)
