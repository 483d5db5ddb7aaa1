"""The plans catalog: what each plan is called, costs by default, and allows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class PlanId(StrEnum):
    FREEMIUM = "freemium"
    ESSENTIAL = "essential"
    PRO = "pro"
    ENTERPRISE = "enterprise"
    GONG = "gong"


class BillingInterval(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


# Catalog prices are list prices in this currency; an account billed in another
# currency must carry its own contracted price.
CATALOG_CURRENCY = "USD"


@dataclass(frozen=True)
class Plan:
    id: PlanId
    display_name: str
    monthly_price: Decimal
    annual_price: Decimal
    self_serve_add: bool

    def list_price(self, interval: BillingInterval) -> Decimal:
        """Default price of one license for one billing period of `interval`."""
        return self.monthly_price if interval is BillingInterval.MONTHLY else self.annual_price


CATALOG: dict[PlanId, Plan] = {
    plan.id: plan
    for plan in (
        Plan(PlanId.FREEMIUM, "Freemium", Decimal("0.00"), Decimal("0.00"), True),
        Plan(PlanId.ESSENTIAL, "Essential", Decimal("19.00"), Decimal("190.00"), True),
        Plan(PlanId.PRO, "Pro", Decimal("49.00"), Decimal("490.00"), True),
        # Enterprise is self-serve only while the account stays small (see policy).
        Plan(PlanId.ENTERPRISE, "Enterprise", Decimal("99.00"), Decimal("990.00"), True),
        Plan(PlanId.GONG, "Gong Edition", Decimal("129.00"), Decimal("1290.00"), False),
    )
}


def plan_for(plan_id: str | PlanId) -> Plan:
    return CATALOG[PlanId(plan_id)]
