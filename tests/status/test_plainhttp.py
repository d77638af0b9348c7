"""PlainHTTPTransport against raw HTTP/1.1 servers on 127.0.0.1, framing answers every legal way."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from raw_http import Serve, ok, reply, replying, serve

from listening import reserve_port
from sbom_enrich.status._http.plain import (
    INITIAL_CONNECTIONS,
    KEEPALIVE_EXPIRY,
    QUEUED_EXTENSION,
    PlainHTTPTransport,
)

#: The transport on both event loops the CLI may run (tests/conftest.py).
pytestmark = pytest.mark.both_loops

__all__ = ["serve"]  # the fixture, used by name


class Fallback(httpx.AsyncBaseTransport):
    """Stands in for the httpcore pools: records what was handed over."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(299, content=b"fallback")

    async def aclose(self) -> None:
        self.closed = True


def client(limit: int = 4, timeout: float = 5.0) -> tuple[httpx.AsyncClient, Fallback]:
    fallback = Fallback()
    transport = PlainHTTPTransport(fallback, limit=limit)
    return httpx.AsyncClient(transport=transport, timeout=timeout), fallback


async def test_keep_alive_reuses_one_connection(
    serve: Serve,
) -> None:
    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        await reply(writer, ok(head.split(b" ")[1], "Content-Type: text/plain"))
        return True

    server = await serve(answer)
    http, fallback = client()
    async with http:
        bodies = [(await http.get(f"{server.url}/p/{n}/")).text for n in range(5)]
    assert bodies == [f"/p/{n}/" for n in range(5)]
    assert server.connections == 1
    assert fallback.requests == [] and fallback.closed
    # What went on the wire: origin-form target, Host, httpx's default headers.
    assert server.requests[0].startswith(b"GET /p/0/ HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in server.requests[0]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
            id="chunked-with-extension-and-trailer",
        ),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
            + ok(b"hello world"),
            id="informational-responses-first",
        ),
    ],
)
async def test_framings_that_keep_the_connection(serve: Serve, raw: bytes) -> None:
    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        for start in range(0, len(raw), 7):  # in small TCP writes: the parser must reassemble
            writer.write(raw[start : start + 7])
            await writer.drain()
        return True

    server = await serve(answer)
    http, _ = client()
    async with http:
        first = await http.get(f"{server.url}/a")
        second = await http.get(f"{server.url}/b")
    assert first.status_code == second.status_code == 200
    assert first.text == second.text == "hello world"
    assert server.connections == 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"HTTP/1.0 200 OK\r\n\r\nread until the server closes", id="close-delimited"),
        pytest.param(
            ok(b"read until the server closes", "Connection: close"), id="connection-close"
        ),
    ],
)
async def test_framings_that_end_the_connection(serve: Serve, raw: bytes) -> None:
    server = await serve(replying(raw, keep_open=False))
    http, _ = client()
    async with http:
        for _ in range(2):
            assert (await http.get(f"{server.url}/")).text == "read until the server closes"
    assert server.connections == 2  # never reused after the server said it closes


async def test_gzip_body_is_decoded_by_httpx(
    serve: Serve,
) -> None:
    server = await serve(replying(ok(gzip.compress(b'{"a": 1}'), "Content-Encoding: gzip")))
    http, _ = client()
    async with http:
        assert (await http.get(server.url)).json() == {"a": 1}


async def test_head_response_has_no_body_to_wait_for(
    serve: Serve,
) -> None:
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"))
    http, _ = client()
    async with http:
        response = await http.head(server.url)
        again = await http.head(server.url)
    assert response.status_code == again.status_code == 200 and response.content == b""
    assert server.connections == 1


async def test_idle_connection_closed_by_server_is_replaced(
    serve: Serve,
) -> None:
    """The keep-alive race: the server closes an idle connection; the GET goes out again."""
    # It closes right after answering, without saying "Connection: close".
    server = await serve(replying(ok(b"fine"), keep_open=False))
    http, _ = client()
    async with http:
        assert (await http.get(server.url)).text == "fine"
        assert (await http.get(server.url)).text == "fine"
    assert server.connections == 2


async def test_reused_connection_dropping_mid_request_is_retried_once(
    serve: Serve,
) -> None:
    """Even when the close is only seen after the request was written, no byte back → resend."""
    answered: list[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        answered.append(1)
        if len(answered) == 2:
            return False  # drop the reused connection without answering the second request
        await reply(writer, ok(b"fine"))
        return True

    server = await serve(answer)
    http, _ = client()
    async with http:
        assert (await http.get(server.url)).text == "fine"
        assert (await http.get(server.url)).text == "fine"
    assert server.connections == 2 and len(answered) == 3


async def test_fresh_connection_dropped_without_answer_is_an_error(
    serve: Serve,
) -> None:
    async def answer(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _h: bytes) -> bool:
        return False

    server = await serve(answer)
    http, _ = client()
    async with http:
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
            await http.get(server.url)
    assert server.connections == 1  # a fresh connection is not retried: that is the caller's call


async def test_truncated_body_is_an_error_not_a_short_page(
    serve: Serve,
) -> None:
    server = await serve(
        replying(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", keep_open=False)
    )
    http, _ = client()
    async with http:
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
            await http.get(server.url)


async def test_garbage_is_a_protocol_error(serve: Serve) -> None:
    server = await serve(replying(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    http, _ = client()
    async with http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url)


async def test_read_timeout(serve: Serve) -> None:
    async def answer(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _h: bytes) -> bool:
        await asyncio.sleep(30)
        return False

    server = await serve(answer)
    http, _ = client(timeout=0.2)
    async with http:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx.ReadTimeout):
            await http.get(server.url)
        assert loop.time() - started < 2


async def test_refused_connection_is_a_connect_error() -> None:
    http, _ = client()
    with reserve_port() as held:  # refused, and nobody else's while the client asks it
        async with http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{held.getsockname()[1]}/")


async def test_limit_caps_open_connections_and_pool_timeout(
    serve: Serve,
) -> None:
    release = asyncio.Event()
    in_flight = 0
    most = 0

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        await reply(writer, ok(b"x"))
        return True

    server = await serve(answer)
    http, _ = client(limit=3)
    async with http:
        gets = [asyncio.ensure_future(http.get(server.url)) for _ in range(9)]
        await asyncio.sleep(0.2)
        assert most == 3 and server.connections == 3
        with pytest.raises(httpx.PoolTimeout):
            await http.get(server.url, timeout=httpx.Timeout(5.0, pool=0.05))
        release.set()
        assert [r.text for r in await asyncio.gather(*gets)] == ["x"] * 9
    assert server.connections == 3


async def test_expired_idle_connections_are_not_reused(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await serve(replying(ok(b"x")))
    http, _ = client()
    async with http:
        await http.get(server.url)
        monkeypatch.setattr("sbom_enrich.status._http.plain.KEEPALIVE_EXPIRY", 0.0)
        await http.get(server.url)
    assert server.connections == 2
    assert KEEPALIVE_EXPIRY == 5.0


async def test_header_injection_is_refused_before_anything_is_sent(
    serve: Serve,
) -> None:
    server = await serve(replying(ok(b"x")))
    http, _ = client()
    async with http:
        with pytest.raises(httpx.LocalProtocolError):
            await http.get(server.url, headers={"If-None-Match": '"a"\r\nX-Evil: 1'})
    assert server.connections == 0


async def test_other_requests_go_to_the_fallback() -> None:
    http, fallback = client()
    async with http:
        tls = await http.get("https://index.invalid/simple/")
        post = await http.post("http://index.invalid/upload", content=b"data")
    assert tls.status_code == post.status_code == 299
    assert [r.method for r in fallback.requests] == ["GET", "POST"]


async def test_aclose_closes_connections_in_use(
    serve: Serve,
) -> None:
    async def answer(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _h: bytes) -> bool:
        await asyncio.sleep(30)
        return False

    server = await serve(answer)
    fallback = Fallback()
    transport = PlainHTTPTransport(fallback, limit=2)
    http = httpx.AsyncClient(transport=transport)
    pending = asyncio.ensure_future(http.get(server.url))
    await asyncio.sleep(0.1)
    assert transport.open_connections == 1
    await http.aclose()
    with pytest.raises(httpx.RemoteProtocolError):
        await pending
    assert transport.open_connections == 0 and fallback.closed


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PlainHTTPTransport(Fallback(), limit=0)


async def test_get_with_a_body_goes_to_the_fallback() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"streamed"

    http, fallback = client()
    async with http:
        await http.request("GET", "http://index.invalid/a", content=b"body")
        await http.request("GET", "http://index.invalid/b", content=chunks())
    assert [r.url.path for r in fallback.requests] == ["/a", "/b"]


async def test_read_timeout_is_the_longest_silence_not_the_whole_response(serve: Serve) -> None:
    """As in httpx: a response trickling in for longer than the timeout is fine."""

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        for part in (b"HTTP/1.1 200 OK\r\n", b"Content-Length: 4\r\n\r\n", b"sl", b"ow"):
            await reply(writer, part)
            await asyncio.sleep(0.15)
        return True

    server = await serve(answer)
    http, _ = client(timeout=0.4)  # 4 x 0.15 s = 0.6 s in all, never 0.4 s of silence
    async with http:
        assert (await http.get(server.url)).text == "slow"


async def test_bytes_past_the_response_retire_the_connection(serve: Serve) -> None:
    """A server that sends more than it framed is out of step: never reuse its connection."""
    server = await serve(
        replying(ok(b"one") + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
    )
    http, _ = client()
    async with http:
        assert (await http.get(server.url)).text == "one"
        assert (await http.get(server.url)).text == "one"
    assert server.connections == 2


async def test_a_new_origin_gets_a_few_connections_then_more_while_it_keeps_up(
    serve: Serve,
) -> None:
    """No burst of connects at a server whose listen queue may hold five."""
    in_flight = most_before_first_answer = 0
    answered = 0

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        nonlocal in_flight, most_before_first_answer, answered
        in_flight += 1
        if not answered:
            most_before_first_answer = max(most_before_first_answer, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        answered += 1
        await reply(writer, ok(b"x"))
        return True

    server = await serve(answer)
    http, _ = client(limit=64)
    async with http:
        responses = await asyncio.gather(*(http.get(server.url) for _ in range(200)))
    assert [r.text for r in responses] == ["x"] * 200
    assert most_before_first_answer == INITIAL_CONNECTIONS
    assert INITIAL_CONNECTIONS < server.connections <= 64  # grew while answers came fast


async def test_a_connection_the_server_never_took_is_given_up_and_the_get_resent(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full accept queue or a connection cap: no byte back on a new connection → resend."""
    monkeypatch.setattr("sbom_enrich.status._http.plain.FIRST_BYTE_STALL", 0.2)
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        nonlocal connections
        connections += 1
        if connections == 1:
            await asyncio.sleep(30)  # stands for a connection the server has not accepted
            return False
        await reply(writer, ok(b"fine"))
        return True

    server = await serve(answer)
    queued: list[float] = []
    http, _ = client(limit=4, timeout=10.0)
    async with http:
        response = await http.get(server.url, extensions={QUEUED_EXTENSION: queued.append})
    assert response.text == "fine" and server.connections == 2
    assert queued == []  # it never waited for a slot


async def test_time_queued_for_a_slot_is_reported_to_the_caller(serve: Serve) -> None:
    release = asyncio.Event()

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        await release.wait()
        await reply(writer, ok(b"x"))
        return True

    server = await serve(answer)
    queued: list[float] = []
    http, _ = client(limit=1)
    async with http:
        first = asyncio.ensure_future(http.get(server.url))
        second = asyncio.ensure_future(
            http.get(server.url, extensions={QUEUED_EXTENSION: queued.append})
        )
        await asyncio.sleep(0.1)
        release.set()
        await asyncio.gather(first, second)
    assert len(queued) == 1 and queued[0] > 0


def test_origin_rules_halve_on_stalls_and_shrink_on_late_answers_within_bounds() -> None:
    from sbom_enrich.status._http.plain import MIN_CONNECTIONS, _Origin

    origin = _Origin(ceiling=128)
    origin.allowed = 64
    origin.stalled(origin.epoch, certain=False)  # one slow first page: maybe just slow
    assert origin.allowed == 64
    epoch = origin.epoch
    origin.stalled(epoch, certain=False)
    assert origin.allowed == 32
    origin.stalled(epoch, certain=True)  # an echo of the same round: no second halving
    assert origin.allowed == 32
    for _ in range(10):
        origin.stalled(origin.epoch, certain=True)
    assert origin.allowed == MIN_CONNECTIONS

    late = _Origin(ceiling=128)
    late.allowed = 64
    late.answered(0.05)  # the fastest answer
    for _ in range(2000):  # answers queue at the server: 2 s each
        late.answered(2.0)
    assert late.allowed == INITIAL_CONNECTIONS  # fewer, but never below the first count


def test_slow_start_grows_faster_on_prompt_answers_only() -> None:
    from sbom_enrich.status._http.plain import PROMPT_GROWTH, _Origin

    loop = asyncio.new_event_loop()

    def queued(origin: _Origin) -> _Origin:
        origin.waiters.extend(loop.create_future() for _ in range(200))  # requests queue
        return origin

    def grown(first_bytes: list[float]) -> int:
        origin = queued(_Origin(ceiling=128))
        for first_byte in first_bytes:
            origin.answered(first_byte)
        return origin.allowed - INITIAL_CONNECTIONS

    assert grown([0.05] * 8) == 8 * PROMPT_GROWTH  # 8, 24: three times per round trip
    assert grown([0.05] + [0.2] * 7) == PROMPT_GROWTH + 7  # slower than the fastest: one each
    halved = queued(_Origin(ceiling=128))
    halved.stalled(halved.epoch, certain=True)
    before = halved.allowed
    for _ in range(8):
        halved.answered(0.05)
    assert halved.allowed <= before + 1  # after a stall: one per round trip, never faster
    loop.close()


def _full_listen_queue() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket whose accept queue is full: the kernel drops the next SYN."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(server.getsockname())
        fillers.append(filler)
    time.sleep(0.1)
    return server, fillers


def _accept_and_answer_later(server: socket.socket, after: float) -> threading.Thread:
    def serve() -> None:
        time.sleep(after)
        server.settimeout(5)
        with contextlib.suppress(OSError):
            while True:
                connection, _ = server.accept()
                threading.Thread(target=answer, args=(connection,), daemon=True).start()

    def answer(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            connection.settimeout(5)
            if connection.recv(65536):
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                connection.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


async def test_a_dropped_syn_is_sent_anew_without_the_kernels_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full listen queue drops SYNs; the kernel would resend at 1 s, 3 s, 7 s..."""
    monkeypatch.setattr("sbom_enrich.status._http.plain.CONNECT_STALL", 0.2)
    server, fillers = _full_listen_queue()
    try:
        _accept_and_answer_later(server, after=0.5)
        fallback = Fallback()
        transport = PlainHTTPTransport(fallback, limit=16)
        async with httpx.AsyncClient(transport=transport, timeout=10.0) as http:
            port = server.getsockname()[1]
            response = await http.get(f"http://127.0.0.1:{port}/p/")
            (origin,) = transport._origins.values()  # noqa: SLF001
        assert response.text == "ok"
        assert origin.stalls >= 1 and origin.allowed < INITIAL_CONNECTIONS  # halved per stall
    finally:
        server.close()
        for filler in fillers:
            filler.close()


async def test_a_connect_that_never_gets_through_is_a_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sbom_enrich.status._http.plain.CONNECT_STALL", 0.1)
    server, fillers = _full_listen_queue()
    try:
        http, _ = client()
        async with http:
            port = server.getsockname()[1]
            with pytest.raises(httpx.ConnectTimeout):
                await http.get(f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(5, connect=0.7))
    finally:
        server.close()
        for filler in fillers:
            filler.close()
