"""A clock the tests set and move: services read the time from it."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def travel(self, **delta: float) -> None:
        self.now += timedelta(**delta)
