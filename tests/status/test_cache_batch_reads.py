"""Batch cache reads: one query for the names of a run, same answers as one read per name."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import diskcache
import pytest

from sbom_enrich.status.cache import disk
from sbom_enrich.status.cache.disk import (
    BATCH_COLUMNS,
    BATCH_KEYS,
    GET_MODES,
    CacheEntry,
    StatusCache,
    cache_key,
    diskcache_batch_readable,
    encode_entry,
    text_only_disk,
)
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.settings import ClientSettings

INDEX = "http://index.invalid/simple/"


def entry(name: str, status: ProjectStatus = ProjectStatus.ACTIVE) -> CacheEntry:
    record = StatusRecord(
        name=name,
        status=status,
        index_url=INDEX,
        checked_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )
    return CacheEntry(record, None, time.time(), 600.0)


def filled(directory: Path, names: list[str]) -> StatusCache:
    store = StatusCache(directory)
    for name in names:
        store.set(cache_key(INDEX, name), entry(name))
    store.close()
    return StatusCache(directory)


class CountingGets:
    """Counts diskcache.Cache.get calls (one per key on the slow path)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = diskcache.Cache.get

        def counting(cache: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(cache, *args, **kwargs)

        monkeypatch.setattr(diskcache.Cache, "get", counting)


def test_diskcache_schema_is_the_one_the_batch_query_reads(tmp_path: Path) -> None:
    # Pinned: if a diskcache upgrade changes its table, this fails here (and the store falls
    # back to one get per key, see below) instead of the batch reading the wrong thing.
    cache = diskcache.Cache(str(tmp_path / "c"), disk=text_only_disk())
    columns = {row[1] for row in cache._sql("PRAGMA table_info(Cache)").fetchall()}
    assert columns >= BATCH_COLUMNS
    assert diskcache.core.MODE_RAW == 1
    # The modes read with diskcache's get, and the pickle one never read.
    core = diskcache.core
    assert {core.MODE_RAW, core.MODE_BINARY, core.MODE_TEXT} == GET_MODES
    assert core.MODE_PICKLE not in GET_MODES
    assert cache.disk.put("a|key") == ("a|key", True)
    assert cache.disk.store("text", False)[1:] == (1, None, "text")
    assert diskcache_batch_readable(cache)
    cache.close()


def test_many_names_are_read_in_a_few_queries_not_one_get_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"project-{i}" for i in range(BATCH_KEYS * 2 + 7)]
    store = filled(tmp_path / "c", names)
    gets = CountingGets(monkeypatch)
    keys = [cache_key(INDEX, name) for name in [*names, "absent", names[0]]]
    found = store.get_many(keys)
    assert gets.calls == 0
    assert set(found) == {cache_key(INDEX, name) for name in names}
    assert found[cache_key(INDEX, "project-3")].record.name == "project-3"
    assert all(found[key] == store.get(key) for key in keys[:20])
    store.close()


def test_expired_entries_are_misses_in_a_batch_as_in_get(tmp_path: Path) -> None:
    cache = diskcache.Cache(str(tmp_path / "c"))
    cache.set("gone", encode_entry(entry("gone")), expire=0.001)
    cache.set("here", encode_entry(entry("here")))
    cache.close()
    time.sleep(0.01)
    store = StatusCache(tmp_path / "c")
    assert store.get("gone") is None
    assert set(store.get_many(["gone", "here"])) == {"here"}
    store.close()


def test_a_bad_entry_in_a_batch_is_one_miss_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = diskcache.Cache(str(tmp_path / "c"))
    cache.set("junk", '{"record": 1}')
    cache.set("number", 42)  # not text at all: read the slow way, then a miss
    cache.set("good", encode_entry(entry("good")))
    cache.close()
    disk._warned_unreadable = False  # noqa: SLF001 - the once-per-process warning, reset
    store = StatusCache(tmp_path / "c")
    with caplog.at_level(logging.DEBUG, logger="sbom_enrich"):
        found = store.get_many(["junk", "number", "good"])
    assert set(found) == {"good"}
    levels = [r.levelno for r in caplog.records if "unreadable cache entry" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]
    store.close()


def test_large_values_kept_in_files_are_read_too(tmp_path: Path) -> None:
    big = entry("big")
    big = CacheEntry(
        StatusRecord(
            name="big",
            status=ProjectStatus.ACTIVE,
            index_url=INDEX,
            checked_at=big.record.checked_at,
            versions=tuple(f"1.{i}" for i in range(6000)),
        ),
        None,
        time.time(),
        600.0,
    )
    text = encode_entry(big)
    assert len(text) > 2**15  # over diskcache's min_file_size: stored in a file, not the table
    store = StatusCache(tmp_path / "c")
    store.set("big", big)
    store.close()
    store = StatusCache(tmp_path / "c")
    found = store.get_many(["big"])
    assert found["big"].record.versions == big.record.versions
    store.close()


def test_unsaved_writes_are_read_from_the_batch(tmp_path: Path) -> None:
    store = StatusCache(tmp_path / "c")
    store.set("pending", entry("pending"))
    assert set(store.get_many(["pending", "other"])) == {"pending"}
    store.close()


@pytest.mark.parametrize("change", ["statistics", "eviction", "columns"])
def test_a_diskcache_not_as_pinned_falls_back_to_one_get_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    names = ["a", "b", "c"]
    store = filled(tmp_path / "c", names)
    cache = store._open()
    if change == "statistics":
        cache.stats(enable=True)
    elif change == "eviction":
        cache.reset("eviction_policy", "least-recently-used")
    else:
        monkeypatch.setattr(disk, "BATCH_COLUMNS", BATCH_COLUMNS | {"a_column_not_there"})
    gets = CountingGets(monkeypatch)
    found = store.get_many([cache_key(INDEX, name) for name in [*names, "absent"]])
    assert set(found) == {cache_key(INDEX, name) for name in names}
    assert gets.calls == 4
    store.close()


def test_a_store_that_only_reads_reads_the_table_without_diskcache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm run that only reads (offline) reads diskcache's table with sqlite3 alone: no
    diskcache import nor Cache set-up; the same entries as diskcache's own batch read."""
    names = ["a", "b", "c"]
    store = filled(tmp_path / "c", names)
    keys = [cache_key(INDEX, name) for name in [*names, "absent"]]
    opened = store.get_many(keys)  # filled() left it unopened: read directly
    assert store._cache is None  # noqa: SLF001 - no diskcache.Cache was made

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("diskcache opened")

    monkeypatch.setattr(diskcache.Cache, "__init__", refuse)
    assert StatusCache(tmp_path / "c").get_many(keys) == opened
    monkeypatch.undo()
    assert store.get_many(keys) == opened
    via_diskcache = StatusCache(tmp_path / "c")
    via_diskcache._open()  # noqa: SLF001 - the batch query through diskcache's connection
    assert via_diskcache.get_many(keys) == opened
    via_diskcache.close()
    assert not StatusCache(tmp_path / "none").get_many(keys)


def test_a_relative_cache_directory_with_odd_characters_is_read_directly_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled(tmp_path / "a dir#1?", ["a"]).close()
    monkeypatch.chdir(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("diskcache opened")

    monkeypatch.setattr(diskcache.Cache, "__init__", refuse)
    found = StatusCache(Path("a dir#1?")).get_many([cache_key(INDEX, "a")])
    assert found[cache_key(INDEX, "a")].record.name == "a"


@pytest.mark.parametrize("change", ["statistics", "eviction"])
def test_a_store_not_opened_yet_reads_its_table_only_where_diskcache_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Statistics or an eviction policy that a read updates: diskcache is opened and reads
    each key itself (hit counts, access times), as when the store was opened first."""
    names = ["a", "b", "c"]
    filled(tmp_path / "c", names).close()
    cache = diskcache.Cache(str(tmp_path / "c"))
    if change == "statistics":
        cache.stats(enable=True)
    else:
        cache.reset("eviction_policy", "least-recently-used")
    cache.close()
    store = StatusCache(tmp_path / "c")
    gets = CountingGets(monkeypatch)
    found = store.get_many([cache_key(INDEX, name) for name in [*names, "absent"]])
    assert set(found) == {cache_key(INDEX, name) for name in names}
    assert gets.calls == 4
    store.close()


def test_a_failing_store_is_an_empty_batch_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = filled(tmp_path / "c", ["a"])
    store._open()

    def broken(*args: object, **kwargs: object) -> object:
        raise diskcache.Timeout("database is locked")

    monkeypatch.setattr(disk, "select_text", broken)
    with caplog.at_level(logging.WARNING, logger="sbom_enrich"):
        assert store.get_many([cache_key(INDEX, "a")]) == {}
    assert sum("unusable" in r.getMessage() for r in caplog.records) == 1
    assert not store.usable


async def test_a_warm_lookup_many_reads_the_store_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"project-{i}" for i in range(50)]
    store = filled(tmp_path / "c", names)
    settings = ClientSettings(index_url=INDEX, offline=True)
    client = StatusClient(http=lambda: pytest.fail("no network"), cache=store, settings=settings)
    single = 0
    original_get = StatusCache.get

    def counting_get(self: StatusCache, key: str) -> CacheEntry | None:
        nonlocal single
        single += 1
        return original_get(self, key)

    monkeypatch.setattr(StatusCache, "get", counting_get)
    records = [record async for record in client.lookup_many([*names, "Project_1", "absent"])]
    assert single == 0
    assert sorted(r.name for r in records if r.from_cache) == sorted(names)
    assert [r.status for r in records if r.name == "absent"] == [ProjectStatus.UNKNOWN]
    cached = client.cached_many(["PROJECT-2", "absent"])
    assert list(cached) == ["project-2"] and cached["project-2"].from_cache
    assert single == 0
    store.close()


def test_asking_for_no_keys_opens_no_database(tmp_path: Path) -> None:
    """A run whose names all came from elsewhere (the lookup processes) reads nothing: it must
    not open, or create, the cache database for that."""
    store = StatusCache(tmp_path / "cache")
    assert store.get_many([]) == {}
    store.close()
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("others", [0, disk.RANGE_KEYS * 3])
def test_a_large_batch_reads_what_one_get_each_reads(
    tmp_path: Path, others: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Many keys are read with one scan of their key range when it holds few others, else
    in key lists: either way exactly the entries one get per key finds (neither a neighbour
    in the range nor an expired entry nor another index's)."""
    caplog.set_level(logging.DEBUG, logger="sbom_enrich.status.cache.disk")
    names = [f"project-{i:05d}" for i in range(disk.RANGE_KEYS * 2)]
    wanted = [name for i, name in enumerate(names) if i % 4]
    directory = tmp_path / "c"
    store = filled(directory, names)
    with diskcache.Cache(str(directory)) as raw:
        raw.set(cache_key(INDEX, "project-00002"), encode_entry(entry("x")), expire=0.001)
        raw.set(cache_key("http://other.invalid/simple/", "project-00004"), "x")
        for i in range(others):  # unwanted neighbours inside the wanted range
            raw.set(cache_key(INDEX, f"project-00001-{i}"), encode_entry(entry("y")))
    time.sleep(0.01)
    keys = [cache_key(INDEX, name) for name in wanted]
    one_each = {key: text for key in keys if (text := store.get_text(key)) is not None}
    store.close()
    direct = StatusCache(directory).get_many_text(keys)  # sqlite3 alone
    opened = StatusCache(directory)
    assert opened.usable  # diskcache open: its own connection
    through_diskcache = opened.get_many_text(keys)
    opened.close()
    assert direct == through_diskcache == one_each
    assert len(one_each) == len(wanted) - 1  # project-00002 expired
    scans = [r for r in caplog.records if "with one scan" in r.getMessage()]
    assert len(scans) == (0 if others else 2)


def test_a_batch_marks_each_record_stale_or_fresh_as_the_client_would(tmp_path: Path) -> None:
    """The records of a batch read come marked by the clock (an offline run on an old cache
    then copies none of them), and a client whose clock says otherwise still gets its own
    answer."""
    store = StatusCache(tmp_path / "c")
    now = time.time()
    old, new = entry("old"), entry("new")
    store.set(cache_key(INDEX, "old"), CacheEntry(old.record, None, now - 3600, 600.0))
    store.set(cache_key(INDEX, "new"), CacheEntry(new.record, None, now, 600.0))
    store.close()
    found = StatusCache(tmp_path / "c").get_many([cache_key(INDEX, n) for n in ("old", "new")])
    assert found[cache_key(INDEX, "old")].record.stale
    assert not found[cache_key(INDEX, "new")].record.stale
    settings = ClientSettings(index_url=INDEX, cache_dir=tmp_path / "c", offline=True)
    for clock, stale in ((time.time, {"old": True, "new": False}),
                         (lambda: now + 7200, {"old": True, "new": True}),
                         (lambda: now - 3590, {"old": False, "new": False})):  # fmt: skip
        client = StatusClient(
            http=lambda: None, cache=StatusCache(tmp_path / "c"), settings=settings, clock=clock
        )
        records = {r.name: r for r in client.offline_lookup_many(["old", "new"], INDEX)}
        assert {name: r.stale for name, r in records.items()} == stale
        assert all(r.from_cache for r in records.values())


def test_a_batch_of_names_gets_each_name_its_own_answer_whatever_the_spelling(
    tmp_path: Path,
) -> None:
    """Canonical names are taken as they are (one check for all); a list holding any other
    spelling, an invalid name or a line break is checked name by name: duplicates by their
    canonical name answered once, invalid names first and never looked up."""
    filled(tmp_path / "c", ["requests", "nose", "a-b"]).close()
    settings = ClientSettings(index_url=INDEX, cache_dir=tmp_path / "c", offline=True)
    client = StatusClient(http=lambda: None, cache=StatusCache(tmp_path / "c"), settings=settings)

    def answers(names: list[str]) -> list[tuple[str, str | None]]:
        records = client.offline_lookup_many(names, INDEX)
        return [(r.name, "cached" if r.from_cache else r.error) for r in records]

    invalid = "not a valid project name; nothing was asked"
    assert answers(["nose", "requests", "nose"]) == [("nose", "cached"), ("requests", "cached")]
    assert answers(["nose\nrequests"]) == [("nose\nrequests", invalid)]
    assert answers(["requests", "nose\n"]) == [("nose\n", invalid), ("requests", "cached")]
    assert answers(["requests", "Requests", "A_B", "a--b", "x" * 201, "-bad", "nose"]) == [
        ("x" * 201, invalid),
        ("-bad", invalid),
        ("requests", "cached"),
        ("a-b", "cached"),
        ("nose", "cached"),
    ]
    assert answers(["absent", "nose"]) == [
        ("nose", "cached"),
        ("absent", "offline and not in the cache"),
    ]
