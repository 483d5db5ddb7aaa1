"""Carrying out outbox entries, retried until done: one table from kind to payload and effect.

The effects live one module per family (tickets, CSM channel, DMs, App Home); each lists
its own in HANDLERS, keyed by payload class. The table must cover every kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError

from bot.effects import channel, dms, escalation, home, orders, tickets
from bot.effects.context import CURRENT_ENTRY, EffectDeps, NotYet
from bot.integrations.slack_errors import slack_error
from bot.integrations.workspaces import NotInstalled
from bot.services import outbox
from bot.services.outbox import Effect, Kind

log = logging.getLogger(__name__)

Handler = Callable[[EffectDeps, Any], Awaitable[None]]
# Answers that mean the target is gone or was never there: an entry is not tried again.
PERMANENT_SLACK_ERRORS = frozenset(
    {"user_not_found", "users_not_found", "not_found", "channel_not_found", "invalid_arguments"}
)


def _table() -> dict[Kind, tuple[type[Effect], Handler]]:
    table: dict[Kind, tuple[type[Effect], Handler]] = {}
    for family in (tickets, channel, dms, escalation, home, orders):
        for payload, handler in family.HANDLERS.items():
            if payload.kind in table:
                raise RuntimeError(f"two effects for outbox kind {payload.kind}")
            table[payload.kind] = (payload, handler)
    missing = set(Kind) - set(table)
    if missing:
        raise RuntimeError(f"no effect for outbox kinds {sorted(missing)}")
    return table


EFFECTS = _table()

__all__ = ["EFFECTS", "EffectDeps", "Effects", "NotYet"]


class Effects:
    """Drains the outbox: claims what is due, runs each entry's effect, records the result."""

    def __init__(self, deps: EffectDeps) -> None:
        self.deps = deps
        self._lock = asyncio.Lock()

    async def drain(self, limit: int = 50) -> int:
        """Run what is due now; returns how many entries succeeded."""
        # One drain at a time per process; other processes are kept apart by row claims.
        async with self._lock:
            claimed = await outbox.claim_due(self.deps.services, limit)
            repeated = outbox.superseded(claimed)
            # A repeated entry's work is done by the later one: the last one wins.
            finished = [entry.id for entry in repeated]
            for entry in claimed:
                if entry not in repeated and await self._run(entry):
                    finished.append(entry.id)
            # Recorded together: after a crash before this, those effects run again,
            # which each of them is written to survive.
            await outbox.complete(self.deps.services, *finished)
            return len(finished) - len(repeated)

    async def place_now(self, order: outbox.PlaceOrder) -> None:
        """An Order Now just acknowledged: placed here, its outbox entry written with it."""
        try:
            await orders.place_confirmed_order(self.deps, order, live=True)
        except Exception as exc:
            # Its entry, if the reservation committed, is the scheduler's once its hold ends.
            log.warning(
                "order %s left to the scheduler: %s: %s",
                order.idempotency_key,
                type(exc).__name__,
                exc,
            )

    async def _run(self, claimed: outbox.Claimed) -> bool:
        services = self.deps.services
        try:
            payload, handler = EFFECTS[Kind(claimed.kind)]
            effect = payload.model_validate(claimed.payload)
        except (ValueError, ValidationError) as exc:
            # Retrying can't teach us a kind or a payload shape: set it aside at once.
            log.error("outbox #%s (%s) cannot be carried out: %s", claimed.id, claimed.kind, exc)
            await outbox.fail(services, claimed, f"{type(exc).__name__}: {exc}", final=True)
            return False
        marker = CURRENT_ENTRY.set((claimed.id, claimed.attempts))
        try:
            await handler(self.deps, effect)
        except NotInstalled as exc:
            # No token for that workspace: nothing can reach it until it installs again.
            await self._failed(claimed, str(exc), final=True)
            return False
        except SlackApiError as exc:
            error = slack_error(exc)
            # Slack said no for good (that user or view is not there): retrying won't help.
            final = error in PERMANENT_SLACK_ERRORS
            await self._failed(claimed, f"SlackApiError: {error}", final=final)
            return False
        except Exception as exc:
            await self._failed(claimed, f"{type(exc).__name__}: {exc}")
            return False
        finally:
            CURRENT_ENTRY.reset(marker)
        return True

    async def _failed(self, claimed: outbox.Claimed, reason: str, *, final: bool = False) -> None:
        outcome = "set aside" if final else f"attempt {claimed.attempts}"
        log.warning("outbox %s #%s failed (%s): %s", claimed.kind, claimed.id, outcome, reason)
        await outbox.fail(self.deps.services, claimed, reason, final=final)
