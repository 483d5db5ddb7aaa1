"""Plan rules: who may add or remove how many licenses, and where everyone else goes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.plans import PlanId, plan_for
from bot.domain.pricing import AccountTerms

# Enterprise accounts may grow themselves only up to this many licenses in total.
ENTERPRISE_SELF_SERVE_LIMIT = 5
DEFAULT_MAX_PER_ORDER = 1000
# Every account keeps at least this many licenses, whatever is removed.
MIN_LICENSES = 1
# The most licenses one request to the CSM or Sales carries as a number (more is "more").
MAX_REQUESTED = 1_000_000


class Route(StrEnum):
    CSM = "csm"
    SALES = "sales"
    SUPPORT = "support"


class RequestStatus(StrEnum):
    """Where a request for more licenses stands: a CSM approves (placing the order) or
    denies it; one sent to Sales stays pending here, as Sales answers in its ticket."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class Contacts:
    """The people a refused admin is sent to; names and addresses are shown verbatim."""

    csm_name: str | None = None
    csm_email: str | None = None
    sales_email: str | None = None
    support_url: str | None = None

    def csm_phrase(self) -> str:
        if self.csm_name and self.csm_email:
            return f"your Customer Success Manager, {self.csm_name} ({self.csm_email})"
        if self.csm_name or self.csm_email:
            return f"your Customer Success Manager, {self.csm_name or self.csm_email}"
        return "your Customer Success Manager"

    def sales_phrase(self) -> str:
        return f"Sales ({self.sales_email})" if self.sales_email else "Sales"


@dataclass(frozen=True)
class Decision:
    """The answer of a plan rule.

    `allowed` says the request may go ahead self-serve. Otherwise `route` names who
    handles it (None means the input itself is wrong and the admin should fix it) and
    `reason` is the sentence the admin reads. `max_addable` is the most licenses the
    admin may add self-serve right now. `also` names a second way to go that the reason
    offers too (Gong Edition: the CSM, or Sales).
    """

    allowed: bool
    max_addable: int
    route: Route | None = None
    reason: str = ""
    also: Route | None = None

    @property
    def is_input_error(self) -> bool:
        return not self.allowed and self.route is None

    def to_json(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "route": self.route.value if self.route else None,
            "max_addable": self.max_addable,
        }


class InvalidCount(ValueError):
    """Raised for text that is not a whole number of licenses."""


def parse_count(raw: str) -> int:
    """A license count typed by a person: digits, an optional sign, spaces or commas."""
    text = raw.strip().replace(",", "").replace("_", "").replace(" ", "")
    sign = text[:1] if text[:1] in ("+", "-") else ""
    digits = text[len(sign) :]
    if not (digits.isascii() and digits.isdecimal()):
        raise InvalidCount(f"“{raw.strip()}” is not a whole number of licenses.")
    if len(digits) > 18:
        # Larger than any cap; spares int() its length limit on absurd input.
        digits = "1" + "0" * 18
    return int(sign + digits)


def count_words(count: int) -> str:
    """ "1 license", "1,000 licenses"."""
    return f"{count:,} license" + ("" if count == 1 else "s")


def read_count(raw: str | None, purpose: str = "add") -> int | str:
    """The number a person typed to `purpose` licenses, or the sentence saying what is wrong."""
    if raw is None or not raw.strip():
        return f"Enter a whole number of licenses to {purpose}, like 3."
    try:
        return parse_count(raw)
    except InvalidCount as exc:
        return str(exc)


def requested_count(count: object) -> int | None:
    """The number a request to the CSM or Sales carries: a whole count it can name, or
    None (nobody said, or nothing sensible was typed: they still ask for more)."""
    if isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_REQUESTED:
        return count
    return None


def _is_whole(count: object) -> bool:
    return isinstance(count, int) and not isinstance(count, bool)


def add_capacity(
    terms: AccountTerms, contacts: Contacts, max_per_order: int = DEFAULT_MAX_PER_ORDER
) -> Decision:
    """Whether this account can add licenses self-serve at all, and how many at most."""
    plan = plan_for(terms.plan)
    if not plan.self_serve_add:
        return Decision(
            False,
            0,
            Route.CSM,
            f"{plan.display_name} accounts add licenses through their Customer Success "
            f"Manager or Sales contact: contact {contacts.csm_phrase()}, or "
            f"{contacts.sales_phrase()}.",
            also=Route.SALES,
        )
    if terms.plan is PlanId.ENTERPRISE:
        if terms.licenses > ENTERPRISE_SELF_SERVE_LIMIT:
            return Decision(
                False,
                0,
                Route.CSM,
                f"Enterprise accounts with more than {ENTERPRISE_SELF_SERVE_LIMIT:,} licenses "
                f"add licenses through their Customer Success Manager: contact "
                f"{contacts.csm_phrase()}.",
            )
        room = ENTERPRISE_SELF_SERVE_LIMIT - terms.licenses
        if room == 0:
            return Decision(False, 0, Route.SALES, _enterprise_limit_reason(contacts))
        return Decision(True, min(room, max_per_order))
    return Decision(True, max_per_order)


def _enterprise_limit_reason(contacts: Contacts) -> str:
    return (
        f"Enterprise accounts can add licenses themselves up to "
        f"{ENTERPRISE_SELF_SERVE_LIMIT:,} in total; for more, contact {contacts.sales_phrase()}."
    )


def decide_add(
    terms: AccountTerms,
    requested: object,
    contacts: Contacts,
    max_per_order: int = DEFAULT_MAX_PER_ORDER,
) -> Decision:
    """May an admin of this account add `requested` licenses self-serve now?"""
    capacity = add_capacity(terms, contacts, max_per_order)
    if not _is_whole(requested):
        return Decision(False, capacity.max_addable, None, "Enter a whole number of licenses.")
    assert isinstance(requested, int)
    if requested < 1:
        return Decision(
            False, capacity.max_addable, None, "Enter a number of licenses to add, at least 1."
        )
    if not capacity.allowed:
        return capacity
    if terms.plan is PlanId.ENTERPRISE and terms.licenses + requested > ENTERPRISE_SELF_SERVE_LIMIT:
        return Decision(
            False, capacity.max_addable, Route.SALES, _enterprise_limit_reason(contacts)
        )
    if requested > max_per_order:
        return Decision(
            False,
            capacity.max_addable,
            Route.SALES,
            f"One order can add at most {max_per_order:,} licenses; "
            f"for more, contact {contacts.sales_phrase()}.",
        )
    return capacity


def decide_approved_add(requested: object, max_per_order: int = DEFAULT_MAX_PER_ORDER) -> Decision:
    """A CSM approving a request for more licenses: the plan rules that route it to them
    no longer apply, the count itself and the largest order still do."""
    if not _is_whole(requested):
        return Decision(False, 0, None, "Enter a whole number of licenses.")
    assert isinstance(requested, int)
    if requested < 1:
        return Decision(False, 0, None, "Enter a number of licenses to add, at least 1.")
    if requested > max_per_order:
        return Decision(
            False, max_per_order, None, f"One order can add at most {max_per_order:,} licenses."
        )
    return Decision(True, max_per_order)


def decide_remove(terms: AccountTerms, requested: object, contacts: Contacts) -> Decision:
    """Removing licenses is never self-serve: a valid request goes to the CSM."""
    if not _is_whole(requested):
        return Decision(False, 0, None, "Enter a whole number of licenses.")
    assert isinstance(requested, int)
    if requested < 1:
        return Decision(False, 0, None, "Enter a number of licenses to remove, at least 1.")
    if requested > most_removable(terms.licenses):
        return Decision(
            False,
            0,
            None,
            f"The account has {count_words(terms.licenses)} and keeps at least "
            f"{MIN_LICENSES:,}, so at most {most_removable(terms.licenses):,} can be removed.",
        )
    return Decision(
        False,
        0,
        Route.CSM,
        f"Removing licenses is reviewed by {contacts.csm_phrase()}.",
    )


def most_removable(licenses: int, already_requested: int = 0) -> int:
    """How many more licenses may be asked away while the account keeps MIN_LICENSES."""
    return max(licenses - already_requested - MIN_LICENSES, 0)


def licenses_after_removal(licenses: int, removed: int) -> int:
    """What an account keeps after a removal, never below MIN_LICENSES."""
    return max(licenses - removed, MIN_LICENSES)


def is_email(identifier: str) -> bool:
    """Admins are listed by Slack user ID or by email; only emails have an "@"."""
    return "@" in identifier


def is_admin(admins: Iterable[str], user_id: str, email: str | None = None) -> bool:
    """Admins are listed by Slack user ID (exact) or by email (any case)."""
    wanted_email = email.strip().lower() if email else None
    for admin in admins:
        if admin == user_id:
            return True
        if wanted_email and is_email(admin) and admin.strip().lower() == wanted_email:
            return True
    return False


def lists_emails(admins: Iterable[str]) -> bool:
    """Whether deciding admin status may need the user's email from Slack."""
    return any(is_email(admin) for admin in admins)
