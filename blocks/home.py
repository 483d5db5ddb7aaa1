"""App Home: the plan at a glance, the same buttons as the modal, the last orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blocks.add_decision import add_request_status
from blocks.ids import Action
from blocks.ids import Block as BlockId
from blocks.messages import not_linked_text, request_price
from blocks.metadata import AdminRequest
from blocks.removal import removal_home_line
from blocks.surfaces import plan_buttons, plan_fields
from blocks.text import Block, actions, button, context, day, divider, header, money, section
from bot.domain.policy import Route
from bot.readmodels import AccountOverview, AddRequestView, Receipt, RemovalView


def order_line(order: Receipt) -> str:
    amount = money(order.charged_minor, order.currency)
    if order.status == "failed":
        outcome = f"+{order.added:,} · payment declined, nothing charged"
    elif order.status == "pending":
        outcome = f"+{order.added:,} · {amount} being charged"
    else:
        outcome = (
            f"+{order.added:,} ({order.licenses_before:,} → {order.licenses_after:,}) · {amount}"
        )
    return f"`{order.reference}` · {day(order.placed_at)} · {outcome} · <@{order.ordered_by}>"


def add_request_line(request: AddRequestView) -> str:
    """A request for more licenses to the CSM or Sales, with its price and reference."""
    whom = "Sales" if request.route is Route.SALES else "your CSM"
    asked = f"+{request.wanted:,}" if request.wanted else "more licenses"
    ticket = f" · ticket {request.ticket_reference}" if request.ticket_reference else ""
    line = (
        f"`{request.reference}` · {day(request.created_at)} · {asked} asked of {whom} · "
        f"{request_price(request)}{ticket} · <@{request.requested_by}>"
    )
    if request.route is Route.CSM:
        line += f"\n{add_request_status(request)}"
    return line


def build_home(
    view: AccountOverview,
    orders: list[Receipt],
    removals: list[RemovalView],
    requests: Sequence[AddRequestView] = (),
) -> dict[str, Any]:
    blocks: list[Block] = [
        header(f"{view.name} licenses"),
        plan_fields(view),
        actions(
            [*plan_buttons(view), button("History", Action.OPEN_HISTORY)],
            block_id=BlockId.HOME_ACTIONS,
        ),
    ]
    if not view.capacity.allowed:
        blocks.append(context(f":information_source: {view.capacity.reason}"))
    blocks += [divider(), section("*Recent orders*")]
    if orders:
        blocks += [section(order_line(order)) for order in orders]
    else:
        blocks.append(context("No orders yet. Type `/licenses add` to add licenses."))
    if requests:
        blocks += [divider(), section("*Requests for more licenses*")]
        blocks += [section(add_request_line(request)) for request in requests]
    blocks += [divider(), section("*Removal requests*")]
    if removals:
        blocks += [section(removal_home_line(removal)) for removal in removals]
    else:
        blocks.append(context("No removal requests."))
    return {"type": "home", "blocks": blocks}


def build_home_message(text: str, account_id: str | None = None) -> dict[str, Any]:
    """Home for people who can't manage licenses: why, and what they can do."""
    blocks: list[Block] = [header("Licenses"), section(text)]
    if account_id:
        value = AdminRequest(account_id=account_id).model_dump_json()
        blocks.append(actions([button("Ask an admin", Action.ASK_ADMINS, value)]))
    return {"type": "home", "blocks": blocks}


def build_not_linked_home(team_id: str, support_url: str | None) -> dict[str, Any]:
    return build_home_message(not_linked_text(team_id, support_url))


def build_not_admin_home(view: AccountOverview) -> dict[str, Any]:
    return build_home_message(
        f"Only license admins of *{view.name}* can manage licenses here.", view.account_id
    )
