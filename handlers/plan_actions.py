"""The plan's hand-offs: Ask my CSM, Contact Sales, Contact support, Request removal, Ask an admin."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action
from blocks.messages import admin_request_blocks, route_request_blocks
from blocks.metadata import AdminRequest, RouteRequest
from blocks.plan import build_info_modal
from bot.deps import AppDeps, deps_of
from bot.integrations.slack_dm import send_dm
from bot.services.access import Access
from bot.services.requests import record_request
from handlers.common import access_of, show_modal, user_of

log = logging.getLogger(__name__)


async def _confirm(client: AsyncWebClient, body: dict[str, Any], heading: str, text: str) -> None:
    """Answer where the click happened: in the modal, or by DM from App Home."""
    view = body.get("view") or {}
    if view.get("type") == "modal":
        await client.views_update(view_id=view["id"], view=build_info_modal(heading, text))
    else:
        await send_dm(client, user_of(body), text)


async def _admin_access(deps: AppDeps, body: dict[str, Any]) -> Access | None:
    access = await access_of(deps, body)
    return access if access.overview is not None and access.is_admin else None


async def on_ask_csm(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    deps = deps_of(context)
    request = RouteRequest.model_validate_json(action["value"])
    access = await _admin_access(deps, body)
    if access is None or access.overview is None:
        await _confirm(client, body, "Ask my CSM", "Only license admins can ask for licenses.")
        return
    view = access.overview
    await record_request(deps.services, view.account_id, access.user_id, "csm", request.wanted)
    blocks = route_request_blocks(
        access.user_id,
        view.name,
        view.plan_name,
        view.terms.licenses,
        request.wanted,
        view.csm_slack_user_id,
        view.capacity.reason or "Handled by the Customer Success Manager.",
    )
    text = f"{view.name} asks for more licenses"
    if deps.settings.csm_channel_id:
        await client.chat_postMessage(
            channel=deps.settings.csm_channel_id, text=text, blocks=blocks
        )
    elif view.csm_slack_user_id:
        await send_dm(client, view.csm_slack_user_id, text, blocks)
    else:
        log.warning(
            "no CSM channel and no CSM for %s: request kept in the audit log", view.account_id
        )
    who = view.csm_name or "your Customer Success Manager"
    await _confirm(
        client,
        body,
        "Ask my CSM",
        f":white_check_mark: Sent. {who} has your request and will get back to you.",
    )


async def on_contact_sales(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    deps = deps_of(context)
    request = RouteRequest.model_validate_json(action["value"])
    access = await access_of(deps, body)
    sales = deps.settings.sales_email
    contact = f"write to *{sales}*" if sales else "your Customer Success Manager connects you"
    text = f"Our Sales team handles larger plans: {contact}."
    note = None
    if access.overview is not None and access.is_admin:
        account_id = access.overview.account_id
        await record_request(
            deps.services, account_id, access.user_id, "sales", request.wanted, open_ticket=True
        )
        deps.run_effects_soon()
        text += f" Mention your account `{account_id}`."
        note = "We also opened a ticket for Sales; its reference comes by DM."
    await show_modal(client, body, build_info_modal("Contact Sales", text, note))


async def on_contact_support(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    settings = deps_of(context).settings
    lines = ["*Need help with your licenses?*"]
    if settings.support_url:
        lines.append(f"• Support: <{settings.support_url}|{settings.support_url}>")
    if settings.sales_email:
        lines.append(f"• Sales: {settings.sales_email}")
    if len(lines) == 1:
        lines.append("• Ask your Customer Success Manager; their name is on your plan.")
    await show_modal(client, body, build_info_modal("Contact support", "\n".join(lines)))


async def on_ask_admins(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: dict[str, Any],
) -> None:
    await ack()
    deps = deps_of(context)
    request = AdminRequest.model_validate_json(action["value"])
    access = await access_of(deps, body)
    if access.overview is None:
        return
    view = access.overview
    reached = 0
    for admin in view.admins:
        user_id = admin if "@" not in admin else await deps.directory.user_id_for(admin)
        if not user_id:
            continue
        await send_dm(
            client,
            user_id,
            f"A colleague asks for more licenses for {view.name}",
            admin_request_blocks(access.user_id, view.name, request.wanted),
        )
        reached += 1
    await record_request(deps.services, view.account_id, access.user_id, "admins", request.wanted)
    text = (
        f":white_check_mark: Sent to {reached} admin{'s' if reached != 1 else ''} of {view.name}."
        if reached
        else f"None of the admins of {view.name} could be reached in Slack; write to them directly."
    )
    if body.get("response_url"):
        await respond(text=text, replace_original=True, response_type="ephemeral")
    else:
        await send_dm(client, access.user_id, text)


def register(app: AsyncApp) -> None:
    app.action(Action.ASK_CSM)(on_ask_csm)
    app.action(Action.CONTACT_SALES)(on_contact_sales)
    app.action(Action.CONTACT_SUPPORT)(on_contact_support)
    app.action(Action.ASK_ADMINS)(on_ask_admins)
