"""uvicorn's h11 protocol with a bound it lacks: the time a client takes to send headers.

uvicorn (0.30-0.55) starts no timer when a connection opens, and its keep-alive timer stops at
the first byte of the next request, so a client that sends headers a byte at a time holds a
connection (and a file descriptor) for as long as it likes: 500 such clients stayed open 45 s.
``h11_max_incomplete_event_size`` bounds the size of headers, ``limit_concurrency`` answers 503
only once headers are complete, ``timeout_keep_alive`` only runs between requests: none bounds
the time. This module does, below the ASGI app, for every connection.
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


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may take: seconds to send a request's headers."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT


def _timeout_answer(seconds: float) -> bytes:
    body = json.dumps({"error": f"the request headers did not arrive within {seconds:g} s"})
    return (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}"
    ).encode()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout (module docstring).

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
            self.transport.write(_timeout_answer(self.limits.header_timeout))
        logger.debug("closing a connection whose request headers did not arrive in time")
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


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
