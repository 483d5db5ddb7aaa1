"""Billing through a provider: an order is pending until its charge resolves.

Accounts may name their Stripe customer and subscription; a declined order keeps the
provider's message; at most one pending order per account (a unique partial index, so
even two processes can't both start one); Stripe webhook events applied once by id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as table:
        table.add_column(sa.Column("stripe_customer", sa.String(255)))
        table.add_column(sa.Column("stripe_subscription", sa.String(255)))
    with op.batch_alter_table("orders") as table:
        table.add_column(sa.Column("failure_message", sa.Text()))
        table.add_column(sa.Column("resolved_at", UTCDateTime()))
    op.create_index(
        "one_pending_order_per_account",
        "orders",
        ["account_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("orders_by_status", "orders", ["status", "created_at"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_index("orders_by_status", table_name="orders")
    op.drop_index("one_pending_order_per_account", table_name="orders")
    with op.batch_alter_table("orders") as table:
        table.drop_column("resolved_at")
        table.drop_column("failure_message")
    with op.batch_alter_table("accounts") as table:
        table.drop_column("stripe_subscription")
        table.drop_column("stripe_customer")
