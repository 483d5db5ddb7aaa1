"""Placing a confirmed order, then replacing its "placing" screen with what happened.

The listener carries this out right after its ack; after a crash the scheduler does.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from blocks.add import (
    INTERRUPTED,
    PRICE_MOVED,
    build_add_modal_for,
    build_add_refused_modal,
    build_order_declined_modal,
    build_order_not_placed_modal,
    build_order_processing_modal,
    build_receipt_modal,
    order_not_placed_blocks,
    order_not_placed_text,
    stale_price_notice,
)
from blocks.metadata import AddModalState
from blocks.text import per_period
from bot.domain.errors import QuoteNotHonoured, ServiceError
from bot.effects.context import CURRENT_ENTRY, EffectDeps
from bot.integrations.slack_errors import slack_error
from bot.readmodels import AdminIdentity
from bot.services.billing import sync_licenses_to_provider
from bot.services.orders import complete_order, order_by_key, place_order
from bot.services.outbox import PlaceOrder, SendDm, SyncSubscription, enqueue_now
from bot.services.quotes import preview

log = logging.getLogger(__name__)

# Another admin's order being charged at the same moment is waited for this long (the
# "placing" screen is up meanwhile); an order pending longer is one the provider is slow
# to answer, and this one is refused with why.
WAIT_FOR_PENDING_SECONDS = 15.0


async def place_confirmed_order(
    deps: EffectDeps, effect: PlaceOrder, *, live: bool = False
) -> None:
    """Place the order and show the outcome in its modal.

    `live`: right after Order Now's ack, in the listener. With a payment provider the
    effect is then written with the order's reservation (so the scheduler finishes it if
    this process dies) and marked done with its outcome; from the outbox it is already an
    entry. On our own ledger the order is placed in one transaction: nothing to finish.
    """
    services = deps.services
    state = AddModalState(
        account_id=effect.account_id,
        idempotency_key=effect.idempotency_key,
        viewer=effect.user_id,
        team_id=effect.team_id,
        modal_id=effect.modal_id,
        quote=effect.quote,
    )
    late = services.clock() - effect.confirmed_at > timedelta(
        seconds=services.settings.quote_ttl_seconds
    )
    if late:
        # Resumed long after a crash: the admin may have ordered another way since, so an
        # order not placed by now is not placed at all. One placed before the crash stands,
        # and one written down as pending is finished.
        receipt = await order_by_key(services, effect.idempotency_key)
        if receipt is None:
            modal = build_order_not_placed_modal(effect.add, INTERRUPTED, state.external_id)
            await _tell(deps, effect, state, modal, INTERRUPTED)
            return
        if receipt.status == "pending":
            receipt = await complete_order(services, receipt.reference)
    else:
        admin = AdminIdentity(effect.user_id, effect.email)
        try:
            receipt = await place_order(
                services,
                effect.account_id,
                admin,
                effect.add,
                effect.idempotency_key,
                effect.quote,
                effect.confirmed_at,
                wait_for_pending=WAIT_FOR_PENDING_SECONDS,
                intent=effect if live else None,
            )
        except QuoteNotHonoured as stale:
            fresh = await preview(services, effect.account_id, effect.add)
            notice = stale_price_notice(str(stale))
            # The "placing" view dropped the input's state: show the number again.
            again = build_add_modal_for(
                fresh,
                state,
                effect.add,
                notice=notice,
                initial=effect.add,
                quote_ttl_seconds=services.settings.quote_ttl_seconds,
            )
            await _tell(deps, effect, state, again, PRICE_MOVED)
            return
        except ServiceError as refused:
            modal = {**build_add_refused_modal(str(refused)), "external_id": state.external_id}
            await _tell(deps, effect, state, modal, str(refused))
            return
    if receipt.status == "failed":
        # The DM saying why was queued with the outcome.
        done = build_order_declined_modal(receipt, state.external_id)
    elif receipt.status == "pending":
        done = build_order_processing_modal(receipt, state.external_id)
    else:
        done = build_receipt_modal(receipt, per_period(receipt.interval), state.external_id)
    try:
        await deps.update_modal(effect.team_id, done, state.external_id)
    except SlackApiError as exc:
        # The modal may be closed or Slack down; the receipt DM was queued with the order.
        log.warning("could not show order %s: %s", receipt.reference, slack_error(exc))


async def _tell(
    deps: EffectDeps, effect: PlaceOrder, state: AddModalState, modal: dict[str, Any], why: str
) -> None:
    """The order was not placed: say so in its modal, or by DM when the modal is gone."""
    try:
        await deps.update_modal(effect.team_id, modal, state.external_id)
    except SlackApiError as exc:
        log.info("order %s not placed, told by DM: %s", effect.idempotency_key, slack_error(exc))
        text = order_not_placed_text(effect.add, why)
        blocks = order_not_placed_blocks(effect.add, why, effect.account_id)
        await enqueue_now(
            deps.services,
            SendDm(team_id=effect.team_id, user_id=effect.user_id, text=text, blocks=blocks),
        )


async def sync_subscription(deps: EffectDeps, effect: SyncSubscription) -> None:
    entry = CURRENT_ENTRY.get()
    await sync_licenses_to_provider(
        deps.services, effect.account_id, f"licensebot-quantity-{entry[0] if entry else 0}"
    )


HANDLERS = {PlaceOrder: place_confirmed_order, SyncSubscription: sync_subscription}
