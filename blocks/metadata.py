"""Typed state carried in private_metadata and button values (never string splitting)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from bot.domain.pricing import Quote
from bot.domain.removal import Verdict


class ViewMetadata(BaseModel):
    """State a modal carries in `private_metadata`: a pointer to check, never an authority."""


class ButtonValue(BaseModel):
    """What a button carries in its `value`: a pointer to check, never an authority."""


class AddModalState(ViewMetadata):
    """private_metadata of the add-licenses modal.

    The idempotency key is fixed when the modal opens, so double submits and Slack
    retries of the same modal can only ever place one order.
    """

    account_id: str
    idempotency_key: str
    # The quote on screen, which Order Now charges exactly.
    quote: Quote | None = None

    @classmethod
    def new(cls, account_id: str) -> AddModalState:
        return cls(account_id=account_id, idempotency_key=f"add-{uuid.uuid4().hex}")


class PlanModalState(ViewMetadata):
    account_id: str


class RouteRequest(ButtonValue):
    """Value of an "Ask my CSM" / "Contact Sales" button."""

    account_id: str
    wanted: int | None = None


class AdminRequest(ButtonValue):
    """Value of the "Ask an admin" button a non-admin gets."""

    account_id: str
    wanted: int | None = None


class RemovalModalState(ViewMetadata):
    account_id: str


class DecisionRequest(ButtonValue, ViewMetadata):
    """Value of Approve / Deny, and private_metadata of the decision modal."""

    request_id: int
    verdict: Verdict
    channel_id: str | None = None
