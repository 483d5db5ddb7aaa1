"""Slack installations at rest: encrypted, readable back, and re-encrypted on key rotation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text

from bot.integrations.installations import installation_store, rotate_tokens, token_cipher
from bot.services.context import ServiceContext

TOKEN = "xoxb-1234-5678-secretsecret"


def acme_installation() -> Installation:
    return Installation(
        app_id="A0APP",
        team_id="T0ACME",
        team_name="Acme",
        bot_token=TOKEN,
        bot_id="B0BOT",
        bot_user_id="U0BOT",
        bot_scopes="commands,chat:write",
        user_id="U0ANN",
        installed_at=datetime(2026, 11, 30, tzinfo=UTC).timestamp(),
    )


async def stored_tokens(ctx: ServiceContext) -> list[str]:
    async with ctx.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT bot_token FROM slack_installations UNION ALL SELECT bot_token FROM slack_bots"
            )
        )
        return [row[0] for row in rows]


async def test_tokens_are_stored_encrypted_and_read_back_in_clear(ctx: ServiceContext) -> None:
    engine = ctx.sessions.kw["bind"]
    store = installation_store("1000.2000", engine, token_cipher(Fernet.generate_key().decode()))
    await store.async_save(acme_installation())

    stored = await stored_tokens(ctx)
    assert len(stored) == 2 and not any("xoxb-" in token for token in stored)
    bot = await store.async_find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot is not None and bot.bot_token == TOKEN
    found = await store.async_find_installation(enterprise_id=None, team_id="T0ACME")
    assert found is not None and found.bot_token == TOKEN


async def test_rotating_the_key_re_encrypts_every_token_under_the_new_one(
    ctx: ServiceContext,
) -> None:
    engine = ctx.sessions.kw["bind"]
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    await installation_store("1000.2000", engine, token_cipher(old)).async_save(acme_installation())

    rotated = await rotate_tokens(engine, token_cipher(f"{new},{old}"))

    assert rotated == 2
    only_new = installation_store("1000.2000", engine, token_cipher(new))
    bot = await only_new.async_find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot is not None and bot.bot_token == TOKEN
    with pytest.raises(InvalidToken):
        await installation_store("1000.2000", engine, token_cipher(old)).async_find_bot(
            enterprise_id=None, team_id="T0ACME"
        )


def test_several_keys_encrypt_with_the_first() -> None:
    first, second = Fernet.generate_key(), Fernet.generate_key()
    cipher = token_cipher(f"{first.decode()}, {second.decode()}")
    assert isinstance(cipher, MultiFernet)
    assert Fernet(first).decrypt(cipher.encrypt(b"x")) == b"x"
