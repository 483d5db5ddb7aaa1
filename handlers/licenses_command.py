"""/licenses [plan | add [N] | remove [N] | history | queue | link CODE | link-code ACCOUNT | help]."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.add import build_add_modal, build_add_modal_for
from blocks.history import build_history_modal
from blocks.messages import (
    HELP_TITLE,
    help_blocks,
    link_code_blocks,
    link_code_text,
    link_code_usage_text,
    link_usage_text,
    linked_text,
    not_admin_blocks,
    not_admin_text,
    not_linked_text,
    unknown_command_text,
)
from blocks.metadata import AddModalState
from blocks.plan import build_info_modal, build_loading_modal, build_plan_modal
from blocks.queue import build_queue_modal
from blocks.removal import build_removal_modal
from bot.bootstrap import Runtime
from bot.domain.policy import Contacts, decide_remove, read_count
from bot.readmodels import Access, AccountOverview, Admin
from bot.services.home import account_history
from bot.services.linking import issue_link_code_for_csm, link_workspace
from bot.services.queue import csm_queue, is_csm
from bot.services.quotes import preview
from handlers.middleware import Caller, listener
from handlers.surfaces import Interaction

# How long we may look the user up before the trigger_id (valid 3 s) is at risk;
# past it a light modal opens and is filled in when the data arrives.
TRIGGER_BUDGET_SECONDS = 1.5
SUBCOMMANDS = {"plan", "add", "remove", "history", "queue"}
# What a CSM (not an admin of the workspace's account) gets their queue for.
CSM_SUBCOMMANDS = {"plan", "queue"}


def parse_text(text: str) -> tuple[str, str]:
    """("add", "3") from "add 3"; ("plan", "") from ""."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return "plan", ""
    return words[0].lower(), words[1].strip() if len(words) > 1 else ""


async def modal_for(
    runtime: Runtime, caller: Caller, admin: Admin, subcommand: str, argument: str
) -> dict[str, Any]:
    overview = admin.overview
    if subcommand == "history":
        return build_history_modal(await account_history(runtime.services, overview.account_id))
    if subcommand == "remove":
        return removal_modal_for(overview, argument)
    if subcommand in ("plan", "queue"):
        return build_plan_modal(overview)
    if not overview.capacity.allowed:
        # Not self-serve: the plan modal shows the route button instead of Add; the number
        # typed with `add N` goes with it, so the CSM or Sales learn what was asked.
        return build_plan_modal(overview, wanted=typed_count(argument))
    state = AddModalState.new(overview.account_id, caller.user_id, caller.team_id)
    if not argument:
        return build_add_modal(overview, state)
    count = read_count(argument)
    seen = await preview(runtime.services, overview.account_id, count)
    # What was typed is in the input, explained beside it (no input error yet to show it).
    return build_add_modal_for(
        seen,
        state,
        count,
        initial=argument,
        explain_input=True,
        quote_ttl_seconds=runtime.settings.quote_ttl_seconds,
    )


def typed_count(argument: str) -> int | None:
    """The number of `/licenses add N`, when N is one (else the request asks for "more")."""
    count = read_count(argument) if argument else None
    return count if isinstance(count, int) else None


def removal_modal_for(overview: AccountOverview, argument: str) -> dict[str, Any]:
    """The removal form for `/licenses remove [N]`: N in the input, explained as add does."""
    if not argument:
        return build_removal_modal(overview)
    count = read_count(argument, purpose="remove")
    if isinstance(count, str):
        return build_removal_modal(overview, argument, problem=count)
    decision = decide_remove(overview.terms, count, Contacts())
    problem = decision.reason if decision.is_input_error else None
    return build_removal_modal(overview, argument, problem=problem)


def refusal(
    access: Access, support_url: str | None, subcommand: str, argument: str
) -> tuple[str, list[dict[str, Any]] | None]:
    """What someone who can't manage this workspace's licenses reads, and the way forward:
    asking the admins for what they typed (`add 3`, `remove 2`, or just to manage them)."""
    if access.overview is None:
        return not_linked_text(access.team_id, support_url), None
    view = access.overview
    blocks = not_admin_blocks(view.name, view.account_id, view.admins, subcommand, argument)
    return not_admin_text(view.name), blocks


async def on_licenses(
    slack: Interaction, command: dict[str, Any], caller: Caller, runtime: Runtime
) -> None:
    await slack.ack()
    text = command.get("text", "")
    subcommand, argument = parse_text(text)
    # Linking works in a workspace without an account, so before anyone's access is asked.
    if subcommand == "link":
        await link_here(slack, caller, runtime, argument)
        return
    if subcommand == "link-code":
        await make_link_code(slack, caller, runtime, argument)
        return
    if subcommand not in SUBCOMMANDS:
        intro = None if subcommand == "help" else unknown_command_text(text)
        await slack.reply(intro or HELP_TITLE, help_blocks(intro))
        return
    loading = await open_loading_if_slow(slack, caller)
    admin = await caller.admin()
    if admin is not None:
        view = await modal_for(runtime, caller, admin, subcommand, argument)
    elif subcommand in CSM_SUBCOMMANDS and await is_csm(
        runtime.services, caller.team_id, caller.user_id
    ):
        view = build_queue_modal(await csm_queue(runtime.services, caller.user_id))
    else:
        access = await caller.access()
        text, blocks = refusal(access, runtime.settings.support_url, subcommand, argument)
        await slack.reply(text, blocks)
        if loading:
            await slack.update_modal(build_info_modal("Licenses", text), loading)
        return
    if loading:
        await slack.update_modal(view, loading)
    else:
        await slack.open_modal(view)


async def link_here(slack: Interaction, caller: Caller, runtime: Runtime, code: str) -> None:
    """`/licenses link CODE`: an admin links the workspace they type it in."""
    if not code:
        await slack.reply(link_usage_text())
        return
    linked = await link_workspace(
        runtime.services,
        runtime.directory,
        caller.team_id,
        caller.user_id,
        code,
        enterprise_id=caller.enterprise_id,
    )
    runtime.drain_soon()  # the CSM channel hears of it
    await slack.reply(linked_text(linked.account_name))


async def make_link_code(
    slack: Interaction, caller: Caller, runtime: Runtime, account_id: str
) -> None:
    """`/licenses link-code ACCOUNT`: a CSM gets a code, which only they see."""
    if not account_id:
        await slack.reply(link_code_usage_text())
        return
    issued = await issue_link_code_for_csm(
        runtime.services, account_id, caller.team_id, caller.user_id
    )
    await slack.reply(
        link_code_text(issued.account_name, issued.code),
        link_code_blocks(issued.account_name, issued.code, issued.expires_at),
    )


async def open_loading_if_slow(slack: Interaction, caller: Caller) -> str | None:
    """Look the caller up; if that outlasts the budget, open a loading modal and return its id."""
    lookup = asyncio.ensure_future(caller.access())
    done, _ = await asyncio.wait({lookup}, timeout=TRIGGER_BUDGET_SECONDS)
    loading = None if done else await slack.open_modal(build_loading_modal())
    await lookup
    return loading


def register(app: AsyncApp) -> None:
    app.command("/licenses")(listener(on_licenses))
