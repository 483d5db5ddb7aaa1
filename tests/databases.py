"""Throwaway PostgreSQL schemas for the tests and the bench."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from bot.db import sync_url


@contextmanager
def postgres_schema(base_url: str, prefix: str = "lb_test") -> Iterator[str]:
    """A fresh, empty schema on the PostgreSQL server at `base_url`, dropped afterwards;
    yields the URL whose connections use it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_sync_engine(sync_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
