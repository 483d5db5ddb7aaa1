"""What a failed Web API call says, whatever shape Slack's answer had."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError


def slack_error(exc: SlackApiError) -> str:
    """Slack's `error` code; for an answer that isn't Slack's JSON, its HTTP status."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{exc.response.status_code}"
