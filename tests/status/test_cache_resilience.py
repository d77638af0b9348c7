"""The disk cache under stress: several processes at once, and a database file that is junk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexserver import IndexServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sbom.cdx.json"


def enrich_process(server: IndexServer, cache: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SBOM_ENRICH_CACHE_DIR": str(cache), "HOME": str(cache.parent)}
    command = [sys.executable, "-m", "sbom_enrich", "enrich", str(EXAMPLE), "-o", str(out),
               "--index-url", server.url]  # fmt: skip
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE)


def test_several_processes_share_one_cache_directory(
    index_server: IndexServer, tmp_path: Path
) -> None:
    cache = tmp_path / "shared-cache"
    runs = [enrich_process(index_server, cache, tmp_path / f"out{i}.json") for i in range(4)]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr and b"WARNING" not in stderr
    outputs = {json.loads((tmp_path / f"out{i}.json").read_text())["version"] for i in range(4)}
    assert outputs == {2}
    index_server.reset_stats()
    last = enrich_process(index_server, cache, tmp_path / "last.json")
    assert last.wait(timeout=120) == 0
    assert index_server.stats.requests == 0  # every answer came from the shared cache


def test_a_junk_cache_database_means_one_warning_and_a_complete_run(
    index_server: IndexServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cache.db").write_bytes(b"this is not an SQLite database" * 100)
    run = enrich_process(index_server, cache, tmp_path / "out.json")
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr.decode()
    text = stderr.decode()
    assert text.count("WARNING") == 1 and "cache" in text and "Traceback" not in text
    assert json.loads((tmp_path / "out.json").read_text())["version"] == 2


def test_gathered_writes_are_readable_at_once_and_committed_on_close(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from sbom_enrich.status.cache.disk import CacheEntry, StatusCache
    from sbom_enrich.status.model import ProjectStatus, StatusRecord

    record = StatusRecord(
        name="nose",
        status=ProjectStatus.DEPRECATED,
        index_url="http://i/simple/",
        checked_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )
    writer = StatusCache(tmp_path / "c")
    writer.set("k", CacheEntry(record, '"etag"', 1.0, 600.0))
    assert writer.get("k") is not None  # visible to its own process before the commit
    writer.close()
    reader = StatusCache(tmp_path / "c")
    entry = reader.get("k")
    assert entry is not None and entry.record.status is ProjectStatus.DEPRECATED
    assert entry.etag == '"etag"'
    reader.close()


def test_the_size_limit_is_kept_once_per_batch_not_per_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes skip diskcache's per-write eviction check; flush() evicts down to the limit."""
    from datetime import datetime, timezone

    from sbom_enrich.status.cache import disk as cache_module
    from sbom_enrich.status.cache.disk import CacheEntry, StatusCache
    from sbom_enrich.status.model import ProjectStatus, StatusRecord

    monkeypatch.setattr(cache_module, "SIZE_LIMIT", 200_000)
    store = StatusCache(tmp_path / "c")
    culls: list[int] = []
    raw = store._open()  # noqa: SLF001
    original_cull = raw.cull
    monkeypatch.setattr(raw, "cull", lambda: culls.append(1) or original_cull())
    record = StatusRecord(
        name="x",
        status=ProjectStatus.ACTIVE,
        index_url="http://i/simple/",
        checked_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        reason="r" * 2000,
    )
    for n in range(600):
        store.set(f"k{n}", CacheEntry(record, None, 1.0, 600.0))
    store.flush()
    assert len(culls) == -(-600 // cache_module.WRITE_BATCH)  # once per committed batch
    assert raw.volume() <= 200_000 and 0 < len(raw) < 600  # the oldest entries were evicted
    assert store.get("k599") is not None and store.get("k0") is None
    store.close()


PAGE = {
    "meta": {"api-version": "1.4"},
    "name": "victim",
    "files": [],
    "versions": [],
    "project-status": {"status": "archived"},
}


async def lookup_twice_through(tmp_path: Path, etag: bytes) -> tuple[list[object], list[str]]:
    """Two runs against an index whose ETag is ``etag``; returns the statuses and the
    If-None-Match values the index saw."""
    import httpx

    from sbom_enrich.status.cache.disk import StatusCache
    from sbom_enrich.status.client import StatusClient
    from sbom_enrich.status.settings import ClientSettings

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match", ""))
        return httpx.Response(
            200,
            headers=[
                (b"Content-Type", b"application/vnd.pypi.simple.v1+json"),
                (b"Cache-Control", b"max-age=0"),
                (b"ETag", etag),
            ],
            content=json.dumps(PAGE).encode(),
        )

    settings = ClientSettings(index_url="http://index.test/simple/", cache_dir=tmp_path / "c")
    statuses: list[object] = []
    for _ in range(2):  # two runs, the second one revalidating what the first one stored
        store = StatusCache(settings.resolved_cache_dir)
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            client = StatusClient(http=http, cache=store, settings=settings)
            statuses.append((await client.lookup("victim")).status.value)
            await client.aclose()
        store.close()
    return statuses, seen


@pytest.mark.parametrize("etag", ['"caf\u00e9"'.encode(), b'"a\x01b"', b'"' + b"x" * 5000 + b'"'])
async def test_an_unusable_etag_is_not_kept_and_cannot_poison_later_runs(
    tmp_path: Path, etag: bytes
) -> None:
    statuses, seen = await lookup_twice_through(tmp_path, etag)
    assert statuses == ["archived", "archived"]
    assert seen == ["", ""]  # never sent back: the second run fetched the page afresh


async def test_a_good_etag_is_sent_back(tmp_path: Path) -> None:
    statuses, seen = await lookup_twice_through(tmp_path, b'"abc123"')
    assert statuses == ["archived", "archived"]
    assert seen == ["", '"abc123"']


@pytest.mark.parametrize(
    "stored",
    [
        "[]",
        '{"record": "x", "fetched_at": 1, "max_age": 1}',
        '{"record": {"name": 1}, "fetched_at": 1, "max_age": 1}',
        '{"record": null, "fetched_at": "NaN", "max_age": 1}',
        '{"etag": "\\u00e9"}',
        "not json at all",
    ],
)
def test_a_cache_entry_of_the_wrong_shape_is_a_miss_with_a_warning(
    stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from sbom_enrich.status.cache import disk

    disk._warned_unreadable = False  # noqa: SLF001 - the once-per-process warning, reset
    with caplog.at_level(logging.DEBUG, logger="sbom_enrich"):
        assert disk.decode_or_miss("k", stored) is None
        assert disk.decode_or_miss("k", stored) is None
    levels = [r.levelno for r in caplog.records if "unreadable cache entry" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]


def test_a_cached_record_with_raw_text_is_read_clean() -> None:
    from sbom_enrich.status.model import StatusRecord
    from untrusted_text import HOSTILE, assert_terminal_safe

    stored = {
        "name": "demo",
        "status": "deprecated",
        "index": f"https://index.test/simple/{HOSTILE}",
        "checked_at": "2026-12-01T00:00:00Z",
        "reason": f"use other{HOSTILE}",
        "api_version": f"1.4{HOSTILE}",
        "versions": ["1.0", f"2.0{HOSTILE}"],
        "yanked": {f"2.0{HOSTILE}": f"broken{HOSTILE}"},
        "latest_version": f"1.0{HOSTILE}",
        "error": None,
    }
    record = StatusRecord.from_json(stored)
    for text in (record.index_url, record.reason, record.api_version, record.latest_version,
                 *(record.versions or ()), *record.yanked, *record.yanked.values()):  # fmt: skip
        assert text is not None
        assert_terminal_safe(text, lines=False)
    assert record.reason == "use otherclick forged: policy passedgnp.exe end"
    odd = StatusRecord.from_json({**stored, "reason": 7, "versions": ["1.0", 2]})
    assert odd.reason == "7" and odd.versions == ("1.0", "2")


def test_a_clean_cached_record_reads_back_unchanged() -> None:
    from datetime import datetime, timezone

    from sbom_enrich.status.model import ProjectStatus, StatusRecord

    record = StatusRecord(
        name="demo", status=ProjectStatus.ARCHIVED, index_url="https://i/simple/",
        checked_at=datetime(2026, 12, 1, tzinfo=timezone.utc), reason="see  the docs",
        api_version="1.4", versions=("1.0", "2.0"), yanked={"2.0": ""}, latest_version="1.0",
    )  # fmt: skip
    assert StatusRecord.from_json(record.to_json()) == record
