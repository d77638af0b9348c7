"""The Redis record store against a real redis-server: sharing between replicas, outages."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis
from servicekit import MakeService, RedisServer

from indexserver import IndexServer
from sbom_enrich.status.cache.disk import CacheEntry, cache_key
from sbom_enrich.status.cache.redis import KEY_PREFIX, TEXT_PREFIX, RedisRecordStore
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.repository import ProjectMetadata, RepoCache, RepoRecord, RepoState
from sbom_enrich.status.repository import cache as repo_cache_module
from sbom_enrich.status.repository.cache import FOUND_MAX_AGE, repo_cache_key

KEY = cache_key("https://pypi.org/simple/", "nose")


def entry(status: ProjectStatus = ProjectStatus.DEPRECATED, max_age: float = 600) -> CacheEntry:
    record = StatusRecord(
        name="nose",
        status=status,
        index_url="https://pypi.org/simple/",
        checked_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        reason="Unmaintained",
        versions=("1.3.7",),
    )
    return CacheEntry(record, '"etag-1"', time.time(), max_age)


def test_round_trip_ttl_info_and_clear_touch_only_our_keys(redis_server: RedisServer) -> None:
    store = RedisRecordStore(redis_server.url, ttl=3600)
    raw = redis.Redis.from_url(redis_server.url)
    raw.set("someone-else", "keep me")
    store.set(KEY, entry())
    store.set(cache_key("https://pypi.org/simple/", "stale"), entry(max_age=0))
    got = store.get(KEY)
    assert got is not None
    assert got.record.status is ProjectStatus.DEPRECATED
    assert got.record.reason == "Unmaintained" and got.etag == '"etag-1"'
    assert store.get(cache_key("https://pypi.org/simple/", "other")) is None
    assert 3500 < int(raw.ttl(KEY_PREFIX + KEY)) <= 3600
    assert store.usable
    info = store.info()
    assert info["entries"] == 2 and info["fresh"] == 1 and info["backend"] == "redis"
    assert store.clear() == 2
    assert store.get(KEY) is None
    assert raw.get("someone-else") == b"keep me"
    store.close()


def test_credentials_in_the_url_are_never_shown(redis_server: RedisServer) -> None:
    store = RedisRecordStore(f"redis://user:s3cret@127.0.0.1:{redis_server.port}/0")
    assert "s3cret" not in store.url and "s3cret" not in repr(store.info())


def test_redis_going_away_degrades_to_misses_with_one_warning_then_recovers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]  # the store's clock: still while down, moved on to retry
    store = RedisRecordStore(redis_server.url, retry_after=0.5, clock=lambda: now[0])
    store.set(KEY, entry())
    redis_server.kill()
    connects: list[object] = []
    original_connect = redis.connection.AbstractConnection.connect

    def counting_connect(connection: redis.connection.AbstractConnection) -> None:
        connects.append(connection)
        original_connect(connection)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", counting_connect)
    with caplog.at_level(logging.WARNING, logger="sbom_enrich.status.cache.redis"):
        assert store.get(KEY) is None  # finds Redis gone (redis-py may reconnect once)
        tried = len(connects)
        for _ in range(50):
            assert store.get(KEY) is None
            store.set(KEY, entry())
        assert len(connects) == tried  # no per-call connect attempts while down
        assert not store.usable
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "unusable" in warnings[0].getMessage()
        redis_server.start()  # same port, empty (no persistence)
        now[0] += 0.6
        store.set(KEY, entry(ProjectStatus.ARCHIVED))
        got = store.get(KEY)
    assert got is not None and got.record.status is ProjectStatus.ARCHIVED
    assert "is back" in caplog.records[-1].getMessage()


def test_replicas_share_lookups_and_keep_serving_when_redis_dies(
    make_service: MakeService, index_server: IndexServer, either_redis_server: RedisServer
) -> None:
    redis_server = either_redis_server
    first = make_service(index_server.url, cache_url=redis_server.url)
    second = make_service(index_server.url, cache_url=redis_server.url)
    with first.client() as one, second.client() as two:
        assert one.get("/v1/projects/nose").json()["from_cache"] is False
        shared = two.get("/v1/projects/nose").json()
        assert shared["from_cache"] is True and shared["status"] == "deprecated"
        assert two.get("/healthz").json()["cache"] == {"backend": "redis", "usable": True}
        assert index_server.stats.by_project["nose"] == 1

        redis_server.kill()
        answers = [two.get("/v1/projects/pycrypto") for _ in range(3)]
        batch = one.post("/v1/projects:batch", json={"names": ["requests", "nose"]})
        health = two.get("/healthz").json()
        metrics = two.get("/metrics").text
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.json()["status"] for a in answers} == {"archived"}
    # Without the shared cache, only each process's in-flight coalescing remains.
    assert index_server.stats.by_project["pycrypto"] == 3
    assert batch.status_code == 200
    assert [r["status"] for r in batch.json()["records"]] == ["active", "deprecated"]
    assert health["cache"] == {"backend": "redis", "usable": False}
    assert "sbom_enrich_cache_up 0.0" in metrics


def repo_record(state: RepoState = RepoState.FOUND) -> RepoRecord:
    return RepoRecord(
        url="https://github.com/psf/requests",
        forge="github",
        state=state,
        checked_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
        archived=False if state is RepoState.FOUND else None,
        last_commit=datetime(2026, 11, 1, tzinfo=timezone.utc),
    )


REPO_KEY = "github:github.com/psf/requests"


def test_repository_records_are_shared_through_redis_with_a_bounded_ttl(
    redis_server: RedisServer,
) -> None:
    now = time.time()
    replica_one, replica_two = (RepoCache.in_redis(redis_server.url) for _ in range(2))
    replica_one.set(REPO_KEY, repo_record(), now)
    replica_one.set("github:github.com/x/gone", repo_record(RepoState.GONE), now)
    replica_one.set("github:github.com/x/failed", repo_record(RepoState.UNKNOWN), now)
    metadata = ProjectMetadata("nose", {"Source": "https://github.com/nose-devs/nose"})
    replica_one.set_metadata("https://pypi.org/pypi", metadata, now)
    shared = replica_two.get(REPO_KEY, now + 1)
    assert shared is not None and shared.from_cache and shared.archived is False
    assert shared.last_commit == datetime(2026, 11, 1, tzinfo=timezone.utc)
    meta = replica_two.get_metadata("https://pypi.org/pypi", "nose", now + 1)
    assert meta is not None and meta.project_urls["Source"].endswith("nose-devs/nose")
    raw = redis.Redis.from_url(redis_server.url)
    keys = sorted(k.decode() for k in raw.keys("*"))
    assert all(k.startswith(TEXT_PREFIX) for k in keys), keys
    assert len(keys) == 3  # a failed lookup is never stored
    # Each entry leaves Redis when it stops being fresh: a day for found, an hour for gone.
    assert 0 < raw.ttl(TEXT_PREFIX + repo_cache_key(REPO_KEY)) <= FOUND_MAX_AGE
    assert 0 < raw.ttl(TEXT_PREFIX + repo_cache_key("github:github.com/x/gone")) <= 3600
    # The index's store does not count (or stumble over) the repository source's entries.
    assert RedisRecordStore(redis_server.url).info()["entries"] == 0
    for cache in (replica_one, replica_two):
        cache.close()


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        '{"record": {"url": 1}, "fetched_at": NOW, "max_age": 60}',
        '{"record": {}, "fetched_at": "NaN", "max_age": 86400}',
        "[1, 2, 3]",
    ],
)
def test_a_bad_repository_entry_in_redis_is_a_miss_with_one_warning(
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    stored: str,
) -> None:
    monkeypatch.setattr(repo_cache_module, "_warned", False)
    raw = redis.Redis.from_url(redis_server.url)
    for key in (REPO_KEY, "github:github.com/a/b"):
        raw.set(TEXT_PREFIX + repo_cache_key(key), stored.replace("NOW", str(time.time())))
    cache = RepoCache.in_redis(redis_server.url)
    with caplog.at_level(logging.DEBUG, logger="sbom_enrich.status.repository.cache"):
        assert cache.get(REPO_KEY, time.time()) is None
        assert cache.get("github:github.com/a/b", time.time()) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreadable repository cache entry" in warnings[0].getMessage()


def test_a_stored_age_is_never_trusted_past_a_day(redis_server: RedisServer) -> None:
    raw = redis.Redis.from_url(redis_server.url)
    now = time.time()
    forged = {"record": repo_record().to_json(), "fetched_at": now - 3 * 86400, "max_age": 1e12}
    raw.set(TEXT_PREFIX + repo_cache_key(REPO_KEY), json.dumps(forged))
    assert RepoCache.in_redis(redis_server.url).get(REPO_KEY, now) is None


def test_many_keys_are_read_with_mget_and_a_bad_one_is_a_miss(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisRecordStore(redis_server.url, ttl=3600)
    keys = [cache_key("https://pypi.org/simple/", f"p{i}") for i in range(1203)]
    for key in keys:
        store.set(key, entry())
    redis.Redis.from_url(redis_server.url).set(KEY_PREFIX + "junk", "{not json")
    singles = []
    monkeypatch.setattr(store._redis, "get", lambda key: singles.append(key))
    found = store.get_many([*keys, "junk", "absent", keys[0]])
    assert set(found) == set(keys) and not singles
    assert found[keys[5]].record.status is ProjectStatus.DEPRECATED
    store.close()


@pytest.fixture
def unix_redis_server() -> Iterator[RedisServer]:
    """A real redis-server listening only on a socket file (``--port 0``: no TCP)."""
    yield from _unix_redis_server()


@pytest.fixture(params=["tcp", "unix"])
def either_redis_server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """The TCP redis-server, then one on a socket file: ``redis://`` and ``unix://`` URLs."""
    if request.param == "tcp":
        yield request.getfixturevalue("redis_server")
    else:
        yield from _unix_redis_server()


def _unix_redis_server() -> Iterator[RedisServer]:
    # A short directory of its own: a socket path must fit in sun_path (108 bytes), which
    # pytest's tmp_path for a long test name does not.
    directory = Path(tempfile.mkdtemp(prefix="redis-", dir="/tmp"))
    try:
        server = RedisServer(directory, unix_socket=directory / "redis.sock")
    except FileNotFoundError:
        shutil.rmtree(directory)
        pytest.skip("redis-server is not installed (scripts/ensure-redis installs it)")
    try:
        yield server.start()
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_unix_socket_url_reaches_redis(
    unix_redis_server: RedisServer,
) -> None:
    url = unix_redis_server.url
    assert url.startswith("unix:///")
    store = RedisRecordStore(url, ttl=3600)
    store.set(KEY, entry())
    got = store.get(KEY)
    assert got is not None and got.record.status is ProjectStatus.DEPRECATED
    assert store.get_many([KEY, cache_key("https://pypi.org/simple/", "other")]).keys() == {KEY}
    info = store.info()
    assert info["backend"] == "redis" and info["entries"] == 1 and store.usable
    # Written through the socket: a plain client on the same socket sees our key.
    raw = redis.Redis(unix_socket_path=str(unix_redis_server.unix_socket))
    assert raw.ttl(KEY_PREFIX + KEY) > 3500
    assert store.clear() == 1
    store.close()
