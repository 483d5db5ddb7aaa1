"""Pieces that the plan modal, the add modal and App Home share."""

from __future__ import annotations

from typing import Any

from blocks.ids import Action
from blocks.metadata import RouteRequest
from blocks.text import Block, button, day, fields, money, per_period
from bot.domain.policy import Decision, Route
from bot.readmodels import AccountOverview


def plan_fields(view: AccountOverview) -> Block:
    terms = view.terms
    csm = view.csm_name or view.csm_email or "Not assigned"
    if view.csm_slack_user_id:
        csm = f"<@{view.csm_slack_user_id}>"
    return fields(
        [
            ("Plan", view.plan_name),
            ("Billing", terms.interval.value.capitalize()),
            ("Licenses", f"{terms.licenses:,}"),
            (
                "Price per additional license",
                f"{money(terms.unit_price_minor, terms.currency)} per {per_period(terms.interval)}",
            ),
            ("Current period", f"{day(view.period.start)} – {day(view.period.end)}"),
            ("Renews", f"{day(view.period.end)} at {money(view.next_cycle_minor, terms.currency)}"),
            ("Customer Success Manager", csm),
        ]
    )


def route_button(
    route: Route | None, account_id: str, wanted: int | None = None, primary: bool = True
) -> dict[str, Any]:
    """The button that turns a refusal into a request to the right person."""
    value = RouteRequest.asking(account_id, wanted).model_dump_json()
    style = "primary" if primary else None
    if route is Route.SALES:
        return button("Contact Sales", Action.CONTACT_SALES, value, style=style)
    return button("Ask my CSM", Action.ASK_CSM, value, style=style)


def route_buttons(
    decision: Decision, account_id: str, wanted: int | None = None
) -> list[dict[str, Any]]:
    """The refusal's route, then the other way it offers (Gong Edition: also Sales)."""
    first = route_button(decision.route, account_id, wanted)
    if decision.also is None or decision.also is decision.route:
        return [first]
    return [first, route_button(decision.also, account_id, wanted, primary=False)]


def plan_buttons(view: AccountOverview, wanted: int | None = None) -> list[dict[str, Any]]:
    """Add licenses when the rules allow it, else the route they give (asking for `wanted`,
    the number typed with `/licenses add N`); then the rest."""
    value = RouteRequest(account_id=view.account_id).model_dump_json()
    if view.capacity.allowed:
        first = [button("Add licenses", Action.OPEN_ADD, value, style="primary")]
    else:
        first = route_buttons(view.capacity, view.account_id, wanted)
    return [
        *first,
        button("Request removal", Action.REQUEST_REMOVAL, value),
        button("Contact support", Action.CONTACT_SUPPORT, value),
    ]
