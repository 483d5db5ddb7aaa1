"""The plan's hand-offs: Ask my CSM, Contact Sales, Contact support, Ask an admin (and
the admin's answer to it)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.ids import Action
from blocks.messages import (
    ASK_CSM_TITLE,
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
from bot.services.requests import record_request
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
    """Ask my CSM / Contact Sales: an admin's request is recorded and routed, never lost."""
    await slack.ack()
    route = ROUTES[Action(action["action_id"])]
    admin = await caller.admin()
    if admin is not None:
        await record_request(
            runtime.services,
            admin.account_id,
            caller.user_id,
            caller.team_id,
            route,
            request.wanted,
        )
        runtime.drain_soon()
    if route is Route.SALES:
        account_id = admin.account_id if admin else None
        await slack.show_modal(build_contact_sales_modal(runtime.settings.sales_email, account_id))
    elif admin is None:
        await slack.confirm(ASK_CSM_TITLE, csm_request_refused_text())
    else:
        await slack.confirm(ASK_CSM_TITLE, csm_request_sent_text(admin.overview.csm_name))


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
        services,
        view.account_id,
        caller.user_id,
        caller.team_id,
        "admins",
        request.count,
        messages,
        ask=request.ask.value,
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
