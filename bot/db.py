"""Engines and sessions. DATABASE_URL is given in its sync form; drivers are chosen here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
READ_ONLY_OPTION = "licensebot_read_only"
WRITE_GATE = "licensebot_write_gate"


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
    engine = create_async_engine(async_url(database_url), connect_args={"timeout": 30}, **kwargs)

    # SQLite has no SELECT … FOR UPDATE; taking the write lock when a transaction
    # begins gives the same guarantee: read-check-write runs one at a time. Read-only
    # sessions (see read_sessions) begin deferred, so in WAL mode they never wait.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
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
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates %, which URLs may contain (escaped passwords).
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Apply every migration not yet applied; safe to run on every start."""
    command.upgrade(alembic_config(database_url), "head")
