"""Typed state carried in private_metadata and button values (never string splitting)."""

from __future__ import annotations

from pydantic import BaseModel

from bot.domain.pricing import Quote
from bot.domain.removal import Verdict


class AddModalState(BaseModel):
    """private_metadata of the add-licenses modal.

    The idempotency key is fixed when the modal opens, so double submits and Slack
    retries of the same modal can only ever place one order.
    """

    account_id: str
    idempotency_key: str
    # The quote on screen, which Order Now charges exactly.
    quote: Quote | None = None


class PlanModalState(BaseModel):
    account_id: str


class RouteRequest(BaseModel):
    """Value of an "Ask my CSM" / "Contact Sales" button."""

    account_id: str
    wanted: int | None = None


class AdminRequest(BaseModel):
    """Value of the "Ask an admin" button a non-admin gets."""

    account_id: str
    wanted: int | None = None


class RemovalModalState(BaseModel):
    account_id: str


class DecisionRequest(BaseModel):
    """Value of Approve / Deny, and private_metadata of the decision modal."""

    request_id: int
    verdict: Verdict
    channel_id: str | None = None
