"""Requests for more licenses routed to the CSM or Sales: what was asked, its quote, a reference.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "add_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("route", sa.String(10), nullable=False),
        sa.Column("wanted", sa.Integer, nullable=True),
        sa.Column("licenses_at_request", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
        sa.Column("billing_interval", sa.String(10), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("due_today_minor", sa.BigInteger, nullable=True),
        sa.Column("next_cycle_minor", sa.BigInteger, nullable=True),
        sa.Column("ticket_reference", sa.String(64), nullable=True),
        sa.Column("ticket_url", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("wanted IS NULL OR wanted >= 1", name="ck_add_requests_wanted_positive"),
    )
    op.create_index("ix_add_requests_account_id", "add_requests", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_add_requests_account_id", table_name="add_requests")
    op.drop_table("add_requests")
