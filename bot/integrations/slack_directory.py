"""Slack directory look-ups (users.info, users.lookupByEmail), cached briefly."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)
CACHE_SECONDS = 600.0


class Directory(Protocol):
    async def email_of(self, user_id: str) -> str | None: ...

    async def user_id_for(self, email: str) -> str | None: ...


class SlackDirectory:
    """Admins may be listed by email; Slack tells us whose email a user ID has."""

    def __init__(self, client: AsyncWebClient, ttl: float = CACHE_SECONDS) -> None:
        self._client = client
        self._ttl = ttl
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._ids: dict[str, tuple[float, str | None]] = {}

    def _cached(
        self, cache: dict[str, tuple[float, str | None]], key: str
    ) -> tuple[bool, str | None]:
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return True, hit[1]
        return False, None

    async def email_of(self, user_id: str) -> str | None:
        found, email = self._cached(self._emails, user_id)
        if found:
            return email
        try:
            response = await self._client.users_info(user=user_id)
            profile = (response.get("user") or {}).get("profile") or {}
            email = profile.get("email")
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return None
        self._emails[user_id] = (time.monotonic(), email.lower() if email else None)
        return self._emails[user_id][1]

    async def user_id_for(self, email: str) -> str | None:
        found, user_id = self._cached(self._ids, email)
        if found:
            return user_id
        try:
            response = await self._client.users_lookupByEmail(email=email)
            user_id = (response.get("user") or {}).get("id")
        except SlackApiError as exc:
            log.warning("users.lookupByEmail failed: %s", exc.response.get("error"))
            return None
        self._ids[email] = (time.monotonic(), user_id)
        return user_id
