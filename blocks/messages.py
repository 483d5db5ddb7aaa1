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
    day,
    day_and_time,
    licenses,
    money,
    more_licenses,
    per_period,
    section,
)
from bot.domain.errors import OnlyAdmins
from bot.domain.linking import EXAMPLE_CODE
from bot.domain.policy import Route, is_email
from bot.readmodels import AddRequestView


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
    "• `/licenses history`: your account's orders and requests\n"
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


# --- requests for more licenses routed to the CSM or Sales --------------------------------


def request_wish(view: AddRequestView) -> str:
    """ "to add 2 licenses", or "for more licenses" when no number was given."""
    return f"to add {licenses(view.wanted)}" if view.wanted else "for more licenses"


def request_price(view: AddRequestView) -> str:
    """What it would cost, computed when asked: "$2,089.04 due today, then $15,400.00 per
    year"; without a number, the price per license."""
    per = per_period(view.price.interval)
    quote = view.quote
    if quote is None:
        unit = money(view.price.unit_price_minor, view.price.currency)
        return f"{unit} per license per {per}"
    due = money(quote.due_today_minor, quote.currency)
    return f"{due} due today, then {money(quote.next_cycle_minor, quote.currency)} per {per}"


def asked_with_price(view: AddRequestView) -> str:
    """ "to add 2 licenses: $X due today, then $Y per year"."""
    if view.quote is None:
        return f"{request_wish(view)} (no number given; {request_price(view)})"
    return f"{request_wish(view)}: {request_price(view)}"


def quote_detail(view: AddRequestView) -> str:
    """How the price was counted, as the add modal explains it, and when."""
    quote = view.quote
    if quote is None:
        return f"Asked {day_and_time(view.created_at)}."
    unit = money(quote.unit_price_minor, quote.currency)
    days_left, days_in_period = quote.days_left
    return (
        f"{quote.added:,} × {unit}, prorated to {day(quote.period.end)} ({days_left:,} of "
        f"{days_in_period:,} days left), then {licenses(quote.total_licenses)} from "
        f"{day(quote.period.end)}. Quoted {day_and_time(quote.quoted_at)}."
    )


def csm_request_text(view: AddRequestView) -> str:
    """The notification line of the CSM's post."""
    return f"{view.account_name} asks {asked_with_price(view)} ({view.reference})"


def route_request_blocks(view: AddRequestView) -> list[Block]:
    """The post in the CSM channel: addressed to the account's CSM, with who asked, the
    account, how many and the price, under the request's reference."""
    to = f"<@{view.csm_user_id}>" if view.csm_user_id else (view.csm_name or "CSM team")
    return [
        section(
            f":inbox_tray: {to}, <@{view.requested_by}> of *{view.account_name}* "
            f"({view.plan_name}, {licenses(view.licenses_at_request)}) asks "
            f"{asked_with_price(view)}."
        ),
        context(
            f"Reference `{view.reference}` · {quote_detail(view)} Not self-serve for this "
            f"account under the plan rules, so it comes to its Customer Success Manager."
        ),
    ]


def _sales_ticket(view: AddRequestView) -> str:
    if view.ticket_reference is None:
        return ""
    link = (
        f"<{view.ticket_url}|{view.ticket_reference}>" if view.ticket_url else view.ticket_reference
    )
    return f" (Sales ticket {link})"


def add_request_sent_text(view: AddRequestView) -> str:
    """The requester's DM: what was asked, of whom, and the reference to quote."""
    if view.route is Route.SALES:
        whom = "Sales"
    elif view.csm_name:
        whom = f"{view.csm_name}, your Customer Success Manager,"
    else:
        whom = "Your Customer Success Manager"
    joint = "to" if view.wanted else "for"
    return (
        f":white_check_mark: Sent. {whom} has your request {request_wish(view)} {joint} "
        f"{view.account_name}: {request_price(view)}. Your reference: "
        f"{view.reference}{_sales_ticket(view)}."
    )


def add_request_sent_blocks(view: AddRequestView) -> list[Block]:
    who = "Sales" if view.route is Route.SALES else "Your Customer Success Manager"
    return [
        section(add_request_sent_text(view)),
        context(
            f"{quote_detail(view)} {who} confirms the final terms; quote {view.reference} "
            f"if you ask about it."
        ),
    ]


ASK_CSM_TITLE = "Ask my CSM"


def csm_request_refused_text() -> str:
    return only_admins_text("ask for licenses")


def csm_request_sent_text(view: AddRequestView) -> str:
    """In the modal where *Ask my CSM* was clicked."""
    who = view.csm_name or "Your Customer Success Manager"
    return (
        f":white_check_mark: Sent. {who} has your request {request_wish(view)} (reference "
        f"`{view.reference}`) and will get back to you."
    )


REQUEST_DETAILS_IN_DM = "What you asked, with its price and reference, is in your direct messages."


def admins_reached_text(reached: int, account_name: str) -> str:
    if not reached:
        return f"None of the admins of {account_name} could be reached in Slack; write to them directly."
    return f":white_check_mark: Sent to {reached} admin{'s' if reached != 1 else ''} of {account_name}."
