"""`make run`: the real bot when Slack credentials are configured, else the local workspace."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from bot.cli import main
from bot.config import Settings


def launch() -> int:
    try:
        settings = Settings()
    except ValidationError:
        return main(["serve"])  # the command line explains the bad setting in one line
    if settings.oauth_mode:
        return main(["serve", "--http"])  # Add to Slack: serve explains what is missing
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        return main(["serve"])
    if settings.slack_bot_token:
        print(
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET: "
            "starting the local sandbox workspace instead."
        )
    else:
        print(
            "No Slack credentials (SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) "
            "found: starting the local sandbox workspace."
        )
    return main(["sandbox"])


if __name__ == "__main__":
    sys.exit(launch())
