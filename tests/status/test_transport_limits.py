"""What an index may make one lookup hold: bounded body, headers, no cookies, the whole timeout.

A scripted raw server on 127.0.0.1 sends each hostile answer; both transports are tried: our
own HTTP/1.1 transport (what a plain-http index gets) and httpcore (what https indexes and
proxies get). Bounds are checked by bytes sent and held, never by elapsed time.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from raw_http import Serve, ok, reply, serve

from sbom_enrich.status._http.client import IndexHTTPClient, build_http_client
from sbom_enrich.status._http.limits import MAX_HEADERS
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.settings import ClientSettings

#: The transport on both event loops the CLI may run (tests/conftest.py).
pytestmark = pytest.mark.both_loops

__all__ = ["serve"]  # the fixture, used by name

MIB = 1024 * 1024
JSON_TYPE = "Content-Type: application/vnd.pypi.simple.v1+json"


def page(name: str) -> bytes:
    return json.dumps(
        {"meta": {"api-version": "1.4"}, "name": name, "files": [], "versions": [],
         "project-status": {"status": "archived"}}
    ).encode()  # fmt: skip


def name_of(head: bytes) -> str:
    return head.split(b" ")[1].rstrip(b"/").rsplit(b"/", 1)[1].decode()


Stack = Callable[[ClientSettings], httpx.AsyncClient]


def ours(settings: ClientSettings) -> httpx.AsyncClient:
    return build_http_client(settings)


def httpcore_stack(settings: ClientSettings) -> httpx.AsyncClient:
    # The path https indexes take (httpcore's HTTP/1.1 here: the raw server speaks no TLS).
    return IndexHTTPClient(transport=httpx.AsyncHTTPTransport(), timeout=settings.timeout)


STACKS = [pytest.param(ours, id="plain-h11"), pytest.param(httpcore_stack, id="httpcore")]


async def lookup(
    stack: Stack, url: str, *names: str, timeout: float = 20.0, max_mb: int = 1
) -> dict[str, StatusRecord]:
    settings = ClientSettings(
        index_url=f"{url}/simple/",
        use_cache=False,
        retries=0,
        timeout=timeout,
        max_page_bytes=max_mb * MIB,
    )
    async with stack(settings) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        records = {r.name: r async for r in client.lookup_many(list(names))}
        await client.aclose()
    return records


class Sent:
    """Counts what the server managed to hand to the kernel, per connection."""

    def __init__(self) -> None:
        self.bytes = 0


def hostile_for(bad: str, send_bad: Callable[[asyncio.StreamWriter, Sent], AsyncIterator[None]],
                sent: Sent) -> Callable[..., object]:  # fmt: skip
    """An answer: project ``bad`` gets the hostile stream, every other name a good page."""

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        name = name_of(head)
        if name != bad:
            await reply(writer, ok(page(name), JSON_TYPE))
            return True
        try:
            async for _ in send_bad(writer, sent):
                pass
        except (ConnectionError, OSError):
            pass
        return False

    return answer


async def endless(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
    """A chunked body that never ends (stops at 256 MiB so the old code ends too)."""
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + JSON_TYPE.encode())
    writer.write(b"\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    while sent.bytes < 256 * MIB:
        writer.write(chunk)
        await writer.drain()
        sent.bytes += len(chunk)
        yield


async def huge(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
    """A 500 MB page with an honest Content-Length, sent until the client hangs up."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 500000000\r\n" + JSON_TYPE.encode())
    writer.write(b"\r\n\r\n")
    block = b" " * 64 * 1024
    while sent.bytes < 500_000_000:
        writer.write(block)
        await writer.drain()
        sent.bytes += len(block)
        yield


def gzip_bomb(decompressed: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * MIB
    body = b"".join(packer.compress(zeros) for _ in range(decompressed // MIB))
    return body + packer.flush()


BOMB = gzip_bomb(200 * MIB)  # ~200 KB on the wire


async def bomb(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
    await reply(writer, ok(BOMB, JSON_TYPE, "Content-Encoding: gzip"))
    sent.bytes += len(BOMB)
    yield


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    "hostile", [pytest.param(endless, id="endless"), pytest.param(huge, id="500MB")]
)
async def test_a_body_past_the_bound_costs_that_lookup_only(
    serve: Serve, stack: Stack, hostile: Callable[..., AsyncIterator[None]]
) -> None:
    sent = Sent()
    server = await serve(hostile_for("big", hostile, sent))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "big", "fine", "also-fine")
    assert records["big"].status is ProjectStatus.UNKNOWN
    assert records["big"].error == "page larger than 1 MiB"
    assert records["fine"].status is records["also-fine"].status is ProjectStatus.ARCHIVED
    # Read no further than the bound (plus what sits in the kernel's socket buffers).
    assert sent.bytes < 24 * MIB


@pytest.mark.parametrize("stack", STACKS)
async def test_a_gzip_bomb_is_never_inflated_past_the_bound(serve: Serve, stack: Stack) -> None:
    sent = Sent()
    server = await serve(hostile_for("bomb", bomb, sent))  # type: ignore[arg-type]
    tracemalloc.start()
    try:
        records = await lookup(stack, server.url, "bomb", "fine")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records["bomb"].status is ProjectStatus.UNKNOWN
    assert records["bomb"].error == "page larger than 1 MiB"
    assert records["fine"].status is ProjectStatus.ARCHIVED
    assert peak < 16 * MIB  # the 200 MiB it inflates to never existed in this process


@pytest.mark.parametrize("stack", STACKS)
async def test_a_body_not_in_its_labelled_encoding_is_that_lookups_error(
    serve: Serve, stack: Stack
) -> None:
    async def not_gzip(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
        await reply(writer, ok(b"plain text, not gzip", JSON_TYPE, "Content-Encoding: gzip"))
        yield

    server = await serve(hostile_for("liar", not_gzip, Sent()))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "liar", "fine")
    assert records["liar"].error == "body is not valid gzip"
    assert records["fine"].status is ProjectStatus.ARCHIVED


HTML_TYPE = "Content-Type: text/html"


def quarantined_html(name: str) -> bytes:
    """An HTML page at API 1.4 whose quarantine marker comes last, after a file link."""
    return (
        '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4">'
        f"<title>Links for {name}</title></head><body><h1>Links for {name}</h1>"
        f'<a href="{name}-1.0.tar.gz">{name}-1.0.tar.gz</a>'
        '<meta name="pypi:project-status" content="quarantined"></body></html>'
    ).encode()


def before_marker(page: bytes) -> int:
    return page.index(b'<meta name="pypi:project-status"')


def gzip_member(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def flushed_not_finished(data: bytes, wbits: int) -> bytes:
    """``data`` compressed and sync-flushed, with no final block and no trailer: every byte
    of it inflates, and a decoder that does not ask for the end takes it as the whole body."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)


def cut_gzip(page: bytes) -> bytes:
    return flushed_not_finished(page[: before_marker(page)], zlib.MAX_WBITS | 16)


def cut_deflate(page: bytes) -> bytes:
    return flushed_not_finished(page[: before_marker(page)], zlib.MAX_WBITS)


def cut_raw_deflate(page: bytes) -> bytes:
    return flushed_not_finished(page[: before_marker(page)], -zlib.MAX_WBITS)


def gzip_then_plain(page: bytes) -> bytes:
    """A whole gzip member of the page up to its marker, then the rest as it is."""
    return gzip_member(page[: before_marker(page)]) + page[before_marker(page) :]


def deflate_then_more(page: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    return packer.compress(page[: before_marker(page)]) + packer.flush() + b"more"


def framed(body: bytes, coding: str, chunked: bool) -> bytes:
    head = [HTML_TYPE, f"Content-Encoding: {coding}"]
    if not chunked:
        return ok(body, *head)
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:half], body[half:]) if c)
    lines = "".join(f"{h}\r\n" for h in ("Transfer-Encoding: chunked", *head))
    return b"HTTP/1.1 200 OK\r\n" + lines.encode() + b"\r\n" + chunks + b"0\r\n\r\n"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize(
    ("coding", "encode", "error"),
    [
        pytest.param("gzip", cut_gzip, "body is not valid gzip (cut short)", id="gzip-cut"),
        pytest.param(
            "deflate", cut_deflate, "body is not valid deflate (cut short)", id="deflate-cut"
        ),
        pytest.param(
            "deflate", cut_raw_deflate, "body is not valid deflate (cut short)", id="raw-cut"
        ),
        pytest.param("gzip", gzip_then_plain, "body is not valid gzip", id="gzip-then-plain"),
        pytest.param(
            "deflate",
            deflate_then_more,
            "body is not valid deflate (data after its end)",
            id="deflate-then-more",
        ),
    ],
)
async def test_a_compressed_page_that_does_not_end_as_its_coding_ends_is_that_lookups_error(
    serve: Serve,
    stack: Stack,
    chunked: bool,
    coding: str,
    encode: Callable[[bytes], bytes],
    error: str,
) -> None:
    """A page cut before its quarantine marker, framed whole by its length or its chunks:
    every byte inflates to the page's start, which read as an active project."""
    page_bytes = quarantined_html("cut")

    async def cut(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
        await reply(writer, framed(encode(page_bytes), coding, chunked))
        yield

    server = await serve(hostile_for("cut", cut, Sent()))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "cut", "fine")
    assert records["cut"].status is ProjectStatus.UNKNOWN
    assert records["cut"].error == error
    assert records["fine"].status is ProjectStatus.ARCHIVED


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(
            lambda p: gzip_member(p[: before_marker(p)]) + gzip_member(p[before_marker(p) :]),
            id="two-members",
        ),  # fmt: skip
        pytest.param(lambda p: gzip_member(p) + b"\0" * 8, id="zero-padded"),
    ],
)
async def test_a_gzip_body_is_read_to_its_end(
    serve: Serve, stack: Stack, chunked: bool, encode: Callable[[bytes], bytes]
) -> None:
    """RFC 1952: a gzip body is a series of members (zero padding after one, as gzip(1)
    skips it): the page is all of them, and its marker in the second one is read."""
    page_bytes = quarantined_html("members")

    async def members(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
        await reply(writer, framed(encode(page_bytes), "gzip", chunked))
        yield

    server = await serve(hostile_for("members", members, Sent()))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "members")
    assert records["members"].error is None
    assert records["members"].status is ProjectStatus.QUARANTINED


@pytest.mark.parametrize("stack", STACKS)
async def test_a_header_flood_is_refused(serve: Serve, stack: Stack) -> None:
    async def flood(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
        headers = [f"X-Flood-{n}: {n}" for n in range(MAX_HEADERS + 50)]
        await reply(writer, ok(page("flood"), JSON_TYPE, *headers))
        yield

    server = await serve(hostile_for("flood", flood, Sent()))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "flood", "fine")
    assert records["flood"].error == f"answer has more than {MAX_HEADERS} headers"
    assert records["fine"].status is ProjectStatus.ARCHIVED


@pytest.mark.parametrize("stack", STACKS)
async def test_a_huge_header_block_is_a_protocol_error_for_that_lookup(
    serve: Serve, stack: Stack
) -> None:
    async def giant(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
        await reply(writer, ok(page("giant"), JSON_TYPE, "X-Giant: " + "a" * (2 * MIB)))
        yield

    server = await serve(hostile_for("giant", giant, Sent()))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "giant", "fine")
    assert records["giant"].status is ProjectStatus.UNKNOWN
    assert records["giant"].error in ("answer has more than 64 KiB of headers",) or (
        "RemoteProtocolError" in (records["giant"].error or "")  # h11 saw it arrive in pieces
    )
    assert records["fine"].status is ProjectStatus.ARCHIVED


@pytest.mark.parametrize("stack", STACKS)
async def test_cookies_are_never_sent_back(serve: Serve, stack: Stack) -> None:
    cookies = [f"Set-Cookie: c{n}={'v' * 1000}; Path=/" for n in range(40)]

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        await reply(writer, ok(page(name_of(head)), JSON_TYPE, *cookies))
        return True

    server = await serve(answer)
    names = [f"p{n}" for n in range(12)]
    settings = ClientSettings(index_url=f"{server.url}/simple/", use_cache=False, concurrency=1)
    async with stack(settings) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        for name in names:  # one after another, so each request could carry the last cookies
            assert (await client.lookup(name)).status is ProjectStatus.ARCHIVED
    assert len(server.requests) >= len(names)  # (a page stalled under load is asked again)
    assert not any(b"\r\ncookie:" in head.lower() for head in server.requests)


@pytest.mark.parametrize("stack", STACKS)
async def test_a_slow_drip_body_ends_with_the_lookup_timeout(serve: Serve, stack: Stack) -> None:
    """A byte every 50 ms never trips a read (silence) timeout; the lookup's timeout ends it."""

    async def drip(writer: asyncio.StreamWriter, sent: Sent) -> AsyncIterator[None]:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n" + JSON_TYPE.encode())
        writer.write(b"\r\n\r\n")
        while sent.bytes < 100_000:
            writer.write(b" ")
            await writer.drain()
            sent.bytes += 1
            await asyncio.sleep(0.05)
            yield

    sent = Sent()
    server = await serve(hostile_for("drip", drip, sent))  # type: ignore[arg-type]
    records = await lookup(stack, server.url, "drip", "fine", timeout=1.0)
    assert records["drip"].error == "timed out after 1 s"
    assert records["fine"].status is ProjectStatus.ARCHIVED
    assert sent.bytes < 100_000  # it hung up long before the page was complete


def test_max_page_setting_and_its_environment_twin() -> None:
    from sbom_enrich.status.settings import SettingsError, client_settings_from_env

    assert ClientSettings().max_page_bytes == 64 * MIB
    settings = client_settings_from_env({"SBOM_ENRICH_MAX_PAGE_MB": "8"})
    assert settings.max_page_bytes == 8 * MIB
    with pytest.raises(SettingsError, match="SBOM_ENRICH_MAX_PAGE_MB"):
        client_settings_from_env({"SBOM_ENRICH_MAX_PAGE_MB": "0"})


def test_an_empty_body_labelled_compressed_has_nothing_to_decode() -> None:
    """A bodiless 404 or 304 with a Content-Encoding is no cut-short body."""
    from sbom_enrich.status._http.limits import decode_whole

    assert decode_whole(b"", "gzip", 100) == decode_whole(b"", "deflate", 100) == b""
