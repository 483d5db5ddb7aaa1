"""SQLite for the event loop: statements run on the loop's own thread.

aiosqlite hands every call (cursor, execute, fetch, close) to a worker thread and back,
and those hand-offs cost several times what a small statement does. Here a statement
runs where it is awaited, with SQLite's busy timeout at zero so that it can never wait
on the loop's thread. Two things go to a worker thread instead:

- a statement that finds the database busy (another process is writing, or a writer in
  this process has not committed yet): it is run again there, waiting as long as the
  busy timeout allows, while the loop goes on;
- a commit that wrote: its fsync may take milliseconds.

The object has the shape SQLAlchemy's aiosqlite dialect drives (`async_creator`), so
the engine, pool and dialect stay SQLAlchemy's own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class LoopCursor:
    def __init__(self, connection: LoopConnection) -> None:
        self._connection = connection
        self._cursor = connection.db.cursor()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        await self._connection.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> LoopCursor:
        # Materialized: a retry in the worker thread must see the same rows.
        rows = list(parameters)
        await self._connection.run(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class LoopConnection:
    """One sqlite3 connection in autocommit mode; transactions are begun by SQL (BEGIN)."""

    def __init__(self, db: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self.db = db
        self._busy_timeout_ms = busy_timeout_ms
        self._committed_changes = db.total_changes

    @property
    def isolation_level(self) -> str | None:
        return self.db.isolation_level

    async def cursor(self) -> LoopCursor:
        return LoopCursor(self)

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        cursor = LoopCursor(self)
        return await cursor.execute(sql, parameters)

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        # Nothing was done; wait for the database in a worker thread, off the loop.
        return await asyncio.to_thread(self._waiting, call, *args)

    def _waiting(self, call: Callable[..., T], *args: Any) -> T:
        self.db.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            return call(*args)
        finally:
            self.db.execute("PRAGMA busy_timeout=0")

    async def commit(self) -> None:
        if self.db.total_changes == self._committed_changes:
            # Nothing written: no fsync, nothing to wait for.
            self.db.commit()
        else:
            await asyncio.to_thread(self._waiting, self.db.commit)
        self._committed_changes = self.db.total_changes

    async def rollback(self) -> None:
        self.db.rollback()
        self._committed_changes = self.db.total_changes

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.db.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.db.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        self.db.close()


async def connect(path: str, busy_timeout_seconds: float, uri: bool = False) -> LoopConnection:
    """A connection to the database file at `path` (a `file:` URI when `uri`)."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False, uri=uri)
    return LoopConnection(db, int(busy_timeout_seconds * 1000))
