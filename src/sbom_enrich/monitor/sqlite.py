"""The monitor's SQLite store: one file, WAL, safe for several processes on one machine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..status.untrusted import clean_text
from .store import (
    Cursor,
    SqlStore,
    StoreError,
    StoreMissingError,
    StoreUnavailableError,
    first_line,
)

__all__ = ["SqliteStore", "default_db_url", "sqlite_path"]

#: Seconds a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT = 30.0

#: SQLite's primary result codes (Python 3.10's sqlite3 does not name them).
_BUSY, _LOCKED, _READONLY, _CANTOPEN = 5, 6, 8, 14
#: How each reads in an error message, for Python 3.10 (no ``sqlite_errorcode``).
_MESSAGES = {
    "database is locked": _BUSY,
    "database table is locked": _LOCKED,
    "attempt to write a readonly database": _READONLY,
    "unable to open database file": _CANTOPEN,
}


def default_db_url() -> str:
    """``sqlite:///`` + ``monitor.sqlite3`` in the platform's user data directory."""
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir("sbom-enrich", appauthor=False)) / "monitor.db")


def sqlite_path(url: str) -> Path:
    """``sqlite:///abs/path`` (or ``sqlite:///rel/path`` relative to the cwd) → the path."""
    parts = urlsplit(url)
    # A query (?mode=ro) or fragment would be silently ignored: the file opened read-write.
    if parts.netloc or not parts.path or parts.path == "/" or parts.query or parts.fragment:
        raise StoreError(f"--db: expected sqlite:///path/to/file.db, got {url!r}")
    # SQLAlchemy's reading: sqlite:////abs/file.db is absolute, sqlite:///file.db relative.
    return Path(unquote(parts.path)[1:])


def _result_code(error: BaseException) -> int | None:
    """SQLite's primary result code of ``error`` (BUSY, READONLY, …), when it tells one."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF  # extended codes (SQLITE_READONLY_DIRECTORY) keep it in the low byte
    return _MESSAGES.get(str(error).strip())


class SqliteStore(SqlStore):
    """SQLite in WAL mode: readers never block the writer; writers queue on the busy timeout.

    A command that only reads (``read_only``) never waits for the write lock, and opens a
    database it cannot write (the file, or its directory, not writable) for reading; any
    other command finds that out at once, in one line.
    """

    database_errors = (sqlite3.Error,)

    table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'index') AND name = ?"

    def __init__(
        self,
        path: Path,
        *,
        create: bool = True,
        read_only: bool = False,
        busy_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.url = f"sqlite:///{path}"
        self.path = path
        self.busy_timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        try:
            # sqlite3.connect makes the file: a command that only reads must not (a mistyped
            # --db would otherwise become an empty database that reports nothing adverse).
            if not create and not path.is_file():
                raise StoreMissingError(
                    f"no monitor database at {path} (register files with 'monitor add', "
                    "or check --db / SBOM_ENRICH_DB)"
                )
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = self._connect(str(path), uri=False)
                self._prepare(create=create, read_only=read_only)
            except sqlite3.Error as error:
                if not read_only or _result_code(error) not in {_READONLY, _CANTOPEN}:
                    raise
                self._reopen_for_reading()
        except StoreError:
            self._close_quietly()
            raise
        except sqlite3.Error as error:
            self._close_quietly()
            raise self.store_error(error, opening=True) from None
        except (OSError, ValueError) as error:  # ValueError: a NUL in the path
            self._close_quietly()
            raise StoreError(f"cannot open the monitor database {path}: {error}") from None

    def _connect(self, database: str, *, uri: bool) -> sqlite3.Connection:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE for writes), not
        # the module's implicit ones, which start only at the first write statement.
        connection = sqlite3.connect(
            database,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def _prepare(self, *, create: bool, read_only: bool) -> None:
        """Create or migrate the schema when it needs it (one write transaction: two processes
        opening an old database at once migrate it once); a command that writes also finds
        out now whether it can, before a pass asks the index about every name."""
        if read_only:
            with self._transaction(write=False) as cursor:
                if not self.schema_needs_writing(cursor, create=create):
                    return
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._transaction(write=True) as cursor:
            self.prepare_schema(cursor, create=create)
            if not read_only:
                # SQLite opens a file it cannot write read-only without a word, and the first
                # write fails: ask for one now and take it back.
                cursor.execute("SAVEPOINT writable")
                cursor.execute("UPDATE schema_version SET version = version")
                cursor.execute("ROLLBACK TO writable")
                cursor.execute("RELEASE writable")

    def _reopen_for_reading(self) -> None:
        """Open the database for reading only, where this process cannot write it.

        A directory we cannot write holds no -shm file for SQLite to read a WAL database
        through: ``immutable`` reads the file without one (and without locks), which is right
        only while nobody writes it, so only when there is no -wal file (no writer has it
        open, and every committed change is in the file itself).
        """
        self._close_quietly()
        uri = self.path.absolute().as_uri()
        quiet = not self.path.with_name(self.path.name + "-wal").exists()
        try:
            self._conn = self._connect(f"{uri}?mode=ro{'&immutable=1' if quiet else ''}", uri=True)
            with self._transaction(write=False) as cursor:
                stale = self.schema_needs_writing(cursor, create=False)
        except sqlite3.Error as error:
            raise StoreUnavailableError(
                f"cannot read the monitor database {self._shown} without writing to it: "
                f"{first_line(error)}"
            ) from None
        if stale:
            raise StoreUnavailableError(
                f"the monitor database {self._shown} was made by an earlier release and "
                "cannot be written here: run a monitor command that can write it, once"
            )

    @property
    def _shown(self) -> str:
        return clean_text(str(self.path), 300)

    def store_error(self, error: BaseException, *, opening: bool = False) -> StoreError:
        shown = self._shown
        code = _result_code(error)
        if code in {_BUSY, _LOCKED}:
            return StoreUnavailableError(
                f"the monitor database {shown} is locked: another process holds it (waited "
                f"{self.busy_timeout:g} s); try again when it is done"
            )
        if code == _READONLY:
            return StoreUnavailableError(
                f"the monitor database {shown} is read-only (the file, its -wal or -shm file, "
                "or its directory cannot be written): this command writes to it ('status', "
                "'list' and 'history' only read)"
            )
        if opening:
            return StoreError(f"cannot open the monitor database {shown}: {first_line(error)}")
        return super().store_error(error)

    def _close_quietly(self) -> None:
        connection = getattr(self, "_conn", None)
        if connection is not None:
            connection.close()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Cursor]:
        cursor = self._conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield cursor
        except BaseException:
            self._conn.rollback()
            raise
        else:
            self._conn.commit()
        finally:
            cursor.close()

    def close(self) -> None:
        self._conn.close()
