"""Real notice receivers on 127.0.0.1: an HTTP server (stdlib) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from listening import reserve_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """Records every POST; answers ``status`` (200 by default). Can go down and come back.

    Every request is over when :meth:`stop` returns: a handler still holding its answer
    (``delay``) leaves without one, as a receiver going down does. One that outlived its
    test wrote its late answer to a client long gone, and socketserver printed the broken
    pipe into whatever test then ran (CI: a ``monitor status`` run's stderr).
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        #: Requests that failed in the handler (a client gone mid-request), instead of a
        #: traceback on stderr; the ``hook`` fixture fails the test that leaves any.
        self.errors: list[str] = []
        self.status = 200
        #: Seconds to hold each answer after recording the request (a slow receiver).
        self.delay = 0.0
        self.port = 0
        self._server: _ReceiverServer | None = None
        #: While down: the port, bound but not listening (connections are refused), so
        #: nothing else takes it before :meth:`start` listens on it again.
        self._held: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            server: _ReceiverServer
            timeout = 30  # a client that never finishes its request cannot hold stop()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    status = receiver.status
                    if status < 300:
                        receiver.received.append(
                            Received(self.path, dict(self.headers.items()), body)
                        )
                if receiver.delay and self.server.closing.wait(receiver.delay):
                    self.close_connection = True  # going down: no answer
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        def handle_error(client_address: Any) -> None:
            with receiver._lock:
                receiver.errors.append(f"{client_address}: {sys.exc_info()[1]!r}")

        self._server = _ReceiverServer(self.port, Handler, handle_error)
        self.port = self._server.server_address[1]
        if self._held is not None:  # listening again: the placeholder can go
            self._held.close()
            self._held = None
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: connections are refused until :meth:`start` again (same port)."""
        if self._server is not None:
            self._held = reserve_port(self.port)
            self._close_server()

    def close(self) -> None:
        """Down for good: the port is let go."""
        self._close_server()
        if self._held is not None:
            self._held.close()
            self._held = None

    def _close_server(self) -> None:
        if self._server is not None:
            self._server.closing.set()
            self._server.shutdown()
            self._server.server_close()  # joins the handler threads
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.received]


class _ReceiverServer(ThreadingHTTPServer):
    """The receiver's server: a port shared with its placeholder, handler threads joined at
    close, errors kept rather than printed."""

    daemon_threads = False  # server_close() waits for every handler

    def __init__(
        self, port: int, handler: type[BaseHTTPRequestHandler], on_error: Callable[[Any], None]
    ) -> None:
        self.closing = threading.Event()
        self._on_error = on_error
        super().__init__(("127.0.0.1", port), handler)

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Kept, not printed: socketserver prints the traceback to this process's stderr,
        # which the CLI tests capture and compare.
        self._on_error(client_address)


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port where connections are refused (bound, never listening): held for the
    block, so no other server can take it meanwhile, as one picked free and let go could be."""
    with reserve_port() as sock:
        yield int(sock.getsockname()[1])


class SmtpReceiver:
    """aiosmtpd's Controller with a handler that keeps every message."""

    def __init__(self, refuse: frozenset[str] = frozenset(), **smtp_options: Any) -> None:
        """``smtp_options`` go to aiosmtpd's SMTP (tls_context, auth_required, authenticator);
        the addresses in ``refuse`` are refused at RCPT (550), the others accepted."""
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        receiver = self

        class Handler:
            async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if address in refuse:
                    return "550 no such user here"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                receiver.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        class PortZeroController(Controller):  # type: ignore[misc]
            """Binds port 0 and records the port it took (before start() first connects)."""

            def _create_server(self) -> Any:
                async def create() -> Any:
                    server = await Controller._create_server(self)
                    self.port = server.sockets[0].getsockname()[1]
                    return server

                return create()

        self._controller = PortZeroController(
            Handler(), hostname="127.0.0.1", port=0, **smtp_options
        )

    @property
    def port(self) -> int:
        port = self._controller.port
        assert port, "the SMTP receiver is not started"
        return int(port)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class DrippingSmtpServer:
    """A stdlib socket server on 127.0.0.1 that answers SMTP one byte at a time, for ever: a
    greeting of endless ``220-`` continuation lines, each byte a little after the one before,
    so no single read ever waits long enough for a per-read timeout. Stops dripping when the
    client goes away (``client_left``) or at :meth:`stop`."""

    LINE = b"220-slow.example.test ESMTP, still greeting\r\n"

    def __init__(self, gap: float = 0.02) -> None:
        self.gap = gap
        self.client_left = threading.Event()
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> DrippingSmtpServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._sock.accept()
            except OSError:
                continue
            with connection:
                self._drip(connection)

    def _drip(self, connection: socket.socket) -> None:
        while not self._stop.is_set():
            for byte in self.LINE:
                if self._stop.wait(self.gap):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:  # the client shut its socket: it gave up, as it should
                    self.client_left.set()
                    return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
