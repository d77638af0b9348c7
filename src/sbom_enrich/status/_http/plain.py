"""A lean httpx transport for index GET/HEAD over HTTP/1.1 (plain or TLS): asyncio + h11."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import h11
import httpx

from ..._deadline import within
from .limits import (
    DEFAULT_MAX_PAGE_BYTES,
    MAX_HEADER_BYTES,
    AnswerRefused,
    check_headers,
    describe_size,
)
from .tls import OriginSessions

#: Idle connections older than this are closed, not reused (httpx's own default): servers
#: drop idle keep-alive connections after a few seconds, and a reuse racing that close fails.
KEEPALIVE_EXPIRY = 5.0
#: The largest status line + headers we accept in one response.
MAX_HEAD_SIZE = MAX_HEADER_BYTES
#: Connections to one origin at first, and the fewest after stalls. 128 connects at once
#: overflowed small listen queues (Python's http.server: 5); each dropped SYN then costs the
#: kernel's 1 s, 3 s, 7 s... retransmits, and lookups timed out.
INITIAL_CONNECTIONS = 8
MIN_CONNECTIONS = 2
#: Connections added per answer while they grow from INITIAL_CONNECTIONS (slow start) and
#: the answer was prompt (its first byte within PROMPT_FACTOR times the fastest): three per
#: round trip instead of two — 8, 24, 64 — a round trip less (~50 ms of a 1,000-lookup run
#: at 50 ms) before a large run reaches its connections. The connects still come one or
#: two per answer as the answers arrive, never as one burst; a late answer grows by one.
PROMPT_GROWTH = 2
PROMPT_FACTOR = 2.0
#: A connect still unanswered after this long lost its SYN (Linux resends it after 1 s, then
#: after 3 s, 7 s, ...): give up on it and connect anew, which resends at once (the next try
#: waits twice as long).
CONNECT_STALL = 1.5
#: A new connection whose first request gets no byte back in this long (or in STALL_FACTOR
#: times the origin's usual wait, if longer) was not accepted by the server: it sits in a full
#: accept queue, or behind a connection cap (waitress: 100). Its request is sent again, on a
#: connection the server did accept when there is one.
FIRST_BYTE_STALL = 2.0
STALL_FACTOR = 4.0
#: Answers come late when their usual wait (a moving average) passes LATE_FACTOR times the
#: fastest plus LATE_SLACK s: the server is queueing our requests (pypiserver, scanning its
#: package directory on every request, answered in 3.7 s at 128 connections). Then a quarter
#: fewer connections per round, down to INITIAL_CONNECTIONS. The average and the slack keep
#: a CDN's cache misses, an index that takes ~0.5 s to render a page, and our own
#: CPU-starved event loop from reading as a queue.
LATE_FACTOR = 4.0
LATE_SLACK = 0.5
#: Stalls a request may have before it waits on a new connection like any other.
STALL_RETRIES = 2
#: Name of the request extension (a callable taking seconds) told how long a request waited
#: for a connection slot: the status client does not count that wait against its timeout.
QUEUED_EXTENSION = "sbom_enrich.queued"

#: Descriptors kept free beside the index connections: the cache database and its journal,
#: the event loop's own, log files, the lookup workers' pipes, CA bundles being read.
DESCRIPTORS_RESERVED = 32
#: How long a connect that found no free descriptor waits before it looks again, while some of
#: our own connections are open (each that closes frees one).
DESCRIPTOR_WAIT = 0.02

_DISCONNECTED = "server disconnected without sending a complete response"
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE)

logger = logging.getLogger(__name__)


class OutOfDescriptors(httpx.ConnectError):
    """No file descriptor left for a connection and none of ours to wait for: a limit of this
    machine (``ulimit -n``), not the index's doing: it never counts toward the breaker."""


class _NoDescriptor(Exception):
    """A connect found no free descriptor (EMFILE/ENFILE)."""


def descriptor_budget() -> int | None:
    """How many more descriptors this process may open, less :data:`DESCRIPTORS_RESERVED`
    (None: no limit known).

    ``ulimit -n 64`` with the default 128 connections lost 700 of 1,000 lookups to "Too many
    open files" against a server that closes each connection (http.server), and the breaker
    blamed the index.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit to fit
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        in_use = len(os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"))
    except OSError:
        in_use = 0
    return soft - in_use - DESCRIPTORS_RESERVED


_Result = tuple[h11.Response, bytes]


def _closed_cleanly(transport: asyncio.BaseTransport | None) -> bool:
    """Whether an end of stream is a real one: always over plain TCP; over TLS only after the
    server's close_notify (its ``SSLObject`` then reads as empty, else wants more bytes)."""
    ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return True
    try:
        return bool(ssl_object.read(1) == b"")
    except ssl.SSLError:
        return False


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
        self._heard_at = 0.0  # when bytes last came (or the request went out)
        self._stall_timer: asyncio.TimerHandle | None = None
        self._sent_at = 0.0
        self.usable = True
        #: Whether the current exchange got any byte back (if not, a GET may be resent).
        self.answered = False
        #: Seconds from writing the request to its first byte back (last exchange).
        self.first_byte_after: float | None = None
        #: Whether this connection has ever answered (the server accepted it).
        self.proven = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A duck-typed check: uvloop's TLS transports are not asyncio.Transport subclasses.
        self._transport = cast(asyncio.Transport, transport)
        self._registry.add(self)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes while idle break the framing: never reuse it
            self.close()
            return
        # httpx's read timeout is the longest wait for the next bytes: _heard moves it on.
        self._heard_at = asyncio.get_running_loop().time()
        if not self.answered:
            self.answered = self.proven = True
            self.first_byte_after = self._heard_at - self._sent_at
            if self._stall_timer is not None:
                self._stall_timer.cancel()
                self._stall_timer = None
        self._h11.receive_data(data)
        self._pump()

    def eof_received(self) -> bool:
        if self._waiter is None:  # the server closed an idle connection
            self.usable = False
            return False
        if not _closed_cleanly(self._transport):
            # A TLS connection cut without close_notify: asyncio's loop reports it as an
            # end of stream, which would complete a body framed by the close with whatever
            # came (a truncation; RFC 9112 section 9.8). uvloop's reports it as lost; here
            # the transport closes (False) and connection_lost fails the exchange.
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
        self, request: h11.Request, read_timeout: float | None, stall_after: float | None = None
    ) -> tuple[h11.Response, bytes]:
        """Send one bodiless request and wait for the whole response.

        ``stall_after``: raise :class:`FirstByteStall` when no byte came back by then.
        """
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[h11.Response, bytes]] = loop.create_future()
        self._waiter, self._response, self._body, self.answered = waiter, None, [], False
        self._body_bytes = 0
        self._read_timeout = read_timeout
        self._sent_at = loop.time()
        try:  # the request's headers were validated when it was made (h11.Request)
            self._transport.write(self._h11.send(request) + self._h11.send(h11.EndOfMessage()))
            self._arm_timer()
            if stall_after is not None:
                self._stall_timer = loop.call_later(stall_after, _stalled, waiter)
            return await waiter
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._stall_timer is not None:
                self._stall_timer.cancel()
                self._stall_timer = None
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
            self._timer = None
        if self._read_timeout is not None and self._waiter is not None:
            loop = asyncio.get_running_loop()
            self._heard_at = loop.time()
            self._timer = loop.call_later(self._read_timeout, self._heard, self._waiter)

    def _heard(self, waiter: asyncio.Future[tuple[h11.Response, bytes]]) -> None:
        """The read timer: expire ``waiter`` if nothing came for the read timeout, else wait
        out the rest (moving the timer at every read cost a timer per chunk)."""
        self._timer = None
        if waiter.done() or waiter is not self._waiter or self._read_timeout is None:
            return
        loop = asyncio.get_running_loop()
        left = self._heard_at + self._read_timeout - loop.time()
        if left > 0:
            self._timer = loop.call_later(left, self._heard, waiter)
        else:
            _expire(waiter)

    def close(self) -> None:
        self.usable = False
        if self._transport is not None:
            self._transport.close()


def _expire(waiter: asyncio.Future[tuple[h11.Response, bytes]]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("timed out waiting for the response"))


class FirstByteStall(httpx.ReadTimeout):
    """A new connection's request got no byte back in time: the server has not taken it."""


def _stalled(waiter: asyncio.Future[tuple[h11.Response, bytes]]) -> None:
    if not waiter.done():
        waiter.set_exception(FirstByteStall("no answer on a new connection"))


class _Slot:
    """One request's claim on a connection of its origin."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = True


class _Origin:
    """One host:port: how many connections it takes now, and the idle ones (newest last).

    The number of connections in use adapts as TCP's congestion window does: it starts at
    :data:`INITIAL_CONNECTIONS`, grows by one per answer while requests queue (doubling each
    round trip; by :data:`PROMPT_GROWTH` per prompt answer, tripling) up to ``ceiling``, and
    halves when a new connection stalls — its connect was not answered in
    :data:`CONNECT_STALL` (the SYN was dropped: a full listen queue) or its first request not
    in :meth:`stall_after` (the server has not accepted it: a full accept queue, or a cap on
    connections). After a halving it grows by one per round trip only.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.allowed = min(ceiling, INITIAL_CONNECTIONS)
        self.slow_start_until = ceiling
        self.busy = 0
        self.credit = 0
        self.epoch = 0  # halvings so far: one stall per epoch halves, the rest are its echo
        self.stalls = 0
        self.unsure_stalls = 0
        self.most_allowed = self.allowed
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.idle: deque[tuple[_Connection, float]] = deque()
        self.typical_first_byte: float | None = None
        self.fastest = float("inf")
        self.late = 0

    async def acquire(self) -> float:
        """Wait for a connection slot; the seconds waited."""
        if self.busy < self.allowed and not self.waiters:
            self.busy += 1
            return 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.busy -= 1  # granted just as we were cancelled: hand it on
                self._wake()
            elif waiter in self.waiters:  # (a cancelled waiter may be dropped by _wake)
                self.waiters.remove(waiter)
            raise
        return loop.time() - started

    def release(self, slot: _Slot) -> None:
        """Give ``slot`` back (again: a no-op); also sets a slow request's slot aside."""
        if slot.held:
            slot.held = False
            self.busy -= 1
            self._wake()

    def _wake(self) -> None:
        while self.waiters and self.busy < self.allowed:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.busy += 1
                waiter.set_result(None)

    def answered(self, first_byte_after: float | None) -> None:
        """An exchange completed: learn how fast answers come; grow while they stay prompt and
        requests queue, shrink while they come late (the server queues them: more connections
        would only lengthen its queue, and our lookups' waits, not speed it up)."""
        if first_byte_after is not None:
            typical = self.typical_first_byte
            self.typical_first_byte = (
                first_byte_after if typical is None else 0.8 * typical + 0.2 * first_byte_after
            )
            self.fastest = min(self.fastest, first_byte_after)
            if self.typical_first_byte > LATE_FACTOR * self.fastest + LATE_SLACK:
                self.late += 1
                if self.late >= self.allowed:  # a round of late answers: a quarter fewer
                    self.allowed = max(INITIAL_CONNECTIONS, self.allowed * 3 // 4)
                    self.slow_start_until = min(self.slow_start_until, self.allowed)
                    self.late = self.credit = 0
                return
        if not self.waiters or self.allowed >= self.ceiling:
            return
        if self.allowed < self.slow_start_until:
            # (Only before any halving or shrinking: those end the slow start.)
            prompt = (
                first_byte_after is not None and first_byte_after <= PROMPT_FACTOR * self.fastest
            )
            grown = self.allowed + (PROMPT_GROWTH if prompt else 1)
            self.allowed = min(grown, self.slow_start_until, self.ceiling)
        else:
            self.credit += 1
            if self.credit >= self.allowed:
                self.allowed, self.credit = self.allowed + 1, 0
        self.most_allowed = max(self.most_allowed, self.allowed)
        self._wake()

    def stalled(self, epoch: int, *, certain: bool) -> None:
        """A connection begun in ``epoch`` stalled: halve, once per epoch.

        A dropped SYN is ``certain``; an unanswered first request may also be one slow page
        (a CDN's cache miss), so it takes two in the same epoch to halve.
        """
        self.stalls += 1
        if epoch != self.epoch:
            return
        if not certain:
            self.unsure_stalls += 1
            if self.unsure_stalls < 2:
                return
        self.epoch += 1
        self.unsure_stalls = 0
        self.allowed = self.slow_start_until = max(MIN_CONNECTIONS, self.allowed // 2)
        self.credit = 0

    def cap(self, connections: int) -> None:
        """Never more than ``connections`` at once from now on (the process ran out of file
        descriptors with that many open)."""
        self.ceiling = min(self.ceiling, connections)
        self.allowed = min(self.allowed, self.ceiling)
        self.slow_start_until = min(self.slow_start_until, self.ceiling)

    def stall_after(self) -> float:
        """How long a new connection's first request may go unanswered before it stalls."""
        typical = self.typical_first_byte or 0.0
        return max(FIRST_BYTE_STALL, STALL_FACTOR * typical)


class PlainHTTPTransport(httpx.AsyncBaseTransport):
    """GET/HEAD over HTTP/1.1 on asyncio protocols + h11; everything else to ``fallback``.

    Serves ``http://`` origins, and ``https://`` ones when given ``tls`` (asyncio's SSL with
    ALPN ``http/1.1``). httpcore spends most of its CPU on anyio locks, cancel scopes and a
    scan of every pooled connection per request; a bodiless request needs none of that: a
    cold run of 1,000 lookups uses ~35% less CPU over plain HTTP (bench/bench_http_stacks.py)
    and over TLS than httpcore's HTTP/2 (bench/bench_vs_uv.py). ``limit`` caps the open
    connections per origin; within it the number adapts (:class:`_Origin`). Responses are
    read whole, bounded by ``max_body_bytes``, before they are returned; a GET whose reused
    connection turns out closed before any byte came back is sent once more on a new one.
    """

    def __init__(
        self,
        fallback: httpx.AsyncBaseTransport,
        limit: int,
        max_body_bytes: int = DEFAULT_MAX_PAGE_BYTES,
        tls: Callable[[], ssl.SSLContext] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("PlainHTTPTransport needs a limit of at least one connection")
        self.fallback = fallback
        #: Makes the SSL context for https origins (None: https goes to the fallback). Called
        #: on the first https request: a cached run never loads the CA bundle.
        self._tls = tls
        self._tls_context: ssl.SSLContext | None = None
        budget = descriptor_budget()
        if budget is not None and budget < limit:
            logger.info(
                "at most %d connections per index: the descriptor limit (ulimit -n) leaves no more",
                max(1, budget),
            )
            limit = max(1, budget)
        self._limit = limit
        self._max_body_bytes = max_body_bytes
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        #: Per https (host, port): its TLS sessions (one object per origin: never shared).
        self._tls_sessions: dict[tuple[str, int], OriginSessions] = {}
        #: TLS connections made, and how many of them resumed an earlier session.
        self.tls_handshakes = 0
        self.tls_resumed = 0
        self._open: set[_Connection] = set()
        #: Connects under way (each holds a descriptor not yet in ``_open``).
        self._connecting = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def takes(self, scheme: str) -> bool:
        """Whether bodiless requests to ``scheme://`` origins go over this transport."""
        return scheme == "http" or (scheme == "https" and self._tls is not None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if not self.takes(scheme) or request.method not in ("GET", "HEAD") or _has_body(request):
            return await self.fallback.handle_async_request(request)
        response, body = await self.send_bodiless(
            request.method,
            (scheme, url.host, url.port or (80 if scheme == "http" else 443)),
            url.raw_path,
            request.headers.raw,
            request.extensions.get("timeout", {}),
            request.extensions.get(QUEUED_EXTENSION),
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers.raw_items(),
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(response.reason)},
        )

    async def send_bodiless(
        self,
        method: str,
        key: tuple[str, str, int],
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        timeouts: dict[str, float | None],
        queued: Callable[[float], object] | None = None,
    ) -> tuple[h11.Response, bytes]:
        """GET/HEAD ``target`` on origin ``key`` (scheme, host, port): the response and its
        whole body as sent (not decoded). ``headers`` go out as given (Host included; checked
        unless they come from :func:`checked_headers`); ``queued`` is told the seconds waited
        for a connection slot, if any.

        The index lookups' own path (``direct.py``) calls this without an httpx.Request.
        """
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(self._limit)
        try:
            message = h11.Request(method=method, target=target, headers=cast(Any, headers))
        except h11.LocalProtocolError as error:  # e.g. a header value with a line break
            raise httpx.LocalProtocolError(str(error)) from None
        waited = await _acquire(origin, timeouts.get("pool"))
        if waited and queued is not None:
            queued(waited)
        slot = _Slot()
        try:
            return await self._exchange(origin, slot, key, message, timeouts)
        finally:
            origin.release(slot)

    async def _exchange(
        self,
        origin: _Origin,
        slot: _Slot,
        key: tuple[str, str, int],
        message: h11.Request,
        timeouts: dict[str, float | None],
    ) -> tuple[h11.Response, bytes]:
        read_timeout = timeouts.get("read")
        stall_retries = STALL_RETRIES
        while True:
            connection = self._idle_connection(origin)
            if connection is not None:
                try:
                    result = await self._slow_aside(
                        origin, slot, connection.exchange(message, read_timeout)
                    )
                except httpx.RemoteProtocolError:
                    if connection.answered:
                        raise
                    # Closed by the server just before we wrote: resend on a new connection.
                else:
                    origin.answered(connection.first_byte_after)
                    self._park(origin, connection)
                    return result
            epoch = origin.epoch
            try:
                connection = await self._connect(origin, key, timeouts.get("connect"))
            except _NoDescriptor as error:
                # Fewer connections to this origin from now on; wait for one of ours to close,
                # or to be parked idle for reuse (the lookup's own deadline still bounds it).
                origin.cap(max(1, len(self._open)))
                if not self._open and not self._connecting:
                    raise OutOfDescriptors(
                        f"no file descriptor left for a connection ({error}; see ulimit -n)"
                    ) from None
                await asyncio.sleep(DESCRIPTOR_WAIT)
                continue
            try:
                if stall_retries:
                    stall_after = origin.stall_after()
                    result = await connection.exchange(message, read_timeout, stall_after)
                else:
                    result = await self._slow_aside(
                        origin, slot, connection.exchange(message, read_timeout)
                    )
            except FirstByteStall:
                # Not taken by the server: fewer connections, and the request goes again
                # (a GET/HEAD is safe to resend), to an accepted idle connection if any.
                origin.stalled(epoch, certain=False)
                stall_retries -= 1
                # To the back of the queue: requests waiting for a slot go first.
                origin.release(slot)
                await origin.acquire()
                slot.held = True
                continue
            origin.answered(connection.first_byte_after)
            self._park(origin, connection)
            return result

    async def _slow_aside(
        self, origin: _Origin, slot: _Slot, exchange: Awaitable[_Result]
    ) -> _Result:
        """Await ``exchange``; if it is slow, stop counting it against the origin's cap.

        A page that hangs or drips (bounded by the lookup's timeout) must not hold one of the
        few connections the others wait for; it goes on, uncounted, while they proceed.
        """
        timer = asyncio.get_running_loop().call_later(origin.stall_after(), origin.release, slot)
        try:
            return await exchange
        finally:
            timer.cancel()

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

    async def _connect(
        self, origin: _Origin, key: tuple[str, str, int], timeout: float | None
    ) -> _Connection:
        """A new connection; a connect unanswered for CONNECT_STALL is begun anew."""
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | OriginSessions | None = None
        if scheme == "https":
            tls = self._tls_for(host, port, loop)
        deadline = None if timeout is None else loop.time() + timeout
        window = CONNECT_STALL
        while True:
            # Each new try waits twice as long: a far or slow server (a TLS handshake over a
            # long round trip) must still get through, and only a dropped SYN is retried fast.
            attempt, window = window, window * 2
            if deadline is not None:
                attempt = min(attempt, deadline - loop.time())
            epoch = origin.epoch
            self._connecting += 1
            try:
                # Not asyncio.wait_for: the lookup's own deadline passing just as the connect
                # completes must still end it (deadline.py).
                transport, connection = await within(
                    loop.create_connection(
                        lambda: _Connection(self._open, self._max_body_bytes),
                        host,
                        port,
                        ssl=tls,  # type: ignore[arg-type]  # an OriginSessions stands in
                        server_hostname=host if tls is not None else None,
                    ),
                    attempt,
                )
            except asyncio.TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
                # Over TLS the handshake counts too: a slow one is not surely a dropped SYN.
                origin.stalled(epoch, certain=tls is None)
            except OSError as error:
                if error.errno in _OUT_OF_DESCRIPTORS:
                    raise _NoDescriptor(error.strerror or "too many open files") from None
                raise httpx.ConnectError(str(error) or type(error).__name__) from None
            else:
                if tls is not None:
                    self.tls_handshakes += 1
                    ssl_object = transport.get_extra_info("ssl_object")
                    self.tls_resumed += bool(ssl_object is not None and ssl_object.session_reused)
                return connection
            finally:
                self._connecting -= 1

    def _tls_for(
        self, host: str, port: int, loop: asyncio.AbstractEventLoop
    ) -> ssl.SSLContext | OriginSessions:
        """The SSL context for a new connection to https://host:port, resuming the origin's
        last TLS session where it can (:class:`OriginSessions`; on asyncio's own loop and
        uvloop's, whose client connections ask their context for nothing but ``wrap_bio``:
        tests/status/test_tls_resumption.py runs on both)."""
        assert self._tls is not None
        if self._tls_context is None:
            self._tls_context = self._tls()
        if not _calls_only_wrap_bio(loop):  # another loop: no resumption
            return self._tls_context
        sessions = self._tls_sessions.get((host, port))
        if sessions is None:
            sessions = self._tls_sessions[host, port] = OriginSessions(self._tls_context, host)
        return sessions

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._origins.clear()
        self._tls_sessions.clear()
        await self.fallback.aclose()


def _calls_only_wrap_bio(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop``'s ``create_connection`` takes any object with ``wrap_bio`` for its
    ``ssl`` context: asyncio's own loops, and uvloop's (its ``create_server`` wants a real
    ``SSLContext``; its client side does not check)."""
    return isinstance(loop, asyncio.BaseEventLoop) or type(loop).__module__ == "uvloop"


def checked_headers(headers: list[tuple[bytes, bytes]]) -> Sequence[tuple[bytes, bytes]]:
    """``headers`` (Host included) checked by h11 once, in the form it then sends without
    checking them again: the header block every cold GET to an origin shares costs its ~15
    checks once, not per request (a third of making the request)."""
    try:
        return h11.Request(method="GET", target=b"/", headers=headers).headers
    except h11.LocalProtocolError as error:
        raise httpx.LocalProtocolError(str(error)) from None


def _has_body(request: httpx.Request) -> bool:
    # A ByteStream holds its bytes (redirects reuse it unread); header lookups cost more.
    return not isinstance(request.stream, httpx.ByteStream) or any(request.stream)


async def _acquire(origin: _Origin, timeout: float | None) -> float:
    """A connection slot of ``origin``; the seconds waited for it."""
    if timeout is None or (origin.busy < origin.allowed and not origin.waiters):
        return await origin.acquire()
    try:
        return await within(origin.acquire(), timeout)
    except asyncio.TimeoutError:
        raise httpx.PoolTimeout("timed out waiting for a free connection") from None
