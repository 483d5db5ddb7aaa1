"""The accounts the tests import: Acme Corp as in DESIGN.md's example, and variations."""

from __future__ import annotations

from typing import Any

ACME: dict[str, Any] = {
    "id": "acme",
    "name": "Acme Corp",
    "slack_team_id": "T0ACME",
    "plan": "pro",
    "billing_interval": "monthly",
    "licenses": 10,
    "currency": "USD",
    "price_per_license": "49.00",
    "period_start": "2026-11-01T00:00:00Z",
    "admins": ["U0ANN", "bob@acme.example"],
    "csm": {"name": "Casey Doe", "slack_user_id": "U0CSM", "email": "casey@vendor.example"},
}


def account(**overrides: Any) -> dict[str, Any]:
    """Acme with `overrides`; a value of `...` leaves that key out of the entry."""
    entry = {**ACME, **overrides}
    return {key: value for key, value in entry.items() if value is not ...}
