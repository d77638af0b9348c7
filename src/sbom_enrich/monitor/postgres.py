"""The monitor's PostgreSQL store (psycopg 3): replicas share it through the database's locks."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..status.urls import redact_url
from .store import SCHEMA, Cursor, SqlStore, StoreError

__all__ = ["PostgresStore"]

#: Advisory lock keys (any 64-bit number; derived from a name so they explain themselves).
SCHEMA_LOCK = zlib.crc32(b"sbom-enrich monitor schema")
PASS_LOCK = zlib.crc32(b"sbom-enrich monitor pass")


class _QmarkCursor:
    """The shared SQL is written with ``?``; psycopg wants ``%s``."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), tuple(params))

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return self._cursor.fetchone()


class PostgresStore(SqlStore):
    """Rows read for a change are locked (``FOR UPDATE``); outbox claims skip locked rows."""

    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE OF o SKIP LOCKED"

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "--db postgresql://... needs psycopg: pip install 'sbom-enrich[monitor-pg]'"
            ) from None
        self.database_errors = (psycopg.Error,)
        self.url = redact_url(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            with self._conn.transaction():
                # Two replicas starting together would race on CREATE TABLE IF NOT EXISTS.
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for statement in SCHEMA.format(serial="SERIAL").split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
        except psycopg.Error as error:
            raise StoreError(
                f"cannot open the monitor database {self.url}: {str(error).strip()[:300]}"
            ) from None

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Cursor]:
        with self._conn.transaction(), self._conn.cursor() as cursor:
            yield _QmarkCursor(cursor)

    @contextmanager
    def pass_lock(self) -> Iterator[bool]:
        """A session advisory lock: one replica's pass at a time; released if it dies."""
        with self._lock:
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (PASS_LOCK,)).fetchone()
        granted = bool(row and row[0])
        try:
            yield granted
        finally:
            if granted:
                with self._lock:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (PASS_LOCK,))

    def close(self) -> None:
        self._conn.close()
