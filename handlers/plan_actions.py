"""The plan's hand-offs: Ask my CSM, Contact Sales, Contact support, Ask an admin."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action
from blocks.messages import (
    admin_request_blocks,
    admin_request_text,
    admins_reached_text,
    csm_request_sent_text,
    only_admins_text,
)
from blocks.metadata import AdminRequest, RouteRequest
from blocks.plan import (
    build_contact_sales_modal,
    build_contact_support_modal,
    build_info_modal,
)
from bot.bootstrap import Runtime
from bot.domain.policy import Route
from bot.effects.dms import send_dm
from bot.services.access import admin_user_ids
from bot.services.requests import record_request
from handlers.middleware import Caller, listener
from handlers.surfaces import show_modal


async def _confirm(
    client: AsyncWebClient, body: dict[str, Any], user_id: str, heading: str, text: str
) -> None:
    """Answer where the click happened: in the modal, or by DM from App Home."""
    view = body.get("view") or {}
    if view.get("type") == "modal":
        await client.views_update(view_id=view["id"], view=build_info_modal(heading, text))
    else:
        await send_dm(client, user_id, text)


async def on_ask_csm(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    caller: Caller,
    runtime: Runtime,
    request: RouteRequest,
) -> None:
    await ack()
    admin = await caller.admin()
    if admin is None:
        denied = only_admins_text("ask for licenses")
        await _confirm(client, body, caller.user_id, "Ask my CSM", denied)
        return
    await record_request(
        runtime.services, admin.account_id, caller.user_id, Route.CSM, request.wanted
    )
    runtime.drain_soon()
    sent = csm_request_sent_text(admin.overview.csm_name)
    await _confirm(client, body, caller.user_id, "Ask my CSM", sent)


async def on_contact_sales(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    caller: Caller,
    runtime: Runtime,
    request: RouteRequest,
) -> None:
    await ack()
    admin = await caller.admin()
    if admin is not None:
        services = runtime.services
        await record_request(
            services, admin.account_id, caller.user_id, Route.SALES, request.wanted
        )
        runtime.drain_soon()
    settings = runtime.settings
    modal = build_contact_sales_modal(settings.sales_email, admin.account_id if admin else None)
    await show_modal(client, body, modal)


async def on_contact_support(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, runtime: Runtime
) -> None:
    await ack()
    settings = runtime.settings
    modal = build_contact_support_modal(settings.support_url, settings.sales_email)
    await show_modal(client, body, modal)


async def on_ask_admins(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    caller: Caller,
    runtime: Runtime,
    request: AdminRequest,
) -> None:
    await ack()
    view = (await caller.access()).overview
    if view is None:
        return
    blocks = admin_request_blocks(caller.user_id, view.name, request.wanted)
    admins = await admin_user_ids(runtime.directory, view.admins)
    for admin in admins:
        await send_dm(client, admin, admin_request_text(view.name), blocks)
    await record_request(
        runtime.services, view.account_id, caller.user_id, "admins", request.wanted
    )
    text = admins_reached_text(len(admins), view.name)
    if body.get("response_url"):
        await respond(text=text, replace_original=True, response_type="ephemeral")
    else:
        await send_dm(client, caller.user_id, text)


def register(app: AsyncApp) -> None:
    app.action(Action.ASK_CSM)(listener(on_ask_csm))
    app.action(Action.CONTACT_SALES)(listener(on_contact_sales))
    app.action(Action.CONTACT_SUPPORT)(listener(on_contact_support))
    app.action(Action.ASK_ADMINS)(listener(on_ask_admins))
