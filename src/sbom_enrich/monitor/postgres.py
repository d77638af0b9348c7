"""The monitor's PostgreSQL store (psycopg 3): replicas share it through the database's locks."""

from __future__ import annotations

import contextlib
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..status.untrusted import clean_text
from ..status.urls import redact_url
from .store import Cursor, SqlStore, StoreError, StoreMissingError, StoreUnavailableError

__all__ = ["PostgresStore"]

#: Advisory lock keys (any 64-bit number; derived from a name so they explain themselves).
SCHEMA_LOCK = zlib.crc32(b"sbom-enrich monitor schema")
PASS_LOCK = zlib.crc32(b"sbom-enrich monitor pass")

#: Seconds a statement waits for a lock another session holds (a row another replica's pass
#: locked, a psql session left in a transaction) before it fails: SQLite's busy timeout. Set
#: only where the server would wait for ever (a lock_timeout of the role, the database or the
#: URL's ``options`` is kept).
LOCK_TIMEOUT = 30.0
#: Seconds any one statement may run; also set only where the server has no bound.
STATEMENT_TIMEOUT = 300.0


class _QmarkCursor:
    """The shared SQL is written with ``?``; psycopg wants ``%s``. A statement the role lacks
    a privilege for becomes ``denied(statement, error)``, which names what is missing."""

    def __init__(self, cursor: Any, denied: Callable[[str, Any], StoreError]) -> None:
        self._cursor = cursor
        self._denied = denied

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._privileges(sql):
            return self._cursor.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        with self._privileges(sql):
            return self._cursor.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    @contextmanager
    def _privileges(self, sql: str) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.errors.InsufficientPrivilege as error:
            raise self._denied(sql, error) from None

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
    #: The session's lock_timeout and statement_timeout as the server shows them ("30s").
    _timeouts: tuple[str, str] = ("", "")

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
                stale = self.schema_needs_writing(self._cursor(cursor), create=create)
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
                        self.prepare_schema(self._cursor(cursor), create=create)
        except StoreError:
            self._conn.close()
            raise
        except psycopg.Error as error:
            self._conn.close()
            if (known := self._known_error(error)) is not None:
                raise known from None
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
        return self._known_error(error) or super().store_error(error)

    def _known_error(self, error: BaseException) -> StoreUnavailableError | None:
        """The line of an error that is the environment's, not the command's (exit 3)."""
        state = getattr(error, "sqlstate", None)
        if state == READ_ONLY_SQL_TRANSACTION:
            return self._read_only_error()
        if state == LOCK_NOT_AVAILABLE:
            return StoreUnavailableError(
                f"the monitor database {self.url} is locked: another session holds a lock "
                f"this command needs (waited {self._timeouts[0]}, lock_timeout); try again "
                "when it is done"
            )
        if state == QUERY_CANCELED:
            return StoreUnavailableError(
                f"the monitor database {self.url} did not complete a statement "
                f"({_first_line(error)}; statement_timeout {self._timeouts[1]}); try again"
            )
        return None

    def _denied(self, sql: str, error: Any) -> StoreError:
        """One line naming the database, the role and the privilege the statement lacked."""
        role = getattr(getattr(self._conn, "info", None), "user", None) or "?"
        return StoreUnavailableError(
            f"the monitor database {self.url} does not let role {role!r} run this command: "
            f"it lacks {missing_privilege(sql, str(error))} (grant the role SELECT, INSERT, "
            "UPDATE and DELETE on the monitor's tables and USAGE on their sequences; "
            "'status', 'list' and 'history' only read)"
        )

    def _cursor(self, cursor: Any) -> _QmarkCursor:
        return _QmarkCursor(cursor, self._denied)

    def _connect(self) -> Any:
        import psycopg

        connection = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
        try:
            # Without a bound, one session holding a row lock (a stuck replica, a psql
            # session left in a transaction) held every other replica's pass for good.
            row = connection.execute(
                "SELECT set_config('lock_timeout', CASE current_setting('lock_timeout') "
                "WHEN '0' THEN %s ELSE current_setting('lock_timeout') END, false), "
                "set_config('statement_timeout', CASE current_setting('statement_timeout') "
                "WHEN '0' THEN %s ELSE current_setting('statement_timeout') END, false)",
                (f"{LOCK_TIMEOUT * 1000:.0f}ms", f"{STATEMENT_TIMEOUT * 1000:.0f}ms"),
            ).fetchone()
        except BaseException:
            connection.close()
            raise
        self._timeouts = (str(row[0]), str(row[1])) if row else ("", "")
        return connection

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
            yield self._cursor(cursor)

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
#: SQLSTATE of a lock not granted within lock_timeout (or NOWAIT).
LOCK_NOT_AVAILABLE = "55P03"
#: SQLSTATE of a statement cancelled (statement_timeout, or pg_cancel_backend).
QUERY_CANCELED = "57014"

_DENIED_OBJECT = re.compile(r"permission denied for (\w+) (\S+)")
#: The table privilege a statement needs, by its first word.
_STATEMENT_PRIVILEGE = {"INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE"}


def missing_privilege(sql: str, message: str) -> str:
    """What a statement refused with "permission denied" lacked: ``INSERT on table
    projects``, ``USAGE on sequence projects_id_seq``, ``CREATE on schema public``."""
    found = _DENIED_OBJECT.search(message)
    kind, name = (found[1], found[2].strip('"')) if found else ("table", "?")
    if kind == "sequence":
        privilege = "USAGE"
    elif kind == "schema":
        privilege = "CREATE" if sql.lstrip().upper().startswith("CREATE") else "USAGE"
    else:
        words = sql.split()
        verb = words[0].upper() if words else ""
        upper = sql.upper()
        privilege = _STATEMENT_PRIVILEGE.get(verb, "SELECT")
        if verb == "SELECT" and " FOR UPDATE" in upper:
            privilege = "UPDATE"  # a row lock for a change needs the right to change it
        elif verb == "INSERT" and "DO UPDATE" in upper:
            privilege = "INSERT and UPDATE"
        elif verb in {"CREATE", "ALTER", "DROP"}:
            privilege = "ownership"
    return f"{privilege} on {kind} {clean_text(name, 100)}"


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
