"""Hostile rows in the on-disk cache, read by an offline ``enrich`` (sqlite3 read, typed decode).

The cache is written by the real writer (``StatusCache``), then one row is changed with
sqlite3 the way a corrupted, downgraded or tampered database would hold it, and
``enrich --offline --cache-dir`` runs on an SBOM of three components. Right behaviour: a row
that cannot be read is a miss (``unknown``, the run incomplete), never another answer; a
readable row is read as written; no traceback, and nothing in a row is ever executed.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from sbom_enrich.cli import main
from sbom_enrich.status.cache.disk import CacheEntry, StatusCache, cache_key, encode_entry
from sbom_enrich.status.model import ProjectStatus, StatusRecord

INDEX = "https://index.invalid/simple/"  # offline: never asked
STATUS = "sbom-enrich:pypi:project-status"
CHECKED = datetime(2026, 11, 21, 14, 52, 7, tzinfo=timezone.utc)
RECORDS = {
    "requests": StatusRecord(
        "requests", ProjectStatus.ACTIVE, INDEX, CHECKED, versions=("2.31.0",)
    ),
    "evil-pkg": StatusRecord(
        "evil-pkg", ProjectStatus.QUARANTINED, INDEX, CHECKED, reason="Reported as malware"
    ),
    "nose": StatusRecord(
        "nose",
        ProjectStatus.DEPRECATED,
        INDEX,
        CHECKED,
        reason="use pytest",
        versions=("1.3.6", "1.3.7"),
        yanked={"1.3.6": ""},
    ),
}
SBOM = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [
            {"type": "library", "name": name, "version": "1.0", "purl": f"pkg:pypi/{name}@1.0"}
            for name in RECORDS
        ],
    },
    indent=2,
).encode()


def _stored(name: str) -> dict[str, Any]:
    entry = CacheEntry(RECORDS[name], '"e1"', time.time(), 600.0)
    result: dict[str, Any] = json.loads(encode_entry(entry))
    return result


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory as the real writer leaves it, one row a project."""
    directory = tmp_path_factory.mktemp("written")
    store = StatusCache(directory)
    for name, record in RECORDS.items():
        store.set(cache_key(INDEX, name), CacheEntry(record, '"e1"', time.time(), 600.0))
    store.close()
    with sqlite3.connect(directory / "cache.db") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return directory


Change = Callable[[sqlite3.Connection], object]


def _enrich(
    written: Path, tmp_path: Path, change: Change, *, offline: bool = True
) -> tuple[int, str, dict[str, str]]:
    """Run the CLI offline on a copy of ``written`` changed by ``change``: (exit code,
    stderr, each component's status in the output). Not ``offline``: every row is fresh, so
    the index (which does not exist) is never asked either."""
    directory = tmp_path / "cache"
    shutil.copytree(written, directory)
    with sqlite3.connect(directory / "cache.db") as connection:
        change(connection)
    connection.close()
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    source.write_bytes(SBOM)
    argv = ["enrich", str(source), "-o", str(target), "--cache-dir", str(directory)]
    if offline:
        argv.append("--offline")
    env = {"HOME": str(tmp_path), "SBOM_ENRICH_INDEX_URL": INDEX}
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stderr", err)
        code = main(argv, env=env, stdin=io.BytesIO(), stdout=io.BytesIO())
    stderr = err.getvalue()
    assert "Traceback" not in stderr
    statuses = {}
    if target.exists():
        for component in json.loads(target.read_bytes())["components"]:
            values = [p["value"] for p in component.get("properties", []) if p["name"] == STATUS]
            statuses[component["name"]] = values[0] if values else ""
    return code, stderr, statuses


def _key(name: str) -> str:
    return cache_key(INDEX, name)


def record(project: str, /, **changes: Any) -> Change:
    stored = _stored(project)
    stored["record"].update(changes)
    return value(project, json.dumps(stored))


def entry(project: str, /, **changes: Any) -> Change:
    stored = _stored(project)
    stored.update(changes)
    return value(project, json.dumps(stored))


def value(project: str, stored: object, /, **columns: object) -> Change:
    def change(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE Cache SET value = ? WHERE key = ?", (stored, _key(project)))
        for column, setting in columns.items():
            connection.execute(
                f"UPDATE Cache SET {column} = ? WHERE key = ?", (setting, _key(project))
            )

    return change


def text(name: str, edit: Callable[[str], str]) -> Change:
    return value(name, edit(json.dumps(_stored(name), separators=(",", ":"))))


def sql(statement: str) -> Change:
    return lambda connection: connection.executescript(statement)


UNREADABLE_EVIL: dict[str, Change] = {
    "status-not-in-the-model": record("evil-pkg", status="retired"),
    "status-in-capitals": record("evil-pkg", status="QUARANTINED"),
    "status-a-number": record("evil-pkg", status=5),
    "status-null": record("evil-pkg", status=None),
    "status-a-list": record("evil-pkg", status=["quarantined"]),
    "checked-at-not-a-time": record("evil-pkg", checked_at="yesterday"),
    "checked-at-a-number": record("evil-pkg", checked_at=5),
    "latest-upload-not-a-time": record("evil-pkg", latest_upload="x"),
    "latest-upload-a-number": record("evil-pkg", latest_upload=17),
    "fetched-at-nan": text("evil-pkg", lambda t: t.replace('"max_age"', '"fetched_at":NaN,"m"')),
    "max-age-infinite": text("evil-pkg", lambda t: t.replace('"max_age":600.0', '"max_age":1e999')),
    "fetched-at-a-word": entry("evil-pkg", fetched_at="now"),
    "record-null": value("evil-pkg", '{"record":null,"fetched_at":1,"max_age":1}'),
    "truncated": text("evil-pkg", lambda t: t[:100]),
    "not-utf-8": value("evil-pkg", b"\xff" + json.dumps(_stored("evil-pkg")).encode()),
    "an-integer": value("evil-pkg", 12345),
    "a-float": value("evil-pkg", 1.5),
    "null": value("evil-pkg", None),
    "key-not-raw": value("evil-pkg", json.dumps(_stored("evil-pkg")), raw=0),
    "expired": value("evil-pkg", json.dumps(_stored("evil-pkg")), expire_time=1.0),
    "file-mode-without-a-file": value("evil-pkg", json.dumps(_stored("evil-pkg")), mode=2),
    "yanked-a-list": record("evil-pkg", yanked=["1.3.6"]),
    # Every row's mode the text "1" (a column of text affinity), which Python never took for
    # MODE_RAW: SQLite would, comparing with 1 in that column's affinity.
    "mode-as-text": lambda connection: _retyped_mode(connection, "TEXT"),
}


def _retyped_mode(connection: sqlite3.Connection, column_type: str) -> None:
    (schema,) = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'Cache'").fetchone()
    assert "mode INTEGER" in schema
    connection.executescript(
        "ALTER TABLE Cache RENAME TO Old;"
        + schema.replace("mode INTEGER", f"mode {column_type}")
        + "; INSERT INTO Cache SELECT * FROM Old; DROP TABLE Old;"
    )
    assert {row[0] for row in connection.execute("SELECT typeof(mode) FROM Cache")} == {"text"}


READABLE_EVIL: dict[str, Change] = {
    "as-written": sql(""),
    "stored-as-a-blob": value("evil-pkg", json.dumps(_stored("evil-pkg")).encode()),
    "blob-in-utf-16": value("evil-pkg", json.dumps(_stored("evil-pkg")).encode("utf-16")),
    "fields-of-a-future-version": record("evil-pkg", shape={"a": [1]}, error_code=7),
    "reason-of-2-mb": record("evil-pkg", reason="x" * 2_000_000),
    "reason-a-lone-surrogate": text("evil-pkg", lambda t: t.replace("Reported", "\\ud800")),
    "validator-of-1-mb": entry("evil-pkg", etag="x" * 1_000_000),
    "fetched-in-the-far-future": entry("evil-pkg", fetched_at=1e18),
    "max-age-negative": entry("evil-pkg", max_age=-1),
    "expire-time-a-word": value("evil-pkg", json.dumps(_stored("evil-pkg")), expire_time="soon"),
    "versions-a-string": record("nose", versions="1.3.7"),
    "yanked-reasons-numbers": record("nose", yanked={"1.3.6": 5}),
    "versions-100k": record("nose", versions=[str(i) for i in range(100_000)]),
    "statistics-on": sql("UPDATE Settings SET value = 1 WHERE key = 'statistics';"),
    "eviction-lru": sql(
        "UPDATE Settings SET value = 'least-recently-used' WHERE key = 'eviction_policy';"
    ),
    "no-settings-table": sql("DROP TABLE Settings;"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE_EVIL))
def test_an_unreadable_row_is_a_miss(case: str, written: Path, tmp_path: Path) -> None:
    code, stderr, statuses = _enrich(written, tmp_path, UNREADABLE_EVIL[case])
    assert code == 3, stderr  # incomplete: a lookup failed
    assert statuses["evil-pkg"] in ("unknown", ""), stderr
    assert statuses["requests"] in ("active", "unknown")
    assert "not allowed" not in stderr


@pytest.mark.parametrize("case", sorted(READABLE_EVIL))
def test_a_readable_row_is_read_as_written(case: str, written: Path, tmp_path: Path) -> None:
    code, stderr, statuses = _enrich(written, tmp_path, READABLE_EVIL[case])
    assert code == 1, stderr  # quarantined fails the run (the default --fail-on)
    assert statuses == {"requests": "active", "evil-pkg": "quarantined", "nose": "deprecated"}


def test_a_broken_database_is_no_cache(written: Path, tmp_path: Path) -> None:
    for case, change in {
        "table-renamed": sql("ALTER TABLE Cache RENAME TO Other;"),
        "column-missing": sql(
            "CREATE TABLE C2 AS SELECT key, raw, mode, value FROM Cache;"
            "DROP TABLE Cache; ALTER TABLE C2 RENAME TO Cache;"
        ),
    }.items():
        code, stderr, statuses = _enrich(written, tmp_path / case, change)
        assert code == 3, stderr
        assert set(statuses.values()) <= {"unknown", ""}, case


def test_a_pickled_row_is_never_unpickled(written: Path, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(marker), "w"))

    code, stderr, statuses = _enrich(
        written, tmp_path, value("evil-pkg", pickle.dumps(Payload()), mode=4)
    )
    assert statuses["evil-pkg"] in ("unknown", ""), stderr
    assert not marker.exists()


def test_the_store_never_unpickles_a_value_or_a_key(written: Path, tmp_path: Path) -> None:
    """Every read the store makes through diskcache itself (one key, a batch whose table
    reads are off, ``cache info``'s walk over the keys): a pickled row is a miss there too,
    and a pickled key is never loaded, while the other entries still read."""
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(marker), "w"))

    directory = tmp_path / "cache"
    shutil.copytree(written, directory)
    with sqlite3.connect(directory / "cache.db") as connection:
        value("evil-pkg", pickle.dumps(Payload()), mode=4)(connection)
        connection.execute(
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 0, 0, NULL, 0, 0, NULL, 0, 1, NULL, ?)",
            (pickle.dumps(Payload()), "x"),
        )
    connection.close()
    store = StatusCache(directory)
    try:
        assert store.get(_key("evil-pkg")) is None
        store._batch_readable = False  # every key through diskcache's own get
        found = store.get_many([_key(name) for name in RECORDS])
        assert sorted(found) == [_key("nose"), _key("requests")]
        assert store.info()["usable"] is True
        assert store.usable  # one bad row did not cost the whole cache
    finally:
        store.close()
    assert not marker.exists()


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "fresh-rows-online"])
def test_a_row_under_another_key_does_not_answer_for_its_name(
    offline: bool, written: Path, tmp_path: Path
) -> None:
    code, stderr, statuses = _enrich(
        written, tmp_path, record("requests", name="evil-pkg", status="active"), offline=offline
    )
    assert statuses["evil-pkg"] == "quarantined", stderr
    assert code in (1, 3)


def test_a_row_naming_another_project_is_a_miss(written: Path, tmp_path: Path) -> None:
    code, stderr, statuses = _enrich(written, tmp_path, record("evil-pkg", name="Evil_Pkg"))
    assert code == 3, stderr
    assert statuses["evil-pkg"] in ("unknown", "")
    assert "not allowed" not in stderr


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "fresh-rows-online"])
def test_a_row_naming_another_index_is_a_miss(offline: bool, written: Path, tmp_path: Path) -> None:
    # evil-pkg's row, but "active" from another index: neither its status nor that index's
    # name may reach the output.
    change = record("evil-pkg", status="active", index="https://other.invalid/simple/")
    code, stderr, statuses = _enrich(written, tmp_path, change, offline=offline)
    assert code == 3, stderr
    assert statuses["evil-pkg"] in ("unknown", "")
    assert "cache entry for evil-pkg names evil-pkg on https://other.invalid/simple/" in stderr
