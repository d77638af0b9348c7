"""Best-effort stores of distilled status records: the RecordStore interface and its diskcache."""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Protocol, cast

import msgspec

from ..model import ProjectStatus, StatusRecord, checked_stored_record

logger = logging.getLogger(__name__)

#: Writes gathered before one commit, and the longest a write waits (a language server runs
#: for hours; its answers should reach other processes soon).
WRITE_BATCH = 256
WRITE_DELAY = 1.0
#: The cache directory's size bound; the oldest entries go first when it is passed.
SIZE_LIMIT = 2**30

#: Bumped whenever the stored shape changes, so old entries read as misses.
SCHEMA = 1


#: Longest validator kept; PyPI's are about 40 characters.
MAX_ETAG_LENGTH = 1024
#: A validator this client would send back (usable_etag's bound, its characters checked after).
_Etag = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ETAG_LENGTH)]
#: A finite number: msgspec reads no NaN or infinity from JSON, and the bounds say so here.
_Finite = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]


class CacheEntry(msgspec.Struct, frozen=True, gc=False):
    """One stored index answer: the record, its validator, and when it stops being fresh.

    A msgspec Struct, as :class:`StatusRecord` is: encode_entry's text decodes straight into
    one, its fields checked in C (a warm run reads ten thousand).
    """

    record: StatusRecord
    etag: _Etag | None
    fetched_at: _Finite  # epoch seconds
    max_age: _Finite  # seconds the answer stays fresh

    def age(self, now: float) -> float:
        return max(0.0, now - self.fetched_at)

    def is_fresh(self, now: float) -> bool:
        return self.age(now) < self.max_age


def is_not_found(entry: CacheEntry) -> bool:
    """A 404 answer: stores may keep these for less time than others (``not_found_ttl``)."""
    return entry.record.status is ProjectStatus.NOT_FOUND


def cache_key(index_url: str, canonical_name: str) -> str:
    """Entries are per index (credentials already removed) and per canonical name."""
    return f"v{SCHEMA}|{index_url}|{canonical_name}"


def usable_etag(value: object) -> str | None:
    """``value`` if it can go back to the index in ``If-None-Match``, else ``None``.

    An index may send any bytes; a validator with non-ASCII or control characters cannot be
    sent as a header (httpx raises), and stored as it came it made every later run of that
    project fail. Without a validator the next lookup simply downloads the page again.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_ETAG_LENGTH:
        return None
    if not (value.isascii() and value.isprintable()):  # " " to "~" only, at C speed
        return None
    return value


def encode_entry(entry: CacheEntry) -> str:
    """The stored form: compact JSON text (never pickles), shared by every backend."""
    return json.dumps(
        {
            "record": entry.record.to_json(),
            "etag": entry.etag,
            "fetched_at": entry.fetched_at,
            "max_age": entry.max_age,
        },
        separators=(",", ":"),
    )


#: One JSON value read from the start of a text, and where it ended.
_read_value = json.JSONDecoder().raw_decode


def _load_json(raw: str | bytes) -> Any:
    """``json.loads(raw)``; the compact text encode_entry writes skips its Python wrapper
    (~2 µs of checks per call, a tenth of decoding a warm run's ten thousand entries)."""
    if type(raw) is str and raw[:1] == "{":
        try:
            data, end = _read_value(raw)
        except ValueError:
            end = -1
        if end == len(raw):
            return data
    return json.loads(raw)  # anything else, with json's own errors (trailing text, bytes...)


_decode_stored = msgspec.json.Decoder(CacheEntry).decode


def _decode_typed(raw: str | bytes, now: float | None = None) -> CacheEntry | None:
    """What encode_entry wrote, decoded by msgspec straight into the fields (no dict per
    entry; json.loads was half of reading a warm run's 10,000 entries); ``None`` for anything
    else (another shape, a type this client never writes, text to clean, NaN), which
    :func:`decode_entry` then reads with json and judges as it always did.

    ``now``: the time (epoch seconds) by which the record is marked stale or fresh, as the
    status client would mark it (one copy per record otherwise, when an offline run reads a
    stale cache); None: fresh, the client decides.
    """
    try:
        entry = _decode_stored(raw)
    except Exception:  # noqa: BLE001 - any doubt: the json path below decides, and says why
        return None
    # CacheEntry.is_fresh's rule; fetched_at and max_age are finite floats (msgspec checked).
    stale = now is not None and not max(0.0, now - entry.fetched_at) < entry.max_age
    if not checked_stored_record(entry.record, stale):
        return None
    etag = entry.etag
    if etag is not None and not (etag.isascii() and etag.isprintable()):
        # What usable_etag passes, without its call (one a record): none, the page again.
        msgspec.structs.force_setattr(entry, "etag", None)
    return entry


def decode_entry(raw: str | bytes) -> CacheEntry:
    """Inverse of :func:`encode_entry`; raises ValueError, KeyError or TypeError when malformed."""
    typed = _decode_typed(raw)
    if typed is not None:
        return typed
    data = _load_json(raw)
    fetched_at, max_age = float(data["fetched_at"]), float(data["max_age"])
    if not (math.isfinite(fetched_at) and math.isfinite(max_age)):
        raise ValueError("fetched_at and max_age must be finite")
    # Marked as read from a store here, once: the client hands it out as it is while it is
    # fresh (a copy per record was ~5 % of a warm 10k-component enrich).
    record = StatusRecord.from_json(data["record"], from_cache=True)
    return CacheEntry(record, usable_etag(data.get("etag")), fetched_at, max_age)


class RecordStore(Protocol):
    """Where the status client keeps index answers: on disk, or shared (Redis) by replicas.

    Every implementation is best effort: a failing store logs one warning and then behaves
    like an empty one (``get`` misses, ``set`` does nothing); it never raises.
    """

    @property
    def usable(self) -> bool:
        """False while the store is failing (every call acts as a miss)."""
        ...

    def get(self, key: str) -> CacheEntry | None: ...

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        """The readable entries among ``keys`` (misses and unreadable entries left out), read
        together: a warm run of ten thousand names must not pay ten thousand round trips."""
        ...

    def set(self, key: str, entry: CacheEntry) -> None: ...

    def info(self) -> dict[str, Any]:
        """Where the store is, how many entries, how many fresh (``cache info``)."""
        ...

    def clear(self) -> int:
        """Remove this tool's entries; returns how many there were."""
        ...

    def close(self) -> None: ...


def decode_or_miss(key: str, raw: str | bytes | None) -> CacheEntry | None:
    """A stored entry, or ``None`` for a miss or an entry nobody can read any more."""
    if raw is None:
        return None
    try:
        return decode_entry(raw)
    except Exception as error:  # noqa: BLE001 - a stored entry is untrusted data: any fault is a miss
        level = logging.DEBUG if _warned_unreadable else logging.WARNING
        _note_unreadable()
        logger.log(level, "ignoring unreadable cache entry %s: %s", key, type(error).__name__)
        return None


def decode_found(found: dict[str, str | bytes]) -> dict[str, CacheEntry]:
    """:func:`decode_or_miss` over a batch read: the readable entries, by key, each record
    already marked stale or fresh by the clock now (the client copies one only when its own
    clock says otherwise)."""
    entries: dict[str, CacheEntry] = {}
    now = time.time()
    for key, raw in found.items():
        # The typed read first, without the two calls around it (what decode_or_miss does
        # first): a warm run decodes ten thousand entries.
        entry = _decode_typed(raw, now) if raw is not None else None
        if entry is None:
            entry = decode_or_miss(key, raw)
        if entry is not None:
            entries[key] = entry
    return entries


_warned_unreadable = False


def _note_unreadable() -> None:
    # One warning per process, then debug lines: a corrupted store must not flood the log.
    global _warned_unreadable
    _warned_unreadable = True


#: Keys per batch query: well under SQLite's smallest limit on bound parameters (999).
BATCH_KEYS = 500
#: The columns of diskcache's ``Cache`` table the batch query reads.
BATCH_COLUMNS = frozenset({"key", "raw", "expire_time", "mode", "value"})


def diskcache_batch_readable(cache: Any) -> bool:
    """Whether ``cache`` is a diskcache whose table :func:`select_text` may query directly.

    Checked, not assumed: the ``Cache`` table has the columns the query reads, keys and values
    are stored as diskcache's plain ``Disk`` stores them (our :func:`text_only_disk` changes
    only what a read of a pickle does: str keys stored as written, ``raw`` = 1; short str
    values stored in ``value`` with mode ``MODE_RAW``), and a read has no side effect to
    reproduce (no hit statistics, no access-time eviction policy).
    """
    try:
        import diskcache

        columns = {row[1] for row in cache._sql("PRAGMA table_info(Cache)").fetchall()}
        return (
            columns >= BATCH_COLUMNS
            and type(cache.disk) is text_only_disk()
            and diskcache.core.MODE_RAW == 1
            and not cache.statistics
            and diskcache.core.EVICTION_POLICY[cache.eviction_policy]["get"] is None
        )
    except Exception as error:  # noqa: BLE001 - any surprise means: read one key at a time
        logger.debug("diskcache batch reads unavailable: %s", error)
        return False


def select_text(cache: Any, keys: Sequence[str]) -> tuple[dict[str, str | bytes], list[str]]:
    """(text stored in the table by key, keys whose value diskcache keeps in a file).

    A key in neither is a miss (absent or expired, as ``cache.get`` judges it). Only for a
    cache :func:`diskcache_batch_readable` accepted.
    """
    return _select_rows(cache._sql, keys)


def _select_rows(sql: Any, keys: Sequence[str]) -> tuple[dict[str, str | bytes], list[str]]:
    """:func:`select_text` through ``sql`` (diskcache's ``_sql``, or a connection's execute).

    SQLite sorts the rows itself, each a query of its own: the text in the table (``MODE_RAW``
    holding text or bytes) into ``found``, the other modes ``cache.get`` reads (a file, a raw
    value of another type) into ``elsewhere``; any other mode (a pickle: we never write one)
    is neither, a miss, never unpickled. One loop in Python per row was a tenth of the read.
    """
    found: dict[str, str | bytes] = {}
    elsewhere: list[str] = []
    now = time.time()
    for where, params, wanted in _key_ranges(sql, keys):
        rows: dict[str, str | bytes | None] = dict(
            sql(
                f"SELECT key, {_TEXT_OR_NULL} FROM Cache WHERE raw = 1 AND {where}"
                f" AND (expire_time IS NULL OR expire_time > ?) AND {_READ_MODES}",
                (*params, now),
            )
        )
        if wanted is not None and not rows.keys() <= wanted:  # a range: others lie in it
            rows = {key: value for key, value in rows.items() if key in wanted}
        if None in rows.values():  # rare: a value cache.get reads (from a file, ...)
            elsewhere.extend(key for key, value in rows.items() if value is None)
            rows = {key: value for key, value in rows.items() if value is not None}
        found.update(cast("dict[str, str | bytes]", rows))
    return found, elsewhere


#: The value of a row in :data:`GET_MODES` when it is text in the table, NULL when
#: ``cache.get`` must read it (a file, a raw value of another type): the Python tests
#: ``mode == 1 and isinstance(value, (str, bytes))`` and ``mode in GET_MODES`` made by SQLite
#: (its ``text`` and ``blob`` are sqlite3's ``str`` and ``bytes``; a mode stored as text, in
#: a table whose column would turn ``1`` into ``'1'`` to compare, is no number, as in Python)
#: instead of a loop in Python per row.
_NUMERIC_MODE = "typeof(mode) IN ('integer', 'real')"
_TEXT_OR_NULL = (
    f"CASE WHEN {_NUMERIC_MODE} AND mode = 1 AND typeof(value) IN ('text', 'blob')"
    " THEN value ELSE NULL END"
)
_READ_MODES = f"{_NUMERIC_MODE} AND mode IN (1, 2, 3)"

#: Keys from which a batch read considers one scan of their range instead of key lists.
RANGE_KEYS = 1000


def _key_ranges(
    sql: Any, keys: Sequence[str]
) -> Iterator[tuple[str, tuple[str, ...], set[str] | None]]:
    """(SQL condition on ``key``, its parameters, the keys wanted among those it selects or
    None when it selects only ``keys``) for batches that cover ``keys``.

    Many keys (a warm run of a large SBOM) whose range in the key index holds few other
    entries (they are the same index's, ``v1|<index>|<name>``) are read with one scan of that
    range, the others left out afterwards: ~half the time of looking each key up in lists of
    :data:`BATCH_KEYS`, which a store full of other projects still gets.
    """
    if len(keys) >= RANGE_KEYS:
        wanted = set(keys)
        low, high = min(wanted), max(wanted)
        (in_range,) = sql(
            "SELECT count(*) FROM Cache WHERE raw = 1 AND key >= ? AND key <= ?", (low, high)
        ).fetchone()
        if in_range <= 2 * len(wanted):
            logger.debug("reading %d keys with one scan of %d entries", len(wanted), in_range)
            yield "key >= ? AND key <= ?", (low, high), wanted
            return
    for start in range(0, len(keys), BATCH_KEYS):
        chunk = tuple(keys[start : start + BATCH_KEYS])
        yield f"key IN ({','.join('?' * len(chunk))})", chunk, None


#: diskcache's modes of a value read with ``cache.get`` when it is not text in the table: a
#: raw value of another type (``MODE_RAW``, judged unreadable there) and values kept in a file
#: (``MODE_BINARY``, ``MODE_TEXT``). Its ``MODE_PICKLE`` (4) is never read: a miss.
GET_MODES = frozenset({1, 2, 3})


class _RefusedPickle(Exception):
    """A cache row holds a pickle: this client never writes one, so someone else did."""


_TEXT_ONLY_DISK: Any = None


def text_only_disk() -> Any:
    """diskcache's ``Disk`` that never unpickles: a pickled value reads as a miss, a pickled
    key as a key no lookup asks for.

    A cache directory is input we did not write (a CI cache restored from another job, a
    shared volume), and ``pickle.load`` of a crafted row runs code. This client stores only
    str keys and JSON text, which diskcache keeps raw or as text files, so refusing pickles
    costs nothing it wrote. Built on first use: diskcache is imported only when a run opens it.
    """
    global _TEXT_ONLY_DISK
    if _TEXT_ONLY_DISK is None:
        import diskcache

        class TextOnlyDisk(diskcache.Disk):  # type: ignore[misc]
            def get(self, key: Any, raw: bool) -> Any:
                if not raw:  # a pickled key: no name of ours, and never unpickled
                    return "\x00refused pickled key"
                return super().get(key, raw)

            def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
                if mode == diskcache.core.MODE_PICKLE:
                    raise _RefusedPickle(filename or "row")
                return super().fetch(mode, filename, value, read)

        _TEXT_ONLY_DISK = TextOnlyDisk
    return _TEXT_ONLY_DISK


#: diskcache's database in its directory (``diskcache.core.DBNAME``), and its eviction
#: policies whose reads change nothing (``EVICTION_POLICY[...]["get"]`` is None).
DISKCACHE_DB = "cache.db"
READ_ONLY_EVICTION = frozenset({"least-recently-stored", "none"})


def read_table_directly(directory: Path, keys: Sequence[str]) -> dict[str, str | bytes] | None:
    """The stored text of each of ``keys`` in the diskcache at ``directory``, read with
    sqlite3 alone (no diskcache import, no ``Cache`` set-up: ~12 ms of a warm run that only
    reads); ``None`` when that cannot be done as :meth:`StatusCache.get_many_text` would
    (no database yet, another schema, statistics or an eviction policy that a read updates,
    a value kept in a file, any SQLite error): the caller then opens diskcache as before.

    The same query on the same table as :func:`select_text`, after the checks
    :func:`diskcache_batch_readable` makes, read from the database's Settings as diskcache
    reads them (its defaults, statistics off and least-recently-stored, where none is set).
    """
    import sqlite3

    path = directory / DISKCACHE_DB
    if not path.is_file():
        return None
    try:
        # mode=rw: never creates a database; diskcache's own timeout for a locked one.
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, timeout=60)
    except (sqlite3.Error, ValueError):
        return None
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(Cache)")}
        settings = dict(
            connection.execute(
                "SELECT key, value FROM Settings WHERE key IN ('statistics', 'eviction_policy')"
            ).fetchall()
        )
        if (
            not columns >= BATCH_COLUMNS
            or settings.get("statistics", 0) != 0
            or settings.get("eviction_policy", "least-recently-stored") not in READ_ONLY_EVICTION
        ):
            return None
        found, elsewhere = _select_rows(connection.execute, keys)
        return None if elsewhere else found
    except sqlite3.Error as error:
        logger.debug("reading the cache table directly failed: %s", error)
        return None
    finally:
        connection.close()


def _stored_value(cache: Any, key: str) -> Any:
    """``cache.get(key)``, a pickled row read as a miss (with a warning) rather than as a
    broken cache: it costs the one entry it touches."""
    try:
        return cache.get(key)
    except _RefusedPickle:
        logger.warning(
            "cache entry %r holds a pickle, which this client never writes: ignored", key
        )
        return None


class StatusCache:
    """The default RecordStore: diskcache on disk, JSON text (never pickles), failures → miss.

    diskcache keeps each write in one SQLite transaction, so a crash leaves no half-written
    entry, and several processes may share one directory. Writes are gathered and committed
    together (one transaction per :data:`WRITE_BATCH` entries or :data:`WRITE_DELAY` seconds,
    and on :meth:`flush`/:meth:`close`): a cold run of 1,000 lookups spends a third of the CPU
    on the cache that one transaction per entry did. An unflushed write lost in a crash is only
    a future miss.
    """

    def __init__(self, directory: Path, *, not_found_ttl: float | None = None) -> None:
        self.directory = directory
        #: Seconds a not-found answer is kept (diskcache expiry); None: like any other entry.
        self._not_found_ttl = not_found_ttl
        self._cache: Any = None
        self._broken = False
        #: key -> (stored text, seconds until it expires or None)
        self._pending: dict[str, tuple[str, float | None]] = {}
        self._pending_since = 0.0
        #: Whether diskcache's table is the one get_many_text's query was written for
        #: (None: not checked yet; checked once per open store).
        self._batch_readable: bool | None = None

    def _open(self) -> Any:
        if self._cache is None and not self._broken:
            try:
                import diskcache

                self.directory.mkdir(parents=True, exist_ok=True)
                # cull_limit=0: no eviction check inside every write (~4 SQL statements each,
                # 40% of a batch's cost); flush() culls once per batch instead.
                self._cache = diskcache.Cache(
                    str(self.directory),
                    size_limit=SIZE_LIMIT,
                    cull_limit=0,
                    disk=text_only_disk(),
                )
            except Exception as error:
                self._fail("open", error)
        return self._cache

    def _fail(self, action: str, error: BaseException) -> None:
        if not self._broken:
            logger.warning(
                "cache at %s unusable (%s failed: %s); continuing without a cache",
                self.directory,
                action,
                error,
            )
        self._broken = True
        self._cache = None
        self._batch_readable = None

    @property
    def usable(self) -> bool:
        return self._open() is not None

    def get(self, key: str) -> CacheEntry | None:
        return decode_or_miss(key, self.get_text(key))

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        return decode_found(self.get_many_text(keys))

    def get_many_text(self, keys: Sequence[str]) -> dict[str, str | bytes]:
        """The stored text of each of ``keys`` that has an entry, read in a few SQL queries.

        diskcache has no batch read, so this asks its SQLite table directly, through its own
        connection, only after :func:`diskcache_batch_readable` has checked that the table and
        the settings are the ones this query was written for (diskcache 5: ``Cache`` with
        ``key``, ``raw``, ``expire_time``, ``mode``, ``value``; reads with no side effect).
        Anything else, or a value kept outside the table (a file), is read one key at a time
        with ``cache.get``, so a diskcache upgrade costs speed, never correctness.
        """
        if not keys:  # nothing to read: no database to open (a run whose names all came
            return {}  # from the lookup processes asks for none)
        if self._cache is None and not self._broken:
            # Not opened yet, so nothing written yet either: a run that only reads (warm,
            # offline) may never need diskcache at all.
            direct = read_table_directly(self.directory, list(dict.fromkeys(keys)))
            if direct is not None:
                return direct
        cache = self._open()
        if cache is None:
            return {}
        found: dict[str, str | bytes] = {}
        try:
            unread = [key for key in dict.fromkeys(keys) if key not in self._pending]
            found.update((key, self._pending[key][0]) for key in keys if key in self._pending)
            if self._batch_readable is None:
                self._batch_readable = diskcache_batch_readable(cache)
            if self._batch_readable:
                in_table, elsewhere = select_text(cache, unread)
                found.update(in_table)
                unread = elsewhere
            for key in unread:
                raw = _stored_value(cache, key)
                if raw is not None:
                    found[key] = raw
        except Exception as error:
            self._fail("read", error)
            return {}
        return found

    def get_text(self, key: str) -> str | bytes | None:
        """The stored text under ``key`` (other sources keep their own JSON shapes here)."""
        cache = self._open()
        if cache is None:
            return None
        try:
            pending = self._pending.get(key)
            raw: str | bytes | None = pending[0] if pending else _stored_value(cache, key)
        except Exception as error:
            self._fail("read", error)
            return None
        return raw

    def set(self, key: str, entry: CacheEntry) -> None:
        expire = self._not_found_ttl if is_not_found(entry) else None
        self.set_text(key, encode_entry(entry), expire)

    def set_text(self, key: str, text: str, expire: float | None = None) -> None:
        """Store ``text`` under ``key`` with the same batching and failure rules as ``set``;
        diskcache drops it after ``expire`` seconds when given."""
        if self._open() is None:
            return
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending[key] = (text, expire)
        if (
            len(self._pending) >= WRITE_BATCH
            or time.monotonic() - self._pending_since >= WRITE_DELAY
        ):
            self.flush()

    def flush(self) -> None:
        """Commit gathered writes in one transaction."""
        pending, self._pending = self._pending, {}
        if not pending:  # nothing to commit: no database to open (closing an unused store)
            return
        cache = self._open()
        if cache is None:
            return
        try:
            with cache.transact():
                for key, (text, expire) in pending.items():
                    cache.set(key, text, expire=expire)
            cache.cull()
        except Exception as error:
            self._fail("write", error)

    def info(self) -> dict[str, Any]:
        """What ``sbom-enrich cache info`` prints."""
        self.flush()
        cache = self._open()
        details: dict[str, Any] = {"directory": str(self.directory), "usable": cache is not None}
        if cache is not None:
            try:
                details["entries"] = len(cache)
                details["bytes"] = cache.volume()
                now = time.time()
                fresh = 0
                for key in cache.iterkeys():
                    entry = self.get(key)
                    if entry is not None and entry.is_fresh(now):
                        fresh += 1
                details["fresh"] = fresh
            except Exception as error:
                self._fail("read", error)
                details["usable"] = False
        return details

    def count(self) -> int:
        """How many entries the store holds (0 when it cannot be read)."""
        self.flush()
        cache = self._open()
        if cache is None:
            return 0
        try:
            return len(cache)
        except Exception as error:
            self._fail("read", error)
            return 0

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        self._pending.clear()
        cache = self._open()
        if cache is None:
            if self.directory.exists():
                import shutil  # for `cache clear` only

                shutil.rmtree(self.directory, ignore_errors=True)
            return 0
        try:
            count = len(cache)
            cache.clear()
            return int(count)
        except Exception as error:
            self._fail("clear", error)
            return 0

    def close(self) -> None:
        self.flush()
        if self._cache is not None:
            try:
                self._cache.close()
            except Exception as error:
                logger.debug("closing the cache failed: %s", error)
            self._cache = None
