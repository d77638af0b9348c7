"""A lean httpx transport for GET/HEAD to plain-http (no TLS) origins: asyncio protocols + h11."""

from __future__ import annotations

import asyncio
from collections import deque

import h11
import httpx

from .limits import (
    DEFAULT_MAX_PAGE_BYTES,
    MAX_HEADER_BYTES,
    AnswerRefused,
    check_headers,
    describe_size,
)

#: Idle connections older than this are closed, not reused (httpx's own default): servers
#: drop idle keep-alive connections after a few seconds, and a reuse racing that close fails.
KEEPALIVE_EXPIRY = 5.0
#: The largest status line + headers we accept in one response.
MAX_HEAD_SIZE = MAX_HEADER_BYTES

_DISCONNECTED = "server disconnected without sending a complete response"


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: h11 keeps the framing right, asyncio feeds it without tasks."""

    def __init__(self, registry: set[_Connection], max_body_bytes: int) -> None:
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_SIZE)
        self._max_body_bytes = max_body_bytes
        self._body_bytes = 0
        self._registry = registry  # the transport's open connections, to close on aclose
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[h11.Response, bytes]] | None = None
        self._response: h11.Response | None = None
        self._body: list[bytes] = []
        self._eof = False
        self._read_timeout: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.usable = True
        #: Whether the current exchange got any byte back (if not, a GET may be resent).
        self.answered = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._registry.add(self)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes while idle break the framing: never reuse it
            self.close()
            return
        self.answered = True
        self._arm_timer()  # httpx's read timeout: the longest wait for the next bytes
        self._h11.receive_data(data)
        self._pump()

    def eof_received(self) -> bool:
        if self._waiter is None:  # the server closed an idle connection
            self.usable = False
            return False
        self._eof = True
        self._h11.receive_data(b"")
        self._pump()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._registry.discard(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(httpx.RemoteProtocolError(_DISCONNECTED))

    def _pump(self) -> None:
        waiter = self._waiter
        assert waiter is not None
        try:
            while not waiter.done():
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    return
                if isinstance(event, h11.Response):
                    check_headers(event.headers.raw_items())
                    self._response = event
                elif isinstance(event, h11.Data):
                    # The body is held whole until the response ends: bound it on the wire
                    # (the caller bounds it again after decoding).
                    self._body_bytes += len(event.data)
                    if self._body_bytes > self._max_body_bytes:
                        raise AnswerRefused(
                            f"page larger than {describe_size(self._max_body_bytes)}"
                        )
                    self._body.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    assert self._response is not None
                    waiter.set_result((self._response, b"".join(self._body)))
                elif isinstance(event, h11.ConnectionClosed):
                    waiter.set_exception(httpx.RemoteProtocolError(_DISCONNECTED))
                # h11.InformationalResponse (1xx): skipped, the final response follows.
        except h11.RemoteProtocolError as error:
            self.close()
            waiter.set_exception(
                httpx.RemoteProtocolError(_DISCONNECTED if self._eof else str(error))
            )
        except AnswerRefused as refused:
            self.close()
            waiter.set_exception(refused)

    # -- used by the transport -------------------------------------------------------------

    async def exchange(
        self, request: h11.Request, read_timeout: float | None
    ) -> tuple[h11.Response, bytes]:
        """Send one bodiless request and wait for the whole response."""
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[h11.Response, bytes]] = loop.create_future()
        self._waiter, self._response, self._body, self.answered = waiter, None, [], False
        self._body_bytes = 0
        self._read_timeout = read_timeout
        try:  # the request's headers were validated when it was made (h11.Request)
            self._transport.write(self._h11.send(request) + self._h11.send(h11.EndOfMessage()))
            self._arm_timer()
            return await waiter
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiter = None
            if (
                self.usable
                and self._h11.our_state is self._h11.their_state is h11.DONE
                and not self._h11.trailing_data[0]  # bytes past the response: out of step
            ):
                self._h11.start_next_cycle()
            else:  # cancelled, timed out, failed or "Connection: close": not reusable
                self.close()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._read_timeout is not None and self._waiter is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._read_timeout, _expire, self._waiter)

    def close(self) -> None:
        self.usable = False
        if self._transport is not None:
            self._transport.close()


def _expire(waiter: asyncio.Future[tuple[h11.Response, bytes]]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("timed out waiting for the response"))


class _Origin:
    """One host:port: a cap on open connections, and the idle ones (newest last) to reuse."""

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.idle: deque[tuple[_Connection, float]] = deque()


class PlainHTTPTransport(httpx.AsyncBaseTransport):
    """GET/HEAD to ``http://`` origins on asyncio protocols; everything else to ``fallback``.

    httpcore spends most of its CPU on anyio locks, cancel scopes and a scan of every pooled
    connection per request. A bodiless request over plain HTTP/1.1 needs none of that, and
    HTTP/2 only ever comes over TLS (ALPN), so nothing is lost: a cold run of 1,000 lookups
    uses ~35% less CPU (bench/bench_http_stacks.py). ``limit`` caps the open connections per
    origin, as httpx's ``max_connections`` does. Responses are read whole before they are
    returned (index pages are small); a GET whose reused connection turns out closed before
    any byte came back is sent once more on a new connection.
    """

    def __init__(
        self,
        fallback: httpx.AsyncBaseTransport,
        limit: int,
        max_body_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    ) -> None:
        if limit < 1:
            raise ValueError("PlainHTTPTransport needs a limit of at least one connection")
        self.fallback = fallback
        self._limit = limit
        self._max_body_bytes = max_body_bytes
        self._origins: dict[tuple[str, int], _Origin] = {}
        self._open: set[_Connection] = set()

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http" or request.method not in ("GET", "HEAD") or _has_body(request):
            return await self.fallback.handle_async_request(request)
        key = (url.host, url.port or 80)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(self._limit)
        timeouts = request.extensions.get("timeout", {})
        try:
            message = h11.Request(
                method=request.method, target=url.raw_path, headers=request.headers.raw
            )
        except h11.LocalProtocolError as error:  # e.g. a header value with a line break
            raise httpx.LocalProtocolError(str(error)) from None
        await _acquire(origin.slots, timeouts.get("pool"))
        try:
            response, body = await self._exchange(origin, key, message, timeouts)
        finally:
            origin.slots.release()
        return httpx.Response(
            response.status_code,
            headers=response.headers.raw_items(),
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(response.reason)},
        )

    async def _exchange(
        self,
        origin: _Origin,
        key: tuple[str, int],
        message: h11.Request,
        timeouts: dict[str, float | None],
    ) -> tuple[h11.Response, bytes]:
        connection = self._idle_connection(origin)
        if connection is not None:
            try:
                result = await connection.exchange(message, timeouts.get("read"))
            except httpx.RemoteProtocolError:
                if connection.answered:
                    raise
                # Closed by the server just before we wrote: resend on a new connection.
            else:
                self._park(origin, connection)
                return result
        connection = await self._connect(key, timeouts.get("connect"))
        result = await connection.exchange(message, timeouts.get("read"))
        self._park(origin, connection)
        return result

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        now = asyncio.get_running_loop().time()
        while origin.idle:
            connection, idle_since = origin.idle.pop()
            if connection.usable and now - idle_since < KEEPALIVE_EXPIRY:
                return connection
            connection.close()
        return None

    def _park(self, origin: _Origin, connection: _Connection) -> None:
        if connection.usable:
            origin.idle.append((connection, asyncio.get_running_loop().time()))

    async def _connect(self, key: tuple[str, int], timeout: float | None) -> _Connection:
        host, port = key
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self._open, self._max_body_bytes), host, port
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as error:
            raise httpx.ConnectError(str(error) or type(error).__name__) from None
        return connection

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._origins.clear()
        await self.fallback.aclose()


def _has_body(request: httpx.Request) -> bool:
    # A ByteStream holds its bytes (redirects reuse it unread); header lookups cost more.
    return not isinstance(request.stream, httpx.ByteStream) or any(request.stream)


async def _acquire(slots: asyncio.Semaphore, timeout: float | None) -> None:
    if timeout is None or not slots.locked():
        await slots.acquire()
        return
    try:
        await asyncio.wait_for(slots.acquire(), timeout)
    except asyncio.TimeoutError:
        raise httpx.PoolTimeout("timed out waiting for a free connection") from None
