"""Per-client rate limits, the batch bound, and short-lived not-found answers in the cache."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import diskcache
import httpx
import pytest
import redis
from servicekit import MakeService, RedisServer, serve_process

from indexserver import IndexServer
from sbom_enrich.errors import ApiError
from sbom_enrich.findings.alternatives import AlternativesCatalog
from sbom_enrich.service.app import Service
from sbom_enrich.service.config import ServiceSettings
from sbom_enrich.service.metrics import ServiceMetrics
from sbom_enrich.service.protocol import EnrichQuery
from sbom_enrich.service.ratelimit import RateLimiter
from sbom_enrich.status.cache.disk import CacheEntry, StatusCache, cache_key
from sbom_enrich.status.client import StatusClient, noting_shared_lookups
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.settings import ClientSettings

FIRST = "first-token-0123456789abcdef"
SECOND = "second-token-0123456789abcdef"
KNOWN = ["requests", "nose", "evil-pkg", "zope.interface", "six"]
WEEK = 7 * 24 * 3600


def random_names(count: int) -> list[str]:
    return [f"no-such-project-{time.monotonic_ns()}-{number}" for number in range(count)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_admits_charges_refunds_and_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, max_clients=3)  # one unit a second
    assert limiter.admit("a") is None  # 59 left
    limiter.charge("a", 1000)  # a big batch is let in once, and puts the caller in debt
    wait = limiter.admit("a")
    assert wait == pytest.approx(942.0)  # back to one unit after 942 s
    limiter.refund("a", 900)  # the cache answered 900 of them
    assert limiter.admit("a") == pytest.approx(42.0)
    clock.now += 42
    assert limiter.admit("a") is None
    assert limiter.admit("b") is None  # callers do not share buckets
    clock.now += 10_000
    assert limiter.admit("a") is None
    for _ in range(59):
        assert limiter.admit("a") is None
    assert limiter.admit("a") == pytest.approx(1.0)  # a bucket holds at most a minute's worth
    for name in ("c", "d", "e"):  # the least recently seen caller is forgotten first
        limiter.admit(name)
    assert "b" not in limiter._buckets and len(limiter._buckets) == 3


def test_a_flood_of_random_names_is_rate_limited_per_token(
    make_service: MakeService, index_server: IndexServer, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{FIRST}\n{SECOND}\n")
    service = make_service(index_server.url, rate_limit=10, token_file=tokens)
    with service.client() as http:
        flood = http.post(
            "/v1/projects:batch", json={"names": random_names(30)}, headers=bearer(FIRST)
        )
        limited = [http.get("/v1/projects/nose", headers=bearer(FIRST)) for _ in range(3)]
        other = http.get("/v1/projects/nose", headers=bearer(SECOND))
        health = http.get("/healthz")
        metrics = http.get("/metrics")
    assert flood.status_code == 200  # let in while the bucket held a unit...
    for response in limited:  # ...then 30 index lookups put the token 21 units in debt
        assert response.status_code == 429, response.text
        assert int(response.headers["Retry-After"]) >= 60
        assert "rate limit of 10" in response.json()["error"]
    assert other.status_code == 200  # another token has its own bucket
    assert health.status_code == 200 and metrics.status_code == 200
    assert index_server.stats.requests == 31  # the limited requests never reached the index


def test_requests_let_in_by_their_headers_cannot_all_take_the_bucket_below_zero(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """A request is let in by its headers and charged once its body is read: the headers of
    five batches sent first, then their bodies, had all five let in (a bucket of 10 units
    paid for 150 lookups). Only one request may take the bucket below zero."""
    service = make_service(index_server.url, rate_limit=10)
    bodies = [json.dumps({"names": random_names(30)}).encode() for _ in range(5)]
    connections = [
        socket.create_connection(("127.0.0.1", service.port), timeout=30) for _ in bodies
    ]
    try:
        for connection, body in zip(connections, bodies, strict=True):
            connection.sendall(
                b"POST /v1/projects:batch HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
        time.sleep(0.5)  # every request let in by its headers before any body arrives
        for connection, body in zip(connections, bodies, strict=True):
            connection.sendall(body)
        answers = []
        for connection in connections:
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
            answers.append(received)
    finally:
        for connection in connections:
            connection.close()
    statuses = sorted(int(answer.split(b" ", 2)[1]) for answer in answers)
    assert statuses == [200, 429, 429, 429, 429], statuses
    refused = next(answer for answer in answers if answer.startswith(b"HTTP/1.1 429"))
    assert b"retry-after: " in refused.lower() and b"rate limit of 10" in refused
    assert index_server.stats.requests == 30  # one batch's lookups, not five


def test_without_tokens_each_client_address_has_its_own_bucket(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, rate_limit=10)
    with service.client() as http:
        assert http.post("/v1/projects:batch", json={"names": random_names(20)}).is_success
        limited = http.get("/v1/projects/nose")
    # Linux routes all of 127.0.0.0/8 to loopback: a second client address on this machine.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with service.client(transport=transport) as http:
        other = http.get("/v1/projects/nose")
    assert limited.status_code == 429
    assert other.status_code == 200


def test_answers_from_the_cache_cost_only_the_request(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, rate_limit=10)
    with service.client() as http:
        cold = http.post("/v1/projects:batch", json={"names": KNOWN})  # 1 + 5 units
        warm = [http.post("/v1/projects:batch", json={"names": KNOWN}) for _ in range(3)]
    assert cold.status_code == 200
    assert [response.status_code for response in warm] == [200, 200, 200]
    assert index_server.stats.requests == len(KNOWN)


def active_page(name: str) -> httpx.Response:
    """The index's PEP 691 page of ``name``, active and without files."""
    page = {"meta": {"api-version": "1.4"}, "name": name, "files": []}
    page["project-status"] = {"status": "active"}
    headers = {"Content-Type": "application/vnd.pypi.simple.v1+json"}
    return httpx.Response(200, headers=headers, content=json.dumps(page).encode())


class HeldIndex:
    """An index (an httpx mock transport) that answers every project page, active, only once
    :meth:`release` is called; ``asked`` counts the pages asked for."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        self._released = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.asked[name] += 1
        await self._released.wait()
        return active_page(name)

    def release(self) -> None:
        self._released.set()


def sbom_of(names: list[str]) -> bytes:
    components = [{"type": "library", "name": n, "purl": f"pkg:pypi/{n}@1.0"} for n in names]
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**document, "components": components}).encode()


@pytest.mark.parametrize("route", ["batch", "enrich"])
async def test_names_another_request_is_already_looking_up_cost_nothing_more(
    route: str,
) -> None:
    """Two requests ask the same names at once: the index is asked once, and the second
    request's names are charged as cache answers (it made the index do nothing). They were
    charged again: a caller's two overlapping requests paid twice for one set of lookups."""
    names = ["alpha", "beta", "gamma", "delta"]
    index = HeldIndex()
    clock = FakeClock()  # no refill while the test runs: the bucket's level is exact
    limiter = RateLimiter(60, clock=clock)
    settings = ServiceSettings(
        client=ClientSettings(index_url="http://index.test/simple/", use_cache=False)
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(index)) as http:
        client = StatusClient(http=http, cache=None, settings=settings.client)
        metrics = ServiceMetrics(lambda: client, lambda: None)
        service = Service(settings, client, AlternativesCatalog.load(), metrics, limiter)

        async def ask(caller: str) -> list[bool]:
            """Each name's from_cache, as the service answered ``caller``."""
            deadline = time.monotonic() + 60
            if route == "batch":
                records = await service.records(names, None, deadline, caller)
            else:
                query = EnrichQuery(frozenset(), allow_incomplete=True, report=False)
                data = sbom_of(names)
                done = await service.enrich(
                    data, "application/json", "json", query, deadline, caller
                )
                records = [finding.record for finding in done.report.findings]
            return [record.from_cache for record in records]

        # Each request's lookup of a project goes through the client's flight for it: the
        # test waits until all three requests have reached theirs.
        flights: Counter[str] = Counter()
        flight = client._flight

        def counted(index_url: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
            flights[key_name] += 1
            return flight(index_url, key_name, *args, **kwargs)

        client._flight = counted  # type: ignore[method-assign]
        first = asyncio.ensure_future(ask("caller"))
        while sum(index.asked.values()) < len(names):  # its lookups are under way
            await asyncio.sleep(0.001)
        second = asyncio.ensure_future(ask("caller"))
        other = asyncio.ensure_future(ask("another caller"))
        while any(flights[name] < 3 for name in names):  # both joined them
            await asyncio.sleep(0.001)
        index.release()
        answers = await asyncio.gather(first, second, other)
        await client.aclose()
    assert answers == [[False] * len(names)] * 3  # none came from a cache
    assert index.asked == {name: 1 for name in names}
    # The caller paid for its first request's four lookups once, not again for the second's;
    # the other caller paid for none of them (the middleware's one unit a request is not
    # taken here: the service is called directly).
    assert limiter._buckets["caller"].level == 60 - len(names)
    assert limiter._buckets["another caller"].level == 60


INDEX_URL = "http://index.test/simple/"


async def test_a_caller_pays_only_for_the_charged_lookups_its_request_started() -> None:
    """Lookups a request makes beyond the names it was charged for (the maintenance survey's
    candidate alternatives) cost it nothing, whether it started them or joined another
    request's; of the charged names, it pays for those it asked the index about itself."""
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock)
    settings = ServiceSettings(client=ClientSettings(index_url=INDEX_URL, use_cache=False))
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: active_page("x"))) as h:
        client = StatusClient(http=h, cache=None, settings=settings.client)
        metrics = ServiceMetrics(lambda: client, lambda: None)
        service = Service(settings, client, AlternativesCatalog.load(), metrics, limiter)
        checked = datetime(2026, 12, 1, tzinfo=timezone.utc)
        charged = [StatusRecord(name, ProjectStatus.ACTIVE, INDEX_URL, checked) for name in "ab"]
        with noting_shared_lookups() as shared:
            shared.index.note(f"{INDEX_URL}|a", started=False)  # joined another request's
            shared.index.note(f"{INDEX_URL}|b", started=True)
            shared.index.note(f"{INDEX_URL}|candidate", started=True)  # never charged
        service._charge("caller", len(charged))
        service._refund("caller", len(charged), charged, shared)
        await client.aclose()
    assert limiter._buckets["caller"].level == 60 - 1  # b's unit only


@pytest.mark.parametrize("cached", [False, True])
async def test_components_that_ask_the_index_nothing_cost_nothing(
    cached: bool, tmp_path: Path
) -> None:
    """`POST /v1/enrich` charges a unit per lookup the run makes: a component whose purl
    cannot be read, one whose purl names an index that is not allowed, and an invalid project
    name ask the index nothing and cost nothing, as an answer from the cache costs nothing.
    All of them were charged (one unit per distinct purl name and repository URL)."""
    asked: list[str] = []

    def index(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        asked.append(name)
        return active_page(name)

    limiter = RateLimiter(60, clock=FakeClock())  # no refill while the test runs
    settings = ServiceSettings(
        client=ClientSettings(index_url=INDEX_URL, cache_dir=tmp_path, use_cache=cached)
    )
    components = [
        {"type": "library", "name": "alpha", "purl": "pkg:pypi/alpha@1.0"},
        {"type": "library", "name": "broken", "purl": "pkg:pypi/@1.0"},  # no name: unreadable
        {"type": "library", "name": "bad", "purl": "pkg:pypi/-bad-@1.0"},  # not a valid name
        {
            "type": "library",
            "name": "beta",
            "purl": "pkg:pypi/beta@1.0?repository_url=http://elsewhere.test/simple/",
        },
    ]
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    sbom = json.dumps({**document, "components": components}).encode()
    query = EnrichQuery(frozenset(), allow_incomplete=True, report=False)
    levels = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(index)) as http:
        cache = StatusCache(tmp_path) if cached else None
        client = StatusClient(http=http, cache=cache, settings=settings.client)
        metrics = ServiceMetrics(lambda: client, lambda: None)
        service = Service(settings, client, AlternativesCatalog.load(), metrics, limiter)
        for _ in range(2):
            deadline = time.monotonic() + 60
            done = await service.enrich(sbom, "application/json", "json", query, deadline, "c")
            levels.append(limiter._buckets["c"].level)
        await client.aclose()
        if cache is not None:
            cache.close()
    statuses = {f.record.name: f.record.status.value for f in done.report.findings}
    assert statuses == {"alpha": "active", "-bad-": "unknown", "beta": "unknown"}
    # alpha asked the index each time, or once when the cache holds its answer after that.
    assert asked == (["alpha"] if cached else ["alpha", "alpha"])
    assert levels == ([59, 59] if cached else [59, 58])


def test_batch_bound_is_a_setting_with_a_clear_message(
    index_server: IndexServer, tmp_path: Path
) -> None:
    env = {"SBOM_ENRICH_MAX_BATCH": "3", "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache")}
    with (
        serve_process(["--index-url", index_server.url], env) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        fits = http.post("/v1/projects:batch", json={"names": KNOWN[:3]})
        too_many = http.post("/v1/projects:batch", json={"names": KNOWN[:4]})
        schema = http.get("/openapi.json").json()
    assert fits.status_code == 200
    assert too_many.status_code == 422
    message = too_many.json()["error"]
    assert "4 names" in message and "limit of 3" in message and "split" in message
    batch = schema["components"]["schemas"]["BatchRequest"]["properties"]["names"]
    assert batch["maxItems"] == 3


def redis_ttls(server: RedisServer) -> dict[str, int]:
    client = redis.Redis.from_url(server.url)
    try:
        return {key.decode().rsplit("|", 1)[1]: client.ttl(key) for key in client.scan_iter()}
    finally:
        client.close()


def test_not_found_answers_leave_redis_within_minutes(
    make_service: MakeService, index_server: IndexServer, redis_server: RedisServer
) -> None:
    service = make_service(index_server.url, cache_url=redis_server.url)
    names = random_names(5)
    with service.client() as http:
        response = http.post("/v1/projects:batch", json={"names": ["nose", *names]})
    assert response.status_code == 200
    ttls = redis_ttls(redis_server)
    assert WEEK - 60 < ttls["nose"] <= WEEK
    assert sorted(ttls) == sorted(["nose", *names])
    for name in names:
        assert 120 <= ttls[name] <= 600, (name, ttls[name])  # outlives its 120 s freshness


def test_not_found_ttl_setting_reaches_the_disk_cache(
    make_service: MakeService, index_server: IndexServer, tmp_path: Path
) -> None:
    service = make_service(index_server.url, cache_dir=tmp_path / "cache", not_found_ttl=30)
    [name] = random_names(1)
    with service.client() as http:
        assert http.post("/v1/projects:batch", json={"names": ["nose", name]}).is_success
    service.stop()  # flushes the cache's gathered writes
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        expiry = {key.rsplit("|", 1)[1]: cache.get(key, expire_time=True)[1] for key in cache}
    assert expiry["nose"] is None  # kept like any answer (culled by size, revalidated by ETag)
    assert expiry[name] is not None and 0 < expiry[name] - time.time() <= 30


def test_cli_disk_cache_keeps_not_found_answers_as_before(tmp_path: Path) -> None:
    """The parameter is the front end's choice: without it nothing expires."""
    store = StatusCache(tmp_path / "cache")
    checked = datetime.now(timezone.utc)
    record = StatusRecord("gone", ProjectStatus.NOT_FOUND, "https://i/simple/", checked)
    store.set(cache_key("https://i/simple/", "gone"), CacheEntry(record, None, time.time(), 60))
    store.close()
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        [key] = list(cache)
        assert cache.get(key, expire_time=True)[1] is None


def test_token_guesses_are_rate_limited_by_address(
    make_service: MakeService, index_server: IndexServer, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{FIRST}\n")
    service = make_service(index_server.url, rate_limit=5, token_file=tokens)
    with service.client() as http:
        guesses = [
            http.get("/v1/projects/nose", headers=bearer(f"guess-{n:020d}")) for n in range(8)
        ]
        holder = http.get("/v1/projects/nose", headers=bearer(FIRST))
    codes = [response.status_code for response in guesses]
    assert codes[:5] == [401] * 5  # a full bucket holds five units
    limited = [response for response in guesses[5:] if response.status_code == 429]
    assert limited and all("Retry-After" in response.headers for response in limited)
    assert holder.status_code == 200  # the token's own bucket is untouched


class HeldForge:
    """An index and its JSON project API answering at once (each project active, its
    repository github.com/o/<name>), and a GitHub REST API that answers only once
    :meth:`release` is called; ``asked`` counts what each was asked, by (host, name)."""

    def __init__(self) -> None:
        self.asked: Counter[tuple[str, str]] = Counter()
        self._released = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        name = path.removesuffix("/json").rstrip("/").rsplit("/", 1)[-1]
        self.asked[host, name] += 1
        if host == "forge.test":
            await self._released.wait()
            repository = {"full_name": f"o/{name}", "archived": False}
            return httpx.Response(200, json={**repository, "pushed_at": "2026-11-01T10:00:00Z"})
        if path.startswith("/pypi/"):
            return httpx.Response(
                200, json={"info": {"project_urls": {"Source": f"https://github.com/o/{name}"}}}
            )
        return active_page(name)

    def release(self) -> None:
        self._released.set()

    def forge_asked(self) -> int:
        return sum(count for (host, _), count in self.asked.items() if host == "forge.test")


@pytest.mark.parametrize("route", ["batch", "enrich"])
async def test_repositories_another_request_is_already_asking_about_cost_nothing_more(
    route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With maintenance on, each project costs a second unit for the forge. Two requests
    asking about the same repositories at once: the forge is asked once, and the requests
    that joined those lookups get the forge's unit back (they made the forge do nothing).
    They paid it again: the same double charge as for index lookups under way."""
    from sbom_enrich.status.maintenance import StalePolicy
    from sbom_enrich.status.repository.settings import RepositorySettings
    from sbom_enrich.status.repository.source import RepositorySource
    from sbom_enrich.status.repository.survey import MaintenanceSurvey
    from sbom_enrich.status.repository.urls import RepoRef

    names = ["alpha", "beta", "gamma", "delta"]
    upstream = HeldForge()
    limiter = RateLimiter(60, clock=FakeClock())  # no refill while the test runs
    settings = ServiceSettings(
        client=ClientSettings(index_url="http://index.test/simple/", use_cache=False)
    )
    repository = RepositorySettings(
        github_api_url="http://forge.test/github", project_api_url="http://index.test/pypi"
    )
    # A request asks the forges in one query_all call, which starts or joins each lookup
    # before it first waits: the test waits until each request has made it.
    surveys: list[str] = []
    query_all = RepositorySource.query_all

    def counted(self: RepositorySource, subjects: Iterable[RepoRef]) -> AsyncIterator[Any]:
        surveys.append("asked")
        return query_all(self, subjects)

    monkeypatch.setattr(RepositorySource, "query_all", counted)
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = StatusClient(http=http, cache=None, settings=settings.client)
        source = RepositorySource(http=http, settings=repository, cache=None)
        survey = MaintenanceSurvey(http, client, source, repository, StalePolicy())
        metrics = ServiceMetrics(lambda: client, lambda: None)
        catalog = AlternativesCatalog.load()
        service = Service(settings, client, catalog, metrics, limiter, survey)

        async def ask(caller: str) -> list[str]:
            """Each name's maintenance verdict, as the service answered ``caller``."""
            deadline = time.monotonic() + 60
            if route == "batch":
                records = await service.records(names, None, deadline, caller)
                answers = await service.maintenance(records, deadline, caller)
                return [answers[name].verdict.verdict.value for name in names]
            query = EnrichQuery(frozenset(), allow_incomplete=True, report=False)
            done = await service.enrich(
                sbom_of(names), "application/json", "json", query, deadline, caller
            )
            return [
                f.maintenance.verdict.value if f.maintenance else "none"
                for f in done.report.findings
            ]

        async def until(condition: Callable[[], bool]) -> None:
            while not condition():
                await asyncio.sleep(0.001)

        first = asyncio.ensure_future(ask("caller"))
        # Its forge lookups are under way (the index answered at once).
        await until(lambda: upstream.forge_asked() == len(names))
        # One after the other, so that they never share an index lookup: only the forge's
        # lookups are under way for the others to join.
        second = asyncio.ensure_future(ask("caller"))
        await until(lambda: len(surveys) == 2)
        other = asyncio.ensure_future(ask("another caller"))
        await until(lambda: len(surveys) == 3)
        upstream.release()
        answers = await asyncio.gather(first, second, other)
        await source.aclose()
        await client.aclose()
    assert answers == [["active"] * len(names)] * 3
    assert {name: upstream.asked["forge.test", name] for name in names} == dict.fromkeys(names, 1)
    # No cache: each request made the index answer its four names (four units each); the
    # caller's first request paid the forge's four, and nobody paid them again.
    assert limiter._buckets["caller"].level == 60 - 3 * len(names)
    assert limiter._buckets["another caller"].level == 60 - len(names)


#: Where the project API says each project's source is (None: it names none).
_SOURCES = {
    "alpha": "https://github.com/o/shared",
    "beta": "https://github.com/o/shared",  # the same repository as alpha's
    "gamma": None,  # no repository: nothing to ask a forge
    "delta": "https://code.example.org/o/delta",  # a host that is no configured forge
    "epsilon": "https://github.com/o/epsilon",
}


async def _forge_and_index(request: httpx.Request) -> httpx.Response:
    """The index (each project active), its JSON project API (the sources above) and a GitHub
    REST API (each repository active), answering at once."""
    name = request.url.path.removesuffix("/json").rstrip("/").rsplit("/", 1)[-1]
    if request.url.host == "forge.test":
        repository = {"full_name": f"o/{name}", "archived": False}
        return httpx.Response(200, json={**repository, "pushed_at": "2026-11-01T10:00:00Z"})
    if request.url.path.startswith("/pypi/"):
        source = _SOURCES[name]
        return httpx.Response(
            200, json={"info": {"project_urls": {"Source": source} if source else {}}}
        )
    return active_page(name)


@asynccontextmanager
async def surveying_service(
    upstream: Callable[[httpx.Request], Awaitable[httpx.Response]],
    limiter: RateLimiter,
    repo_cache: Any = None,
) -> AsyncIterator[Service]:
    """A service with the maintenance survey on, its index and forge answered by ``upstream``
    (no status cache), charging ``limiter``; its clients closed at the end."""
    from sbom_enrich.status.maintenance import StalePolicy
    from sbom_enrich.status.repository.settings import RepositorySettings
    from sbom_enrich.status.repository.source import RepositorySource
    from sbom_enrich.status.repository.survey import MaintenanceSurvey

    settings = ServiceSettings(
        client=ClientSettings(index_url="http://index.test/simple/", use_cache=False)
    )
    repository = RepositorySettings(
        github_api_url="http://forge.test/github", project_api_url="http://index.test/pypi"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = StatusClient(http=http, cache=None, settings=settings.client)
        source = RepositorySource(http=http, settings=repository, cache=repo_cache)
        survey = MaintenanceSurvey(http, client, source, repository, StalePolicy())
        metrics = ServiceMetrics(lambda: client, lambda: None)
        try:
            yield Service(settings, client, AlternativesCatalog.load(), metrics, limiter, survey)
        finally:
            await source.aclose()
            await client.aclose()


@pytest.mark.parametrize("route", ["batch", "enrich"])
async def test_a_caller_pays_for_the_repositories_its_request_asked_a_forge_about(
    route: str, tmp_path: Path
) -> None:
    """With maintenance on, each project is charged a second unit, and the units of the
    projects that asked no forge come back: two projects sharing one repository pay for one
    lookup, a project with no repository, or one on a host that is no configured forge, pays
    nothing, and neither does a repository the cache answers. The first three kept their unit
    (a unit came back only for a cached or joined answer)."""
    from sbom_enrich.status.maintenance import MaintenanceVerdict
    from sbom_enrich.status.repository import RepoCache

    names = list(_SOURCES)
    asked: Counter[str] = Counter()

    async def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.host == "forge.test":
            asked[request.url.path] += 1
        return await _forge_and_index(request)

    limiter = RateLimiter(60, clock=FakeClock())  # no refill while the test runs
    cache = RepoCache.beside(tmp_path)
    async with surveying_service(upstream, limiter, cache) as service:

        async def ask() -> dict[str, MaintenanceVerdict | None]:
            """Each project's verdict, as the service answered the caller."""
            deadline = time.monotonic() + 60
            if route == "batch":
                records = await service.records(names, None, deadline, "caller")
                answers = await service.maintenance(records, deadline, "caller")
                return {name: answers[name].verdict for name in names}
            query = EnrichQuery(frozenset(), allow_incomplete=True, report=False)
            done = await service.enrich(
                sbom_of(names), "application/json", "json", query, deadline, "caller"
            )
            return {f.record.name: f.maintenance for f in done.report.findings}

        first = await ask()
        after_first = limiter._buckets["caller"].level
        second = await ask()
    cache.store.close()
    for verdicts in (first, second):
        shown = {name: (v.verdict.value if v else None) for name, v in verdicts.items()}
        # What the survey found: the forge's answers, and no repository for gamma and delta.
        assert shown == {
            "alpha": "active",
            "beta": "active",
            "gamma": "unknown",
            "delta": "unknown",
            "epsilon": "active",
        }
    assert sorted(asked) == ["/github/repos/o/epsilon", "/github/repos/o/shared"]
    assert set(asked.values()) == {1}  # once each: the second request's came from the cache
    # Five index lookups each time (no status cache), and the two repositories the forge was
    # asked about, by the first request only.
    assert after_first == 60 - len(names) - 2
    assert limiter._buckets["caller"].level == after_first - len(names)


@pytest.mark.parametrize("per_minute", [60, 4])
async def test_a_request_is_never_refused_after_the_lookups_it_paid_for(per_minute: int) -> None:
    """With maintenance on, a request is charged twice: its lookups, then its survey. When
    the first charge took the bucket below zero, the second was refused: 429 after the index
    lookups were done and paid for. A second charge of one request is never refused."""
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    limiter = RateLimiter(per_minute, clock=FakeClock())
    async with surveying_service(_forge_and_index, limiter) as service:
        deadline = time.monotonic() + 60
        records = await service.records(names, None, deadline, "caller")  # as the batch does
        answers = await service.maintenance(records, deadline, "caller")
    assert set(answers) == set(names)
    # The next request of this caller, with the bucket below zero, is refused at its charge.
    if per_minute == 4:
        with pytest.raises(ApiError) as caught:
            service._charge("caller", 1)
        assert caught.value.status == 429 and caught.value.headers is not None
