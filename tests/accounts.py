"""The account the tests import: the demo's Acme Corp (DESIGN.md's example), and variations."""

from __future__ import annotations

from typing import Any

from bot.sandbox.demo import demo_accounts

ACME: dict[str, Any] = next(a for a in demo_accounts()["accounts"] if a["id"] == "acme")


def account(**overrides: Any) -> dict[str, Any]:
    """Acme with `overrides`; a value of `...` leaves that key out of the entry."""
    entry = {**ACME, **overrides}
    return {key: value for key, value in entry.items() if value is not ...}
