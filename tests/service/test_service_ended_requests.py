"""A request that ends (its deadline, its client hanging up) ends the lookups only it awaited."""

from __future__ import annotations

import gc
import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from servicekit import MakeIndexServer, MakeService, RedisServer, RunningService

from indexserver import ProjectSpec
from sbom_enrich.enrich.document import Sbom
from sbom_enrich.status.cache.disk import cache_key
from sbom_enrich.status.cache.redis import KEY_PREFIX

SLOW = [f"slow-{n}" for n in range(5)]


def projects() -> list[ProjectSpec]:
    names = [*SLOW, "fast", "shared", "alone", "marker"]
    return [
        ProjectSpec(name, status="quarantined" if name == "shared" else "active") for name in names
    ]


def metric(service: RunningService, line_start: str) -> float | None:
    """The value of the first /metrics line that starts with ``line_start``, if any."""
    with service.client() as http:
        text = http.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_until(what: str, condition: Callable[[], bool], seconds: float = 15.0) -> None:
    """Poll ``condition`` until it holds (a state other threads reach), else fail naming it."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.02)


IN_FLIGHT = "sbom_enrich_index_lookups_in_flight "


@pytest.mark.parametrize("cache", ["disk", "redis"])
def test_a_timed_out_request_stops_its_lookups_and_holds_up_nobody(
    make_service: MakeService,
    make_index_server: MakeIndexServer,
    request: pytest.FixtureRequest,
    cache: str,
) -> None:
    index = make_index_server(projects())
    for name in SLOW:
        index.hold(name)  # an index that does not answer these before the request's deadline
    changes = {}
    if cache == "redis":
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        changes["cache_url"] = redis_server.url
    # One connection to the index: lookups left running would hold it from everyone else.
    service = make_service(index.url, request_timeout=2.0, concurrency=1, rate_limit=0, **changes)
    with service.client() as http:
        timed_out = http.post("/v1/projects:batch", json={"names": SLOW})
        in_flight = metric(service, IN_FLIGHT)
        fast = http.get("/v1/projects/fast")
        for name in SLOW:
            index.release(name)
        again = http.get("/v1/projects/slow-0")
        queued = http.get("/v1/projects/slow-4")

    assert timed_out.status_code == 504
    # The one connection was free at once: before, it waited behind the slow lookups (30 s
    # each, the lookup timeout) and this request timed out too.
    assert fast.status_code == 200 and fast.json()["status"] == "active"
    assert in_flight == 0
    assert "retry goes further" in timed_out.json()["error"]
    # The slot's lookup ended with the request; the queued ones never reached the index.
    assert [index.stats.by_project[name] for name in SLOW[1:4]] == [0, 0, 0]
    # Asked again, each is a fresh lookup: no cancelled lookup left to join, nothing cached.
    assert again.status_code == 200 and again.json()["status"] == "active"
    assert queued.status_code == 200 and queued.json()["status"] == "active"
    assert index.stats.by_project["slow-0"] == 2 and index.stats.by_project["slow-4"] == 1
    if cache == "redis":
        stored = redis.Redis.from_url(redis_server.url)
        shown = index.url
        assert stored.exists(KEY_PREFIX + cache_key(shown, "slow-0"))  # answered the 2nd time
        assert not stored.exists(KEY_PREFIX + cache_key(shown, "slow-1"))  # never answered


def test_a_timed_out_enrichment_lets_go_of_its_sbom(
    make_service: MakeService, make_index_server: MakeIndexServer
) -> None:
    index = make_index_server(projects())
    marker = "slow-3"
    index.hold(marker)
    service = make_service(index.url, request_timeout=1.0, rate_limit=0)
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {"type": "library", "name": marker, "version": "1.0", "purl": f"pkg:pypi/{marker}@1.0"}
        ],
    }
    with service.client() as http:
        response = http.post(
            "/v1/enrich",
            content=json.dumps(document),
            headers={"Content-Type": "application/vnd.cyclonedx+json"},
        )
    assert response.status_code == 504
    gc.collect()
    alive = [
        sbom
        for sbom in gc.get_objects()
        if isinstance(sbom, Sbom) and any(c.name == marker for c in sbom.pypi_components())
    ]
    # Before, the timed-out work kept running with the parsed document (a 12 MiB SBOM of
    # 40,000 names: RSS 41 -> 723 MB over three requests).
    assert alive == []
    assert metric(service, IN_FLIGHT) == 0


def _hang_up_later(service: RunningService, names: list[str]) -> socket.socket:
    """A client that sent a batch request and waits for its answer, until it is closed."""
    body = json.dumps({"names": names}).encode()
    conn = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    conn.sendall(
        b"POST /v1/projects:batch HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    return conn


def test_a_client_hanging_up_cancels_only_the_lookups_nobody_else_awaits(
    make_service: MakeService, make_index_server: MakeIndexServer
) -> None:
    index = make_index_server(projects())
    for name in ("shared", "alone", "marker"):
        index.hold(name)
    service = make_service(index.url, request_timeout=60.0, rate_limit=0)
    leaving = _hang_up_later(service, ["shared", "alone"])
    wait_until(
        "the first request's lookups reach the index",
        lambda: index.stats.by_project["shared"] == 1 and index.stats.by_project["alone"] == 1,
    )
    with ThreadPoolExecutor(1) as pool, service.client() as http:
        staying = pool.submit(http.post, "/v1/projects:batch", json={"names": ["shared", "marker"]})
        # Its lookups start together: once "marker" is asked, it awaits "shared" too.
        wait_until("the second request joins", lambda: index.stats.by_project["marker"] == 1)
        leaving.close()
        closed = (
            'sbom_enrich_http_requests_total{method="POST",route="/v1/projects:batch",status="499"}'
        )
        wait_until("the service sees the hang-up", lambda: metric(service, closed) == 1)
        in_flight = metric(service, IN_FLIGHT)
        for name in ("shared", "alone", "marker"):
            index.release(name)
        answer = staying.result(timeout=30)
        alone = http.get("/v1/projects/alone")

    # "alone" was cancelled with the request that alone awaited it; "shared" went on.
    assert in_flight == 2
    assert answer.status_code == 200
    statuses = [record["status"] for record in answer.json()["records"]]
    assert statuses == ["quarantined", "active"]
    assert index.stats.by_project["shared"] == 1  # one lookup, shared, never restarted
    # Asked again, "alone" is a fresh lookup (no cancelled one left listed to join).
    assert alone.status_code == 200 and alone.json()["status"] == "active"
    assert index.stats.by_project["alone"] == 2
    assert metric(service, IN_FLIGHT) == 0
