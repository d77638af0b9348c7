"""The monitor's PostgreSQL store (psycopg 3): replicas share it through the database's locks."""

from __future__ import annotations

import contextlib
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..status.urls import redact_url
from .store import Cursor, SqlStore, StoreError, StoreMissingError, StoreUnavailableError

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

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return self._cursor.fetchone()


class PostgresStore(SqlStore):
    """Rows read for a change are locked (``FOR UPDATE``); outbox claims skip locked rows."""

    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE OF o SKIP LOCKED"
    serial = "SERIAL"
    table_exists_sql = "SELECT to_regclass(?)"

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "--db postgresql://... needs psycopg: pip install 'sbom-enrich[monitor-pg]'"
            ) from None
        self.database_errors = (psycopg.Error,)
        self.url = redact_url(url)
        self._dsn = url
        try:
            self._conn = self._connect()
        except psycopg.Error as error:
            raise _connect_error(self.url, error) from None
        try:
            # A current schema is only read: a read-only role or standby serves `status`.
            with self._conn.transaction(), self._conn.cursor() as cursor:
                stale = self.schema_needs_writing(_QmarkCursor(cursor), create=create)
                if not stale and not read_only:
                    # A command that writes finds out now, before a pass asks the index.
                    cursor.execute("SHOW transaction_read_only")
                    if cursor.fetchone()[0] == "on":
                        raise self._read_only_error()
            if stale:
                with self._conn.transaction():
                    # Two replicas starting together would race on CREATE TABLE IF NOT EXISTS
                    # and on a migration.
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    with self._conn.cursor() as cursor:
                        self.prepare_schema(_QmarkCursor(cursor), create=create)
        except StoreError:
            self._conn.close()
            raise
        except psycopg.Error as error:
            self._conn.close()
            if getattr(error, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION:
                raise self._read_only_error() from None
            raise StoreError(
                f"cannot open the monitor database {self.url}: {_first_line(error)}"
            ) from None

    def _read_only_error(self) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the monitor database {self.url} is read-only (a read-only transaction: a "
            "standby, or default_transaction_read_only): this command writes to it ('status', "
            "'list' and 'history' only read, once its schema is current)"
        )

    def store_error(self, error: BaseException) -> StoreError:
        if getattr(error, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION:
            return self._read_only_error()
        return super().store_error(error)

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)

    def _connection(self) -> Any:
        """The connection, opened again after the server dropped it (a restart, a failover):
        the operation that found it broken failed with a StoreError; the next one works."""
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Cursor]:
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cursor:
            yield _QmarkCursor(cursor)

    @contextmanager
    def pass_lock(self) -> Iterator[bool]:
        """A session advisory lock: one replica's pass at a time; released if it dies."""
        with self._tx() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(?)", (PASS_LOCK,))
            row = cursor.fetchone()
        granted = bool(row and row[0])
        try:
            yield granted
        finally:
            if granted:
                # A dropped connection took its session lock with it: nothing to undo then.
                with contextlib.suppress(StoreError), self._tx() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(?)", (PASS_LOCK,))

    def close(self) -> None:
        self._conn.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


#: SQLSTATE of a connection to a database that does not exist.
INVALID_CATALOG_NAME = "3D000"
#: SQLSTATE of a write in a read-only transaction (a standby, default_transaction_read_only).
READ_ONLY_SQL_TRANSACTION = "25006"
#: libpq does not give a failed connection's SQLSTATE; its message carries the server's
#: "FATAL:" line when the server answered (an English server; another language reads as
#: "does not answer", which still fails closed).
_SERVER_ANSWERED = re.compile(r"\bFATAL:\s")
_NO_SUCH_DATABASE = re.compile(r'\bFATAL:\s+database ".*" does not exist')


def _connect_error(url: str, error: Any) -> StoreError:
    """A server that answered with an error (no such database, bad password) is a usage
    error; one that did not answer at all is "could not tell", never "fine" (fail closed)."""
    state = getattr(error, "sqlstate", None)
    text = str(error)
    if state == INVALID_CATALOG_NAME or _NO_SUCH_DATABASE.search(text):
        return StoreMissingError(f"no monitor database at {url}: {_first_line(error)}")
    if state is not None or _SERVER_ANSWERED.search(text):
        return StoreError(f"cannot open the monitor database {url}: {_first_line(error)}")
    return StoreUnavailableError(
        f"the monitor database {url} does not answer: {_first_line(error)}"
    )
