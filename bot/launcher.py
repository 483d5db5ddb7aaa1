"""`make run`: the real bot when Slack credentials are configured, else the local workspace."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["run"]))
