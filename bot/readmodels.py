"""Read models: what services return and builders draw, as plain frozen dataclasses.

They sit below both `bot/services/` and `blocks/` and depend on `bot.domain` only, so
importing a builder never imports SQLAlchemy, the models or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.money import decimal_string
from bot.domain.periods import BillingPeriod
from bot.domain.plans import BillingInterval
from bot.domain.policy import (
    Contacts,
    Decision,
    RequestStatus,
    Route,
    licenses_after_removal,
)
from bot.domain.pricing import AccountTerms, Quote, iso
from bot.domain.removal import LicensePrice, RemovalStatus, RenewalChange, Timing, renewal_change

# How many orders and removal requests App Home lists, newest first.
RECENT_ORDERS = 5
RECENT_REMOVALS = 5
RECENT_ADD_REQUESTS = 5
# The history's page: a modal holds 100 blocks, a heading and one per entry, with room.
HISTORY_LIMIT = 40


@dataclass(frozen=True)
class AdminIdentity:
    """Who is acting as an admin: a Slack user ID, and their email when Slack told us."""

    user_id: str
    email: str | None = None


@dataclass(frozen=True)
class SlackUser:
    """Someone in a Slack workspace: the same user ID means nothing in another workspace."""

    user_id: str
    team_id: str


@dataclass(frozen=True)
class AccountOverview:
    """An account as admins see it: plan, licenses, price, period, who to ask."""

    account_id: str
    name: str
    slack_team_id: str | None
    plan_name: str
    terms: AccountTerms
    period: BillingPeriod
    admins: list[str]
    csm_name: str | None
    csm_email: str | None
    csm_slack_user_id: str | None
    capacity: Decision

    @property
    def next_cycle_minor(self) -> int:
        return self.terms.cycle_amount_minor

    def to_json(self) -> dict[str, Any]:
        currency = self.terms.currency
        return {
            "account": self.account_id,
            "name": self.name,
            "slack_team_id": self.slack_team_id,
            "plan": self.terms.plan.value,
            "plan_name": self.plan_name,
            "billing_interval": self.terms.interval.value,
            "licenses": self.terms.licenses,
            "currency": currency,
            "price_per_license": decimal_string(self.terms.unit_price_minor, currency),
            "period_start": iso(self.period.start),
            "period_end": iso(self.period.end),
            "next_cycle_amount": decimal_string(self.next_cycle_minor, currency),
            "admins": self.admins,
            "csm": {
                "name": self.csm_name,
                "email": self.csm_email,
                "slack_user_id": self.csm_slack_user_id,
            },
            "self_serve_add": self.capacity.to_json(),
        }


@dataclass(frozen=True)
class Access:
    """Who is asking: `overview` is None for a workspace no account is linked to."""

    team_id: str
    user_id: str
    overview: AccountOverview | None
    identity: AdminIdentity | None

    @property
    def is_admin(self) -> bool:
        return self.identity is not None


@dataclass(frozen=True)
class Admin:
    """A license admin at work: their account and who they are."""

    overview: AccountOverview
    identity: AdminIdentity

    @property
    def account_id(self) -> str:
        return self.overview.account_id


@dataclass(frozen=True)
class QuoteOutcome:
    """Either a quote (decision.allowed) or the rules' refusal with its route."""

    decision: Decision
    quote: Quote | None
    terms: AccountTerms
    contacts: Contacts


@dataclass(frozen=True)
class Preview:
    """What the add-licenses modal shows for a number: the account, and a quote or why not."""

    overview: AccountOverview
    outcome: QuoteOutcome


@dataclass(frozen=True)
class Receipt:
    reference: str
    account_id: str
    added: int
    licenses_before: int
    licenses_after: int
    currency: str
    unit_price_minor: int
    charged_minor: int
    next_cycle_minor: int
    period_end: datetime
    charge_reference: str | None
    placed_at: datetime
    ordered_by: str
    status: str = "paid"
    # The account's billing interval when ordered ("per month" or "per year" on receipts).
    interval: BillingInterval = BillingInterval.MONTHLY
    # Why a failed order failed, in the billing provider's words.
    failure_message: str | None = None
    # True when this key's order already existed: nothing new was charged.
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        """One line of `licensebot orders --json`; `invoice` is the charge's reference."""
        return {
            "reference": self.reference,
            "status": self.status,
            "added": self.added,
            "due_today": decimal_string(self.charged_minor, self.currency),
            "currency": self.currency,
            "invoice": self.charge_reference,
            "created_at": iso(self.placed_at),
        }


@dataclass(frozen=True)
class RemovalView:
    """A removal request with what every surface shows about it."""

    id: int
    reference: str
    account_id: str
    account_name: str
    plan_name: str
    team_id: str | None
    csm_user_id: str | None
    requested_by: str
    licenses_at_request: int
    remove_count: int
    reason: str
    timing: Timing
    requested_effective_at: datetime
    status: RemovalStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    effective_at: datetime | None
    applied_at: datetime | None
    ticket_reference: str | None
    ticket_url: str | None
    channel_id: str | None
    message_ts: str | None
    created_at: datetime
    # What the account was left with when the removal applied (None until then).
    applied_licenses: int | None = None
    # The decision modal the decision came from.
    decision_key: str | None = None
    # The account's licenses when this view was drawn (None: not known).
    licenses_now: int | None = None
    # The account's price per license per period when this view was drawn (None: not known).
    price: LicensePrice | None = None

    @property
    def licenses_from(self) -> int:
        """What an open request removes from: the account's licenses now, which other
        orders and removals may have changed since it was made."""
        if self.licenses_now is not None and self.status in (
            RemovalStatus.PENDING,
            RemovalStatus.APPROVED,
        ):
            return self.licenses_now
        return self.licenses_at_request

    @property
    def licenses_after(self) -> int:
        """What the request leaves, counted from `licenses_from`."""
        return licenses_after_removal(self.licenses_from, self.remove_count)

    @property
    def licenses_left(self) -> int:
        """Once applied, what the account really kept (other removals may have gone first)."""
        return self.licenses_after if self.applied_licenses is None else self.applied_licenses

    @property
    def renewal(self) -> RenewalChange | None:
        """The renewal before and after this removal, counted like `licenses_from` and
        `licenses_after`, at the account's price now (None when the price is not known)."""
        if self.price is None:
            return None
        return renewal_change(self.price, self.licenses_from, self.remove_count)


@dataclass(frozen=True)
class AddRequestView:
    """A request for more licenses routed to the CSM or Sales, as every surface shows it:
    who asked whom for how many, and what that would have cost when they asked."""

    id: int
    reference: str
    account_id: str
    account_name: str
    plan_name: str
    # The requester and their workspace (None: not known).
    requested_by: str
    team_id: str | None
    route: Route
    wanted: int | None
    licenses_at_request: int
    price: LicensePrice
    # The quote for `wanted` when asked (None when no number was given).
    quote: Quote | None
    csm_name: str | None
    csm_email: str | None
    csm_user_id: str | None
    ticket_reference: str | None
    ticket_url: str | None
    created_at: datetime
    # The account's licenses as they are now (what an approval adds to).
    licenses_now: int = 0
    status: RequestStatus = RequestStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    # The order its approval placed.
    order_reference: str | None = None
    # The CSM's post of it.
    channel_id: str | None = None
    message_ts: str | None = None

    @property
    def awaits_csm(self) -> bool:
        """Waiting for a CSM's Approve or Deny (a request to Sales is answered in its ticket)."""
        return self.route is Route.CSM and self.status is RequestStatus.PENDING


@dataclass(frozen=True)
class History:
    """An account's orders, removal requests and requests for more licenses together,
    newest first."""

    account_name: str
    entries: list[Receipt | RemovalView | AddRequestView]
    # More happened than is shown: older entries, on the next page.
    more: bool
    # How many newer entries come before this page.
    offset: int = 0


@dataclass(frozen=True)
class CsmQueue:
    """Requests a CSM may decide (removals, and more licenses), oldest first; `now` to
    tell their age."""

    requests: list[RemovalView | AddRequestView]
    more: bool
    now: datetime


@dataclass(frozen=True)
class DecisionOutcome:
    """`won` is False when someone else decided first; `view` says who and how."""

    won: bool
    view: RemovalView

    def repeats(self, decision_key: str | None) -> bool:
        """A replay of the winning submission itself (the same decision modal)."""
        return decision_key is not None and self.view.decision_key == decision_key
