"""Migrations: from an empty database to head on SQLite and PostgreSQL, and again safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from bot.db import alembic_config, sync_url, upgrade
from bot.models import Base

TABLES = {"accounts", "account_admins", "orders", "ledger_charges", "audit_log"}


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == head_revision(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrading_twice_is_a_no_op_and_keeps_the_data(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO audit_log (actor, action, detail, created_at) "
                    "VALUES ('test', 'kept', '{}', CURRENT_TIMESTAMP)"
                )
            )
        upgrade(database_url)  # would fail if it re-created tables or triggers
        assert current_revision(database_url) == head_revision(database_url)
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT count(*) FROM audit_log WHERE action = 'kept'"))
            assert kept.scalar() == 1
    finally:
        engine.dispose()
