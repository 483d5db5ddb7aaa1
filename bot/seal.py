"""Sealing what the bot gives Slack to carry (a view's private_metadata) with a server MAC.

What comes back from Slack is authentic only if its seal checks out: a quote, the account
and who the modal was opened for can't be edited on the way, and a seal made by another
deployment (another key) is refused like any tampering.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

SEAL_HEX_CHARS = 32


def seal(text: str, key: bytes) -> str:
    return f"{_mac(text, key)}.{text}"


def sealed_view(view: dict[str, Any], key: bytes) -> dict[str, Any]:
    """`view` with its private_metadata sealed, as every view the bot sends must have it."""
    metadata = view.get("private_metadata")
    if not metadata:
        return view
    return {**view, "private_metadata": seal(metadata, key)}


def unseal(sealed: str, key: bytes) -> str | None:
    """The text that was sealed, or None when the seal is missing or wrong."""
    mac, dot, text = sealed.partition(".")
    if not dot or not hmac.compare_digest(mac, _mac(text, key)):
        return None
    return text


def _mac(text: str, key: bytes) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:SEAL_HEX_CHARS]
