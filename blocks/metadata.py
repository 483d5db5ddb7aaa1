"""Typed state carried in private_metadata and button values (never string splitting)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, Field

from bot.domain.policy import MAX_REQUESTED, read_count, requested_count
from bot.domain.pricing import Quote
from bot.domain.removal import Verdict


class ViewMetadata(BaseModel):
    """State a modal carries in `private_metadata`.

    Handlers seal it with a server MAC when they send the view and check the seal when it
    comes back (bot/seal.py), so it is what the bot wrote; who may use it is still checked.
    """


class ButtonValue(BaseModel):
    """What a button carries in its `value`: a pointer to check, never an authority."""


class AddModalState(ViewMetadata):
    """private_metadata of the add-licenses modal.

    The idempotency key is fixed when the modal opens, so double submits and Slack
    retries of the same modal can only ever place one order.
    """

    account_id: str
    idempotency_key: str
    # Who the modal was opened for: nobody else's request may use it.
    viewer: str
    team_id: str
    # The modal's own name in Slack (its external_id), fixed when it opens.
    modal_id: str
    # The quote on screen, which Order Now charges exactly.
    quote: Quote | None = None

    @classmethod
    def new(cls, account_id: str, viewer: str, team_id: str) -> AddModalState:
        return cls(
            account_id=account_id,
            idempotency_key=f"add-{uuid.uuid4().hex}",
            viewer=viewer,
            team_id=team_id,
            modal_id=uuid.uuid4().hex,
        )

    @property
    def external_id(self) -> str:
        """The modal's own name in Slack: updates target it, never a view id from a payload."""
        return f"licensebot-add-{self.modal_id}"

    def belongs_to(self, user_id: str, team_id: str) -> bool:
        return (self.viewer, self.team_id) == (user_id, team_id)


class PlanModalState(ViewMetadata):
    account_id: str


class RouteRequest(ButtonValue):
    """Value of an "Ask my CSM" / "Contact Sales" button: the account, and how many
    licenses the admin typed (a number to ask for; its price is computed on the server)."""

    account_id: str
    wanted: int | None = Field(default=None, ge=1, le=MAX_REQUESTED)

    @classmethod
    def asking(cls, account_id: str, wanted: int | None = None) -> RouteRequest:
        """A button's value for `wanted`, dropped when it is no number to ask for."""
        return cls(account_id=account_id, wanted=requested_count(wanted))


class Ask(StrEnum):
    """What a member who is not an admin wanted to do when they asked the admins."""

    ADD = "add"
    REMOVE = "remove"
    MANAGE = "manage"


class AdminRequest(ButtonValue):
    """Value of the "Ask an admin" button a non-admin gets, and of the button in the DM
    their admins get: the account and what the member asked for, to pre-fill a form with.

    Buttons sent before the ask was carried (App Home's) hold only the account: they asked
    for more licenses, so that stays the default.
    """

    account_id: str
    ask: Ask = Ask.ADD
    # The number the member typed, when it was one (never 0 or less).
    count: int | None = Field(default=None, ge=1)

    @classmethod
    def from_command(cls, account_id: str, subcommand: str, argument: str) -> AdminRequest:
        """What `/licenses add 3`, `/licenses remove 2` or `/licenses` asked for."""
        ask = Ask(subcommand) if subcommand in (Ask.ADD, Ask.REMOVE) else Ask.MANAGE
        count = read_count(argument) if ask is not Ask.MANAGE and argument else None
        return cls(
            account_id=account_id,
            ask=ask,
            count=count if isinstance(count, int) and count >= 1 else None,
        )


class HistoryPage(ButtonValue):
    """Value of Older / Newer in the history: how many newer entries to skip. The account
    is always the clicker's own."""

    offset: int = Field(default=0, ge=0, le=100_000)


class RemovalModalState(ViewMetadata):
    account_id: str
    # Fixed when the modal opens: a replay or retry of its submission is the same request.
    idempotency_key: str = Field(default_factory=lambda: f"remove-{uuid.uuid4().hex}")


class DecisionRequest(ButtonValue, ViewMetadata):
    """Value of Approve / Deny, and private_metadata of the decision modal."""

    request_id: int
    verdict: Verdict
    channel_id: str | None = None
    # Set when the decision modal opens: its replays are recognised by it.
    decision_key: str | None = None
    # The CSM queue the decision modal was opened on top of (redrawn once it is decided).
    queue_view_id: str | None = None


class AddDecisionRequest(ButtonValue):
    """Value of Approve / Deny on a request for more licenses (LR-…)."""

    request_id: int
    verdict: Verdict


class AddDecisionState(ViewMetadata):
    """private_metadata of the modal a CSM approves or denies a request for more licenses in."""

    request_id: int
    verdict: Verdict
    # Its reference (LR-…), to show before anything is read again.
    reference: str = ""
    # The CSM it was opened for, and their workspace: nobody else's submit may use it.
    viewer: str = ""
    team_id: str = ""
    # Fixed when the modal opens: submitting it twice places one order.
    order_key: str = Field(default_factory=lambda: f"approve-{uuid.uuid4().hex}")
    modal_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    # The price on screen, for `quote.added` licenses: Approve charges exactly it.
    quote: Quote | None = None
    # The CSM queue the modal was opened on top of (redrawn once it is decided).
    queue_view_id: str | None = None

    @property
    def external_id(self) -> str:
        return f"licensebot-decide-{self.modal_id}"

    def belongs_to(self, user_id: str, team_id: str) -> bool:
        return (self.viewer, self.team_id) == (user_id, team_id)
