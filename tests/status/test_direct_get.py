"""Index GETs that skip httpx's client layer send and read exactly what the httpx path does.

The same client takes the httpx path when it has an event hook (``direct.IndexGetter`` steps
aside), so every case is run both ways against the scripted raw server and compared byte for
byte: request heads, records, lookup errors.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from raw_http import RawServer, Serve, reply, serve

from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status._http.direct import AnswerHeaders
from sbom_enrich.status.cache.disk import StatusCache
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.settings import ClientSettings

__all__ = ["serve"]  # the fixture, used by name

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
PATHS = ["direct", "httpx"]


def page(name: str) -> bytes:
    return json.dumps(
        {"meta": {"api-version": "1.4"}, "name": name, "files": [], "versions": [],
         "project-status": {"status": "archived"}}
    ).encode()  # fmt: skip


def answer_bytes(status: str, headers: list[str], body: bytes = b"") -> bytes:
    head = "".join(f"{h}\r\n" for h in (f"Content-Length: {len(body)}", *headers))
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode("latin-1") + body


Route = Callable[[str, bytes], bytes]  # (project name, request head) -> raw answer


async def start(serve: Serve, route: Route) -> RawServer:
    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        name = head.split(b" ")[1].rstrip(b"/").rsplit(b"/", 1)[1].decode()
        await reply(writer, route(name, head))
        return True

    return await serve(answer)


async def run(
    path: str,
    index_url: str,
    names: list[str],
    *,
    netrc: Path,
    cache_dir: Path | None = None,
    **options: object,
) -> dict[str, StatusRecord]:
    settings = ClientSettings(
        index_url=index_url,
        use_cache=cache_dir is not None,
        cache_dir=cache_dir,
        retries=0,
        **options,  # type: ignore[arg-type]
    )
    store = StatusCache(settings.resolved_cache_dir) if cache_dir is not None else None
    async with build_http_client(settings, netrc_file=netrc) as http:
        if path == "httpx":

            async def hook(request: httpx.Request) -> None:
                return None

            http.event_hooks = {"request": [hook], "response": []}
        client = StatusClient(http=http, cache=store, settings=settings)
        records = {r.name: r async for r in client.lookup_many(names)}
        await client.aclose()
    if store is not None:
        store.close()
    return records


def comparable(record: StatusRecord) -> tuple[object, ...]:
    return (record.name, record.status, record.error, record.latest_version, record.from_cache)


def seen_heads(server: RawServer) -> list[bytes]:
    """The request heads the server read, sorted, its port written as HOST."""
    return sorted(head.replace(server.url[7:].encode(), b"HOST") for head in server.requests)


async def both_ways(
    serve: Serve, route: Route, names: list[str], tmp_path: Path
) -> list[tuple[dict[str, StatusRecord], list[bytes]]]:
    """Each path's records and request heads, on a fresh server each."""
    results = []
    for path in PATHS:
        server = await start(serve, route)
        records = await run(path, f"{server.url}/simple/", names, netrc=tmp_path / "no-netrc")
        results.append((records, seen_heads(server)))
    return results


def honest(name: str, head: bytes) -> bytes:
    return answer_bytes("200 OK", [f"Content-Type: {JSON_TYPE}"], page(name))


async def test_index_gets_skip_httpx_send_unless_a_proxy_takes_them(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    original = httpx.AsyncClient.send

    async def spy(self: httpx.AsyncClient, request: httpx.Request, **kwargs: object) -> object:
        sent.append(str(request.url))
        return await original(self, request, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.AsyncClient, "send", spy)
    server = await start(serve, honest)
    index = f"{server.url}/simple/"
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.lower(), raising=False)
    records = await run("direct", index, ["a", "b"], netrc=tmp_path / "none")
    assert {r.status for r in records.values()} == {ProjectStatus.ARCHIVED}
    assert sent == []  # straight to the transport
    # A proxy that NO_PROXY exempts this host from: still straight to the transport.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    records = await run("direct", index, ["c"], netrc=tmp_path / "none")
    assert records["c"].status is ProjectStatus.ARCHIVED and sent == []
    # A proxy for this host: httpx's client sends it (through the proxy, which is closed).
    monkeypatch.delenv("NO_PROXY")
    records = await run("direct", index, ["d"], netrc=tmp_path / "none")
    assert records["d"].status is ProjectStatus.UNKNOWN
    assert sent == [f"{index}d/"]


async def test_the_same_request_heads_and_records_both_ways(serve: Serve, tmp_path: Path) -> None:
    def route(name: str, head: bytes) -> bytes:
        if name == "gone":
            return answer_bytes("404 Not Found", [])
        if name == "zipped":
            body = gzip.compress(page(name))
            return answer_bytes(
                "200 OK", [f"Content-Type: {JSON_TYPE}", "Content-Encoding: gzip"], body
            )
        if name == "busy":
            return answer_bytes("503 Busy", ["Retry-After: 1"])
        if name == "latin":  # a header value no encoding but Latin-1 reads
            return answer_bytes(
                "200 OK", [f"Content-Type: {JSON_TYPE}", 'ETag: "caf\xe9"'], page(name)
            )
        return honest(name, head)

    names = ["fine", "gone", "zipped", "busy", "latin", "Not_Canonical"]
    (direct, direct_heads), (via_httpx, httpx_heads) = await both_ways(
        serve, route, names, tmp_path
    )
    assert {n: comparable(r) for n, r in direct.items()} == {
        n: comparable(r) for n, r in via_httpx.items()
    }
    assert direct_heads == httpx_heads
    assert direct["zipped"].status is ProjectStatus.ARCHIVED
    assert direct["busy"].error == "HTTP 503 from the index"


async def test_revalidation_sends_the_same_if_none_match(serve: Serve, tmp_path: Path) -> None:
    def route(name: str, head: bytes) -> bytes:
        if b'if-none-match: "v1"' in head.lower():
            return answer_bytes("304 Not Modified", ['ETag: "v1"'])
        headers = [f"Content-Type: {JSON_TYPE}", 'ETag: "v1"', "Cache-Control: max-age=0"]
        return answer_bytes("200 OK", headers, page(name))

    for path in PATHS:
        server = await start(serve, route)
        cache = tmp_path / f"cache-{path}"
        first = await run(
            path, f"{server.url}/simple/", ["p"], netrc=tmp_path / "no", cache_dir=cache
        )
        again = await run(
            path, f"{server.url}/simple/", ["p"], netrc=tmp_path / "no", cache_dir=cache
        )
        assert first["p"].status is again["p"].status is ProjectStatus.ARCHIVED
        assert again["p"].from_cache and again["p"].error is None
        assert b'If-None-Match: "v1"\r\n' in server.requests[-1]


@pytest.mark.parametrize("where", ["url", "netrc"])
async def test_credentials_go_out_the_same_both_ways(
    serve: Serve, tmp_path: Path, where: str
) -> None:
    expected = b"Authorization: Basic " + base64.b64encode(b"al@ce:p:ss") + b"\r\n"

    def route(name: str, head: bytes) -> bytes:
        return honest(name, head) if expected in head else answer_bytes("401 No", [])

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login al@ce password p:ss\n")
    netrc.chmod(0o600)
    sent = []
    for path in PATHS:
        server = await start(serve, route)
        index = f"{server.url}/simple/"
        if where == "url":
            index = index.replace("http://", "http://al%40ce:p%3Ass@")
        records = await run(
            path, index, ["a", "b"], netrc=netrc if where == "netrc" else tmp_path / "none"
        )
        assert {r.status for r in records.values()} == {ProjectStatus.ARCHIVED}
        assert all(expected in head for head in server.requests)
        sent.append(seen_heads(server))
    assert sent[0] == sent[1]


def redirect(location: str, origin: list[str]) -> Route:
    """Every page but two redirects to ``location`` ("{url}": ``origin[0]``, the server's)."""

    def route(name: str, head: bytes) -> bytes:
        if name in ("good", "landing"):  # landing: where private-thing's page moved
            return honest("private-thing" if name == "landing" else name, head)
        return answer_bytes("302 Found", [f"Location: {location.replace('{url}', origin[0])}"])

    return route


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://pypi.test/simple/private-thing/", "redirect to another origin refused"),
        ("", "without a Location"),
        ("http://[::1", "Invalid URL in location header"),
        ("/simple/private-thing/", "more than 3 redirects"),
        ("{url}/simple/landing/", None),  # within the index: followed
    ],
)
async def test_redirect_rules_hold_both_ways(
    serve: Serve, tmp_path: Path, location: str, reason: str | None
) -> None:
    outcomes = []
    for path in PATHS:
        origin: list[str] = []
        server = await start(serve, redirect(location, origin))
        origin.append(server.url)
        records = await run(
            path, f"{server.url}/simple/", ["private-thing", "good"], netrc=tmp_path / "n"
        )
        bad, good = records["private-thing"], records["good"]
        assert good.status is ProjectStatus.ARCHIVED
        if reason is None:
            assert bad.status is ProjectStatus.ARCHIVED and bad.error is None
        else:
            assert bad.status is ProjectStatus.UNKNOWN and reason in (bad.error or "")
        outcomes.append((comparable(bad), len(server.requests)))
    assert outcomes[0] == outcomes[1]


HEADER_VALUES = st.binary(max_size=12).map(
    lambda raw: bytes(b for b in raw if b not in b"\r\n\0").strip(b" \t")
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"etag", b"ETag", b"location", b"X-A", b"x-a", b"content-type"]),
            HEADER_VALUES,
        ),
        max_size=6,
    )
)
def test_answer_headers_read_as_httpx_headers(items: list[tuple[bytes, bytes]]) -> None:
    ours, theirs = AnswerHeaders(items), httpx.Headers(items)
    for name in ("ETag", "location", "X-A", "Content-Type", "Missing"):
        assert ours.get(name) == theirs.get(name)
        assert ours.get(name, "") == theirs.get(name, "")


HTML_HEAD = (
    '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4">'
    '<meta name="pypi:project-status" content="quarantined"></head><body></body></html>\n'
)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        # Cut inside the status marker, and between the tags before it: neither is active.
        (HTML_HEAD[: HTML_HEAD.index("quarantined")], "unknown", "ends inside a tag"),
        (HTML_HEAD[: HTML_HEAD.index("<meta name=\"pypi:project-status")], "unknown",
         "before </html>"),
        (HTML_HEAD, "quarantined", None),  # whole: it says so itself
        # PyPI's own ending (a comment after </html>), and the end tag spelled loosely.
        (HTML_HEAD + "<!--SERIAL 123-->\n", "quarantined", None),
        (HTML_HEAD.replace("</html>", "</HTML >"), "quarantined", None),
    ],
)  # fmt: skip
async def test_an_html_page_framed_by_the_close_must_show_its_own_end(
    serve: Serve, tmp_path: Path, path: str, body: str, status: str, error: str | None
) -> None:
    """HTTP/1.x with neither a length nor chunks: the body ends with the connection, so a
    cut looks like an end (RFC 9112 section 6.3). An HTML page cut before its status marker
    read as active; JSON cannot end early unnoticed, HTML must show its own end."""

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        await reply(writer, head + body.encode())
        return False  # the close ends the body

    server = await serve(answer)
    records = await run(path, f"{server.url}/simple/", ["evil-pkg"], netrc=tmp_path / "none")
    record = records["evil-pkg"]
    assert record.status.value == status
    assert (record.error is None) if error is None else (error in (record.error or ""))
