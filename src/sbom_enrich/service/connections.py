"""uvicorn's h11 protocol with two bounds it lacks: time to send headers, and a lingering close.

uvicorn (0.30-0.55) starts no timer when a connection opens, and its keep-alive timer stops at
the first byte of the next request, so a client that sends headers a byte at a time holds a
connection (and a file descriptor) for as long as it likes: 500 such clients stayed open 45 s.
``h11_max_incomplete_event_size`` bounds the size of headers, ``limit_concurrency`` answers 503
only once headers are complete, ``timeout_keep_alive`` only runs between requests: none bounds
the time. This module does, below the ASGI app, for every connection.

It also closes like nginx's ``lingering_close``: a connection answered before its request
body was read (a 413) is half-closed after the answer and the rest of the upload is read and
dropped for a bounded time. Closing at once would make the kernel answer the unread bytes with
a reset, and a client that sends its whole body before reading (Python's urllib) would see
"connection reset" instead of the 413.

And what h11 cannot read at all gets the service's JSON error shape, like every other answer,
instead of uvicorn's text/plain "Invalid HTTP request received.".
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from .config import DEFAULT_HEADER_TIMEOUT, ServiceSettings

logger = logging.getLogger(__name__)

#: nginx's lingering_time is 30 s; an upload refused here is read and dropped for at most this.
DEFAULT_LINGER_SECONDS = 10.0


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may take: seconds to send a request's headers, seconds of lingering."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    linger_seconds: float = DEFAULT_LINGER_SECONDS


#: The answer to a request h11 cannot read (uvicorn's is text/plain).
MALFORMED = "malformed HTTP request: it cannot be read as HTTP/1.1 (RFC 9112)"


def _closing_answer(status: str, message: str) -> bytes:
    """A whole answer in the service's error shape, written below the app, before a close."""
    body = json.dumps({"error": message})
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}"
    ).encode()


class _LingeringTransport(asyncio.Transport):
    """The real transport, except that ``close()`` asks the protocol whether to linger first."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedH11Protocol) -> None:
        super().__init__()
        self._transport = transport
        self._protocol = protocol
        self.closing = False

    def close(self) -> None:
        if self.closing or self._transport.is_closing():
            return
        self.closing = True
        self._protocol.closing(self._transport)

    def is_closing(self) -> bool:
        return self.closing or self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._transport.write(data)

    def write_eof(self) -> None:
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def abort(self) -> None:
        self._transport.abort()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a lingering close (module docstring).

    The header timer runs whenever the connection waits for a request's headers: from the
    connection's start and from the end of each response; it stops when h11 has the headers.
    When it fires, a client that sent part of a request gets a ``408`` and the connection is
    closed; an idle keep-alive connection is simply closed.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits = ConnectionLimits(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._header_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._lingering = False

    # -- the header timeout -----------------------------------------------------------------

    def _waiting_for_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _watch_headers(self) -> None:
        """Start the header timer when a request's headers are due, stop it when they came."""
        if self._waiting_for_headers():
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    self.limits.header_timeout, self._headers_timed_out
                )
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if not self._waiting_for_headers():
            return
        started, _ = self.conn.trailing_data
        if started:
            seconds = self.limits.header_timeout
            message = f"the request headers did not arrive within {seconds:g} s"
            self.transport.write(_closing_answer("408 Request Timeout", message))
        logger.debug("closing a connection whose request headers did not arrive in time")
        self._lingering = True  # what the client still sends is not read any more
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_LingeringTransport(cast(asyncio.Transport, transport), self))
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a refused upload: read and dropped
        super().data_received(data)
        self._watch_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_headers()

    # -- a request h11 cannot read -------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to what h11 cannot read (a bad request line or header, two Host
        headers, a bad chunk size), in the JSON error shape every other answer has. h11 is in
        its error state and the connection closes: no h11 framing is needed."""
        self.transport.write(_closing_answer("400 Bad Request", MALFORMED))
        self.transport.close()

    # -- a request framed twice ---------------------------------------------------------------

    def handle_events(self) -> None:
        """uvicorn's, except that a request with both Content-Length and Transfer-Encoding
        ends its connection once answered (RFC 9112 section 6.1: the server MUST close it).
        h11 reads the body as chunked; a proxy in front that frames by the length reads
        another request in it, and a kept connection serves that one (request smuggling)."""
        super().handle_events()
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle.keep_alive and _framed_twice(cycle.scope["headers"]):
            cycle.keep_alive = False

    # -- the lingering close ----------------------------------------------------------------

    def closing(self, transport: asyncio.Transport) -> None:
        """uvicorn closes the connection: linger when the client may still be sending a body."""
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._lingering or self.conn.their_state is not h11.SEND_BODY:
            transport.close()
            return
        self._lingering = True
        if transport.can_write_eof():  # TLS cannot half-close; the answer has its length
            transport.write_eof()
        transport.resume_reading()
        self._linger_timer = self.loop.call_later(self.limits.linger_seconds, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._linger_timer = None
        super().connection_lost(exc)


def _framed_twice(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name for name, _ in headers}  # lower-cased by uvicorn
    return b"content-length" in names and b"transfer-encoding" in names


def uvicorn_options(settings: ServiceSettings) -> dict[str, Any]:
    """The uvicorn settings every serving path shares (the CLI, its workers, the tests)."""
    limits = ConnectionLimits(header_timeout=settings.header_timeout)
    return {
        "http": functools.partial(GuardedH11Protocol, limits=limits),
        "ws": "none",  # no WebSocket routes: an Upgrade is answered as plain HTTP
        "server_header": False,
        "ssl_certfile": settings.tls_cert,
        "ssl_keyfile": settings.tls_key,
    }
