"""Slack directory look-ups (users.info, users.lookupByEmail), cached briefly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cache import TtlCache
from bot.integrations.slack_errors import slack_error

log = logging.getLogger(__name__)
CACHE_SECONDS = 600.0


@dataclass(frozen=True)
class Profile:
    name: str | None
    email: str | None


class Directory(Protocol):
    async def profile(self, user_id: str) -> Profile: ...

    async def email_of(self, user_id: str) -> str | None: ...

    async def user_id_for(self, email: str) -> str | None: ...


class SlackDirectory:
    """Admins may be listed by email; Slack tells us whose email a user ID has."""

    def __init__(self, client: AsyncWebClient, ttl: float = CACHE_SECONDS) -> None:
        self._client = client
        self._profiles: TtlCache[Profile] = TtlCache(ttl)
        self._ids: TtlCache[str | None] = TtlCache(ttl)

    async def profile(self, user_id: str) -> Profile:
        hit, cached = self._profiles.get(user_id)
        if hit and cached is not None:
            return cached
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, slack_error(exc))
            return Profile(None, None)
        user = response.get("user") or {}
        details = user.get("profile") or {}
        email = details.get("email")
        found = Profile(
            name=details.get("real_name") or user.get("real_name") or user.get("name"),
            email=email.lower() if email else None,
        )
        self._profiles.put(user_id, found)
        return found

    async def email_of(self, user_id: str) -> str | None:
        return (await self.profile(user_id)).email

    async def user_id_for(self, email: str) -> str | None:
        hit, cached_id = self._ids.get(email)
        if hit:
            return cached_id
        try:
            response = await self._client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            log.warning("users.lookupByEmail failed: %s", slack_error(exc))
            return None
        user_id = (response.get("user") or {}).get("id")
        self._ids.put(email, user_id)
        return user_id
