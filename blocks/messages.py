"""Messages: ephemeral answers, DMs and the posts to the CSM channel."""

from __future__ import annotations

from datetime import datetime

from blocks.ids import Action
from blocks.metadata import AdminRequest, Ask
from blocks.text import (
    Block,
    actions,
    button,
    context,
    day_and_time,
    licenses,
    more_licenses,
    section,
)
from blocks.tickets import wanted_phrase
from bot.domain.errors import OnlyAdmins
from bot.domain.linking import EXAMPLE_CODE
from bot.domain.policy import is_email


def something_went_wrong(error_id: str) -> str:
    """Our own bug, in words that claim nothing we don't know (an order may have gone through)."""
    return (
        f":warning: Something went wrong on our side (error `{error_id}`). Please try again in "
        "a minute; anything you ordered is confirmed by a receipt in this DM."
    )


HELP_TITLE = "How to use /licenses"

HELP_TEXT = (
    "*/licenses* manages your company's licenses:\n"
    "• `/licenses` or `/licenses plan`: your plan, licenses and price\n"
    "• `/licenses add [N]`: add licenses, with the price before you order\n"
    "• `/licenses remove [N]`: ask your Customer Success Manager to remove licenses\n"
    "• `/licenses history`: your account's orders and removal requests\n"
    "• `/licenses link CODE`: link this Slack workspace to your account (admins, with the "
    "code from your Customer Success Manager)\n"
    "• `/licenses link-code ACCOUNT`: a one-time code that links a customer's workspace "
    "(Customer Success Managers, in the vendor's workspace)\n"
    "• `/licenses queue` (or `/licenses`): the removal requests waiting for your decision "
    "(Customer Success Managers, in the vendor's workspace)\n"
    "• `/licenses help`: this help"
)


def help_blocks(intro: str | None = None) -> list[Block]:
    blocks = [section(f"{intro}\n\n{HELP_TEXT}" if intro else HELP_TEXT)]
    return blocks


def only_admins_text(what: str) -> str:
    return str(OnlyAdmins(what))


def unknown_command_text(text: str) -> str:
    return f"I don't know `/licenses {text.strip()}`."


def not_admin_text(account_name: str) -> str:
    return f"Only license admins of {account_name} can change licenses."


def mention_list(identifiers: list[str]) -> str:
    """Slack user IDs become mentions; emails stay as written."""
    names = [who if is_email(who) else f"<@{who}>" for who in identifiers]
    return ", ".join(names) if names else "nobody yet"


def not_admin_blocks(
    account_name: str,
    account_id: str,
    admins: list[str],
    subcommand: str,
    argument: str,
) -> list[Block]:
    """The refusal of `/licenses SUBCOMMAND ARGUMENT`, with a button that passes what the
    member asked for (add 3, remove 2, or just to manage licenses) on to the admins."""
    request = AdminRequest.from_command(account_id, subcommand, argument)
    wish, _ = asked(request)
    return [
        section(
            f"Only license admins of *{account_name}* can change licenses. "
            f"Admins: {mention_list(admins)}."
        ),
        context(f"*Ask an admin* sends them your request {wish}."),
        actions(
            [
                button(
                    "Ask an admin",
                    Action.ASK_ADMINS,
                    request.model_dump_json(),
                    style="primary",
                )
            ]
        ),
    ]


def not_linked_text(team_id: str, support: str | None) -> str:
    where = f" or the vendor's support at {support}" if support else " or the vendor's support"
    return (
        f"This Slack workspace (`{team_id}`) is not linked to a licensing account yet. "
        f"To link it, an admin of your account types `/licenses link CODE` here, with the "
        f"one-time code from your Customer Success Manager{where}."
    )


def link_usage_text() -> str:
    return (
        f"Type the code from your Customer Success Manager after `link`, like "
        f"`/licenses link {EXAMPLE_CODE}`."
    )


def link_code_usage_text() -> str:
    return "Name the account the code is for, like `/licenses link-code acme`."


def linked_text(account_name: str) -> str:
    return (
        f":white_check_mark: This workspace is now linked to {account_name}. "
        f"Type `/licenses` to see your plan."
    )


def link_code_text(account_name: str, code: str) -> str:
    return f"Link code for {account_name}: {code}"


def link_code_blocks(account_name: str, code: str, expires_at: datetime) -> list[Block]:
    """Shown only to the CSM who asked: the code is never stored, so never shown again."""
    return [
        section(f":key: Link code for *{account_name}*: `{code}`"),
        context(
            f"Works once, until {day_and_time(expires_at)}, for an admin of {account_name}, who "
            f"types `/licenses link {code}` in their Slack workspace. Only you can see this."
        ),
    ]


def asked(request: AdminRequest) -> tuple[str, str]:
    """What a member asked the admins, and the word that joins it to the account:
    ("to remove 2 licenses", "from"), ("for more licenses", "for")."""
    count = request.count
    if request.ask is Ask.REMOVE:
        return f"to remove {licenses(count) if count else 'licenses'}", "from"
    if request.ask is Ask.MANAGE:
        return "to manage licenses", "for"
    if count:
        return f"to add {licenses(count)}", "to"
    return f"for {more_licenses(None)}", "for"


# The button in the admins' DM: the form the member wanted, pre-filled for the admin.
ANSWER_LABELS = {Ask.ADD: "Add licenses", Ask.REMOVE: "Request removal", Ask.MANAGE: "Open plan"}


def admin_request_text(account_name: str, request: AdminRequest) -> str:
    wish, joint = asked(request)
    return f"A colleague asks {wish} {joint} {account_name}"


def admin_request_blocks(requester: str, account_name: str, request: AdminRequest) -> list[Block]:
    """The DM each admin gets: who asked what, and one button to do it (checked on click)."""
    wish, joint = asked(request)
    label = ANSWER_LABELS[request.ask]
    if request.ask is Ask.MANAGE:
        how = f"*{label}* shows the plan and what you can change."
    else:
        filled = f" with {request.count:,} filled in" if request.count else ""
        how = f"*{label}* opens the form{filled}; nothing changes until you confirm it there."
    return [
        section(f"<@{requester}> asks {wish} {joint} *{account_name}*."),
        context(f"You are a license admin. {how}"),
        actions([button(label, Action.ANSWER_ADMIN_REQUEST, request.model_dump_json())]),
    ]


def route_request_blocks(
    requester: str,
    account_name: str,
    plan_name: str,
    count: int,
    wanted: int | None,
    csm_user_id: str | None,
    reason: str | None,
) -> list[Block]:
    what = more_licenses(wanted)
    to = f"<@{csm_user_id}>" if csm_user_id else "CSM team"
    return [
        section(
            f":inbox_tray: {to}: <@{requester}> of *{account_name}* ({plan_name}, "
            f"{licenses(count)}) asks for {what}."
        ),
        context(f"Not self-serve: {reason or 'Handled by the Customer Success Manager.'}"),
    ]


def csm_request_text(account_name: str) -> str:
    return f"{account_name} asks for more licenses"


def sales_ticket_dm(account_name: str, wanted: int | None, reference: str, url: str | None) -> str:
    link = f"<{url}|{reference}>" if url else reference
    return (
        f"Your request for {wanted_phrase(wanted)} for {account_name} is with Sales: ticket {link}."
    )


ASK_CSM_TITLE = "Ask my CSM"


def csm_request_refused_text() -> str:
    return only_admins_text("ask for licenses")


def csm_request_sent_text(csm_name: str | None) -> str:
    who = csm_name or "your Customer Success Manager"
    return f":white_check_mark: Sent. {who} has your request and will get back to you."


def admins_reached_text(reached: int, account_name: str) -> str:
    if not reached:
        return f"None of the admins of {account_name} could be reached in Slack; write to them directly."
    return f":white_check_mark: Sent to {reached} admin{'s' if reached != 1 else ''} of {account_name}."
