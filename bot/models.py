"""Database tables. Money is integer minor units; times are UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slack_team_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    # The Enterprise Grid org of the linked workspace, whose org-wide install serves it.
    slack_enterprise_id: Mapped[str | None] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(20))
    billing_interval: Mapped[str] = mapped_column(String(10))
    licenses: Mapped[int] = mapped_column(Integer)
    # The count the accounts file gave when last imported; see import_accounts.
    licenses_in_file: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # None: the plan catalog's list price applies.
    price_per_license_minor: Mapped[int | None] = mapped_column(BigInteger)
    period_anchor: Mapped[datetime] = mapped_column(UTCDateTime())
    csm_name: Mapped[str | None] = mapped_column(String(200))
    csm_slack_user_id: Mapped[str | None] = mapped_column(String(32))
    csm_email: Mapped[str | None] = mapped_column(String(320))
    # With BILLING_PROVIDER=stripe: who is charged, and whose single item's quantity is
    # the license count.
    stripe_customer: Mapped[str | None] = mapped_column(String(255))
    stripe_subscription: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    admins: Mapped[list[AccountAdmin]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountAdmin.id"
    )


class AccountAdmin(Base):
    """An admin of an account: a Slack user ID (U…/W…) or an email resolved via Slack."""

    __tablename__ = "account_admins"
    __table_args__ = (UniqueConstraint("account_id", "identifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(320))

    account: Mapped[Account] = relationship(back_populates="admins")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    ordered_by: Mapped[str] = mapped_column(String(320))
    added: Mapped[int] = mapped_column(Integer)
    licenses_before: Mapped[int] = mapped_column(Integer)
    licenses_after: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    due_today_minor: Mapped[int] = mapped_column(BigInteger)
    next_cycle_minor: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    quoted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The provider's reference of the charge: a PaymentIntent id with Stripe.
    charge_reference: Mapped[str | None] = mapped_column(String(64))
    # pending until the charge resolves, then paid or failed (see services/orders.py).
    status: Mapped[str] = mapped_column(String(10), default="paid", server_default="paid")
    # Why a failed order failed, in the provider's words (a card decline).
    failure_message: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # At most one order of an account is being charged at a time.
        Index(
            "one_pending_order_per_account",
            "account_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("orders_by_status", "status", "created_at"),
        # Newest first per account, without a sort.
        Index("orders_by_account", "account_id", "created_at", "id"),
    )


class LedgerCharge(Base):
    """The built-in billing provider's book of charges."""

    __tablename__ = "ledger_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StripeEvent(Base):
    """A Stripe webhook event already applied: each is applied once, by its id."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RemovalRequest(Base):
    """An admin's request to remove licenses; a CSM decides, the scheduler applies."""

    __tablename__ = "removal_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    # The modal it was sent from: a replay of that submission finds this request.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    requester_email: Mapped[str | None] = mapped_column(String(320))
    licenses_at_request: Mapped[int] = mapped_column(Integer)
    remove_count: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    timing: Mapped[str] = mapped_column(String(10))
    requested_effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    # The decision modal the winning decision came from (its replays repeat the answer).
    decision_key: Mapped[str | None] = mapped_column(String(80))
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    licenses_after: Mapped[int | None] = mapped_column(Integer)
    ticket_reference: Mapped[str | None] = mapped_column(String(64))
    ticket_url: Mapped[str | None] = mapped_column(String(500))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the request, still pending after its last reminder, was escalated (once).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AddRequest(Base):
    """An admin's request for more licenses that the plan rules route to their CSM or Sales.

    It keeps what was asked and the quote it would have cost when it was made (computed
    here, never taken from Slack), under its own reference (LR-00001).
    """

    __tablename__ = "add_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    # The click it came from: a replay of the same click finds this request.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    # The requester's workspace (their DMs and App Home are there).
    team_id: Mapped[str | None] = mapped_column(String(32))
    # csm or sales
    route: Mapped[str] = mapped_column(String(10))
    # How many were asked for; None when nobody said.
    wanted: Mapped[int | None] = mapped_column(Integer)
    licenses_at_request: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    billing_interval: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    # The quote for `wanted` at created_at, as the add modal would have shown it.
    due_today_minor: Mapped[int | None] = mapped_column(BigInteger)
    next_cycle_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Sales' ticket, once opened.
    ticket_reference: Mapped[str | None] = mapped_column(String(64))
    ticket_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # pending, approved or denied (a CSM's decision; Sales decides in its ticket).
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    # The order an approval placed.
    order_reference: Mapped[str | None] = mapped_column(String(32))
    # The CSM's post, redrawn once the request is decided.
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # A request nobody decides is reminded, then escalated once, as removals are.
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_add_requests_status", "status", "created_at"),)


class Ticket(Base):
    """The built-in ticket provider's tickets."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    requester: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="open")
    comments: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class OutboxEntry(Base):
    """Work for the outside world (Slack, tickets), retried until it succeeds."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LinkCode(Base):
    """A one-time code that links a customer's Slack workspace to its account.

    Only the code's hash is kept: whoever reads the database can't link anything.
    """

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_team: Mapped[str | None] = mapped_column(String(32))


class LinkFailure(Base):
    """A wrong link code typed in a workspace: a few an hour, then it has to wait."""

    __tablename__ = "link_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


async def add_numbered(
    session: AsyncSession, row: RemovalRequest | AddRequest | Ticket, prefix: str
) -> str:
    """Add `row` with a readable, unique reference derived from its own id ("RR-00001")."""
    row.reference = f"new-{uuid.uuid4().hex[:24]}"  # until the id is known
    session.add(row)
    await session.flush()
    row.reference = f"{prefix}-{row.id:05d}"
    return row.reference
