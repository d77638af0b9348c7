"""The monitor's SQLite store: one file, WAL, safe for several processes on one machine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .store import Cursor, SqlStore, StoreError, StoreMissingError

__all__ = ["SqliteStore", "default_db_url", "sqlite_path"]

#: Seconds a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT = 30.0


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


class SqliteStore(SqlStore):
    """SQLite in WAL mode: readers never block the writer; writers queue on the busy timeout."""

    database_errors = (sqlite3.Error,)

    table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

    def __init__(self, path: Path, *, create: bool = True) -> None:
        super().__init__()
        self.url = f"sqlite:///{path}"
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
            # isolation_level=None: transactions are ours (BEGIN IMMEDIATE for writes), not
            # the module's implicit ones, which start only at the first write statement.
            self._conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            # Created or migrated in one write transaction: two processes opening an old
            # database at once migrate it once.
            with self._transaction(write=True) as cursor:
                self.prepare_schema(cursor, create=create)
        except StoreError:
            self._close_quietly()
            raise
        except (OSError, ValueError, sqlite3.Error) as error:  # ValueError: a NUL in the path
            self._close_quietly()
            raise StoreError(f"cannot open the monitor database {path}: {error}") from None

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
