"""The plan's hand-offs: Ask my CSM, Contact Sales, Contact support, Ask an admin (and
the admin's answer to it)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.ids import Action
from blocks.messages import (
    ASK_CSM_TITLE,
    REQUEST_DETAILS_IN_DM,
    admin_request_blocks,
    admin_request_text,
    admins_reached_text,
    csm_request_refused_text,
    csm_request_sent_text,
)
from blocks.metadata import AdminRequest, Ask, RouteRequest
from blocks.plan import (
    build_contact_sales_modal,
    build_contact_support_modal,
    build_info_modal,
)
from bot.bootstrap import Runtime
from bot.domain.errors import ServiceError
from bot.domain.policy import Route
from bot.services.access import admin_user_ids
from bot.services.outbox import SendDm
from bot.services.requests import record_request, request_licenses
from handlers.licenses_command import modal_for, open_loading_if_slow
from handlers.middleware import Caller, listener
from handlers.surfaces import Interaction

ROUTES = {Action.ASK_CSM: Route.CSM, Action.CONTACT_SALES: Route.SALES}


async def on_route_request(
    slack: Interaction,
    action: dict[str, Any],
    caller: Caller,
    runtime: Runtime,
    request: RouteRequest,
) -> None:
    """Ask my CSM / Contact Sales: an admin's request is recorded with what was asked, its
    price (computed here, not read from the button) and a reference, and routed."""
    await slack.ack()
    route = ROUTES[Action(action["action_id"])]
    settings = runtime.settings
    admin = await caller.admin()
    if admin is None:
        if route is Route.SALES:
            await slack.show_modal(build_contact_sales_modal(settings.sales_email, None))
        else:
            await slack.confirm(ASK_CSM_TITLE, csm_request_refused_text())
        return
    # A replay of the same click is the same request.
    clicked = action.get("action_ts")
    key = f"route-{caller.team_id}-{caller.user_id}-{clicked}" if clicked else None
    made = await request_licenses(
        runtime.services,
        admin.account_id,
        admin.identity,
        caller.team_id,
        route,
        request.wanted,
        key=key,
    )
    runtime.drain_soon()
    if route is Route.SALES:
        modal = build_contact_sales_modal(settings.sales_email, admin.account_id, made.reference)
        await slack.show_modal(modal)
    elif slack.view.get("type") == "modal":
        note = REQUEST_DETAILS_IN_DM
        await slack.update_modal(build_info_modal(ASK_CSM_TITLE, csm_request_sent_text(made), note))
    # Elsewhere (App Home) the DM that says what was asked is the confirmation.


async def on_contact_support(slack: Interaction, runtime: Runtime) -> None:
    await slack.ack()
    settings = runtime.settings
    await slack.show_modal(build_contact_support_modal(settings.support_url, settings.sales_email))


async def on_ask_admins(
    slack: Interaction, caller: Caller, runtime: Runtime, request: AdminRequest
) -> None:
    """A member asks the account's admins; each admin gets a DM, the member a confirmation."""
    await slack.ack()
    view = (await caller.access()).overview
    if view is None:
        return
    # The DM's button points at the same account and ask; whoever clicks it is checked then.
    request = request.model_copy(update={"account_id": view.account_id})
    blocks = admin_request_blocks(caller.user_id, view.name, request)
    admins = await admin_user_ids(runtime.directory, view.admins, caller.team_id)
    text = admin_request_text(view.name, request)
    messages = [
        SendDm(team_id=caller.team_id, user_id=admin, text=text, blocks=blocks) for admin in admins
    ]
    services = runtime.services
    await record_request(
        services, view.account_id, caller.user_id, request.ask.value, request.count, messages
    )
    runtime.drain_soon()
    text = admins_reached_text(len(admins), view.name)
    if slack.body.get("response_url"):
        await slack.replace_original(text)
    else:
        await slack.dm(text)


# What each ask opens for the admin: the subcommand they would have typed themselves.
ANSWERS = {Ask.ADD: "add", Ask.REMOVE: "remove", Ask.MANAGE: "plan"}
REFUSED = {
    Ask.ADD: "add licenses",
    Ask.REMOVE: "ask to remove licenses",
    Ask.MANAGE: "manage licenses",
}


async def on_answer_admin_request(
    slack: Interaction, caller: Caller, runtime: Runtime, request: AdminRequest
) -> None:
    """An admin clicks the button in a member's request: the modal `/licenses add 3` (or
    `remove 2`, or `/licenses`) opens, pre-filled. The button's value only points at the
    account: the clicker must be its admin now, or they read that only admins can."""
    await slack.ack()
    loading = await open_loading_if_slow(slack, caller)
    try:
        admin = await caller.admin_of(request.account_id, REFUSED[request.ask])
    except ServiceError as error:
        if loading:
            await slack.update_modal(build_info_modal("Licenses", f":warning: {error}"), loading)
        raise
    argument = str(request.count) if request.count else ""
    view = await modal_for(runtime, caller, admin, ANSWERS[request.ask], argument)
    if loading:
        await slack.update_modal(view, loading)
    else:
        await slack.open_modal(view)


def register(app: AsyncApp) -> None:
    for action_id in ROUTES:
        app.action(action_id)(listener(on_route_request))
    app.action(Action.CONTACT_SUPPORT)(listener(on_contact_support))
    app.action(Action.ASK_ADMINS)(listener(on_ask_admins))
    app.action(Action.ANSWER_ADMIN_REQUEST)(listener(on_answer_admin_request))
