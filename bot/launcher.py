"""`make run`: the real bot when Slack credentials are configured, else the local workspace."""

from __future__ import annotations

import sys

from bot.cli import main
from bot.config import Settings


def launch() -> int:
    settings = Settings()
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        return main(["serve"])
    print("No Slack credentials (SLACK_BOT_TOKEN …) found: starting the local sandbox workspace.")
    return main(["sandbox"])


if __name__ == "__main__":
    sys.exit(launch())
