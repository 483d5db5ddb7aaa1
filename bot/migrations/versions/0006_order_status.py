"""An order's status: pending, paid or failed (every order recorded so far was paid).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as table:
        table.add_column(sa.Column("status", sa.String(10), nullable=False, server_default="paid"))


def downgrade() -> None:
    with op.batch_alter_table("orders") as table:
        table.drop_column("status")
