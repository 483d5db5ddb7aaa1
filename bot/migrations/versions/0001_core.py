"""Accounts, admins, orders, the billing ledger and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AUDIT_GUARD_SQLITE = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
]
AUDIT_GUARD_POSTGRES = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slack_team_id", sa.String(32), nullable=True, unique=True),
        sa.Column("plan", sa.String(20), nullable=False),
        sa.Column("billing_interval", sa.String(10), nullable=False),
        sa.Column("licenses", sa.Integer, nullable=False),
        sa.Column("licenses_in_file", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("price_per_license_minor", sa.BigInteger, nullable=True),
        sa.Column("period_anchor", UTCDateTime(), nullable=False),
        sa.Column("csm_name", sa.String(200), nullable=True),
        sa.Column("csm_slack_user_id", sa.String(32), nullable=True),
        sa.Column("csm_email", sa.String(320), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("licenses >= 0", name="ck_accounts_licenses_not_negative"),
    )
    op.create_table(
        "account_admins",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("identifier", sa.String(320), nullable=False),
        sa.UniqueConstraint("account_id", "identifier"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("ordered_by", sa.String(320), nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("licenses_before", sa.Integer, nullable=False),
        sa.Column("licenses_after", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
        sa.Column("due_today_minor", sa.BigInteger, nullable=False),
        sa.Column("next_cycle_minor", sa.BigInteger, nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("quoted_at", UTCDateTime(), nullable=False),
        sa.Column("charge_reference", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_orders_account_id", "orders", ["account_id"])
    op.create_table(
        "ledger_charges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ledger_charges_account_id", "ledger_charges", ["account_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_audit_log_account_id", "audit_log", ["account_id"])
    guards = {"postgresql": AUDIT_GUARD_POSTGRES, "sqlite": AUDIT_GUARD_SQLITE}
    for statement in guards.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in ("audit_log", "ledger_charges", "orders", "account_admins", "accounts"):
        op.drop_table(table)
