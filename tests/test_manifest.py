"""manifest.yml asks Slack for what the bot uses: the same scopes Add to Slack requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.oauth import BOT_SCOPES, REDIRECT_PATH

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_add_to_slack_requests_exactly_the_manifest_scopes() -> None:
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_the_manifest_sends_installers_back_to_the_oauth_redirect_route() -> None:
    [url] = manifest()["oauth_config"]["redirect_urls"]
    assert url.endswith(REDIRECT_PATH)


def test_uninstalling_reaches_the_bot() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
