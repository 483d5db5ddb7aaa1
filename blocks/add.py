"""The add-licenses modal with its live quote, and what follows Order Now."""

from __future__ import annotations

from typing import Any

from blocks.ids import Action, Callback
from blocks.ids import Block as BlockId
from blocks.metadata import AddModalState, RouteRequest
from blocks.plan import build_info_modal, build_only_admins_modal
from blocks.surfaces import route_buttons
from blocks.text import (
    Block,
    actions,
    billed,
    button,
    context,
    day,
    day_and_time,
    fields,
    header,
    licenses,
    money,
    per_period,
    plain,
    section,
    title,
)
from bot.domain.periods import as_utc
from bot.domain.plans import BillingInterval
from bot.domain.policy import Decision
from bot.domain.pricing import Quote
from bot.readmodels import AccountOverview, Preview, Receipt

ADD_TITLE = "Add licenses"


# What a count typed as a command argument may pre-fill: enough for any real number.
MAX_TYPED = 30


def count_input(max_addable: int, initial: int | str | None) -> Block:
    # A text input, not a number_input: Slack checks a number_input itself (bounds,
    # letters) in its own words, before the bot can explain in ours. Every check of the
    # count is the bot's, in the input's own error.
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": Action.ADD_COUNT,
        "placeholder": plain("How many licenses?"),
        # Every keystroke is sent to the bot so the quote follows the typing.
        "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
    }
    if initial is not None and str(initial).strip():
        element["initial_value"] = str(initial).strip()[:MAX_TYPED]
    return {
        "type": "input",
        "block_id": BlockId.ADD_COUNT,
        "dispatch_action": True,
        "label": plain("Licenses to add"),
        "hint": plain(f"You can add up to {max_addable:,} now."),
        "element": element,
    }


def price_valid_until(quote: Quote, ttl_seconds: int) -> str:
    """ "23:25 UTC": until when Order Now honours the quote, with the date when that is
    another day (UTC) than the quote's own."""
    until = as_utc(quote.expires_at(ttl_seconds))
    if until.date() != as_utc(quote.quoted_at).date():
        return day_and_time(until)
    return f"{until:%H:%M} UTC"


def quote_lines(
    quote: Quote, interval: BillingInterval, quote_ttl_seconds: int | None = None
) -> Block:
    """The quote, explained: the part of the period charged today, what follows it, and
    (when the caller knows QUOTE_TTL_SECONDS) until when the price holds."""
    currency, per = quote.currency, per_period(interval)
    unit = money(quote.unit_price_minor, currency)
    days_left, days_in_period = quote.days_left
    next_cycle = money(quote.next_cycle_minor, currency)
    due_today = [
        money(quote.due_today_minor, currency),
        f"{quote.added:,} × {unit}, prorated to {day(quote.period.end)}: "
        f"{days_left:,} of {days_in_period:,} days left in this period",
        f"then {next_cycle} a {per} from {day(quote.period.end)}",
    ]
    if quote_ttl_seconds is not None:
        due_today.append(f"(price valid until {price_valid_until(quote, quote_ttl_seconds)})")
    block = fields(
        [
            (
                "Total Licenses",
                f"{quote.total_licenses:,} ({quote.current_licenses:,} + {quote.added:,})",
            ),
            ("Total Due Today", "\n".join(due_today)),
            (
                "Price Details",
                f"{next_cycle} per {per} from "
                f"{day(quote.period.end)}\n{quote.total_licenses:,} × {unit}",
            ),
        ]
    )
    block["block_id"] = BlockId.QUOTE
    return block


def problem_lines(problem: Decision | str, account_id: str, wanted: int | None) -> list[Block]:
    """An inline explanation in place of the quote, with the route when there is one."""
    if isinstance(problem, str):
        return [section(f":warning: {problem}", block_id=BlockId.QUOTE)]
    blocks = [section(f":warning: {problem.reason}", block_id=BlockId.QUOTE)]
    if problem.route is not None:
        blocks.append(
            actions(route_buttons(problem, account_id, wanted), block_id=BlockId.ROUTE_ACTIONS)
        )
    return blocks


def build_add_modal(
    view: AccountOverview,
    state: AddModalState,
    *,
    quote: Quote | None = None,
    problem: Decision | str | None = None,
    initial: int | str | None = None,
    notice: str | None = None,
    wanted: int | None = None,
    quote_ttl_seconds: int | None = None,
) -> dict[str, Any]:
    terms = view.terms
    blocks: list[Block] = [
        context(
            f"*{view.name}* · {view.plan_name}, {billed(terms.interval)} · "
            f"{licenses(terms.licenses)} at {money(terms.unit_price_minor, terms.currency)} "
            f"per {per_period(terms.interval)}"
        ),
    ]
    if notice:
        blocks.append(section(f":bell: *{notice}*"))
    blocks.append(count_input(view.capacity.max_addable, initial))
    if problem is not None:
        if quote is not None:
            wanted = quote.added
        elif wanted is None and isinstance(initial, int):
            wanted = initial
        blocks += problem_lines(problem, view.account_id, wanted)
    elif quote is not None:
        blocks.append(quote_lines(quote, view.terms.interval, quote_ttl_seconds))
    else:
        blocks.append(
            section("Enter a number to see the price.", block_id=BlockId.QUOTE),
        )
    blocks.append(
        context(
            f"Charged today: the added licenses, prorated to the end of the current period "
            f"({day(view.period.end)}). Prices in {terms.currency}."
        )
    )
    return {
        "type": "modal",
        "callback_id": Callback.ADD,
        "title": title(ADD_TITLE),
        "submit": plain("Order Now"),
        "close": plain("Cancel"),
        "private_metadata": state.model_dump_json(),
        "external_id": state.external_id,
        "blocks": blocks,
    }


def build_placing_modal(state: AddModalState, added: int) -> dict[str, Any]:
    quote = state.quote
    amount = f" for {money(quote.due_today_minor, quote.currency)}" if quote else ""
    return {
        "type": "modal",
        "external_id": state.external_id,
        "callback_id": Callback.INFO,
        "title": title(ADD_TITLE),
        "close": plain("Close"),
        "blocks": [
            section(f":hourglass_flowing_sand: Placing your order: {licenses(added)}{amount}…"),
            context("You can close this window; the receipt also comes as a direct message."),
        ],
    }


def receipt_blocks(receipt: Receipt, interval_word: str) -> list[Block]:
    currency = receipt.currency
    return [
        header(f"You added {licenses(receipt.added)}"),
        fields(
            [
                ("Licenses", f"{receipt.licenses_before:,} → {receipt.licenses_after:,}"),
                ("Charged today", money(receipt.charged_minor, currency)),
                (
                    "Next billing cycle",
                    f"{money(receipt.next_cycle_minor, currency)} per {interval_word} "
                    f"from {day(receipt.period_end)}",
                ),
                ("Order reference", f"`{receipt.reference}`"),
            ]
        ),
        context(f"Ordered by <@{receipt.ordered_by}> on {day(receipt.placed_at)}."),
    ]


def build_receipt_modal(
    receipt: Receipt, interval_word: str, external_id: str | None = None
) -> dict[str, Any]:
    return {
        "type": "modal",
        **({"external_id": external_id} if external_id else {}),
        "callback_id": Callback.INFO,
        "title": title("Order placed"),
        "close": plain("Done"),
        "blocks": [
            *receipt_blocks(receipt, interval_word),
            context(":white_check_mark: A copy of this receipt is in your direct messages."),
        ],
    }


def build_add_modal_for(
    seen: Preview,
    state: AddModalState,
    count: int | str | None,
    *,
    notice: str | None = None,
    initial: int | str | None = None,
    explain_input: bool = False,
    quote_ttl_seconds: int | None = None,
) -> dict[str, Any]:
    """The add modal for what was typed: a quote, or the inline reason there is none.

    A count that is wrong in itself (not a number, below 1) is explained once, in the
    input's own error when Order Now is pressed; until then the quote area only asks for
    a number. `explain_input` explains it here instead, for a count given where there is
    no input to point at (the `/licenses add N` argument). A count the rules send to
    someone (Sales, the CSM) is explained here, with the button to reach them.

    The quote shown is kept in the view's state, so Order Now orders what the admin saw.
    `quote_ttl_seconds` (the QUOTE_TTL_SECONDS setting) shows until when its price holds;
    without it that line is left out.
    """
    outcome = seen.outcome
    problem: Decision | str | None = None
    if isinstance(count, str):
        problem = count if explain_input else None
    elif count is not None and not outcome.decision.allowed:
        decision = outcome.decision
        if explain_input or not decision.is_input_error:
            problem = decision
    shown = outcome.quote if isinstance(count, int) and outcome.decision.allowed else None
    return build_add_modal(
        seen.overview,
        state.model_copy(update={"quote": shown}),
        quote=shown,
        problem=problem,
        notice=notice,
        initial=initial,
        wanted=count if isinstance(count, int) and count >= 1 else None,
        quote_ttl_seconds=quote_ttl_seconds,
    )


def build_add_refused_modal(reason: str) -> dict[str, Any]:
    """Order Now refused after the ack (the rules or the account changed meanwhile)."""
    return build_info_modal(ADD_TITLE, f":warning: {reason}")


# Why a confirmed order was not placed, told by DM when its modal can't show it.
PRICE_MOVED = "Its price changed or expired before it could be placed."
INTERRUPTED = "licensebot was interrupted before it could place it."


def order_not_placed_text(added: int, why: str) -> str:
    return f"Your order of {licenses(added)} was not placed, and nothing was charged. {why}"


def order_not_placed_blocks(added: int, why: str, account_id: str) -> list[Block]:
    """The DM for an order that was not placed, with the way to order again."""
    again = RouteRequest(account_id=account_id).model_dump_json()
    return [
        section(f":warning: {order_not_placed_text(added, why)}"),
        actions([button("Add licenses", Action.OPEN_ADD, again, style="primary")]),
    ]


def build_order_not_placed_modal(added: int, why: str, external_id: str) -> dict[str, Any]:
    modal = build_info_modal(ADD_TITLE, f":warning: {order_not_placed_text(added, why)}")
    return {**modal, "external_id": external_id}


def build_add_not_allowed_modal() -> dict[str, Any]:
    return build_only_admins_modal(ADD_TITLE, "add licenses")


def confirm_price_notice(count: int) -> str:
    return f"Here is the price for {licenses(count)}. Press Order Now to confirm."


def stale_price_notice(why: str) -> str:
    return f"{why} Check it and press Order Now again."


def receipt_text(receipt: Receipt) -> str:
    return (
        f"You added {licenses(receipt.added)} ({receipt.licenses_before:,} → "
        f"{receipt.licenses_after:,}); charged {money(receipt.charged_minor, receipt.currency)}. "
        f"Order {receipt.reference}."
    )


# --- an order whose charge did not go through (yet) ----------------------------------

UPDATE_CARD = (
    "Update the card on file with us (your billing contact can, or ask Support), "
    "then press Add licenses to order again."
)


def order_declined_text(receipt: Receipt) -> str:
    why = receipt.failure_message or "The payment was declined."
    return (
        f"Your order of {licenses(receipt.added)} was not placed: the payment did not go "
        f"through. “{why}” Nothing was charged, and you still have "
        f"{licenses(receipt.licenses_before)}."
    )


def order_declined_blocks(receipt: Receipt) -> list[Block]:
    """The DM for a declined order, with the way to order again once the card is fixed."""
    again = RouteRequest(account_id=receipt.account_id).model_dump_json()
    return [
        section(f":x: {order_declined_text(receipt)}"),
        context(f"{UPDATE_CARD} Order reference `{receipt.reference}`."),
        actions([button("Add licenses", Action.OPEN_ADD, again)]),
    ]


def build_order_declined_modal(receipt: Receipt, external_id: str) -> dict[str, Any]:
    modal = build_info_modal(
        "Payment declined",
        f":x: {order_declined_text(receipt)}",
        f"{UPDATE_CARD} This is also in your direct messages. Order reference "
        f"`{receipt.reference}`.",
    )
    return {**modal, "external_id": external_id}


def order_processing_text(receipt: Receipt) -> str:
    return (
        f"Your order {receipt.reference} of {licenses(receipt.added)} for "
        f"{money(receipt.charged_minor, receipt.currency)} is being processed: the payment "
        "provider hasn't confirmed the charge yet. licensebot finishes it on its own and "
        "sends the receipt to your direct messages. It is never charged twice."
    )


def build_order_processing_modal(receipt: Receipt, external_id: str) -> dict[str, Any]:
    modal = build_info_modal(
        ADD_TITLE,
        f":hourglass_flowing_sand: {order_processing_text(receipt)}",
        "You can close this window. Another order can be placed once this one completes.",
    )
    return {**modal, "external_id": external_id}
