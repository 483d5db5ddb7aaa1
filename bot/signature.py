"""Slack's request signatures, checked before anything else reads the body.

https://api.slack.com/authentication/verifying-requests-from-slack: `v0=` + HMAC-SHA256 of
`v0:{timestamp}:{body}` under the signing secret, with a timestamp at most 5 minutes old.
Malformed headers are simply not signed: nothing here raises.
"""

from __future__ import annotations

import hashlib
import hmac

MAX_AGE_SECONDS = 5 * 60
# Seconds since 1970 have had 10 digits since 2001 and will until 2286.
MAX_TIMESTAMP_DIGITS = 12


def is_signed(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> bool:
    """True only for a well-formed, fresh signature of `body` under `secret`."""
    if not secret or not timestamp or not signature:
        return False
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        return False
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)
