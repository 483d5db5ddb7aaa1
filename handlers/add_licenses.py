"""Adding licenses: open the modal, keep its quote live, and place the order exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.add import build_add_modal, build_placing_modal, build_receipt_modal, receipt_blocks
from blocks.ids import Action, Block, Callback
from blocks.metadata import AddModalState
from blocks.plan import build_info_modal
from blocks.text import licenses, money, per_period
from bot.deps import AppDeps, deps_of
from bot.integrations.slack_dm import send_dm
from bot.services.accounts import AdminIdentity
from bot.services.errors import QuoteNotHonoured, ServiceError
from bot.services.orders import Receipt, place_order
from bot.services.quotes import Preview, preview
from handlers.add_modal import modal_for_preview, new_add_state, read_count
from handlers.common import access_of, publish_home, show_modal, user_of

log = logging.getLogger(__name__)

# The ack's "placing" view travels back in the HTTP response; a receipt sent sooner
# could reach Slack first and then be covered by it.
ACK_SETTLE_SECONDS = 0.3


async def on_open_add(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    deps = deps_of(context)
    access = await access_of(deps, body)
    if access.overview is None or not access.is_admin:
        await show_modal(
            client,
            body,
            build_info_modal("Add licenses", "Only license admins can add licenses."),
        )
        return
    state = new_add_state(access.overview.account_id)
    await show_modal(client, body, build_add_modal(access.overview, state))


class LatestKeystroke:
    """The newest keystroke seen per modal, so an older one never paints over it.

    Keystrokes are handled concurrently and can finish out of order. The view's hash
    can't tell which is newer (two keystrokes sent before the first update carry the
    same hash), the action_ts can.
    """

    def __init__(self, remembered: int = 10_000) -> None:
        self._latest: OrderedDict[str, str] = OrderedDict()
        self._remembered = remembered

    def see(self, view_id: str, action_ts: str) -> bool:
        """Record a keystroke; False when a newer one for this view was already seen."""
        if float(self._latest.get(view_id, "0")) > float(action_ts):
            return False
        self._latest[view_id] = action_ts
        self._latest.move_to_end(view_id)
        while len(self._latest) > self._remembered:
            self._latest.popitem(last=False)
        return True

    def is_latest(self, view_id: str, action_ts: str) -> bool:
        return self._latest.get(view_id) == action_ts


keystrokes = LatestKeystroke()


async def on_count_changed(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    deps = deps_of(context)
    view = body["view"]
    stamp = str(action.get("action_ts") or "0")
    if not keystrokes.see(view["id"], stamp):
        return
    state = AddModalState.model_validate_json(view["private_metadata"])
    count = read_count(action.get("value"))
    seen = await preview(deps.services, state.account_id, count)
    new_view = modal_for_preview(seen, state, count)
    try:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=new_view)
    except SlackApiError as exc:
        if exc.response.get("error") != "hash_conflict":
            raise
        # An older keystroke's update landed first; this one is newer, so it wins.
        if keystrokes.is_latest(view["id"], stamp):
            await client.views_update(view_id=view["id"], view=new_view)


async def on_order_now(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    deps = deps_of(context)
    state = AddModalState.model_validate_json(view["private_metadata"])
    field = view["state"]["values"].get(Block.ADD_COUNT, {}).get(Action.ADD_COUNT, {})
    count = read_count(field.get("value"))
    if isinstance(count, str):
        await ack(response_action="errors", errors={Block.ADD_COUNT: count})
        return
    seen = await preview(deps.services, state.account_id, count)
    decision = seen.outcome.decision
    if not decision.allowed:
        # Invalid, or beyond the bounds the rules give the input (its max_value): a
        # validation error on the input, as Slack shows its own. The reason names the
        # route (CSM or Sales), whose button the live quote already shows.
        await ack(response_action="errors", errors={Block.ADD_COUNT: decision.reason})
        return
    if state.quote is None or state.quote.added != count:
        # Nobody is charged a price they have not seen: show it and ask again.
        await ack(
            response_action="update",
            view=modal_for_preview(
                seen,
                state,
                count,
                notice=f"Here is the price for {licenses(count)}. Press Order Now to confirm.",
            ),
        )
        return
    shown = state.quote
    await ack(response_action="update", view=build_placing_modal(shown, count))
    started = time.monotonic()

    user_id = user_of(body)
    access = await access_of(deps, body)
    identity = access.identity or AdminIdentity(user_id)
    try:
        receipt = await place_order(
            deps.services,
            state.account_id,
            identity,
            count,
            state.idempotency_key,
            shown,
        )
    except QuoteNotHonoured as stale:
        again = modal_for_preview(
            await preview(deps.services, state.account_id, count),
            state,
            count,
            notice=f"{stale} Check it and press Order Now again.",
            # The "placing" view dropped the input's state: show the number again.
            initial=count,
        )
        await _settle(started)
        await client.views_update(view_id=view["id"], view=again)
        return
    except ServiceError as refused:
        await _settle(started)
        await client.views_update(
            view_id=view["id"], view=build_info_modal("Add licenses", f":warning: {refused}")
        )
        return
    await _settle(started)
    await _deliver_receipt(client, deps, body, view["id"], receipt, seen)


async def _settle(started: float) -> None:
    left = ACK_SETTLE_SECONDS - (time.monotonic() - started)
    if left > 0:
        await asyncio.sleep(left)


async def _deliver_receipt(
    client: AsyncWebClient,
    deps: AppDeps,
    body: dict[str, Any],
    view_id: str,
    receipt: Receipt,
    seen: Preview,
) -> None:
    interval = per_period(seen.overview.terms.interval)
    await client.views_update(view_id=view_id, view=build_receipt_modal(receipt, interval))
    if receipt.replayed:
        # A repeat of an order already placed (double submit, retry): its DM went out.
        return
    text = (
        f"You added {licenses(receipt.added)} ({receipt.licenses_before} → "
        f"{receipt.licenses_after}); charged {money(receipt.charged_minor, receipt.currency)}. "
        f"Order {receipt.reference}."
    )
    await send_dm(client, receipt.ordered_by, text, receipt_blocks(receipt, interval))
    await publish_home(client, deps, await access_of(deps, body))


def register(app: AsyncApp) -> None:
    app.action(Action.OPEN_ADD)(on_open_add)
    app.action(Action.ADD_COUNT)(on_count_changed)
    app.view(Callback.ADD)(on_order_now)
