"""Building the add-licenses modal from what the admin typed (shared by its entry points)."""

from __future__ import annotations

import uuid
from typing import Any

from blocks.add import build_add_modal
from blocks.metadata import AddModalState
from bot.domain.policy import Decision, InvalidCount, parse_count
from bot.services.quotes import Preview


def new_add_state(account_id: str) -> AddModalState:
    return AddModalState(account_id=account_id, idempotency_key=f"add-{uuid.uuid4().hex}")


def read_count(raw: str | None, purpose: str = "add") -> int | str:
    """The typed number, or the sentence that says what is wrong with it."""
    if raw is None or not raw.strip():
        return f"Enter a number of licenses to {purpose}."
    try:
        return parse_count(raw)
    except InvalidCount as exc:
        return str(exc)


def modal_for_preview(
    seen: Preview,
    state: AddModalState,
    count: int | str | None,
    *,
    notice: str | None = None,
    initial: int | None = None,
) -> dict[str, Any]:
    """The add modal for what was typed: a quote, or the inline reason there is none.

    The quote shown is stored in the view, so Order Now charges what the admin saw.
    """
    outcome = seen.outcome
    problem: Decision | str | None = None
    if isinstance(count, str):
        problem = count
    elif count is not None and not outcome.decision.allowed:
        problem = outcome.decision
    shown = outcome.quote if count is not None else None
    state = state.model_copy(update={"quote": shown})
    return build_add_modal(
        seen.overview,
        state,
        quote=outcome.quote if count is not None else None,
        problem=problem,
        notice=notice,
        initial=initial,
    )
