"""Billing providers. The built-in ledger books charges in our own database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import LedgerCharge


@dataclass(frozen=True)
class ChargeRequest:
    account_id: str
    amount_minor: int
    currency: str
    idempotency_key: str
    description: str


class BillingProvider(Protocol):
    async def charge(self, session: AsyncSession, request: ChargeRequest) -> str:
        """Charge once per idempotency key and return the charge reference.

        `session` is the caller's open transaction; a provider that books locally
        writes in it so the charge commits or rolls back with the order.
        """
        ...


def new_reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


class LedgerBilling:
    async def charge(self, session: AsyncSession, request: ChargeRequest) -> str:
        existing = await session.scalar(
            select(LedgerCharge).where(LedgerCharge.idempotency_key == request.idempotency_key)
        )
        if existing is not None:
            return existing.reference
        entry = LedgerCharge(
            reference=new_reference("CH"),
            idempotency_key=request.idempotency_key,
            account_id=request.account_id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            description=request.description,
        )
        session.add(entry)
        await session.flush()
        return entry.reference
