"""The builders are pure: importing them loads no database, model or service code."""

from __future__ import annotations

import subprocess
import sys

BUILDERS = "blocks.add, blocks.home, blocks.plan, blocks.removal, blocks.messages, blocks.tickets"
FORBIDDEN = ("sqlalchemy", "bot.services", "bot.db", "bot.models", "slack_bolt", "aiohttp")


def test_importing_every_builder_loads_no_database_or_service_code() -> None:
    check = (
        f"import sys, {BUILDERS}; "
        f"print(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
