"""`make run`: the real bot when Slack credentials are configured, else a local demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bot.cli import main
from bot.config import Settings

DEMO_ACCOUNTS = Path(__file__).parent / "sandbox" / "demo_accounts.yml"


def launch() -> int:
    settings = Settings()
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        return main(["serve"])
    print("No Slack credentials (SLACK_BOT_TOKEN …) found: showing the demo account instead.")
    os.environ["DATABASE_URL"] = "sqlite:///./sandbox-data/demo.db"
    Path("sandbox-data").mkdir(exist_ok=True)
    for step in (
        ["accounts", "import", str(DEMO_ACCOUNTS)],
        ["accounts", "show", "acme"],
        ["quote", "acme", "--add", "3"],
    ):
        print(f"\n$ licensebot {' '.join(step)}")
        code = main(step)
        if code:
            return code
    print()
    return _print_help()


def _print_help() -> int:
    from bot.cli import build_parser

    build_parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(launch())
