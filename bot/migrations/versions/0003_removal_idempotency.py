"""A removal request remembers the modals it came from and was decided in, so replays find them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("removal_requests") as table:
        table.add_column(sa.Column("idempotency_key", sa.String(80), nullable=True))
        table.add_column(sa.Column("decision_key", sa.String(80), nullable=True))
        table.create_unique_constraint("uq_removal_requests_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("removal_requests") as table:
        table.drop_constraint("uq_removal_requests_idempotency_key", type_="unique")
        table.drop_column("idempotency_key")
        table.drop_column("decision_key")
