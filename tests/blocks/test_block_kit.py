"""Every surface the builders in blocks/ return is valid Block Kit, drawn from plain values.

Valid for the product's own checks (slack-sdk's models and Slack's surface rules, which the
sandbox's fake Slack applies) everywhere, and for the strict JSON schema when it is there
(tests/blockkit_schema.py: skipped without it, failing in CI).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import blocks.add
import blocks.add_decision
import blocks.history
import blocks.home
import blocks.messages
import blocks.plan
import blocks.queue
import blocks.removal
from blocks.add import (
    INTERRUPTED,
    PRICE_MOVED,
    build_add_modal,
    build_add_modal_for,
    build_add_not_allowed_modal,
    build_add_refused_modal,
    build_order_declined_modal,
    build_order_not_placed_modal,
    build_order_processing_modal,
    build_placing_modal,
    build_receipt_modal,
    order_declined_blocks,
    order_not_placed_blocks,
    receipt_blocks,
)
from blocks.add_decision import (
    add_decision_blocks,
    build_add_decided_modal,
    build_add_decision_modal,
    build_approving_modal,
    csm_post_blocks,
)
from blocks.history import build_history_modal
from blocks.home import build_home, build_home_message, build_not_admin_home, build_not_linked_home
from blocks.ids import Block
from blocks.messages import (
    add_request_sent_blocks,
    admin_request_blocks,
    help_blocks,
    link_code_blocks,
    not_admin_blocks,
    not_linked_text,
    route_request_blocks,
)
from blocks.metadata import (
    AddDecisionState,
    AddModalState,
    AdminRequest,
    Ask,
    DecisionRequest,
)
from blocks.plan import (
    build_contact_sales_modal,
    build_contact_support_modal,
    build_info_modal,
    build_loading_modal,
    build_only_admins_modal,
    build_plan_modal,
)
from blocks.queue import build_queue_home, build_queue_modal
from blocks.removal import (
    build_already_decided_modal,
    build_decided_modal,
    build_decision_modal,
    build_removal_message,
    build_removal_modal,
    build_removal_not_allowed_modal,
    build_request_sent_modal,
)
from bot.domain.policy import RequestStatus, Route
from bot.domain.removal import LicensePrice, RemovalStatus, Timing, Verdict
from bot.readmodels import AccountOverview, CsmQueue, History
from bot.sandbox.blockkit import validate_home, validate_message_blocks, validate_modal
from tests import blockkit_schema, examples

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
    return AddModalState(
        account_id=overview.account_id,
        idempotency_key="add-blockkit",
        viewer="U0ANN",
        team_id="T0ACME",
        modal_id="0123456789abcdef",
    )


def build_surfaces() -> dict[str, Surface]:
    """Every surface, drawn from plain read models: no database, no services."""
    found: dict[str, Surface] = {}

    def add(name: str, kind: str, builder: Callable[..., Any], payload: Any) -> None:
        found[name] = Surface(kind, builder.__name__, payload)

    acme = examples.ACME
    accounts = {
        "globex": examples.GLOBEX,
        "initech": examples.INITECH,
        "umbrella": examples.UMBRELLA,
    }

    # Plan modals: self-serve, and each refusal's route in place of Add.
    add("plan modal (pro)", "modal", build_plan_modal, build_plan_modal(acme))
    for key, overview in accounts.items():
        add(f"plan modal ({key})", "modal", build_plan_modal, build_plan_modal(overview))
    add("loading modal", "modal", build_loading_modal, build_loading_modal())

    # The add modal in each of its states.
    quoted = examples.preview(acme, 3)
    assert quoted.outcome.quote is not None
    routed = examples.preview(examples.GLOBEX, 3)
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
    add(
        "add modal for (quote)",
        "modal",
        build_add_modal_for,
        build_add_modal_for(quoted, state_for(acme), 3, notice="Press Order Now.", initial=3),
    )
    add(
        "add modal for (typo)",
        "modal",
        build_add_modal_for,
        build_add_modal_for(quoted, state_for(acme), "“abc” is not a whole number of licenses."),
    )
    add(
        "add modal for (route)",
        "modal",
        build_add_modal_for,
        build_add_modal_for(routed, state_for(routed.overview), 3),
    )
    add(
        "add refused modal",
        "modal",
        build_add_refused_modal,
        build_add_refused_modal("The account changed meanwhile."),
    )
    interrupted = build_order_not_placed_modal(3, INTERRUPTED, state.external_id)
    add("order not placed modal", "modal", build_order_not_placed_modal, interrupted)
    not_placed = order_not_placed_blocks(3, PRICE_MOVED, "acme")
    add("order not placed message", "message", order_not_placed_blocks, not_placed)
    add(
        "add not allowed modal", "modal", build_add_not_allowed_modal, build_add_not_allowed_modal()
    )
    placing = build_placing_modal(state, 3)
    add("placing modal (quote)", "modal", build_placing_modal, placing)
    unquoted = build_placing_modal(state_for(acme), 3)
    add("placing modal (no quote)", "modal", build_placing_modal, unquoted)

    receipt = examples.receipt(3)
    second = examples.receipt(1, "ORD-7C1D0E", before=13)
    add("receipt modal", "modal", build_receipt_modal, build_receipt_modal(receipt, "month"))
    add("receipt message", "message", receipt_blocks, receipt_blocks(receipt, "month"))
    declined = dataclasses.replace(
        receipt, status="failed", charge_reference=None, failure_message="Your card was declined."
    )
    add(
        "order declined modal",
        "modal",
        build_order_declined_modal,
        build_order_declined_modal(declined, state.external_id),
    )
    add("order declined message", "message", order_declined_blocks, order_declined_blocks(declined))
    history = History(
        acme.name, [dataclasses.replace(receipt, placed_at=examples.NOW), examples.removal()], True
    )
    add("history modal", "modal", build_history_modal, build_history_modal(history))
    middle_page = dataclasses.replace(history, offset=40)
    add(
        "history modal (a middle page)",
        "modal",
        build_history_modal,
        build_history_modal(middle_page),
    )
    empty_history = History(acme.name, [], False)
    add("history modal (empty)", "modal", build_history_modal, build_history_modal(empty_history))
    waiting = CsmQueue(
        [examples.removal(), examples.add_request(request_id=4)],
        True,
        examples.NOW + timedelta(hours=30),
    )
    add("queue modal", "modal", build_queue_modal, build_queue_modal(waiting))
    add("queue home", "home", build_queue_home, build_queue_home(waiting))
    nothing_waiting = CsmQueue([], False, examples.NOW)
    add("queue modal (empty)", "modal", build_queue_modal, build_queue_modal(nothing_waiting))
    processing = dataclasses.replace(receipt, status="pending", charge_reference=None)
    add(
        "order processing modal",
        "modal",
        build_order_processing_modal,
        build_order_processing_modal(processing, state.external_id),
    )
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

    add(
        "only admins modal",
        "modal",
        build_only_admins_modal,
        build_only_admins_modal("Licenses", "see the plan"),
    )
    add(
        "contact sales modal (ticket)",
        "modal",
        build_contact_sales_modal,
        build_contact_sales_modal("sales@vendor.example", "globex", "LR-00002"),
    )
    add(
        "contact sales modal (no email)",
        "modal",
        build_contact_sales_modal,
        build_contact_sales_modal(None, None),
    )
    add(
        "contact support modal",
        "modal",
        build_contact_support_modal,
        build_contact_support_modal("https://support.vendor.example", "sales@vendor.example"),
    )
    add(
        "contact support modal (nothing set)",
        "modal",
        build_contact_support_modal,
        build_contact_support_modal(None, None),
    )

    # Removals: the request modal, the CSM's decision modals, the channel message over time.
    add("removal modal", "modal", build_removal_modal, build_removal_modal(acme))
    add("removal modal (prefilled)", "modal", build_removal_modal, build_removal_modal(acme, 2))
    add(
        "removal modal (explained)",
        "modal",
        build_removal_modal,
        build_removal_modal(
            acme, "99", problem="The account has 10 licenses and keeps at least 1."
        ),
    )
    pending = examples.removal()
    add("request sent modal", "modal", build_request_sent_modal, build_request_sent_modal(pending))
    # The renewal before and after: as the admin types, and on the CSM's surfaces.
    for typed in ("2", "99", ""):
        add(
            f"removal modal (typed {typed!r})",
            "modal",
            build_removal_modal,
            build_removal_modal(acme, typed=typed),
        )
    priced = dataclasses.replace(
        examples.removal(timing=Timing.ASAP), price=LicensePrice.of(acme.terms)
    )
    add(
        "request sent modal (priced)",
        "modal",
        build_request_sent_modal,
        build_request_sent_modal(priced),
    )
    add(
        "removal message (pending, priced)",
        "message",
        build_removal_message,
        build_removal_message(priced),
    )
    add(
        "decision modal (approve, priced)",
        "modal",
        build_decision_modal,
        build_decision_modal(
            priced, DecisionRequest(request_id=priced.id, verdict=Verdict.APPROVE)
        ),
    )
    add(
        "removal not allowed modal",
        "modal",
        build_removal_not_allowed_modal,
        build_removal_not_allowed_modal(),
    )
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
    ticket = ("TCK-00042", "https://support.example/42")
    ticketed = examples.removal(ticket=ticket)
    add(
        "removal message (pending, ticket)",
        "message",
        build_removal_message,
        build_removal_message(ticketed),
    )
    approved = examples.removal(RemovalStatus.APPROVED, ticket=ticket, note="OK")
    add(
        "already decided modal",
        "modal",
        build_already_decided_modal,
        build_already_decided_modal(approved),
    )
    add("decided modal", "modal", build_decided_modal, build_decided_modal(approved))
    add(
        "removal message (approved)",
        "message",
        build_removal_message,
        build_removal_message(approved),
    )
    denied = examples.removal(
        RemovalStatus.DENIED,
        request_id=2,
        remove=1,
        timing=Timing.ASAP,
        reason="Budget.",
        note="Contract minimum.",
    )
    add("removal message (denied)", "message", build_removal_message, build_removal_message(denied))
    applied = examples.removal(
        RemovalStatus.APPLIED, request_id=3, remove=1, timing=Timing.ASAP, reason="Now, please."
    )
    add(
        "removal message (applied)",
        "message",
        build_removal_message,
        build_removal_message(applied),
    )

    # App Home for admins, for other members, for unlinked workspaces.
    orders = [processing, declined, second, receipt]
    removals = [applied, denied, approved]
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
    add(
        "not linked home",
        "home",
        build_not_linked_home,
        build_not_linked_home("T0ELSEWHERE", None),
    )
    add("not admin home", "home", build_not_admin_home, build_not_admin_home(acme))

    # Messages.
    add("help message", "message", help_blocks, help_blocks())
    add("help message (unknown)", "message", help_blocks, help_blocks("I don't know `x`."))
    add(
        "link code message",
        "message",
        link_code_blocks,
        link_code_blocks(acme.name, "ABCD-EFGH-JKMN", examples.NOW + timedelta(hours=24)),
    )
    add(
        "not admin message",
        "message",
        not_admin_blocks,
        not_admin_blocks(acme.name, acme.account_id, acme.admins, "plan", ""),
    )
    add(
        "not admin message (remove 2)",
        "message",
        not_admin_blocks,
        not_admin_blocks(acme.name, acme.account_id, acme.admins, "remove", "2"),
    )
    add(
        "admin request message",
        "message",
        admin_request_blocks,
        admin_request_blocks("U0BOB", acme.name, AdminRequest(account_id=acme.account_id)),
    )
    add(
        "admin request message (wanted)",
        "message",
        admin_request_blocks,
        admin_request_blocks(
            "U0BOB", acme.name, AdminRequest(account_id=acme.account_id, count=1500)
        ),
    )
    add(
        "admin request message (remove)",
        "message",
        admin_request_blocks,
        admin_request_blocks(
            "U0BOB", acme.name, AdminRequest(account_id=acme.account_id, ask=Ask.REMOVE, count=2)
        ),
    )
    add(
        "admin request message (manage)",
        "message",
        admin_request_blocks,
        admin_request_blocks(
            "U0BOB", acme.name, AdminRequest(account_id=acme.account_id, ask=Ask.MANAGE)
        ),
    )
    asked = examples.add_request(accounts["initech"], 2)
    unsaid = examples.add_request(accounts["initech"], None, csm=False)
    to_sales = examples.add_request(
        accounts["globex"], 3, Route.SALES, request_id=2, ticket=("LB-00001", None)
    )
    linked = examples.add_request(
        accounts["umbrella"],
        1500,
        Route.SALES,
        request_id=3,
        ticket=("ZD-42", "https://support.example/42"),
    )
    add("route request message", "message", route_request_blocks, route_request_blocks(asked))
    add(
        "route request message (no number, no csm)",
        "message",
        route_request_blocks,
        route_request_blocks(unsaid),
    )
    for name, request in (
        ("csm", asked),
        ("no number", unsaid),
        ("sales", to_sales),
        ("sales, linked ticket", linked),
    ):
        add(
            f"add request sent message ({name})",
            "message",
            add_request_sent_blocks,
            add_request_sent_blocks(request),
        )
    add(
        "home (add requests)",
        "home",
        build_home,
        build_home(accounts["initech"], [], [], [asked, unsaid, to_sales, linked]),
    )
    approving = AddDecisionState(request_id=1, verdict=Verdict.APPROVE, quote=asked.quote)
    denying = AddDecisionState(request_id=1, verdict=Verdict.DENY)
    ttl = 900
    for name, request, state, extra in (
        ("approve", asked, approving, {}),
        ("approve, no number", unsaid, approving.model_copy(update={"quote": None}), {}),
        ("approve, notice", asked, approving, {"notice": "Check it.", "typed": "3"}),
        ("deny", asked, denying, {}),
    ):
        add(
            f"add decision modal ({name})",
            "modal",
            build_add_decision_modal,
            build_add_decision_modal(request, state, ttl, **extra),
        )
    add("approving modal", "modal", build_approving_modal, build_approving_modal(approving))
    approved = dataclasses.replace(
        asked,
        status=RequestStatus.APPROVED,
        decided_by="U0CSM",
        decided_at=examples.NOW,
        decision_note="Agreed on the call.",
        order_reference="ORD-7C1D0E",
    )
    denied = dataclasses.replace(
        asked,
        status=RequestStatus.DENIED,
        decided_by="U0CSM",
        decided_at=examples.NOW,
        decision_note="Wait for the renewal.",
    )
    paid = examples.receipt(2)
    for name, request, receipt in (
        ("paid", approved, paid),
        ("declined", asked, dataclasses.replace(paid, status="failed", failure_message="No.")),
        ("pending", approved, dataclasses.replace(paid, status="pending")),
        ("denied", denied, None),
    ):
        add(
            f"add decided modal ({name})",
            "modal",
            build_add_decided_modal,
            build_add_decided_modal(request, receipt),
        )
    for name, request in (("pending", asked), ("approved", approved), ("denied", denied)):
        add(f"csm post ({name})", "message", csm_post_blocks, csm_post_blocks(request))
    for name, request in (("approved", approved), ("denied", denied)):
        add(
            f"add decision message ({name})",
            "message",
            add_decision_blocks,
            add_decision_blocks(request),
        )
    add(
        "home (decided add requests)",
        "home",
        build_home,
        build_home(accounts["initech"], [], [], [approved, denied]),
    )
    add(
        "plan modal (initech, add 2)",
        "modal",
        build_plan_modal,
        build_plan_modal(accounts["initech"], wanted=2),
    )
    add(
        "plan modal (umbrella, add 2,000,000)",
        "modal",
        build_plan_modal,
        build_plan_modal(accounts["umbrella"], wanted=2_000_000),
    )
    return found


@pytest.fixture(scope="module")
def surfaces() -> dict[str, Surface]:
    return build_surfaces()


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
    "add modal for (quote)",
    "add modal for (typo)",
    "add modal for (route)",
    "add refused modal",
    "order not placed modal",
    "order not placed message",
    "add not allowed modal",
    "placing modal (quote)",
    "placing modal (no quote)",
    "receipt modal",
    "receipt message",
    "order declined modal",
    "order declined message",
    "history modal",
    "history modal (empty)",
    "history modal (a middle page)",
    "queue modal",
    "queue home",
    "queue modal (empty)",
    "order processing modal",
    "info modal",
    "info modal (note)",
    "only admins modal",
    "contact sales modal (ticket)",
    "contact sales modal (no email)",
    "contact support modal",
    "contact support modal (nothing set)",
    "removal modal",
    "removal modal (prefilled)",
    "removal modal (explained)",
    "removal message (pending)",
    "request sent modal",
    "removal modal (typed '2')",
    "removal modal (typed '99')",
    "removal modal (typed '')",
    "request sent modal (priced)",
    "removal message (pending, priced)",
    "decision modal (approve, priced)",
    "removal not allowed modal",
    "decision modal (approve)",
    "decision modal (deny)",
    "removal message (pending, ticket)",
    "removal message (approved)",
    "already decided modal",
    "decided modal",
    "removal message (denied)",
    "removal message (applied)",
    "home (orders and removals)",
    "home (nothing yet)",
    "home (csm route)",
    "home (not an admin)",
    "home (not linked)",
    "not linked home",
    "not admin home",
    "help message",
    "help message (unknown)",
    "link code message",
    "not admin message",
    "not admin message (remove 2)",
    "admin request message",
    "admin request message (wanted)",
    "admin request message (remove)",
    "admin request message (manage)",
    "route request message",
    "route request message (no number, no csm)",
    "add request sent message (csm)",
    "add request sent message (no number)",
    "add request sent message (sales)",
    "add request sent message (sales, linked ticket)",
    "home (add requests)",
    "plan modal (initech, add 2)",
    "plan modal (umbrella, add 2,000,000)",
    "add decision modal (approve)",
    "add decision modal (approve, no number)",
    "add decision modal (approve, notice)",
    "add decision modal (deny)",
    "approving modal",
    "add decided modal (paid)",
    "add decided modal (declined)",
    "add decided modal (pending)",
    "add decided modal (denied)",
    "csm post (pending)",
    "csm post (approved)",
    "csm post (denied)",
    "add decision message (approved)",
    "add decision message (denied)",
    "home (decided add requests)",
]


@pytest.fixture
def schema() -> None:
    blockkit_schema.require_schema()


@pytest.mark.parametrize("name", NAMES)
def test_surface_is_valid_block_kit(surfaces: dict[str, Surface], name: str) -> None:
    surface = surfaces[name]
    sent = copy.deepcopy(surface.payload)
    assert VALIDATORS[surface.kind](surface.payload) == []
    assert surface.payload == sent  # checking changes nothing
    if surface.kind != "message":
        assert surface.payload["type"] == surface.kind


@pytest.mark.usefixtures("schema")
@pytest.mark.parametrize("name", NAMES)
def test_surface_matches_the_block_kit_schema(surfaces: dict[str, Surface], name: str) -> None:
    surface = surfaces[name]
    assert blockkit_schema.schema_errors(surface.kind, surface.payload) == []


def test_every_case_built_is_checked(surfaces: dict[str, Surface]) -> None:
    assert sorted(surfaces) == sorted(NAMES)


def test_every_surface_builder_in_blocks_is_covered(surfaces: dict[str, Surface]) -> None:
    """A new build_* or *_blocks function needs a case here."""
    builders = {
        name
        for module in (
            blocks.add,
            blocks.add_decision,
            blocks.history,
            blocks.home,
            blocks.messages,
            blocks.plan,
            blocks.queue,
            blocks.removal,
        )
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and (name.startswith("build_") or name.endswith("_blocks"))
    }
    assert builders
    assert builders <= {surface.builder for surface in surfaces.values()}


def broken(surfaces: dict[str, Surface]) -> dict[str, Any]:
    """The surfaces above, broken the ways Slack refuses."""
    modal = copy.deepcopy(surfaces["plan modal (pro)"].payload)
    modal["title"] = {"type": "plain_text", "text": "A title much longer than Slack allows"}

    home = copy.deepcopy(surfaces["home (nothing yet)"].payload)
    home["blocks"] = [*home["blocks"], *home["blocks"]]  # duplicate block_ids

    message = copy.deepcopy(surfaces["help message"].payload)
    message[0]["text"] = {"type": "plain_text", "text": ""}

    add = copy.deepcopy(surfaces["add modal (quote)"].payload)
    [count] = [b for b in add["blocks"] if b.get("block_id") == Block.ADD_COUNT]
    # The count is a text input (the bot checks it, in its own words); Slack's own bounds
    # check is still modelled: a number_input whose initial value lies outside them.
    count["element"] = {
        **count["element"],
        "type": "number_input",
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": "2",
        "initial_value": "3",
    }

    removal = copy.deepcopy(surfaces["removal message (pending)"].payload)
    [buttons] = [b for b in removal if b["type"] == "actions"]
    buttons["elements"][1]["action_id"] = buttons["elements"][0]["action_id"]
    return {"modal": modal, "home": home, "message": message, "add": add, "removal": removal}


def test_the_validator_refuses_what_slack_refuses(surfaces: dict[str, Surface]) -> None:
    """The checks above can fail: the same surfaces, broken the ways Slack refuses."""
    bad = broken(surfaces)
    assert validate_modal(bad["modal"]) == [
        "title must be between 1 and 24 characters [json-pointer:/title]"
    ]
    blocks = bad["home"]["blocks"]
    half = len(blocks) // 2
    twins = [
        f"duplicate block_id {b['block_id']!r} [json-pointer:/blocks/{half + i}/block_id]"
        for i, b in enumerate(blocks[:half])
        if "block_id" in b
    ]
    assert twins
    assert validate_home(bad["home"]) == twins
    assert validate_message_blocks(bad["message"]) == [
        "must not be empty [json-pointer:/blocks/0/text/text]"
    ]
    [index] = [
        i for i, b in enumerate(bad["add"]["blocks"]) if b.get("block_id") == Block.ADD_COUNT
    ]
    assert validate_modal(bad["add"], at="/view") == [
        "initial_value must lie within min_value and max_value "
        f"[json-pointer:/view/blocks/{index}/element/initial_value]"
    ]
    [index] = [i for i, b in enumerate(bad["removal"]) if b["type"] == "actions"]
    action_id = bad["removal"][index]["elements"][0]["action_id"]
    assert validate_message_blocks(bad["removal"]) == [
        f"duplicate action_id {action_id!r} in one block "
        f"[json-pointer:/blocks/{index}/elements/1/action_id]"
    ]


@pytest.mark.usefixtures("schema")
def test_the_schema_refuses_what_slack_refuses(surfaces: dict[str, Surface]) -> None:
    """The schema's checks can fail too (it leaves ids and number bounds to the rules)."""
    bad = broken(surfaces)
    errors = blockkit_schema.schema_errors
    assert errors("modal", bad["modal"]) == [
        "must be at most 24 characters [json-pointer:/title/text]"
    ]
    assert errors("message", bad["message"], "/blocks") == [
        "must not be empty [json-pointer:/blocks/0/text/text]"
    ]
