"""Removal rules: never self-serve; what a request may ask, who decides, when it applies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.domain.plans import BillingInterval
from bot.domain.policy import (
    MIN_LICENSES,
    Contacts,
    Decision,
    decide_remove,
    licenses_after_removal,
    most_removable,
    read_count,
)
from bot.domain.pricing import AccountTerms

MAX_REASON_LENGTH = 1000
MAX_REMINDERS = 3


class Timing(StrEnum):
    RENEWAL = "renewal"
    ASAP = "asap"

    @property
    def label(self) -> str:
        return "At the next renewal" if self is Timing.RENEWAL else "As soon as possible"


class RemovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    APPLIED = "applied"


class Verdict(StrEnum):
    APPROVE = "approve"
    DENY = "deny"

    @property
    def status(self) -> RemovalStatus:
        return RemovalStatus.APPROVED if self is Verdict.APPROVE else RemovalStatus.DENIED


# Removals never refund (README, Stripe billing): the current period stays paid in full,
# and the renewal after the removal bills the lower count.
NO_REFUND = "No refund or credit for the current period."


@dataclass(frozen=True)
class LicensePrice:
    """An account's price per license per billing period, in integer minor units."""

    currency: str
    unit_price_minor: int
    interval: BillingInterval

    @classmethod
    def of(cls, terms: AccountTerms) -> LicensePrice:
        return cls(terms.currency, terms.unit_price_minor, terms.interval)


@dataclass(frozen=True)
class RenewalChange:
    """What the renewal costs before and after a removal: licenses × price per license."""

    price: LicensePrice
    licenses_before: int
    licenses_after: int

    @property
    def before_minor(self) -> int:
        return self.licenses_before * self.price.unit_price_minor

    @property
    def after_minor(self) -> int:
        return self.licenses_after * self.price.unit_price_minor


def renewal_change(price: LicensePrice, licenses: int, remove: int) -> RenewalChange:
    """The renewal of an account with `licenses`, before and after removing `remove`."""
    return RenewalChange(price, licenses, licenses_after_removal(licenses, remove))


def read_removal(terms: AccountTerms, raw: object) -> int | str | None:
    """A count in the removal form: the count when it may be asked for, else what is wrong
    with it; None while nothing is typed. (Requests already open are checked on submit.)"""
    if raw is None or not str(raw).strip():
        return None
    count = read_count(str(raw), purpose="remove")
    if isinstance(count, str):
        return count
    decision = decide_remove(terms, count, Contacts())
    return decision.reason if decision.is_input_error else count


def check_request(
    terms: AccountTerms, requested: object, open_removals: Iterable[int], contacts: Contacts
) -> Decision:
    """A request is valid when it, with the requests still open, leaves at least 1 license."""
    decision = decide_remove(terms, requested, contacts)
    if decision.is_input_error:
        return decision
    assert isinstance(requested, int)
    already = sum(open_removals)
    if already and requested > most_removable(terms.licenses, already):
        return Decision(
            False,
            0,
            None,
            f"Requests already open would remove {already} of {terms.licenses} licenses; "
            f"with this one the account would keep fewer than {MIN_LICENSES}. "
            f"At most {most_removable(terms.licenses, already)} more can be requested.",
        )
    return decision


def check_reason(
    reason: str | None, missing: str = "Tell your CSM why you want to remove licenses."
) -> str | None:
    """The problem with a reason (`missing` when there is none), or None when it is fine."""
    text = (reason or "").strip()
    if not text:
        return missing
    if len(text) > MAX_REASON_LENGTH:
        return f"Keep the reason under {MAX_REASON_LENGTH} characters (it has {len(text)})."
    return None


DENIAL_NEEDS_REASON = "Give the admin a reason for the denial."


def check_decision_note(verdict: Verdict, note: str | None) -> str | None:
    """A denial must say why; an approval's note is optional."""
    if verdict is Verdict.DENY:
        return check_reason(note, missing=DENIAL_NEEDS_REASON)
    return None


def parse_effective(raw: str | None, requested_at: datetime, today: date) -> datetime | str:
    """The CSM's chosen date (YYYY-MM-DD) as a UTC moment, or what is wrong with it.

    No date, or the requested day itself, keeps the requested moment (the renewal
    instant, or "now" for as soon as possible).
    """
    if not raw:
        return requested_at
    try:
        chosen = date.fromisoformat(raw)
    except ValueError:
        return "Pick a date."
    if chosen == requested_at.date():
        return requested_at
    if chosen < today:
        return "Pick today or a later date."
    return datetime.combine(chosen, time(0, 0), tzinfo=UTC)


def requested_effective_at(terms: AccountTerms, timing: Timing, now: datetime) -> datetime:
    """Renewal: the end of the current period. As soon as possible: now."""
    return terms.period_at(now).end if timing is Timing.RENEWAL else now


def may_decide(user_id: str, csm_user_ids: Iterable[str], account_csm: str | None) -> bool:
    return user_id in set(csm_user_ids) or (account_csm is not None and user_id == account_csm)


def reminder_due(
    requested_at: datetime,
    reminders_sent: int,
    last_reminder_at: datetime | None,
    now: datetime,
    interval: timedelta,
) -> bool:
    """The first one interval after the request, then one each interval, MAX_REMINDERS at most.

    Each step waits one interval from the step before it (the request, then the last
    reminder): a scheduler that was down sends one reminder when it is back, not a burst.
    """
    if reminders_sent >= MAX_REMINDERS:
        return False
    return now - (last_reminder_at or requested_at) >= interval


def escalation_due(
    reminders_sent: int,
    last_reminder_at: datetime | None,
    escalated_at: datetime | None,
    now: datetime,
    interval: timedelta,
) -> bool:
    """Once, one interval after the last (MAX_REMINDERS-th) reminder of an open request."""
    if escalated_at is not None or reminders_sent < MAX_REMINDERS or last_reminder_at is None:
        return False
    return now - last_reminder_at >= interval
