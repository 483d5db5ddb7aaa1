"""SQLite statements run on the event loop, yet another writer never stalls the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine, read_sessions, session_factory, upgrade

# A table with no foreign keys: the write every test makes.
INSERT = (
    "INSERT INTO stripe_events (event_id, type, received_at) "
    "VALUES ('{id}', 'test', '2026-01-01 00:00:00')"
)
EVENTS = "SELECT event_id FROM stripe_events ORDER BY event_id"


def _file_of(sqlite_url: str) -> str:
    return sqlite_url.removeprefix("sqlite:///")


async def _serving(sqlite_url: str) -> AsyncEngine:
    """The bot's engine on a migrated database, as it runs: connected once (WAL mode on)."""
    upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return engine


async def _ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How many 10 ms ticks the loop ran while `work` was under way."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_a_write_waits_for_another_processes_writer_off_the_loop(sqlite_url: str) -> None:
    engine = await _serving(sqlite_url)
    writes = session_factory(engine)
    # Another process's writer (an import, say): holds the write lock for 0.5 s.
    other = sqlite3.connect(_file_of(sqlite_url), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(INSERT.format(id="evt_0"))
    threading.Timer(0.5, other.commit).start()

    async def write() -> float:
        started = time.monotonic()
        async with writes() as session, session.begin():
            await session.execute(text(INSERT.format(id="evt_1")))
        return time.monotonic() - started

    try:
        task = asyncio.ensure_future(write())
        ticks = await _ticks_while(task)
        waited = await task
    finally:
        other.close()
        await engine.dispose()
    # It waited for the other writer, and meanwhile the loop went on (about 50 ticks).
    assert waited >= 0.4
    assert ticks >= 20
    check = sqlite3.connect(_file_of(sqlite_url))
    assert check.execute(EVENTS).fetchall() == [("evt_0",), ("evt_1",)]
    check.close()


async def test_reads_go_on_while_another_writer_holds_the_lock(sqlite_url: str) -> None:
    engine = await _serving(sqlite_url)
    reads = read_sessions(session_factory(engine))
    other = sqlite3.connect(_file_of(sqlite_url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        async with reads() as session, session.begin():
            found = (await session.execute(text(EVENTS))).all()
        assert found == []
        assert time.monotonic() - started < 0.2
    finally:
        other.rollback()
        other.close()
        await engine.dispose()


async def test_a_written_commit_is_durable_and_seen_by_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    engine = create_engine(url)
    writes = session_factory(engine)
    async with writes() as session, session.begin():
        await session.execute(text(INSERT.format(id="evt_1")))
    await engine.dispose()
    check = sqlite3.connect(tmp_path / "db.sqlite")
    assert check.execute(EVENTS).fetchall() == [("evt_1",)]
    check.close()
