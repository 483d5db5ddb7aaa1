"""Requests for more licenses are decided: pending, approved (with the order it placed) or
denied, by whom and why, and where the CSM's post is (to redraw it once decided).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("add_requests") as table:
        table.add_column(
            sa.Column("status", sa.String(10), nullable=False, server_default="pending")
        )
        table.add_column(sa.Column("decided_by", sa.String(32), nullable=True))
        table.add_column(sa.Column("decided_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("decision_note", sa.Text, nullable=True))
        table.add_column(sa.Column("order_reference", sa.String(32), nullable=True))
        table.add_column(sa.Column("channel_id", sa.String(32), nullable=True))
        table.add_column(sa.Column("message_ts", sa.String(32), nullable=True))
    op.create_index("ix_add_requests_status", "add_requests", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_add_requests_status", table_name="add_requests")
    with op.batch_alter_table("add_requests") as table:
        for column in (
            "message_ts",
            "channel_id",
            "order_reference",
            "decision_note",
            "decided_at",
            "decided_by",
            "status",
        ):
            table.drop_column(column)
