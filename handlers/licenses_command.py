"""/licenses [plan | add [N] | remove [N] | help]."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks.add import build_add_modal
from blocks.messages import help_blocks, not_admin_blocks, not_linked_text
from blocks.plan import build_info_modal, build_loading_modal, build_plan_modal
from blocks.removal import build_removal_modal
from bot.deps import AppDeps, deps_of
from bot.services.access import Access
from bot.services.quotes import preview
from handlers.add_modal import modal_for_preview, new_add_state, read_count
from handlers.common import access_of

# How long we may look the user up before the trigger_id (valid 3 s) is at risk;
# past it a light modal opens and is filled in when the data arrives.
TRIGGER_BUDGET_SECONDS = 1.5


def parse_text(text: str) -> tuple[str, str]:
    """("add", "3") from "add 3"; ("plan", "") from ""."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return "plan", ""
    return words[0].lower(), words[1].strip() if len(words) > 1 else ""


async def modal_for(
    deps: AppDeps, access: Access, subcommand: str, argument: str
) -> dict[str, Any]:
    overview = access.overview
    assert overview is not None
    if subcommand == "remove":
        count = read_count(argument) if argument else None
        return build_removal_modal(overview, count if isinstance(count, int) else None)
    if subcommand == "plan" or not overview.capacity.allowed:
        # Not self-serve: the plan modal shows the route button instead of Add.
        return build_plan_modal(overview)
    state = new_add_state(overview.account_id)
    if not argument:
        return build_add_modal(overview, state)
    count = read_count(argument)
    seen = await preview(deps.services, overview.account_id, count)
    initial = count if isinstance(count, int) and count >= 1 else None
    return modal_for_preview(seen, state, count, initial=initial)


async def on_licenses(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: dict[str, Any],
) -> None:
    await ack()
    deps = deps_of(context)
    subcommand, argument = parse_text(body.get("text", ""))
    if subcommand == "help":
        await respond(text="How to use /licenses", blocks=help_blocks(), response_type="ephemeral")
        return
    if subcommand not in {"plan", "add", "remove"}:
        intro = f"I don't know `/licenses {body.get('text', '').strip()}`."
        await respond(text=intro, blocks=help_blocks(intro), response_type="ephemeral")
        return

    lookup = asyncio.ensure_future(access_of(deps, body))
    done, _ = await asyncio.wait({lookup}, timeout=TRIGGER_BUDGET_SECONDS)
    view_id = None
    if not done:
        opened = await client.views_open(trigger_id=body["trigger_id"], view=build_loading_modal())
        view_id = opened["view"]["id"]
    access = await lookup

    if access.overview is None or not access.is_admin:
        if access.overview is None:
            text = not_linked_text(access.team_id, deps.settings.support_url)
            blocks = None
        else:
            text = f"Only license admins of {access.overview.name} can change licenses."
            blocks = not_admin_blocks(
                access.overview.name, access.overview.account_id, access.overview.admins
            )
        await respond(text=text, blocks=blocks, response_type="ephemeral")
        if view_id:
            await client.views_update(view_id=view_id, view=build_info_modal("Licenses", text))
        return

    view = await modal_for(deps, access, subcommand, argument)
    if view_id:
        await client.views_update(view_id=view_id, view=view)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: AsyncApp) -> None:
    app.command("/licenses")(on_licenses)
