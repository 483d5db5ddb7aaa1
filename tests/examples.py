"""Read models as plain values, for building surfaces without a database.

The accounts are the demo's (bot/sandbox/demo_accounts.yml), written out as the services
would present them on NOW.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.plans import BillingInterval, PlanId, plan_for
from bot.domain.policy import Contacts, Route, add_capacity, decide_add
from bot.domain.pricing import AccountTerms, build_quote
from bot.domain.removal import LicensePrice, RemovalStatus, Timing
from bot.readmodels import (
    AccountOverview,
    AddRequestView,
    Preview,
    QuoteOutcome,
    Receipt,
    RemovalView,
)

NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
CASEY = Contacts(
    csm_name="Casey Doe",
    csm_email="casey@vendor.example",
    sales_email="sales@vendor.example",
    support_url="https://support.vendor.example",
)


def overview(
    account_id: str,
    name: str,
    plan: PlanId,
    interval: BillingInterval,
    licenses: int,
    unit_price_minor: int,
    anchor: datetime,
    admins: list[str],
) -> AccountOverview:
    terms = AccountTerms(account_id, plan, interval, licenses, "USD", unit_price_minor, anchor)
    return AccountOverview(
        account_id=account_id,
        name=name,
        slack_team_id=f"T0{account_id.upper()}",
        plan_name=plan_for(plan).display_name,
        terms=terms,
        period=terms.period_at(NOW),
        admins=admins,
        csm_name=CASEY.csm_name,
        csm_email=CASEY.csm_email,
        csm_slack_user_id="U0CSM",
        capacity=add_capacity(terms, CASEY),
    )


ACME = overview(
    "acme",
    "Acme Corp",
    PlanId.PRO,
    BillingInterval.MONTHLY,
    10,
    4900,
    datetime(2026, 11, 1, tzinfo=UTC),
    ["U0ANN", "erin@acme.example"],
)
GLOBEX = overview(
    "globex",
    "Globex",
    PlanId.ENTERPRISE,
    BillingInterval.ANNUAL,
    3,
    120000,
    datetime(2026, 1, 1, tzinfo=UTC),
    ["U0GIL"],
)
INITECH = overview(
    "initech",
    "Initech",
    PlanId.ENTERPRISE,
    BillingInterval.ANNUAL,
    12,
    110000,
    datetime(2026, 3, 1, tzinfo=UTC),
    ["U0IRA"],
)
UMBRELLA = overview(
    "umbrella",
    "Umbrella",
    PlanId.GONG,
    BillingInterval.ANNUAL,
    40,
    129000,
    datetime(2026, 6, 15, tzinfo=UTC),
    ["U0UMA"],
)


def preview(account: AccountOverview, added: int) -> Preview:
    """What the add modal shows for `added`: a quote, or the rules' refusal."""
    decision = decide_add(account.terms, added, CASEY)
    quote = build_quote(account.terms, added, NOW) if decision.allowed else None
    return Preview(account, QuoteOutcome(decision, quote, account.terms, CASEY))


def receipt(added: int = 3, reference: str = "ORD-3B9F2C", before: int = 10) -> Receipt:
    quote = build_quote(replace(ACME.terms, licenses=before), added, NOW)
    return Receipt(
        reference=reference,
        account_id="acme",
        added=added,
        licenses_before=before,
        licenses_after=before + added,
        currency="USD",
        unit_price_minor=quote.unit_price_minor,
        charged_minor=quote.due_today_minor,
        next_cycle_minor=quote.next_cycle_minor,
        period_end=quote.period.end,
        charge_reference="ledger-1",
        placed_at=NOW,
        ordered_by="U0ANN",
    )


def removal(
    status: RemovalStatus = RemovalStatus.PENDING,
    *,
    request_id: int = 1,
    remove: int = 2,
    timing: Timing = Timing.RENEWAL,
    reason: str = "Two people left the team.\nNo new hires.",
    ticket: tuple[str, str] | None = None,
    note: str | None = None,
) -> RemovalView:
    """A request of Ann's for Acme, at each step of its life."""
    requested_at = ACME.period.end if timing is Timing.RENEWAL else NOW
    decided = status is not RemovalStatus.PENDING
    approved = status in (RemovalStatus.APPROVED, RemovalStatus.APPLIED)
    applied = status is RemovalStatus.APPLIED
    return RemovalView(
        id=request_id,
        reference=f"RR-{request_id:05d}",
        account_id="acme",
        account_name="Acme Corp",
        plan_name="Pro",
        team_id="T0ACME",
        csm_user_id="U0CSM",
        requested_by="U0ANN",
        licenses_at_request=10,
        remove_count=remove,
        reason=reason,
        timing=timing,
        requested_effective_at=requested_at,
        status=status,
        decided_by="U0CSM" if decided else None,
        decided_at=NOW + timedelta(hours=1) if decided else None,
        decision_note=note,
        effective_at=requested_at if approved else None,
        applied_at=requested_at if applied else None,
        ticket_reference=ticket[0] if ticket else None,
        ticket_url=ticket[1] if ticket else None,
        channel_id="C0CSM",
        message_ts="1700000000.000100",
        created_at=NOW,
        applied_licenses=10 - remove if applied else None,
    )


def add_request(
    account: AccountOverview = INITECH,
    wanted: int | None = 2,
    route: Route = Route.CSM,
    *,
    request_id: int = 1,
    ticket: tuple[str, str | None] | None = None,
    csm: bool = True,
) -> AddRequestView:
    """A request of the account's first admin for `wanted` more licenses, made on NOW."""
    quote = build_quote(account.terms, wanted, NOW) if wanted else None
    return AddRequestView(
        id=request_id,
        reference=f"LR-{request_id:05d}",
        account_id=account.account_id,
        account_name=account.name,
        plan_name=account.plan_name,
        requested_by=account.admins[0],
        team_id=account.slack_team_id,
        route=route,
        wanted=wanted,
        licenses_at_request=account.terms.licenses,
        price=LicensePrice.of(account.terms),
        quote=quote,
        csm_name=account.csm_name if csm else None,
        csm_email=account.csm_email if csm else None,
        csm_user_id=account.csm_slack_user_id if csm else None,
        ticket_reference=ticket[0] if ticket else None,
        ticket_url=ticket[1] if ticket else None,
        created_at=NOW,
    )
