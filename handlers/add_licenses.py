"""Adding licenses: open the modal, keep its quote live, and place the order exactly once."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from blocks.add import (
    build_add_modal,
    build_add_modal_for,
    build_add_not_allowed_modal,
    build_add_refused_modal,
    build_placing_modal,
    build_receipt_modal,
    confirm_price_notice,
    receipt_blocks,
    receipt_text,
    stale_price_notice,
)
from blocks.forms import AddForm
from blocks.ids import Action, Block, Callback
from blocks.metadata import AddModalState
from blocks.text import per_period
from bot.bootstrap import Runtime
from bot.domain.errors import QuoteNotHonoured, ServiceError
from bot.domain.policy import read_count
from bot.domain.pricing import confirms
from bot.effects.dms import send_dm
from bot.effects.home import refresh_home_now
from bot.readmodels import AdminIdentity, Receipt
from bot.services.orders import place_order
from bot.services.quotes import preview
from handlers.middleware import Caller, listener
from handlers.surfaces import Interaction


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


async def on_open_add(slack: Interaction, caller: Caller) -> None:
    await slack.ack()
    admin = await caller.admin()
    if admin is None:
        view = build_add_not_allowed_modal()
    else:
        view = build_add_modal(admin.overview, AddModalState.new(admin.account_id))
    await slack.show_modal(view)


async def on_count_changed(
    slack: Interaction, action: dict[str, Any], runtime: Runtime, state: AddModalState
) -> None:
    await slack.ack()
    view = slack.view
    stamp = str(action.get("action_ts") or "0")
    if not keystrokes.see(view["id"], stamp):
        return
    count = read_count(action.get("value"))
    seen = await preview(runtime.services, state.account_id, count)
    new_view = build_add_modal_for(seen, state, count)
    try:
        await slack.client.views_update(view_id=view["id"], hash=view["hash"], view=new_view)
    except SlackApiError as exc:
        if exc.response.get("error") != "hash_conflict":
            raise
        # An older keystroke's update landed first; this one is newer, so it wins.
        if keystrokes.is_latest(view["id"], stamp):
            await slack.update_modal(new_view)


async def on_order_now(
    slack: Interaction, caller: Caller, runtime: Runtime, state: AddModalState, form: AddForm
) -> None:
    count = read_count(form.count)
    if isinstance(count, str):
        await slack.ack_errors(Block.ADD_COUNT, count)
        return
    seen = await preview(runtime.services, state.account_id, count)
    if not seen.outcome.decision.allowed:
        # Beyond what the rules allow (the input's max_value): an error on the input, as
        # Slack shows its own. The reason names the route, whose button the quote shows.
        await slack.ack_errors(Block.ADD_COUNT, seen.outcome.decision.reason)
        return
    if not confirms(state.quote, count):
        # Nobody is charged a price they have not seen: show it and ask again.
        notice = confirm_price_notice(count)
        await slack.ack_update(build_add_modal_for(seen, state, count, notice=notice))
        return
    await slack.ack_update(build_placing_modal(state.quote, count))
    # The receipt must not reach Slack before the "placing" view it replaces.
    await caller.answered()
    await _place(slack, caller, runtime, state, count)


async def _place(
    slack: Interaction, caller: Caller, runtime: Runtime, state: AddModalState, count: int
) -> None:
    access = await caller.access()
    identity = access.identity or AdminIdentity(caller.user_id)
    services = runtime.services
    try:
        receipt = await place_order(
            services, state.account_id, identity, count, state.idempotency_key, state.quote
        )
    except QuoteNotHonoured as stale:
        fresh = await preview(services, state.account_id, count)
        # The "placing" view dropped the input's state: show the number again.
        notice = stale_price_notice(str(stale))
        await slack.update_modal(
            build_add_modal_for(fresh, state, count, notice=notice, initial=count)
        )
        return
    except ServiceError as refused:
        await slack.update_modal(build_add_refused_modal(str(refused)))
        return
    await _deliver_receipt(slack, caller, runtime, receipt)


async def _deliver_receipt(
    slack: Interaction, caller: Caller, runtime: Runtime, receipt: Receipt
) -> None:
    access = await caller.access()
    interval = per_period(access.overview.terms.interval) if access.overview else "period"
    await slack.update_modal(build_receipt_modal(receipt, interval))
    if receipt.replayed:
        # A repeat of an order already placed (double submit, retry): its DM went out.
        return
    await send_dm(
        slack.client, receipt.ordered_by, receipt_text(receipt), receipt_blocks(receipt, interval)
    )
    await refresh_home_now(runtime.effect_deps, caller.team_id, caller.user_id)


def register(app: AsyncApp) -> None:
    app.action(Action.OPEN_ADD)(listener(on_open_add))
    app.action(Action.ADD_COUNT)(listener(on_count_changed))
    app.view(Callback.ADD)(listener(on_order_now))
