"""Slack directory look-ups (users.info, users.lookupByEmail), cached briefly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError

from bot.cache import TtlCache
from bot.integrations.slack_errors import slack_error
from bot.integrations.workspaces import NotInstalled, Workspaces

log = logging.getLogger(__name__)
CACHE_SECONDS = 600.0


@dataclass(frozen=True)
class Profile:
    name: str | None
    email: str | None


class Directory(Protocol):
    """Look-ups in one workspace (`team_id`; None is the vendor's)."""

    async def profile(self, user_id: str, team_id: str | None = None) -> Profile: ...

    async def email_of(self, user_id: str, team_id: str | None = None) -> str | None: ...

    async def user_id_for(self, email: str, team_id: str | None = None) -> str | None: ...


class SlackDirectory:
    """Admins may be listed by email; Slack tells us whose email a user ID has."""

    def __init__(self, workspaces: Workspaces, ttl: float = CACHE_SECONDS) -> None:
        self._workspaces = workspaces
        self._profiles: TtlCache[Profile] = TtlCache(ttl)
        self._ids: TtlCache[str | None] = TtlCache(ttl)

    async def profile(self, user_id: str, team_id: str | None = None) -> Profile:
        key = f"{team_id}/{user_id}"
        hit, cached = self._profiles.get(key)
        if hit and cached is not None:
            return cached
        try:
            client = await self._workspaces.client_for(team_id)
            response = await client.users_info(user=user_id)
        except NotInstalled:
            return Profile(None, None)
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
        self._profiles.put(key, found)
        return found

    async def email_of(self, user_id: str, team_id: str | None = None) -> str | None:
        return (await self.profile(user_id, team_id)).email

    async def user_id_for(self, email: str, team_id: str | None = None) -> str | None:
        key = f"{team_id}/{email}"
        hit, cached_id = self._ids.get(key)
        if hit:
            return cached_id
        try:
            client = await self._workspaces.client_for(team_id)
            response = await client.users_lookupByEmail(email=email)
        except NotInstalled:
            return None
        except SlackApiError as exc:
            log.warning("users.lookupByEmail failed: %s", slack_error(exc))
            return None
        user_id = (response.get("user") or {}).get("id")
        self._ids.put(key, user_id)
        return user_id
