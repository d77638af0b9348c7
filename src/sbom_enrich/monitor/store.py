"""Where the inventory, observations, transitions and outbox live: one interface, two databases.

Both implementations share the SQL below (written with ``?`` placeholders; the PostgreSQL one
rewrites them). What differs is how a transaction locks: SQLite takes the database's write lock
at ``BEGIN IMMEDIATE`` (so a read inside it sees the last commit of every process), PostgreSQL
locks the rows it reads with ``FOR UPDATE`` and skips rows another replica holds with
``SKIP LOCKED``. Every transition is decided inside the transaction that writes the new
baseline, so two processes checking the same name at once record its transition once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Protocol, TypeVar

import msgspec

from ..errors import StoreError, StoreMissingError, StoreUnavailableError
from ..status.maintenance import MaintenanceVerdict
from ..status.model import StatusRecord, format_rfc3339, parse_rfc3339, utc_now
from ..status.urls import normalize_index_url, redact_url
from .model import (
    Judgement,
    MaintenanceJudgement,
    NoticeDraft,
    OutboxItem,
    PassStats,
    Source,
    Transition,
    Usage,
    UsageRef,
    WatchKey,
)

__all__ = [
    "MonitorStore",
    "SqlStore",
    "StoreError",
    "StoreMissingError",
    "StoreUnavailableError",
    "open_store",
]

logger = logging.getLogger(__name__)

#: A claimed outbox item is left alone by other processes this long: longer than one delivery
#: may take (15 s send timeout), short because a crashed claimer's item waits it out.
CLAIM_LEASE = 60.0


#: Judges one watched item: ((canonical name, index key), last baseline or None, new answer).
Judge = Callable[[WatchKey, StatusRecord | None, StatusRecord], Judgement]
#: Judges one name's maintenance verdict: (name, last verdict or None, new verdict).
MaintenanceJudge = Callable[
    [str, MaintenanceVerdict | None, MaintenanceVerdict], MaintenanceJudgement
]


class MonitorStore(Protocol):
    """The storage interface every front end of the monitor uses."""

    url: str

    def replace_source(self, source: Source) -> None:
        """Register ``source`` under its project, replacing the same file's earlier entry."""

    def remove_sources(self, project: str, paths: Sequence[str] | None) -> int:
        """Remove those files (all of the project's files, and the project, when None)."""

    def sources(self) -> list[Source]:
        """Every registered source with the names it uses, by project then path."""

    def sources_to_readd(self) -> list[tuple[str, str]]:
        """(project, path) of lock files registered before lock indexes were recorded."""

    def watched(self) -> dict[str, list[UsageRef]]:
        """Every distinct watched name → where it is used (and the index each file names)."""

    def baselines(self) -> dict[WatchKey, StatusRecord]:
        """The last real answer for every (name, index key) seen so far."""

    def unchecked_by_last_pass(self) -> set[WatchKey]:
        """Items with a baseline that the last recorded pass did not renew (a failed lookup,
        an index that cannot express status or whose URL looked wrong, ``--offline``)."""

    def adopt_index_keys(self, key_of: Callable[[str], str]) -> list[str]:
        """Move every stored item to the index key ``key_of`` gives its stored one (a pass's
        rules: the configured index is ""), in one transaction; where two collapse into one,
        the newer answer is kept. Returns one line per collapse."""

    def apply(
        self,
        answers: Sequence[tuple[str, StatusRecord]],
        judge: Judge,
        targets: Sequence[str],
    ) -> list[Transition]:
        """Judge and record ``(index key, record)`` answers atomically; queue each new
        transition for ``targets``."""

    def maintenance(self) -> dict[str, MaintenanceVerdict]:
        """The last known maintenance verdict of every name judged so far."""

    def apply_maintenance(
        self,
        verdicts: Mapping[str, MaintenanceVerdict],
        judge: MaintenanceJudge,
        targets: Sequence[str],
    ) -> list[Transition]:
        """Judge and record maintenance verdicts; queue each new transition for ``targets``."""

    def transitions(self, name: str | None = None, limit: int = 1000) -> list[Transition]:
        """Transitions, oldest first (of one name when given)."""

    def claim_due(self, targets: Sequence[str], now: float, limit: int = 100) -> list[OutboxItem]:
        """Outbox items due for these targets, claimed so no other process sends them now."""

    def mark_delivered(self, item_id: int) -> None: ...

    def mark_failed(self, item_id: int, error: str, next_attempt_at: float) -> None: ...

    def backlog(self) -> int:
        """Notices not delivered yet (every target)."""

    def record_pass(self, stats: PassStats) -> None: ...

    def last_pass(self) -> PassStats | None: ...

    def status_counts(self) -> Mapping[str, int]:
        """Watched names per last known status."""

    def delivery_errors(self) -> list[tuple[str, str, int, str]]:
        """Undelivered notices that failed before: (event id, target, attempts, last error)."""

    def pass_lock(self) -> AbstractContextManager[bool]:
        """True when this process may run a pass now (False: another replica is running one)."""

    def close(self) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
  id {serial} PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
  id {serial} PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  added_at TEXT NOT NULL,
  UNIQUE (project_id, path)
);
CREATE TABLE IF NOT EXISTS source_names (
  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  display TEXT NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  index_url TEXT NOT NULL DEFAULT '',
  repository_urls TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS source_names_name ON source_names (name);
CREATE INDEX IF NOT EXISTS source_names_source ON source_names (source_id);
CREATE TABLE IF NOT EXISTS baselines (
  name TEXT NOT NULL,
  index_url TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  record TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  last_checked_at TEXT NOT NULL,
  PRIMARY KEY (name, index_url)
);
CREATE TABLE IF NOT EXISTS observations (
  id {serial} PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  record TEXT NOT NULL,
  observed_at TEXT NOT NULL,
  index_url TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS maintenance (
  name TEXT PRIMARY KEY,
  verdict TEXT NOT NULL,
  evidence TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  last_checked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_name ON observations (name);
CREATE TABLE IF NOT EXISTS transitions (
  id {serial} PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  old_status TEXT NOT NULL,
  new_status TEXT NOT NULL,
  version TEXT,
  reason TEXT,
  seen_at TEXT NOT NULL,
  notice TEXT NOT NULL,
  index_url TEXT NOT NULL DEFAULT '',
  signal TEXT NOT NULL DEFAULT 'index'
);
CREATE INDEX IF NOT EXISTS transitions_name ON transitions (name);
CREATE TABLE IF NOT EXISTS outbox (
  id {serial} PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES transitions(event_id),
  target TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at DOUBLE PRECISION NOT NULL,
  claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,
  delivered_at TEXT,
  last_error TEXT,
  UNIQUE (event_id, target)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_attempt_at);
CREATE TABLE IF NOT EXISTS passes (
  id {serial} PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  names INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  transitions INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  not_modified INTEGER NOT NULL,
  bytes_downloaded BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL
);
{lock_sources_to_readd};
"""

#: Lock files registered before lock indexes were recorded (schema 1 stored every locked package
#: without the index its entry names: all are watched on the configured index). Marked when
#: the database is migrated, until the file is added again (its row goes with the source's).
LOCK_SOURCES_TO_READD = (
    "CREATE TABLE IF NOT EXISTS lock_sources_to_readd ("
    "source_id INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE)"
)

#: The schema's version; a database made by an older release is brought up to it when opened.
SCHEMA_VERSION = 3

#: Statements that bring a database of version N (the key) to N + 1. Version 1 (the first
#: release, which had no schema_version table) kept one baseline per name in ``names``; version
#: 2 keeps one per (name, index): the same name on a private index and on PyPI are two
#: projects. Old baselines were all taken from the configured index ('').
#: Version 3: index keys spelled as ``normalize_index_url`` spells them since it lower-cases
#: scheme and host and drops a default port (``HTTP://Host:80/simple/`` is
#: ``http://host/simple/``); a step that is not SQL is run with the transaction's cursor.
MIGRATIONS: Mapping[int, tuple[str | Callable[[Cursor], object], ...]] = {
    1: (
        "CREATE TABLE baselines (name TEXT NOT NULL, index_url TEXT NOT NULL DEFAULT '', "
        "status TEXT NOT NULL, record TEXT NOT NULL, first_seen_at TEXT NOT NULL, "
        "last_checked_at TEXT NOT NULL, PRIMARY KEY (name, index_url))",
        "INSERT INTO baselines (name, index_url, status, record, first_seen_at, "
        "last_checked_at) SELECT name, '', status, record, first_seen_at, last_checked_at "
        "FROM names",
        "DROP TABLE names",
        "ALTER TABLE observations ADD COLUMN index_url TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE transitions ADD COLUMN index_url TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE transitions ADD COLUMN signal TEXT NOT NULL DEFAULT 'index'",
        "ALTER TABLE source_names ADD COLUMN repository_urls TEXT NOT NULL DEFAULT ''",
        LOCK_SOURCES_TO_READD,
        # pdm.lock names no index per package: adding it again would change nothing. (No
        # LIKE: psycopg reads a "%" as a placeholder.)
        "INSERT INTO lock_sources_to_readd (source_id) SELECT id FROM sources "
        "WHERE kind = 'lock' AND substr(path, length(path) - 8) <> '/pdm.lock'",
    ),
    2: (lambda cur: rekey_indexes(cur, respelled, usages=True, locking=""),),
}

#: Names judged per transaction: short transactions, and far fewer commits than one per name.
APPLY_CHUNK = 500

#: Every table and index of the current schema: a database holding them all at the current
#: version opens without a write (so a read-only one still serves status, list and history).
SCHEMA_OBJECTS = tuple(
    re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", SCHEMA + LOCK_SOURCES_TO_READD)
)


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


class SqlStore(ABC):
    """The SQL both databases understand; subclasses supply connections and locking clauses."""

    url: str
    #: Appended to a SELECT whose rows the transaction will change.
    for_update = ""
    #: Appended to the outbox claim so replicas take different rows.
    skip_locked = ""
    #: The driver's exceptions, turned into one-line StoreErrors at the interface.
    database_errors: tuple[type[BaseException], ...] = ()
    #: The column type of generated ids.
    serial = "INTEGER"

    #: A query answering one row when the table or index named by its one parameter exists.
    table_exists_sql = ""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def schema_needs_writing(self, cur: Cursor, *, create: bool) -> bool:
        """Whether opening the database must write to it (create its tables, migrate it).

        Raises :class:`StoreMissingError` for a database with no monitor tables without
        ``create``: a read-only command pointed at a mistyped ``--db`` must say so, never make
        an empty database and report "nothing adverse"; and :class:`StoreError` for a schema
        newer than this release knows.
        """
        if not self._has_table(cur, "projects"):
            if not create:
                raise StoreMissingError(
                    f"no monitor database at {self.url} (register files with 'monitor add', "
                    "or check --db / SBOM_ENRICH_DB)"
                )
            return True
        version = self._schema_version(cur)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the monitor database {self.url} has schema version {version}, newer than "
                f"this sbom-enrich knows ({SCHEMA_VERSION}): upgrade sbom-enrich"
            )
        return (
            version < SCHEMA_VERSION
            or not self._has_version_row(cur)
            or not all(self._has_table(cur, name) for name in SCHEMA_OBJECTS)
        )

    def prepare_schema(self, cur: Cursor, *, create: bool) -> None:
        """Create the tables (``create``) or insist they exist, and migrate an older database;
        nothing is written to a database that is already current."""
        if not self.schema_needs_writing(cur, create=create):
            return
        existed = self._has_table(cur, "projects")
        version = self._schema_version(cur) if existed else SCHEMA_VERSION
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                if isinstance(statement, str):
                    cur.execute(statement)
                else:
                    statement(cur)
        schema = SCHEMA.format(serial=self.serial, lock_sources_to_readd=LOCK_SOURCES_TO_READD)
        for statement in schema.split(";"):
            if statement.strip():
                cur.execute(statement)
        if version != SCHEMA_VERSION or not existed or not self._has_version_row(cur):
            cur.execute("DELETE FROM schema_version")
            cur.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    def _has_table(self, cur: Cursor, table: str) -> bool:
        cur.execute(self.table_exists_sql, (table,))
        row = cur.fetchone()
        return row is not None and row[0] is not None

    def _schema_version(self, cur: Cursor) -> int:
        if not self._has_table(cur, "schema_version"):
            return 1  # the first release kept no version
        cur.execute("SELECT MAX(version) FROM schema_version")
        row = cur.fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 1

    def _has_version_row(self, cur: Cursor) -> bool:
        cur.execute("SELECT COUNT(*) FROM schema_version")
        return int(cur.fetchone()[0]) > 0

    @abstractmethod
    def _transaction(self, write: bool) -> Any:
        """A context manager yielding a cursor; commits on success, rolls back on error."""

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Cursor]:
        try:
            with self._lock, self._transaction(write) as cursor:
                yield cursor
        except self.database_errors as error:
            raise self.store_error(error) from None

    def store_error(self, error: BaseException) -> StoreError:
        """The one line a driver's error becomes (a backend names the cases it can tell)."""
        return StoreError(f"monitor database: {type(error).__name__}: {first_line(error)}")

    # -- inventory ---------------------------------------------------------------------

    def replace_source(self, source: Source) -> None:
        now = format_rfc3339(utc_now())
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO projects (name, created_at) VALUES (?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (source.project, now),
            )
            cur.execute("SELECT id FROM projects WHERE name = ?", (source.project,))
            project_id = cur.fetchone()[0]
            cur.execute(
                "DELETE FROM sources WHERE project_id = ? AND path = ?", (project_id, source.path)
            )
            cur.execute(
                "INSERT INTO sources (project_id, path, kind, added_at) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (project_id, source.path, source.kind, now),
            )
            source_id = cur.fetchone()[0]
            self._insert_usages(cur, source_id, source.usages)

    def _insert_usages(self, cur: Cursor, source_id: int, usages: Sequence[Usage]) -> None:
        rows = [
            (source_id, usage.name, usage.display, usage.version or "", usage.index or "",
             _urls_text(usage.repository_urls))
            for usage in dict.fromkeys(usages)  # each usage once
        ]  # fmt: skip
        if rows:
            cur.executemany(
                "INSERT INTO source_names (source_id, name, display, version, index_url, "
                "repository_urls) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def remove_sources(self, project: str, paths: Sequence[str] | None) -> int:
        with self._tx(write=True) as cur:
            cur.execute("SELECT id FROM projects WHERE name = ?", (project,))
            row = cur.fetchone()
            if row is None:
                return 0
            project_id = row[0]
            if paths is None:
                cur.execute("SELECT COUNT(*) FROM sources WHERE project_id = ?", (project_id,))
                removed = int(cur.fetchone()[0])
                cur.execute("DELETE FROM projects WHERE id = ?", (project_id,))
                return removed
            removed = 0
            for path in paths:
                cur.execute(
                    "DELETE FROM sources WHERE project_id = ? AND path = ? RETURNING id",
                    (project_id, path),
                )
                removed += len(cur.fetchall())
            return removed

    def sources(self) -> list[Source]:
        with self._tx() as cur:
            cur.execute(
                "SELECT s.id, p.name, s.path, s.kind, s.added_at, r.source_id FROM sources s "
                "JOIN projects p ON p.id = s.project_id "
                "LEFT JOIN lock_sources_to_readd r ON r.source_id = s.id "
                "ORDER BY p.name, s.path"
            )
            rows = cur.fetchall()
            cur.execute(
                "SELECT source_id, name, display, version, index_url, repository_urls "
                "FROM source_names ORDER BY source_id, name, version"
            )
            usages: dict[int, list[Usage]] = {}
            for source_id, name, display, version, index, urls in cur.fetchall():
                usages.setdefault(source_id, []).append(
                    Usage(name, display, version or None, index or None, _urls(urls))
                )
        return [
            Source(project, path, kind, tuple(usages.get(sid, ())), parse_rfc3339(added),
                   readd=readd is not None)
            for sid, project, path, kind, added, readd in rows
        ]  # fmt: skip

    def sources_to_readd(self) -> list[tuple[str, str]]:
        with self._tx() as cur:
            cur.execute(
                "SELECT p.name, s.path FROM lock_sources_to_readd r "
                "JOIN sources s ON s.id = r.source_id JOIN projects p ON p.id = s.project_id "
                "ORDER BY p.name, s.path"
            )
            return [(project, path) for project, path in cur.fetchall()]

    def watched(self) -> dict[str, list[UsageRef]]:
        with self._tx() as cur:
            cur.execute(
                "SELECT n.name, p.name, s.path, n.version, n.index_url, s.kind, "
                "n.repository_urls FROM source_names n "
                "JOIN sources s ON s.id = n.source_id JOIN projects p ON p.id = s.project_id "
                "ORDER BY n.name, p.name, s.path, n.version, n.index_url"
            )
            found: dict[str, list[UsageRef]] = {}
            for name, project, path, version, index, kind, urls in cur.fetchall():
                found.setdefault(name, []).append(
                    UsageRef(project, path, version or None, index or None, kind == "lock",
                             _urls(urls))
                )  # fmt: skip
        return found

    # -- observations and transitions --------------------------------------------------

    def baselines(self) -> dict[WatchKey, StatusRecord]:
        with self._tx() as cur:
            cur.execute("SELECT name, index_url, record FROM baselines")
            return {(name, index): _record(raw) for name, index, raw in cur.fetchall()}

    def unchecked_by_last_pass(self) -> set[WatchKey]:
        last = self.last_pass()
        if last is None:
            return set()
        with self._tx() as cur:
            cur.execute("SELECT name, index_url, last_checked_at FROM baselines")
            rows = cur.fetchall()
        return {(n, index) for n, index, at in rows if _answered_before(at, last.started_at)}

    def adopt_index_keys(self, key_of: Callable[[str], str]) -> list[str]:
        with self._tx() as cur:  # nearly always nothing to move: only read
            cur.execute("SELECT DISTINCT index_url FROM baselines")
            stale = any(index and key_of(index) != index for (index,) in cur.fetchall())
        if not stale:
            return []
        with self._tx(write=True) as cur:
            return rekey_indexes(cur, key_of, usages=False, locking=self.for_update)

    def apply(
        self,
        answers: Sequence[tuple[str, StatusRecord]],
        judge: Judge,
        targets: Sequence[str],
    ) -> list[Transition]:
        return _in_chunks(answers, lambda chunk: self._apply_chunk(chunk, judge, targets))

    def _apply_chunk(
        self,
        answers: Sequence[tuple[str, StatusRecord]],
        judge: Judge,
        targets: Sequence[str],
    ) -> list[Transition]:
        stored: list[Transition] = []
        now_text = format_rfc3339(utc_now())
        now = utc_now().timestamp()
        with self._tx(write=True) as cur:
            previous = self._lock_baselines(cur, [(r.name, index) for index, r in answers])
            for index, record in answers:
                key = (record.name, index)
                before = previous.get(key)
                judgement = judge(key, before, record)
                if judgement.baseline is not None:
                    raw = json.dumps(judgement.baseline.to_json(), sort_keys=True)
                    cur.execute(
                        "INSERT INTO baselines (name, index_url, status, record, first_seen_at, "
                        "last_checked_at) VALUES (?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (name, index_url) DO UPDATE SET "
                        "status = excluded.status, record = excluded.record, "
                        "last_checked_at = excluded.last_checked_at",
                        # When the index gave this answer (a cached one, offline, is older
                        # than the pass: `unchecked_by_last_pass`), to the microsecond: passes
                        # may come within a second of each other.
                        (record.name, index, judgement.baseline.status.value, raw, now_text,
                         judgement.baseline.checked_at.isoformat()),
                    )  # fmt: skip
                    if judgement.changed or before is None:
                        cur.execute(
                            "INSERT INTO observations (name, index_url, status, record, "
                            "observed_at) VALUES (?, ?, ?, ?, ?)",
                            (record.name, index, judgement.baseline.status.value, raw, now_text),
                        )
                stored += self._store_drafts(cur, judgement.drafts, targets, now)
        return stored

    def _store_drafts(
        self, cur: Cursor, drafts: Sequence[NoticeDraft], targets: Sequence[str], now: float
    ) -> list[Transition]:
        """Each draft as a transition row and one outbox row per target (same transaction)."""
        stored = []
        for draft in drafts:
            cur.execute(
                "INSERT INTO transitions (event_id, name, kind, old_status, new_status, "
                "version, reason, seen_at, notice, index_url, signal) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.event_id,
                    draft.name,
                    draft.kind,
                    draft.old_status,
                    draft.new_status,
                    draft.version,
                    draft.reason,
                    format_rfc3339(draft.seen_at),
                    json.dumps(dict(draft.notice), sort_keys=True),
                    draft.index_url,
                    draft.signal,
                ),
            )
            for target in targets:
                cur.execute(
                    "INSERT INTO outbox (event_id, target, next_attempt_at) VALUES (?, ?, ?)",
                    (draft.event_id, target, now),
                )
            stored.append(draft.stored())
        return stored

    def _lock_baselines(
        self, cur: Cursor, keys: Sequence[WatchKey]
    ) -> dict[WatchKey, StatusRecord]:
        if not keys:
            return {}
        names = sorted({name for name, _ in keys})
        marks = ", ".join("?" for _ in names)
        cur.execute(
            f"SELECT name, index_url, record, last_checked_at FROM baselines "
            f"WHERE name IN ({marks}) ORDER BY name, index_url" + self.for_update,
            tuple(names),
        )
        return {
            (name, index): _baseline(raw, answered) for name, index, raw, answered in cur.fetchall()
        }

    def maintenance(self) -> dict[str, MaintenanceVerdict]:
        with self._tx() as cur:
            cur.execute("SELECT name, evidence FROM maintenance")
            return {name: _verdict(raw) for name, raw in cur.fetchall()}

    def apply_maintenance(
        self,
        verdicts: Mapping[str, MaintenanceVerdict],
        judge: MaintenanceJudge,
        targets: Sequence[str],
    ) -> list[Transition]:
        return _in_chunks(
            sorted(verdicts),
            lambda chunk: self._apply_maintenance_chunk(chunk, verdicts, judge, targets),
        )

    def _apply_maintenance_chunk(
        self,
        names: Sequence[str],
        verdicts: Mapping[str, MaintenanceVerdict],
        judge: MaintenanceJudge,
        targets: Sequence[str],
    ) -> list[Transition]:
        stored: list[Transition] = []
        now_text = format_rfc3339(utc_now())
        now = utc_now().timestamp()
        with self._tx(write=True) as cur:
            marks = ", ".join("?" for _ in names)
            cur.execute(
                f"SELECT name, evidence FROM maintenance WHERE name IN ({marks}) ORDER BY name"
                + self.for_update,
                tuple(names),
            )
            previous = {name: _verdict(raw) for name, raw in cur.fetchall()}
            for name in names:
                judgement = judge(name, previous.get(name), verdicts[name])
                if judgement.baseline is not None:
                    cur.execute(
                        "INSERT INTO maintenance (name, verdict, evidence, first_seen_at, "
                        "last_checked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                        "SET verdict = excluded.verdict, evidence = excluded.evidence, "
                        "last_checked_at = excluded.last_checked_at",
                        (
                            name,
                            judgement.baseline.verdict.value,
                            json.dumps(judgement.baseline.to_json(), sort_keys=True),
                            now_text,
                            now_text,
                        ),
                    )
                stored += self._store_drafts(cur, judgement.drafts, targets, now)
        return stored

    def transitions(self, name: str | None = None, limit: int = 1000) -> list[Transition]:
        where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
        with self._tx() as cur:
            cur.execute(
                "SELECT event_id, name, kind, old_status, new_status, version, reason, seen_at, "
                f"notice, index_url, signal FROM transitions {where} "
                f"ORDER BY id DESC LIMIT {int(limit)}",
                params,
            )
            rows = cur.fetchall()
        return [
            Transition(e, n, k, o, s, v, r, parse_rfc3339(seen), json.loads(notice), i, g)
            for e, n, k, o, s, v, r, seen, notice, i, g in reversed(rows)
        ]

    # -- outbox ------------------------------------------------------------------------

    def claim_due(self, targets: Sequence[str], now: float, limit: int = 100) -> list[OutboxItem]:
        if not targets:
            return []
        marks = ", ".join("?" for _ in targets)
        with self._tx(write=True) as cur:
            cur.execute(
                "SELECT o.id, o.event_id, o.target, o.attempts, t.notice FROM outbox o "
                "JOIN transitions t ON t.event_id = o.event_id "
                "WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ? "
                f"AND o.claimed_until <= ? AND o.target IN ({marks}) "
                f"ORDER BY o.id LIMIT {int(limit)}" + self.skip_locked,
                (now, now, *targets),
            )
            rows = cur.fetchall()
            for row in rows:
                cur.execute(
                    "UPDATE outbox SET claimed_until = ? WHERE id = ?", (now + CLAIM_LEASE, row[0])
                )
        return [
            OutboxItem(item_id, event_id, target, attempts, json.loads(notice))
            for item_id, event_id, target, attempts, notice in rows
        ]

    def mark_delivered(self, item_id: int) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, claimed_until = 0, "
                "last_error = NULL WHERE id = ?",
                (format_rfc3339(utc_now()), item_id),
            )

    def mark_failed(self, item_id: int, error: str, next_attempt_at: float) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE outbox SET attempts = attempts + 1, claimed_until = 0, last_error = ?, "
                "next_attempt_at = ? WHERE id = ?",
                (error[:500], next_attempt_at, item_id),
            )

    def backlog(self) -> int:
        with self._tx() as cur:
            cur.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            return int(cur.fetchone()[0])

    def delivery_errors(self) -> list[tuple[str, str, int, str]]:
        """(event id, target, attempts, last error) of undelivered notices that failed before."""
        with self._tx() as cur:
            cur.execute(
                "SELECT event_id, target, attempts, last_error FROM outbox "
                "WHERE delivered_at IS NULL AND last_error IS NOT NULL ORDER BY id"
            )
            return [(e, t, int(a), str(err)) for e, t, a, err in cur.fetchall()]

    # -- passes ------------------------------------------------------------------------

    def record_pass(self, stats: PassStats) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO passes (started_at, finished_at, names, failed, transitions, "
                "requests, not_modified, bytes_downloaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stats.started_at.isoformat(),
                    stats.finished_at.isoformat(),
                    stats.names,
                    stats.failed,
                    stats.transitions,
                    stats.requests,
                    stats.not_modified,
                    stats.bytes_downloaded,
                ),
            )

    def last_pass(self) -> PassStats | None:
        with self._tx() as cur:
            cur.execute(
                "SELECT started_at, finished_at, names, failed, transitions, requests, "
                "not_modified, bytes_downloaded FROM passes ORDER BY id DESC LIMIT 1"
            )
            row = cur.fetchone()
        if row is None:
            return None
        started, finished, *numbers = row
        return PassStats(
            datetime.fromisoformat(started), datetime.fromisoformat(finished), *map(int, numbers)
        )

    def status_counts(self) -> Mapping[str, int]:
        """Watched names per last known status (names never answered yet count as unknown)."""
        with self._tx() as cur:
            # A name watched on several indexes counts once: the configured index's answer
            # ("" sorts first), else another index's.
            cur.execute(
                "SELECT COALESCE((SELECT b.status FROM baselines b WHERE b.name = w.name "
                "ORDER BY b.index_url LIMIT 1), 'unknown') AS status FROM "
                "(SELECT DISTINCT name FROM source_names) w"
            )
            counts: dict[str, int] = {}
            for (status,) in cur.fetchall():
                counts[status] = counts.get(status, 0) + 1
            return counts

    @contextmanager
    def pass_lock(self) -> Iterator[bool]:
        """Always granted here: the per-name transactions keep concurrent passes from recording
        a transition twice; a database with advisory locks also spares the duplicate work."""
        yield True

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


T = TypeVar("T")


def first_line(error: BaseException) -> str:
    """The first line of a driver's message (they may run to several)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def _in_chunks(
    items: Sequence[T], apply_chunk: Callable[[Sequence[T]], list[Transition]]
) -> list[Transition]:
    """Judge ``items`` in transactions of :data:`APPLY_CHUNK`: short transactions, and far
    fewer commits than one per name."""
    stored: list[Transition] = []
    for start in range(0, len(items), APPLY_CHUNK):
        stored += apply_chunk(items[start : start + APPLY_CHUNK])
    return stored


def respelled(index: str) -> str:
    """A stored index key as this release spells it ("" and text that is no URL unchanged)."""
    return normalize_index_url(index) if "://" in index else index


#: The tables keeping an index key beside a name, baselines apart.
_KEYED_HISTORY = ("observations", "transitions")


def rekey_indexes(
    cur: Cursor, key_of: Callable[[str], str], *, usages: bool, locking: str
) -> list[str]:
    """Move each stored index key ``k`` to ``key_of(k)`` inside the caller's transaction
    (baselines, observations, transitions; the files' usages too when ``usages``).

    Two baselines of one name that collapse into one key keep the newer answer (the later
    ``last_checked_at``; the one already under the key on a tie), and a line saying which is
    logged and returned: the other would otherwise be orphaned and a change of status since
    it was taken recorded as a first baseline, with no notice.
    """
    cur.execute("SELECT DISTINCT index_url FROM baselines")
    keys = {index for (index,) in cur.fetchall()}
    for table in (*_KEYED_HISTORY, *(("source_names",) if usages else ())):
        cur.execute(f"SELECT DISTINCT index_url FROM {table}")
        keys.update(index for (index,) in cur.fetchall())
    moves = {old: new for old in sorted(keys) if old and (new := key_of(old)) != old}
    notes: list[str] = []
    for old, new in moves.items():
        cur.execute(
            "SELECT name, last_checked_at FROM baselines WHERE index_url = ? ORDER BY name"
            + locking,
            (old,),
        )
        for name, answered in cur.fetchall():
            cur.execute(
                "SELECT last_checked_at FROM baselines WHERE name = ? AND index_url = ?" + locking,
                (name, new),
            )
            row = cur.fetchone()
            if row is not None:
                newer = _moment(answered) > _moment(row[0])
                loser = new if newer else old
                cur.execute("DELETE FROM baselines WHERE name = ? AND index_url = ?", (name, loser))
                note = (
                    f"{name}: the baselines under {redact_url(old)!r} and "
                    f"{redact_url(new) or 'the configured index'!r} are one index; kept the newer "
                    f"({answered if newer else row[0]})"
                )
                logger.warning("monitor database: %s", note)
                notes.append(note)
                if not newer:
                    continue
            cur.execute(
                "UPDATE baselines SET index_url = ? WHERE name = ? AND index_url = ?",
                (new, name, old),
            )
        for table in _KEYED_HISTORY:
            cur.execute(f"UPDATE {table} SET index_url = ? WHERE index_url = ?", (new, old))
    if usages and moves:
        _dedupe_usages(cur, moves)
    return notes


def _dedupe_usages(cur: Cursor, moves: Mapping[str, str]) -> None:
    """The usages naming a moved index, under its new key, each once per file."""
    marks = ", ".join("?" for _ in moves)
    cur.execute(
        "SELECT DISTINCT source_id FROM source_names WHERE index_url IN (" + marks + ")",
        tuple(moves),
    )
    for (source_id,) in cur.fetchall():
        cur.execute(
            "SELECT name, display, version, index_url, repository_urls FROM source_names "
            "WHERE source_id = ? ORDER BY name, version, index_url",
            (source_id,),
        )
        rows = dict.fromkeys(
            (source_id, name, display, version, moves.get(index, index), urls)
            for name, display, version, index, urls in cur.fetchall()
        )
        cur.execute("DELETE FROM source_names WHERE source_id = ?", (source_id,))
        cur.executemany(
            "INSERT INTO source_names (source_id, name, display, version, index_url, "
            "repository_urls) VALUES (?, ?, ?, ?, ?, ?)",
            list(rows),
        )


def _moment(stored: str) -> datetime:
    """A stored answer time; one that cannot be read is the oldest (never kept over one that
    can)."""
    try:
        return parse_rfc3339(stored)
    except ValueError:
        return datetime.min.replace(tzinfo=utc_now().tzinfo)


def _answered_before(stored: str, moment: datetime) -> bool:
    """Whether the answer time ``stored`` in a baseline comes before ``moment``."""
    if stored.endswith("Z"):
        # Written to the whole second by earlier releases: an answer of the second the pass
        # started in is taken as the pass's own.
        moment = moment.replace(microsecond=0)
    return parse_rfc3339(stored) < moment


def _record(raw: str) -> StatusRecord:
    return StatusRecord.from_json(json.loads(raw))


def _baseline(raw: str, answered: str) -> StatusRecord:
    """A baseline with its answer's time to the microsecond (``last_checked_at``; the
    record's JSON keeps whole seconds), so a pass can tell an older answer from a newer one
    within one second."""
    record = _record(raw)
    try:
        moment = parse_rfc3339(answered)
    except ValueError:
        return record
    if abs((moment - record.checked_at).total_seconds()) >= 1:
        return record  # not this answer's time (a database of an earlier release)
    return msgspec.structs.replace(record, checked_at=moment)


def _urls_text(urls: Sequence[str]) -> str:
    return json.dumps(list(urls)) if urls else ""


def _urls(text: str) -> tuple[str, ...]:
    """The stored repository URLs (a JSON list); anything else reads as none."""
    if not text:
        return ()
    try:
        urls = json.loads(text)
    except ValueError:
        return ()
    return tuple(u for u in urls if isinstance(u, str)) if isinstance(urls, list) else ()


def _verdict(raw: str) -> MaintenanceVerdict:
    return MaintenanceVerdict.from_json(json.loads(raw))


def open_store(url: str, *, create: bool = True, read_only: bool = False) -> SqlStore:
    """The store a ``--db`` URL names: ``sqlite:///path`` or ``postgresql://…``.

    ``create=False``: a database that does not exist, or holds no monitor tables, raises
    :class:`StoreMissingError` and nothing is created. ``read_only`` (commands that only read):
    a database this process cannot write is opened for reading; otherwise such a database
    raises :class:`StoreUnavailableError` at once, before a pass asks the index anything.
    """
    from urllib.parse import urlsplit

    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as error:  # an unclosed "[", say; the message must not show a password
        raise StoreError(f"--db: not a URL ({error}): {redact_url(url)}") from None
    if scheme == "sqlite":
        from .sqlite import SqliteStore, sqlite_path

        return SqliteStore(sqlite_path(url), create=create, read_only=read_only)
    if scheme in {"postgresql", "postgres"}:
        from .postgres import PostgresStore

        return PostgresStore(url, create=create, read_only=read_only)
    raise StoreError(
        f"--db: expected sqlite:///path or postgresql://..., got a {scheme or 'scheme-less'} URL"
    )
