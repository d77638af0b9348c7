"""Real notice receivers on 127.0.0.1: an HTTP server (stdlib) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """Records every POST; answers ``status`` (200 by default). Can go down and come back."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        #: Requests that failed in the handler (a client gone mid-request), instead of a
        #: traceback on stderr.
        self.errors: list[str] = []
        self.status = 200
        #: Seconds to hold each answer after recording the request (a slow receiver).
        self.delay = 0.0
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    status = receiver.status
                    if status < 300:
                        receiver.received.append(
                            Received(self.path, dict(self.headers.items()), body)
                        )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # Kept, not printed: socketserver prints the traceback to this process's
                # stderr, which the CLI tests capture and compare (CI once saw one there,
                # from a connection of 127.0.0.1:53668, in a `monitor status` run's stderr).
                with receiver._lock:
                    receiver.errors.append(f"{client_address}: {sys.exc_info()[1]!r}")

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: connections are refused until :meth:`start` again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.received]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpReceiver:
    """aiosmtpd's Controller with a handler that keeps every message."""

    def __init__(self, **smtp_options: Any) -> None:
        """``smtp_options`` go to aiosmtpd's SMTP (tls_context, auth_required, authenticator)."""
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                receiver.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, **smtp_options
        )

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
