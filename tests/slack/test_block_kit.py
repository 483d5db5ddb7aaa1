"""Every surface the builders in blocks/ return is valid Block Kit, built from real data."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import blocks.add
import blocks.home
import blocks.messages
import blocks.plan
import blocks.removal
from blocks.add import build_add_modal, build_placing_modal, build_receipt_modal, receipt_blocks
from blocks.home import build_home, build_home_message
from blocks.messages import (
    admin_request_blocks,
    help_blocks,
    not_admin_blocks,
    not_linked_text,
    route_request_blocks,
)
from blocks.metadata import AddModalState, DecisionRequest
from blocks.plan import build_info_modal, build_loading_modal, build_plan_modal
from blocks.removal import build_decision_modal, build_removal_message, build_removal_modal
from bot.db import create_engine, session_factory, upgrade
from bot.domain.removal import RemovalStatus, Timing, Verdict
from bot.sandbox.blockkit import validate_home, validate_message_blocks, validate_modal
from bot.services.accounts import AccountOverview, import_accounts, show_account
from bot.services.context import ServiceContext
from bot.services.orders import AdminIdentity, place_order, recent_orders
from bot.services.quotes import preview
from bot.services.removals import (
    apply_due_removals,
    decide_removal,
    record_ticket,
    removals_of,
    request_removal,
)
from tests.conftest import make_settings
from tests.slack.conftest import ACCOUNTS

NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
VALIDATORS: dict[str, Callable[..., list[str]]] = {
    "modal": validate_modal,
    "home": validate_home,
    "message": validate_message_blocks,
}


@dataclass(frozen=True)
class Surface:
    kind: str  # modal | home | message
    builder: str  # the blocks/ function that made it
    payload: Any


def state_for(overview: AccountOverview) -> AddModalState:
    return AddModalState(account_id=overview.account_id, idempotency_key="add-blockkit")


async def build_surfaces(database_url: str) -> dict[str, Surface]:
    upgrade(database_url)
    engine = create_engine(database_url)
    settings = make_settings(
        database_url,
        sales_email="sales@vendor.example",
        support_url="https://support.vendor.example",
        csm_channel_id="C0CSM",
        csm_user_ids="U0CSM",
    )
    ctx = ServiceContext(session_factory(engine), settings, clock=lambda: NOW)
    try:
        await import_accounts(ctx, ACCOUNTS, actor="tests")
        return await _surfaces(ctx)
    finally:
        await engine.dispose()


async def _surfaces(ctx: ServiceContext) -> dict[str, Surface]:
    found: dict[str, Surface] = {}

    def add(name: str, kind: str, builder: Callable[..., Any], payload: Any) -> None:
        found[name] = Surface(kind, builder.__name__, payload)

    ann = AdminIdentity("U0ANN")
    acme = await show_account(ctx, "acme")
    accounts = {key: await show_account(ctx, key) for key in ("globex", "initech", "umbrella")}

    # Plan modals: self-serve, and each refusal's route in place of Add.
    add("plan modal (pro)", "modal", build_plan_modal, build_plan_modal(acme))
    for key, overview in accounts.items():
        add(f"plan modal ({key})", "modal", build_plan_modal, build_plan_modal(overview))
    add("loading modal", "modal", build_loading_modal, build_loading_modal())

    # The add modal in each of its states.
    quoted = await preview(ctx, "acme", 3)
    assert quoted.outcome.quote is not None
    routed = await preview(ctx, "globex", 3)
    assert routed.outcome.decision.route is not None
    quote = quoted.outcome.quote
    state = state_for(acme).model_copy(update={"quote": quote})
    add("add modal (empty)", "modal", build_add_modal, build_add_modal(acme, state_for(acme)))
    add(
        "add modal (quote)",
        "modal",
        build_add_modal,
        build_add_modal(acme, state, quote=quote, initial=3),
    )
    add(
        "add modal (problem with a route)",
        "modal",
        build_add_modal,
        build_add_modal(
            routed.overview, state_for(routed.overview), problem=routed.outcome.decision, initial=3
        ),
    )
    add(
        "add modal (problem text)",
        "modal",
        build_add_modal,
        build_add_modal(acme, state_for(acme), problem="“abc” is not a whole number of licenses."),
    )
    add(
        "add modal (notice and quote)",
        "modal",
        build_add_modal,
        build_add_modal(
            acme,
            state,
            quote=quote,
            notice="The price you saw has expired. Here is the current price.",
            initial=3,
        ),
    )
    add(
        "add modal (nothing addable)",
        "modal",
        build_add_modal,
        build_add_modal(accounts["initech"], state_for(accounts["initech"])),
    )
    add("placing modal (quote)", "modal", build_placing_modal, build_placing_modal(quote, 3))
    add("placing modal (no quote)", "modal", build_placing_modal, build_placing_modal(None, 3))

    receipt = await place_order(ctx, "acme", ann, 3, "order-blockkit-1", quote)
    second = await place_order(ctx, "acme", ann, 1, "order-blockkit-2", None)
    add("receipt modal", "modal", build_receipt_modal, build_receipt_modal(receipt, "month"))
    add("receipt message", "message", receipt_blocks, receipt_blocks(receipt, "month"))
    add(
        "info modal",
        "modal",
        build_info_modal,
        build_info_modal("Contact Sales", "Write to *sales@vendor.example*."),
    )
    add(
        "info modal (note)",
        "modal",
        build_info_modal,
        build_info_modal("Request sent", ":white_check_mark: Sent.", "A DM follows."),
    )

    # Removals: the request modal, the CSM's decision modals, the channel message over time.
    acme = await show_account(ctx, "acme")
    add("removal modal", "modal", build_removal_modal, build_removal_modal(acme))
    add("removal modal (prefilled)", "modal", build_removal_modal, build_removal_modal(acme, 2))
    pending = await request_removal(
        ctx, "acme", ann, 2, "Two people left the team.\nNo new hires.", Timing.RENEWAL, "Ann"
    )
    assert pending.status is RemovalStatus.PENDING
    add(
        "removal message (pending)",
        "message",
        build_removal_message,
        build_removal_message(pending),
    )
    for verdict in Verdict:
        request = DecisionRequest(request_id=pending.id, verdict=verdict, channel_id="C0CSM")
        add(
            f"decision modal ({verdict.value})",
            "modal",
            build_decision_modal,
            build_decision_modal(pending, request),
        )
    ticketed = await record_ticket(ctx, pending.id, "TCK-00042", "https://support.example/42")
    add(
        "removal message (pending, ticket)",
        "message",
        build_removal_message,
        build_removal_message(ticketed),
    )
    approved = (await decide_removal(ctx, pending.id, "U0CSM", Verdict.APPROVE, note="OK")).view
    assert approved.status is RemovalStatus.APPROVED
    add(
        "removal message (approved)",
        "message",
        build_removal_message,
        build_removal_message(approved),
    )
    other = await request_removal(ctx, "acme", ann, 1, "Budget.", Timing.ASAP)
    denied = (
        await decide_removal(ctx, other.id, "U0CSM", Verdict.DENY, note="Contract minimum.")
    ).view
    assert denied.status is RemovalStatus.DENIED
    add("removal message (denied)", "message", build_removal_message, build_removal_message(denied))
    asap = await request_removal(ctx, "acme", ann, 1, "Now, please.", Timing.ASAP)
    await decide_removal(ctx, asap.id, "U0CSM", Verdict.APPROVE)
    [applied] = [v for v in await apply_due_removals(ctx) if v.id == asap.id]
    add(
        "removal message (applied)",
        "message",
        build_removal_message,
        build_removal_message(applied),
    )

    # App Home for admins, for other members, for unlinked workspaces.
    acme = await show_account(ctx, "acme")
    orders = await recent_orders(ctx, "acme")
    assert {o.reference for o in orders} >= {receipt.reference, second.reference}
    removals = await removals_of(ctx, "acme")
    assert len(removals) == 3
    add("home (orders and removals)", "home", build_home, build_home(acme, orders, removals))
    add("home (nothing yet)", "home", build_home, build_home(accounts["globex"], [], []))
    add("home (csm route)", "home", build_home, build_home(accounts["initech"], [], []))
    add(
        "home (not an admin)",
        "home",
        build_home_message,
        build_home_message("Only license admins of *Acme Corp* can manage licenses here.", "acme"),
    )
    add(
        "home (not linked)",
        "home",
        build_home_message,
        build_home_message(not_linked_text("T0ELSEWHERE", "https://support.vendor.example")),
    )

    # Messages.
    add("help message", "message", help_blocks, help_blocks())
    add("help message (unknown)", "message", help_blocks, help_blocks("I don't know `x`."))
    add(
        "not admin message",
        "message",
        not_admin_blocks,
        not_admin_blocks(acme.name, acme.account_id, acme.admins),
    )
    add(
        "admin request message",
        "message",
        admin_request_blocks,
        admin_request_blocks("U0BOB", acme.name, None),
    )
    add(
        "admin request message (wanted)",
        "message",
        admin_request_blocks,
        admin_request_blocks("U0BOB", acme.name, 1500),
    )
    initech = accounts["initech"]
    add(
        "route request message",
        "message",
        route_request_blocks,
        route_request_blocks(
            "U0IRA",
            initech.name,
            initech.plan_name,
            initech.terms.licenses,
            4,
            initech.csm_slack_user_id,
            initech.capacity.reason,
        ),
    )
    add(
        "route request message (no csm)",
        "message",
        route_request_blocks,
        route_request_blocks("U0UMA", "Umbrella", "Gong Edition", 40, None, None, "Gong."),
    )
    return found


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Surface]:
    path: Path = tmp_path_factory.mktemp("blockkit") / "licensebot.db"
    return asyncio.run(build_surfaces(f"sqlite:///{path}"))


NAMES = [
    "plan modal (pro)",
    "plan modal (globex)",
    "plan modal (initech)",
    "plan modal (umbrella)",
    "loading modal",
    "add modal (empty)",
    "add modal (quote)",
    "add modal (problem with a route)",
    "add modal (problem text)",
    "add modal (notice and quote)",
    "add modal (nothing addable)",
    "placing modal (quote)",
    "placing modal (no quote)",
    "receipt modal",
    "receipt message",
    "info modal",
    "info modal (note)",
    "removal modal",
    "removal modal (prefilled)",
    "removal message (pending)",
    "decision modal (approve)",
    "decision modal (deny)",
    "removal message (pending, ticket)",
    "removal message (approved)",
    "removal message (denied)",
    "removal message (applied)",
    "home (orders and removals)",
    "home (nothing yet)",
    "home (csm route)",
    "home (not an admin)",
    "home (not linked)",
    "help message",
    "help message (unknown)",
    "not admin message",
    "admin request message",
    "admin request message (wanted)",
    "route request message",
    "route request message (no csm)",
]


@pytest.mark.parametrize("name", NAMES)
def test_surface_is_valid_block_kit(surfaces: dict[str, Surface], name: str) -> None:
    surface = surfaces[name]
    assert VALIDATORS[surface.kind](surface.payload) == []
    if surface.kind != "message":
        assert surface.payload["type"] == surface.kind


def test_every_case_built_is_checked(surfaces: dict[str, Surface]) -> None:
    assert sorted(surfaces) == sorted(NAMES)


def test_every_surface_builder_in_blocks_is_covered(surfaces: dict[str, Surface]) -> None:
    """A new build_* or *_blocks function needs a case here."""
    builders = {
        name
        for module in (blocks.add, blocks.home, blocks.messages, blocks.plan, blocks.removal)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and (name.startswith("build_") or name.endswith("_blocks"))
    }
    assert builders
    assert builders <= {surface.builder for surface in surfaces.values()}


def test_the_validator_refuses_what_slack_refuses(surfaces: dict[str, Surface]) -> None:
    """The checks above can fail: the same surfaces, broken the ways Slack refuses."""
    modal = dict(surfaces["plan modal (pro)"].payload)
    modal["title"] = {"type": "plain_text", "text": "A title much longer than Slack allows"}
    assert validate_modal(modal)

    home = dict(surfaces["home (nothing yet)"].payload)
    home["blocks"] = [*home["blocks"], *home["blocks"]]  # duplicate block_ids
    assert validate_home(home)

    message = [dict(block) for block in surfaces["help message"].payload]
    message[0]["text"] = {"type": "plain_text", "text": ""}
    assert validate_message_blocks(message)
