"""Migrations: from an empty database to head on SQLite and PostgreSQL, and again safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, create_engine, inspect, text

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
            opts = {"compare_type": True, "include_object": not_slack_sdks}
            context = MigrationContext.configure(connection, opts=opts)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def not_slack_sdks(thing: object, name: str | None, kind: str, *_: object) -> bool:
    """slack-sdk's store tables are checked against slack-sdk itself, below."""
    table = thing if kind == "table" else getattr(thing, "table", None)
    return not str(getattr(table, "name", name)).startswith("slack_")


def test_the_slack_store_tables_have_every_column_slack_sdk_uses(database_url: str) -> None:
    upgrade(database_url)
    expected = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(expected, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(expected, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(expected, "slack_oauth_states")
    engine = create_engine(sync_url(database_url))
    try:
        found = inspect(engine)
        for table in expected.tables.values():
            columns = {column["name"] for column in found.get_columns(table.name)}
            assert columns == {column.name for column in table.columns}, table.name
    finally:
        engine.dispose()


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
