"""An account's orders, newest first, read from an index (App Home, `licensebot orders`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("orders_by_account", "orders", ["account_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("orders_by_account", table_name="orders")
