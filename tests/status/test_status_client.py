"""The status client against a real index on 127.0.0.1: answers, cache, retries, faults."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from indexserver import Fault, IndexServer, ProjectSpec, release
from sbom_enrich.status._http.client import USER_AGENT, ShardedTransport, build_http_client
from sbom_enrich.status._http.plain import PlainHTTPTransport
from sbom_enrich.status.cache.disk import StatusCache, decode_entry
from sbom_enrich.status.client import (
    MAX_FRESHNESS,
    StatusClient,
    freshness,
    noting_shared_lookups,
    retry_after_seconds,
)
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.settings import ClientSettings

ClientFactory = Callable[..., StatusClient]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[ClientFactory]:
    made: list[httpx.AsyncClient] = []
    stores: list[StatusCache] = []

    def make(server: IndexServer | str, *, cache: bool = True, **options: object) -> StatusClient:
        for earlier in stores:  # an earlier "run" has ended: its gathered writes are committed
            earlier.flush()
        url = server if isinstance(server, str) else server.url
        settings = ClientSettings(index_url=url, cache_dir=tmp_path / "cache", **options)  # type: ignore[arg-type]
        http = build_http_client(settings, netrc_file=tmp_path / "no-netrc")
        made.append(http)
        store = StatusCache(settings.resolved_cache_dir) if cache else None
        if store is not None:
            stores.append(store)
        return StatusClient(http=http, cache=store, settings=settings)

    yield make
    for http in made:
        await http.aclose()
    for store in stores:
        store.close()


async def collect(client: StatusClient, names: list[str]) -> dict[str, StatusRecord]:
    return {record.name: record async for record in client.lookup_many(names)}


async def test_every_status_from_the_default_index(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    client = make_client(index_server)
    names = [
        "requests", "pycrypto", "nose", "evil-pkg", "old-api", "Zope.Interface",
        "silent-pkg", "future-pkg", "string-status", "meta-status", "no-such-project",
    ]  # fmt: skip
    records = await collect(client, names)
    assert {name: r.status.value for name, r in records.items()} == {
        "requests": "active",
        "pycrypto": "archived",
        "nose": "deprecated",
        "evil-pkg": "quarantined",
        "old-api": "unknown",
        "zope-interface": "active",
        "silent-pkg": "active",
        "future-pkg": "unknown",
        "string-status": "archived",
        "meta-status": "deprecated",
        "no-such-project": "not-found",
    }
    assert all(r.error is None for r in records.values())
    assert records["nose"].reason == "Unmaintained since 2015; use pytest"
    requests = records["requests"]
    assert requests.latest_version == "2.32.3"
    facts = requests.version_facts("2.32.0")
    assert facts.yanked and facts.yank_reason and "CVE-2024-35195" in facts.yank_reason
    assert records["evil-pkg"].version_facts("0.0.1").missing
    assert index_server.stats.user_agents == {USER_AGENT}
    assert "sbom-enrich/" in USER_AGENT and "https://" in USER_AGENT


async def test_html_only_index_gives_the_same_answers(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(html_only=True)
    records = await collect(make_client(server), ["requests", "pycrypto", "evil-pkg", "nose"])
    assert records["pycrypto"].status is ProjectStatus.ARCHIVED
    assert records["evil-pkg"].status is ProjectStatus.QUARANTINED
    assert records["nose"].reason == "Unmaintained since 2015; use pytest"
    assert records["requests"].version_facts("2.32.0").yanked


async def test_old_api_index_reports_unknown_not_active(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(api_version="1.1")
    record = await make_client(server).lookup("pycrypto")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is None


async def test_lookup_many_dedupes_by_canonical_name(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    records = [
        r
        async for r in make_client(index_server).lookup_many(
            [
                "Requests",
                "requests",
                "REQUESTS",
                "zope.interface",
                "zope-interface",
                "zope_interface",
            ]
        )
    ]
    assert sorted(r.name for r in records) == ["requests", "zope-interface"]
    assert index_server.stats.full_responses == 2


HOSTILE_NAMES = [
    "evil\x00pkg",
    "requests\r\nX-Injected: 1",
    "requests\n",
    "requests?x=1",
    "requests#frag",
    "../admin",
    "a/b",
    "-leading-dash",
    "x" * 100_000,
]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES, ids=lambda n: repr(n[:24]))
async def test_an_invalid_name_is_unknown_and_never_sent(
    index_server: IndexServer, make_client: ClientFactory, hostile: str
) -> None:
    client = make_client(index_server)
    records = [r async for r in client.lookup_many([hostile, "nose"])]
    by_name = {r.name: r for r in records}
    assert by_name["nose"].status is ProjectStatus.DEPRECATED  # the batch goes on
    (bad,) = [r for r in records if r.name != "nose"]
    assert bad.status is ProjectStatus.UNKNOWN
    assert bad.error and "not a valid project name" in bad.error
    single = await client.lookup(hostile)
    assert single.status is ProjectStatus.UNKNOWN and single.error == bad.error
    # Only nose reached the index: the hostile name was never part of a request path.
    assert index_server.stats.requests == 1
    assert set(index_server.stats.by_project) == {"nose"}


async def test_concurrent_lookups_of_one_name_share_one_request(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    client = make_client(index_server, cache=False)
    index_server.latency = 0.1
    results = await asyncio.gather(*(client.lookup("nose") for _ in range(10)))
    assert {r.status for r in results} == {ProjectStatus.DEPRECATED}
    assert index_server.stats.requests == 1


async def test_results_are_yielded_as_they_complete(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    slow = ProjectSpec("slow", files=release("slow", "1.0"), latency=1.0)
    fast = ProjectSpec("fast", files=release("fast", "1.0"))
    server = make_index_server([slow, fast])
    order = [r.name async for r in make_client(server).lookup_many(["slow", "fast"])]
    assert order == ["fast", "slow"]


async def test_second_run_downloads_no_pages_and_revalidates_after_max_age(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(max_age=1)
    names = ["requests", "pycrypto", "nose"]
    first = await collect(make_client(server), names)
    assert server.stats.full_responses == 3
    warm = make_client(server)
    second = await collect(warm, names)
    assert server.stats.requests == 3  # fresh: nothing asked
    assert all(r.from_cache and not r.stale for r in second.values())
    # Nothing to ask, so no connection made and no httpcore pool built (no CA bundle read).
    transport = warm._http._transport  # noqa: SLF001
    assert isinstance(transport, PlainHTTPTransport) and transport.open_connections == 0
    assert isinstance(transport.fallback, ShardedTransport) and not transport.fallback.built
    time.sleep(1.1)
    server.reset_stats()
    third = await collect(make_client(server), names)
    assert server.stats.conditional == 3 and server.stats.not_modified == 3
    assert server.stats.full_responses == 0 and server.stats.bytes_sent == 0
    assert {n: r.status for n, r in third.items()} == {n: r.status for n, r in first.items()}
    assert all(third[name].checked_at > first[name].checked_at for name in first)


async def test_revalidation_sees_a_project_archived_since(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(max_age=0)
    assert (await make_client(server).lookup("requests")).status is ProjectStatus.ACTIVE
    server.set_status("requests", "archived", "moved on")
    record = await make_client(server).lookup("requests")
    assert (record.status, record.reason) == (ProjectStatus.ARCHIVED, "moved on")


async def test_not_found_is_cached_briefly_and_errors_never(
    index_server: IndexServer, make_client: ClientFactory, tmp_path: Path
) -> None:
    await make_client(index_server).lookup("no-such-project")
    index_server.inject("nose", Fault.SERVER_ERROR)
    failed = await make_client(index_server).lookup("nose")
    assert failed.status is ProjectStatus.UNKNOWN and failed.error and "500" in failed.error
    cache = StatusCache(tmp_path / "cache")
    client = make_client(index_server)
    assert client.cached("no-such-project") is not None
    assert client.cached("nose") is None  # the 500 was not cached
    cache.close()


async def test_offline_answers_from_cache_stale_or_not(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(max_age=0)
    await collect(make_client(server), ["pycrypto"])
    server.reset_stats()
    records = await collect(make_client(server, offline=True), ["pycrypto", "nose"])
    assert server.stats.requests == 0
    assert records["pycrypto"].status is ProjectStatus.ARCHIVED
    assert records["pycrypto"].from_cache and records["pycrypto"].stale
    assert records["nose"].status is ProjectStatus.UNKNOWN
    assert records["nose"].error == "offline and not in the cache"


@pytest.mark.parametrize(
    "fault",
    [Fault.RATE_LIMIT, Fault.UNAVAILABLE, Fault.BAD_GATEWAY, Fault.GATEWAY_TIMEOUT, Fault.RESET],
)
async def test_transient_faults_are_retried(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory, fault: Fault
) -> None:
    server = make_index_server(retry_after="0")
    server.inject("pycrypto", fault, fault)
    record = await make_client(server).lookup("pycrypto")
    assert record.status is ProjectStatus.ARCHIVED
    assert server.stats.by_project["pycrypto"] == 3


async def test_retry_after_is_honoured(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(retry_after="1")
    server.inject("nose", Fault.RATE_LIMIT)
    started = time.monotonic()
    record = await make_client(server).lookup("nose")
    assert record.status is ProjectStatus.DEPRECATED
    assert time.monotonic() - started >= 0.95


async def test_retries_give_up_with_an_error_value(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server(retry_after="0")
    server.inject("nose", *[Fault.UNAVAILABLE] * 10)
    record = await make_client(server, retries=2).lookup("nose")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "503" in record.error
    assert server.stats.by_project["nose"] == 3


async def test_hanging_index_gives_unknown_within_the_timeout_each_lookup_asked(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server()
    server.fault_all = Fault.HANG
    client = make_client(server, timeout=1.0, concurrency=8)
    names = [f"pkg{i}" for i in range(24)]
    records = await collect(client, names)
    assert all(r.error == "timed out after 1 s" for r in records.values()) and len(records) == 24
    # No lookup is failed without being asked (a busy index hangs too): each asked once.
    assert server.stats.by_project == {name: 1 for name in names}


async def test_index_down_trips_the_breaker_then_each_lookup_is_asked_once_unretried(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory
) -> None:
    server = make_index_server()
    server.fault_all = Fault.BAD_GATEWAY  # a run of 5xx: the index is down
    client = make_client(server, retries=2, concurrency=2)
    names = [f"pkg{i}" for i in range(40)]
    records = await collect(client, names)
    assert all(r.error and "HTTP 502" in r.error for r in records.values())
    asked = server.stats.by_project
    assert set(asked) == set(names)  # every lookup that failed was asked
    # Retried (3 attempts each) until BREAKER_THRESHOLD lookups failed in a row; after that
    # no more retries: well under the 120 requests of 40 x 3.
    assert server.stats.requests < 40 * 2
    assert sum(count == 1 for count in asked.values()) >= 40 // 2


async def test_a_slow_but_answering_index_never_trips_the_breaker(
    make_index_server: Callable[..., IndexServer],
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Timeouts from an index that keeps answering others are load, not an outage."""
    server = make_index_server()
    for i in range(12):
        server.inject(f"slow{i}", *[Fault.HANG] * 4)  # resent after a stall: hangs again
    # Longer than FIRST_BYTE_STALL: hanging pages then stop holding the few connections.
    client = make_client(server, timeout=3.0, concurrency=16)
    names = ["requests", "nose"] + [f"slow{i}" for i in range(12)]
    records = await collect(client, names)
    assert sum(r.error == "timed out after 3 s" for r in records.values()) == 12, [
        (r.name, r.status, r.error) for r in records.values()
    ]
    assert records["requests"].status is ProjectStatus.ACTIVE
    assert "seems down" not in caplog.text


async def test_garbage_page_is_an_error_value_and_not_cached(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    index_server.inject("nose", Fault.GARBAGE)
    record = await make_client(index_server).lookup("nose")
    assert record.status is ProjectStatus.UNKNOWN and record.error
    assert (await make_client(index_server).lookup("nose")).status is ProjectStatus.DEPRECATED


async def test_credentials_are_used_but_never_shown(
    make_index_server: Callable[..., IndexServer],
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = make_index_server(auth=("alice", "s3cret"))
    url = server.url.replace("http://", "http://alice:s3cret@")
    # An operator who turns on INFO logging everywhere sees httpx's "HTTP Request: GET <url>".
    client = make_client(url)
    with caplog.at_level(logging.DEBUG):
        record = await client.lookup("pycrypto")
    assert record.status is ProjectStatus.ARCHIVED
    assert "s3cret" not in repr(record) and "alice" not in record.index_url
    # What the client keeps per index holds them, but never shows them (a traceback's locals).
    assert "s3cret" not in repr(client._index_text(url))
    # rich's pretty printer and tracebacks read msgspec's __rich_repr__, not __repr__.
    assert "s3cret" not in repr(list(client._index_text(url).__rich_repr__()))
    assert "HTTP Request: GET" in caplog.text  # the line is there, without the credentials
    assert "s3cret" not in caplog.text
    denied = await make_client(server.url.replace("http://", "http://alice:wrong@")).lookup("nose")
    assert denied.error is not None and "401" in denied.error and "wrong" not in denied.error
    # Percent-encoded credentials are decoded as HTTP Basic needs them.
    server.auth = ("al@ce", "p:ss/w@rd")
    encoded = server.url.replace("http://", "http://al%40ce:p%3Ass%2Fw%40rd@")
    assert (await make_client(encoded).lookup("requests")).status is ProjectStatus.ACTIVE


async def test_netrc_credentials_are_used(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = make_index_server(auth=("bob", "pw"))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password pw\n")
    netrc.chmod(0o600)
    settings = ClientSettings(index_url=server.url, use_cache=False)
    async with build_http_client(settings, netrc_file=netrc) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        assert (await client.lookup("nose")).status is ProjectStatus.DEPRECATED


async def test_redirects_are_followed(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    settings = ClientSettings(index_url=index_server.url, use_cache=False)
    async with build_http_client(settings) as http:
        response = await http.get(index_server.url + "Zope_Interface/")
    assert response.status_code == 200 and len(response.history) == 1


async def test_index_not_allowed_is_refused_without_a_request(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    client = make_client("http://127.0.0.1:1/simple/")
    record = await client.lookup("nose", index_server.url)
    assert record.status is ProjectStatus.UNKNOWN and "not allowed" in (record.error or "")
    assert index_server.stats.requests == 0


async def test_corrupt_cache_degrades_to_no_cache(
    index_server: IndexServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "broken"
    directory.write_text("not a directory")
    settings = ClientSettings(index_url=index_server.url, cache_dir=directory)
    async with build_http_client(settings) as http:
        client = StatusClient(http=http, cache=StatusCache(directory), settings=settings)
        records = await collect(client, ["nose", "pycrypto"])
    assert records["nose"].status is ProjectStatus.DEPRECATED
    warnings = [r for r in caplog.records if "cache" in r.getMessage()]
    assert len(warnings) == 1


async def test_garbled_cache_entry_is_a_miss(
    index_server: IndexServer, make_client: ClientFactory, tmp_path: Path
) -> None:
    import diskcache

    await make_client(index_server).lookup("nose")
    reader = make_client(index_server)  # the first run has ended: its writes are committed
    with diskcache.Cache(str(tmp_path / "cache")) as raw:
        assert len(raw) == 1
        for key in list(raw.iterkeys()):
            raw.set(key, "{garbled")
    index_server.reset_stats()
    record = await reader.lookup("nose")
    assert record.status is ProjectStatus.DEPRECATED and index_server.stats.full_responses == 1


def test_freshness_and_retry_after_parsing() -> None:
    assert freshness(None) == (600.0, True)
    assert freshness("max-age=60, public") == (60.0, True)
    assert freshness("no-store") == (600.0, False)
    assert freshness("no-cache") == (0.0, True)
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds("99999") == 60.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ("max-age=1" + "0" * 400, MAX_FRESHNESS),  # float(int(...)): OverflowError, exit 5
        ("max-age=" + "9" * 5000, MAX_FRESHNESS),  # int() past 4,300 digits
        ("public, max-age=31536000", MAX_FRESHNESS),  # an index cannot pin its answer a year
        ('max-age="60"', 60.0),
        # Not delta-seconds: stale at once (RFC 9111 section 4.2.1), not the default 600 s.
        ("max-age=\u00b2", 0.0),  # a digit to str.isdigit() and int(), not to HTTP
        ("max-age=\uff16\uff10", 0.0),  # fullwidth "60": int() read it as 60
        ("max-age=-5", 0.0),
        ("max-age=soon", 0.0),
    ],
)
def test_a_max_age_is_read_as_delta_seconds_and_bounded(
    cache_control: str, expected: float
) -> None:
    assert freshness(cache_control) == (expected, True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\u00b2", None),  # "²".isdigit() is True, float("²") raised ValueError: exit 5
        ("\u0661", None),
        ("Mon, 01 Jan 2024 00:00:00 -0000", 0.0),  # naive: TypeError against utc_now(), exit 5
        ("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", None),  # OverflowError inside
        ("1" + "0" * 400, 60.0),
    ],
)
def test_a_retry_after_http_cannot_read_is_absent(value: str, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


@pytest.mark.parametrize(
    "retry_after",
    [
        "\u00b2",
        "Mon, 01 Jan 2024 00:00:00 -0000",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    ],
    ids=["superscript-two", "date-minus-0000", "year-of-twenty-digits"],
)
async def test_an_unreadable_retry_after_is_retried_with_the_usual_backoff(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory, retry_after: str
) -> None:
    # The index sends the header as latin-1 bytes (b"\xb2"), as a hostile one would.
    server = make_index_server(retry_after=retry_after)
    server.inject("pycrypto", Fault.UNAVAILABLE, Fault.RATE_LIMIT)
    records = await collect(make_client(server, retries=2), ["pycrypto", "nose"])
    assert records["pycrypto"].status is ProjectStatus.ARCHIVED, records["pycrypto"]
    assert records["nose"].status is ProjectStatus.DEPRECATED
    assert server.stats.by_project["pycrypto"] == 3


async def test_a_max_age_past_any_float_is_an_answer_kept_a_day(
    make_index_server: Callable[..., IndexServer], make_client: ClientFactory, tmp_path: Path
) -> None:
    server = make_index_server(max_age=10**400)
    client = make_client(server)
    records = await collect(client, ["pycrypto", "nose"])
    assert records["pycrypto"].status is ProjectStatus.ARCHIVED and not records["pycrypto"].error
    assert records["nose"].status is ProjectStatus.DEPRECATED
    assert isinstance(client.cache, StatusCache)
    client.cache.flush()
    import diskcache

    with diskcache.Cache(str(tmp_path / "cache")) as raw:
        ages = [decode_entry(raw[key]).max_age for key in raw.iterkeys()]
    assert ages == [MAX_FRESHNESS] * 2


async def test_cancelling_the_first_caller_does_not_fail_the_others(
    index_server: IndexServer, make_client: ClientFactory
) -> None:
    client = make_client(index_server, cache=False)
    index_server.latency = 0.3
    first = asyncio.ensure_future(client.lookup("nose"))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(client.lookup("nose"))
    await asyncio.sleep(0.05)
    first.cancel()
    record = await second
    assert record.status is ProjectStatus.DEPRECATED
    assert first.cancelled()
    assert index_server.stats.requests == 1


async def test_the_lookups_a_block_started_itself_are_noted() -> None:
    """What the service's rate limit charges: a lookup the block started itself; never one
    that joined a lookup of the same project already under way (another block's, or the
    block's own), which asked the index nothing more."""
    asked: list[str] = []
    released = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        asked.append(name)
        await released.wait()
        page = {"meta": {"api-version": "1.4"}, "name": name, "files": []}
        headers = {"Content-Type": "application/vnd.pypi.simple.v1+json"}
        return httpx.Response(200, headers=headers, content=json.dumps(page).encode())

    settings = ClientSettings(index_url="http://index.test/simple/", use_cache=False)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        with noting_shared_lookups() as first:
            started = [asyncio.ensure_future(client.lookup("nose")) for _ in range(2)]
        with noting_shared_lookups() as second:
            joined = asyncio.ensure_future(collect(client, ["nose", "six"]))
        while sorted(asked) != ["nose", "six"]:
            await asyncio.sleep(0.001)
        released.set()
        await asyncio.gather(*started, joined)
    index = "http://index.test/simple/"
    # Its second lookup of nose joined its own first one.
    assert first.asked_the_index(index, "nose") and len(first.index) == 1
    # It joined first's lookup of nose, and asked for six itself.
    assert not second.asked_the_index(index, "nose") and second.asked_the_index(index, "six")
    assert len(second.index) == 1
    assert asked == ["nose", "six"]


def test_netrc_credentials_never_go_in_clear_to_another_origin(tmp_path: Path) -> None:
    from sbom_enrich.status._http.client import NetrcOverTLS

    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine corp.example login bob password pw\nmachine 127.0.0.1 login b password p\n"
    )
    netrc.chmod(0o600)
    auth = NetrcOverTLS(str(netrc), "https://corp.example/simple/")

    def sent(url: str) -> str | None:
        request = next(auth.auth_flow(httpx.Request("GET", url)))
        return request.headers.get("Authorization")

    assert sent("https://corp.example/simple/x/") is not None
    # The same host over plain http (a lock file may name it): never in clear text.
    assert sent("http://corp.example/simple/x/") is None
    assert sent("http://127.0.0.1:8080/simple/x/") is not None  # loopback: not on the wire
    # A plain-http index the user configured still gets its credentials: they chose it.
    plain = NetrcOverTLS(str(netrc), "http://corp.example/simple/")
    assert next(plain.auth_flow(httpx.Request("GET", "http://corp.example/s/"))).headers.get(
        "Authorization"
    )
    assert (
        next(plain.auth_flow(httpx.Request("GET", "http://corp.example:81/s/"))).headers.get(
            "Authorization"
        )
        is None
    )
