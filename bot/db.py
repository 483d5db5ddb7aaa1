"""Engines and sessions. DATABASE_URL is given in its sync form; drivers are chosen here."""

from __future__ import annotations

import asyncio
import re
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot import sqlite_on_loop

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
READ_ONLY_OPTION = "licensebot_read_only"
WRITE_GATE = "licensebot_write_gate"
# How long a SQLite statement waits for another writer (in a worker thread, see
# bot.sqlite_on_loop) before it fails with "database is locked".
BUSY_TIMEOUT_SECONDS = 30


def _with_driver(url: str, sqlite_driver: str | None) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver}" if sqlite_driver else "sqlite")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """URL for synchronous work (migrations): psycopg 3 on PostgreSQL."""
    return _with_driver(url.replace("postgres://", "postgresql://", 1), None)


def async_url(url: str) -> str:
    """URL for the running bot: psycopg 3 async on PostgreSQL, aiosqlite on SQLite."""
    return _with_driver(url.replace("postgres://", "postgresql://", 1), "aiosqlite")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    if not is_sqlite(database_url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(async_url(database_url), **kwargs)
    database = make_url(database_url)
    engine = create_async_engine(
        async_url(database_url),
        async_creator=partial(
            sqlite_on_loop.connect,
            database.database or ":memory:",
            BUSY_TIMEOUT_SECONDS,
            uri=database.query.get("uri") == "true",
        ),
        **kwargs,
    )

    # SQLite has no SELECT … FOR UPDATE; taking the write lock when a transaction
    # begins gives the same guarantee: read-check-write runs one at a time. Read-only
    # sessions (see read_sessions) begin deferred, so in WAL mode they never wait.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Opened in autocommit mode (isolation_level None): _on_begin begins transactions.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


class OneWriterSession(AsyncSession):
    """A SQLite write session: waits its turn here, before it takes a pooled connection.

    SQLite runs one writer at a time. Writers that queued on the database lock would
    each hold a pooled connection meanwhile, and under load leave none for the readers
    that answer Slack within its 3 seconds.
    """

    async def __aenter__(self) -> OneWriterSession:
        await self.info[WRITE_GATE].acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await super().__aexit__(*exc_info)
        finally:
            self.info[WRITE_GATE].release()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for use-cases that write; use them as `async with factory() as session`."""
    if engine.dialect.name == "sqlite":
        return async_sessionmaker(
            engine,
            class_=OneWriterSession,
            expire_on_commit=False,
            info={WRITE_GATE: asyncio.Lock()},
        )
    return async_sessionmaker(engine, expire_on_commit=False)


def read_sessions(writes: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool for use-cases that only read."""
    engine = writes.kw["bind"]
    return async_sessionmaker(
        engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
    )


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates %, which URLs may contain (escaped passwords).
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


_REVISION = re.compile(r"^revision\s*(?::[^=\n]*)?=\s*([\"'])([^\"'\n]+)\1\s*$", re.M)
_DOWN_REVISION = re.compile(
    r"^down_revision\s*(?::[^=\n]*)?=\s*(?:None|([\"'])([^\"'\n]+)\1)\s*$", re.M
)


def head_revision() -> str | None:
    """The newest migration, read from the migration files as text (Alembic not loaded).

    None when the files don't make one plain chain (a merge, several heads, an unusual
    spelling): then Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down_revision = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down_revision) != 1:
            return None
        revisions.add(revision[0][1])
        if down_revision[0][1]:
            parents.add(down_revision[0][1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def applied_revisions(database_url: str) -> list[str]:
    """The revisions in the database's alembic_version table; [] when there is none yet."""
    engine = create_sync_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        # Connection errors propagate: Alembic would meet the same one.
        with engine.connect() as connection:
            try:
                rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:  # no such table: a database never migrated
                return []
            return [str(revision) for revision in rows.scalars()]
    finally:
        engine.dispose()


def upgrade(database_url: str) -> None:
    """Apply every migration not yet applied; safe to run on every start.

    Every command runs this, so a database already at the head revision is told apart with
    one query; loading Alembic and its environment costs more than most commands.
    """
    head = head_revision()
    if head is not None and applied_revisions(database_url) == [head]:
        return
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")
