"""Slack installations at rest: slack-sdk's SQLAlchemy stores, with every token encrypted.

TOKEN_ENCRYPTION_KEY is one Fernet key, or several separated by commas: the first encrypts,
any of them decrypts, so a key can be rotated (README, "Rotating the token key").
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
# Installations and bots alike: every field that holds a credential.
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
STATE_SECONDS = 600

Stored = TypeVar("Stored", Installation, Bot)


class BadTokenKey(ValueError):
    """TOKEN_ENCRYPTION_KEY is missing or is not a Fernet key."""


def token_cipher(keys: str | None) -> MultiFernet:
    parts = [part.strip() for part in (keys or "").split(",") if part.strip()]
    if not parts:
        raise BadTokenKey(
            "OAuth mode needs TOKEN_ENCRYPTION_KEY (make one: licensebot tokens new-key)"
        )
    try:
        return MultiFernet([Fernet(part.encode()) for part in parts])
    except ValueError:
        raise BadTokenKey(
            "TOKEN_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes; "
            "make one: licensebot tokens new-key)"
        ) from None


class EncryptedInstallationStore(AsyncInstallationStore):
    """The SQLAlchemy store, with tokens encrypted on the way in and out."""

    def __init__(self, inner: AsyncInstallationStore, cipher: MultiFernet) -> None:
        self._inner = inner
        self._cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return log

    def _encrypted(self, stored: Stored) -> Stored:
        return _map_tokens(stored, lambda token: self._cipher.encrypt(token.encode()).decode())

    def _decrypted(self, stored: Stored) -> Stored:
        return _map_tokens(stored, self._decrypt)

    def _decrypt(self, token: str) -> str:
        try:
            plain: bytes = self._cipher.decrypt(token.encode())
        except InvalidToken:
            # Stored under a key no longer in TOKEN_ENCRYPTION_KEY: the workspace must
            # reinstall. The token itself is never logged.
            log.error("a stored Slack token can't be decrypted with TOKEN_ENCRYPTION_KEY")
            raise
        return plain.decode()

    async def async_save(self, installation: Installation) -> None:
        await self._inner.async_save(self._encrypted(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await self._inner.async_save_bot(self._encrypted(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await self._inner.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._decrypted(bot) if bot is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self._inner.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._decrypted(found) if found is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


def _map_tokens(stored: Stored, crypt: Callable[[str], str]) -> Stored:
    changed = copy.copy(stored)
    for name in TOKEN_FIELDS:
        value = getattr(stored, name, None)
        if value:
            setattr(changed, name, crypt(value))
    return changed


def installation_store(
    client_id: str, engine: AsyncEngine, cipher: MultiFernet
) -> EncryptedInstallationStore:
    return EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore(client_id, engine), cipher)


def oauth_state_store(engine: AsyncEngine) -> AsyncSQLAlchemyOAuthStateStore:
    return AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine)


async def rotate_tokens(engine: AsyncEngine, cipher: MultiFernet) -> int:
    """Re-encrypt every stored token under the first key; returns how many tokens."""
    tables = AsyncSQLAlchemyInstallationStore("", engine)
    rotated = 0
    async with engine.begin() as connection:
        for table in (tables.installations, tables.bots):
            fields = [name for name in TOKEN_FIELDS if name in table.c]
            rows = await connection.execute(select(table.c.id, *(table.c[f] for f in fields)))
            for row in rows.mappings().all():
                values = {f: cipher.rotate(row[f].encode()).decode() for f in fields if row[f]}
                if values:
                    await connection.execute(
                        update(table).where(table.c.id == row["id"]).values(**values)
                    )
                    rotated += len(values)
    return rotated
