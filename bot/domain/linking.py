"""Link codes: the one-time codes that link a customer's Slack workspace to its account."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

# No 0/O, 1/I/L: a code is read aloud and typed from a phone call or a chat.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
CODE_GROUP = 4
EXAMPLE_CODE = "ABCD-EFGH-JKMN"

DEFAULT_TTL_HOURS = 24
MIN_TTL_HOURS = 1
MAX_TTL_HOURS = 720

# Wrong codes a workspace may type in WRONG_CODE_WINDOW before it has to wait.
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(hours=1)


class NotACode(ValueError):
    """Text that cannot be a link code, whatever codes exist."""


def new_code() -> str:
    """A fresh code, normalised (no dashes): ~59 bits from the OS's random source."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """The code as stored: any case, with or without dashes and spaces."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        raise NotACode(
            f"“{typed.strip()}” is not a link code: codes have {CODE_LENGTH} letters and "
            f"digits, like {EXAMPLE_CODE}."
        )
    return code


def display_code(code: str) -> str:
    """ABCD-EFGH-JKMN: groups are easier to read aloud and to check."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def code_hash(code: str) -> str:
    """What is stored instead of the code: a database dump reveals no usable code."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def ttl_problem(hours: int) -> str | None:
    if not MIN_TTL_HOURS <= hours <= MAX_TTL_HOURS:
        return f"a link code lasts between {MIN_TTL_HOURS} and {MAX_TTL_HOURS} hours (not {hours})"
    return None


def locked_until(wrong_tries: list[datetime], now: datetime) -> datetime | None:
    """When a workspace may try again, if its wrong codes of the last hour used up its tries.

    It may try again once the oldest of its last MAX_WRONG_CODES tries is an hour old.
    """
    recent = sorted(at for at in wrong_tries if now - at < WRONG_CODE_WINDOW)
    if len(recent) < MAX_WRONG_CODES:
        return None
    return recent[-MAX_WRONG_CODES] + WRONG_CODE_WINDOW


def in_vendor_workspace(team_id: str, vendor_team_id: str | None) -> bool:
    """Without a vendor workspace configured (single-workspace mode) every workspace is it."""
    return vendor_team_id is None or team_id == vendor_team_id


def utc_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def linked_notice(
    account_name: str, account_id: str, team_id: str, user_id: str, email: str | None
) -> str:
    """The CSM channel's line about a new link (the linker is in another workspace)."""
    who = f"{user_id} ({email})" if email else user_id
    return (
        f":link: *{account_name}* (`{account_id}`) is now linked to Slack workspace "
        f"`{team_id}`, by its admin {who}."
    )
