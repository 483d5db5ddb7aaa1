"""The plan's hand-offs: Ask my CSM, Contact Sales, Contact support, Ask an admin."""

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
from blocks.metadata import AdminRequest, RouteRequest
from blocks.plan import (
    build_contact_sales_modal,
    build_contact_support_modal,
)
from bot.bootstrap import Runtime
from bot.domain.policy import Route
from bot.services.access import admin_user_ids
from bot.services.outbox import SendDm
from bot.services.requests import record_request
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
    blocks = admin_request_blocks(caller.user_id, view.name, request.wanted)
    admins = await admin_user_ids(runtime.directory, view.admins, caller.team_id)
    text = admin_request_text(view.name)
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
        request.wanted,
        messages,
    )
    runtime.drain_soon()
    text = admins_reached_text(len(admins), view.name)
    if slack.body.get("response_url"):
        await slack.replace_original(text)
    else:
        await slack.dm(text)


def register(app: AsyncApp) -> None:
    for action_id in ROUTES:
        app.action(action_id)(listener(on_route_request))
    app.action(Action.CONTACT_SUPPORT)(listener(on_contact_support))
    app.action(Action.ASK_ADMINS)(listener(on_ask_admins))
