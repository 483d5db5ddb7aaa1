"""Bounded retries of one HTTP call, shared by the clients of outside services.

Each client says, per attempt, whether it got its answer or why another attempt may help
and how long to wait (its own policy: status codes, Retry-After, caps); this runs the
attempts, logs each retry, and waits between them, never after the last.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class TryAgain:
    """An attempt that failed in a way another one may not."""

    reason: str  # safe to log and show: no secrets, no response text
    wait: float  # seconds before the next attempt
    last: bool = False  # the server said another attempt cannot help


async def with_retries(
    attempt: Callable[[int], Awaitable[T | TryAgain]],
    *,
    attempts: int,
    sleep: Callable[[float], Awaitable[None]],
    what: str,
    log: logging.Logger,
) -> tuple[T | TryAgain, int]:
    """Run `attempt(0)`, `attempt(1)`… until one returns an answer, at most `attempts` times.

    Returns that answer, or the last TryAgain (the caller raises its own error), with the
    number of attempts made.
    """
    for number in range(attempts):
        outcome = await attempt(number)
        if not isinstance(outcome, TryAgain) or outcome.last or number + 1 == attempts:
            return outcome, number + 1
        log.warning(
            "%s: %s; retrying in %.1fs (attempt %d of %d)",
            what,
            outcome.reason,
            outcome.wait,
            number + 1,
            attempts,
        )
        await sleep(outcome.wait)
    raise ValueError("attempts must be at least 1")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # float() also takes "nan"/"inf"; neither is a usable wait.
        return seconds if 0 <= seconds < float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates come back naive; HTTP dates are GMT.
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
