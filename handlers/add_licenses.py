"""Adding licenses: open the modal, keep its quote live, and place the order exactly once."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from blocks.add import (
    build_add_modal,
    build_add_modal_for,
    build_add_not_allowed_modal,
    build_placing_modal,
    confirm_price_notice,
)
from blocks.forms import AddForm
from blocks.ids import Action, Block, Callback
from blocks.metadata import AddModalState
from bot.bootstrap import Runtime
from bot.domain.errors import MalformedPayload
from bot.domain.policy import read_count
from bot.domain.pricing import confirms
from bot.integrations.slack_errors import slack_error
from bot.readmodels import Admin
from bot.services.outbox import PlaceOrder
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

    async def show(
        self, slack: Interaction, view: dict[str, Any], modal: str, action_ts: str
    ) -> None:
        """Update `modal` (an external_id) to `view`, drawn for keystroke `action_ts`, unless
        Slack's copy changed meanwhile and a newer keystroke has been seen since."""
        try:
            await slack.update_modal(
                view, external_id=modal, hash=str(slack.view.get("hash") or "")
            )
        except SlackApiError as exc:
            if slack_error(exc) != "hash_conflict":
                raise
            # An older keystroke's update landed first; this one is newer, so it wins.
            if self.is_latest(modal, action_ts):
                await slack.update_modal(view, external_id=modal)


keystrokes = LatestKeystroke()
log = logging.getLogger(__name__)


async def on_open_add(slack: Interaction, caller: Caller) -> None:
    await slack.ack()
    admin = await caller.admin()
    if admin is None:
        view = build_add_not_allowed_modal()
    else:
        state = AddModalState.new(admin.account_id, caller.user_id, caller.team_id)
        view = build_add_modal(admin.overview, state)
    await slack.show_modal(view)


async def admin_for(caller: Caller, state: AddModalState) -> Admin:
    """The caller as admin of the modal's account: only whoever it was opened for, in that
    workspace, while still an admin of that account. Metadata alone proves none of it."""
    if not state.belongs_to(caller.user_id, caller.team_id):
        raise MalformedPayload()
    return await caller.admin_of(state.account_id, "add licenses")


async def on_count_changed(
    slack: Interaction,
    action: dict[str, Any],
    caller: Caller,
    runtime: Runtime,
    state: AddModalState,
) -> None:
    await slack.ack()
    admin = await admin_for(caller, state)
    modal = state.external_id
    stamp = str(action.get("action_ts") or "0")
    if not keystrokes.see(modal, stamp):
        return
    count = read_count(action.get("value"))
    new_view = build_add_modal_for(
        await preview(runtime.services, admin.account_id, count),
        state,
        count,
        quote_ttl_seconds=runtime.settings.quote_ttl_seconds,
    )
    await keystrokes.show(slack, new_view, modal, stamp)


async def on_order_now(
    slack: Interaction, caller: Caller, runtime: Runtime, state: AddModalState, form: AddForm
) -> None:
    count = read_count(form.count)
    if isinstance(count, str):
        await slack.ack_errors(Block.ADD_COUNT, count)
        return
    if not state.belongs_to(caller.user_id, caller.team_id):
        raise MalformedPayload()
    if not confirms(state.quote, count):
        # No price on screen for this number (rare: Order Now before the quote arrived).
        # Nobody is charged a price they have not seen: show it and ask again.
        admin = await caller.admin_of(state.account_id, "add licenses")
        seen = await preview(runtime.services, admin.account_id, count)
        if not seen.outcome.decision.allowed:
            # Wrong in itself (below 1) or beyond what the rules allow: the input's own
            # error, the one place it is said (the quote area only asks for a number).
            # A route's reason names who to contact, whose button the quote area shows.
            await slack.ack_errors(Block.ADD_COUNT, seen.outcome.decision.reason)
            return
        notice = confirm_price_notice(count)
        await slack.ack_update(
            build_add_modal_for(
                seen,
                state,
                count,
                notice=notice,
                quote_ttl_seconds=runtime.settings.quote_ttl_seconds,
            )
        )
        return
    # The quote the bot sealed into the modal answers Order Now: the ack needs no
    # database. Who may order, the rules and the price are checked again in the service,
    # under the account's lock (bot/effects/orders.py tells the admin if it refuses).
    confirmed_at = runtime.services.clock()
    await slack.ack_update(build_placing_modal(state, count))
    # The outcome must not reach Slack before the "placing" view it replaces.
    await caller.answered()
    admin = await caller.admin_of(state.account_id, "add licenses")
    await runtime.effects.place_now(
        PlaceOrder(
            account_id=admin.account_id,
            team_id=caller.team_id,
            user_id=caller.user_id,
            email=admin.identity.email,
            add=count,
            idempotency_key=state.idempotency_key,
            quote=state.quote,
            confirmed_at=confirmed_at,
            modal_id=state.modal_id,
        )
    )
    # The receipt DM and App Home were queued with the order; carry them out now.
    runtime.drain_soon()


def register(app: AsyncApp) -> None:
    # Keystrokes first: Bolt tries listeners in order (see bot.app).
    app.action(Action.ADD_COUNT)(listener(on_count_changed))
    app.view(Callback.ADD)(listener(on_order_now))
    app.action(Action.OPEN_ADD)(listener(on_open_add))
