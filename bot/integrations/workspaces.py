"""Which Slack token speaks to which workspace.

Single-workspace mode has one bot token for everything. In OAuth mode every customer
workspace and the vendor's have their own installation: a call goes out with the token of
the workspace it targets, and a workspace without one is told nothing (NotInstalled).
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import aiohttp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)
# How long a token found in the store is used before it is looked up again: another
# instance may have seen the app uninstalled and reinstalled meanwhile.
TOKEN_SECONDS = 60.0


class NotInstalled(Exception):
    """licensebot has no token for this workspace (never installed, or uninstalled)."""

    def __init__(self, team_id: str | None) -> None:
        super().__init__(f"licensebot is not installed in workspace {team_id or '(vendor)'}")
        self.team_id = team_id


class Workspaces(Protocol):
    async def client_for(self, team_id: str | None) -> AsyncWebClient:
        """The Web API client for `team_id`; None is the vendor's workspace."""
        ...

    def forget(self, team_id: str) -> None:
        """Drop what is known of a workspace's token (it was uninstalled or revoked)."""
        ...


def web_client(base_url: str, token: str | None, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=base_url, session=session)


class EnterpriseLookup(Protocol):
    async def __call__(self, team_id: str) -> str | None: ...


class OneWorkspace:
    """Single-workspace mode: SLACK_BOT_TOKEN speaks to every workspace there is."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def client_for(self, team_id: str | None) -> AsyncWebClient:
        return self.client

    def forget(self, team_id: str) -> None:
        pass


class InstalledWorkspaces:
    """OAuth mode: each workspace's bot token, from the (encrypted) installation store.

    An org-wide install (Enterprise Grid) serves the workspaces of its org: `enterprise_of`
    says which org a linked workspace belongs to.
    """

    def __init__(
        self,
        store: AsyncInstallationStore,
        base_url: str,
        session: aiohttp.ClientSession,
        vendor_team_id: str,
        enterprise_of: EnterpriseLookup,
    ) -> None:
        self._store = store
        self._base_url = base_url
        self._session = session
        self._vendor = vendor_team_id
        self._enterprise_of = enterprise_of
        self._clients: dict[str, tuple[float, AsyncWebClient]] = {}

    async def client_for(self, team_id: str | None) -> AsyncWebClient:
        team = team_id or self._vendor
        cached = self._clients.get(team)
        if cached is not None and time.monotonic() - cached[0] < TOKEN_SECONDS:
            return cached[1]
        token = await self._token(team)
        if token is None:
            raise NotInstalled(team)
        client = web_client(self._base_url, token, self._session)
        self._clients[team] = (time.monotonic(), client)
        return client

    async def _token(self, team: str) -> str | None:
        bot = await self._store.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None:
            enterprise = await self._enterprise_of(team)
            if enterprise is not None:
                bot = await self._store.async_find_bot(
                    enterprise_id=enterprise, team_id=None, is_enterprise_install=True
                )
        return bot.bot_token if bot is not None else None

    def forget(self, team_id: str) -> None:
        self._clients.pop(team_id, None)
