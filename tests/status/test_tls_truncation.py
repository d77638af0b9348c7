"""A body framed by the end of a TLS connection is whole only after the server's close_notify."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest

from sbom_enrich.status._http.plain import PlainHTTPTransport

#: Both event loops the CLI may run (tests/conftest.py): asyncio's reported a cut TLS
#: connection as an end of stream, uvloop's as lost.
pytestmark = pytest.mark.both_loops

trustme = pytest.importorskip("trustme")

BODY = b'{"name": "foo", "project-status": {"status": "quarantined"}, "files": []}'


class ClosingTLSServer:
    """Answers each connection with a body framed by the close (no length, not chunked), cut
    after ``send`` bytes, then closes with or without a TLS close_notify."""

    def __init__(self, send: int, close_notify: bool) -> None:
        self.ca = trustme.CA()
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(self._context)
        self._send, self._close_notify = send, close_notify
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve_one, daemon=True)
        self._thread.start()

    def _serve_one(self) -> None:
        raw, _ = self._listener.accept()
        try:
            with self._context.wrap_socket(raw, server_side=True) as tls:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += tls.recv(4096)
                tls.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BODY[: self._send])
                if self._close_notify:
                    tls.unwrap().close()
                else:  # the TCP connection ends under the TLS one
                    raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            raw.close()

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=10)


@pytest.fixture
def closing_server() -> Iterator[type[ClosingTLSServer]]:
    servers: list[ClosingTLSServer] = []

    def start(send: int, close_notify: bool) -> ClosingTLSServer:
        servers.append(ClosingTLSServer(send, close_notify))
        return servers[-1]

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


class _NoFallback(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError("index GETs never reach the fallback")


async def _get(server: ClosingTLSServer) -> bytes:
    context = ssl.create_default_context()
    server.ca.configure_trust(context)
    transport = PlainHTTPTransport(_NoFallback(), limit=1, tls=lambda: context)
    url = f"https://127.0.0.1:{server.port}/simple/foo/"
    request = httpx.Request("GET", url, extensions={"timeout": {"connect": 10, "read": 10}})
    try:
        response = await transport.handle_async_request(request)
        return await response.aread()
    finally:
        await transport.aclose()


async def test_a_body_ended_by_close_notify_is_whole(closing_server) -> None:
    assert await _get(closing_server(len(BODY), close_notify=True)) == BODY


@pytest.mark.parametrize("send", [len(BODY), len(BODY) // 2], ids=["all", "half"])
async def test_a_body_cut_without_close_notify_is_an_error_not_a_page(
    closing_server, send: int
) -> None:
    # Whoever can end the TCP connection (not only the server) could otherwise cut a page
    # short of what it says last (RFC 9112 section 9.8).
    with pytest.raises(httpx.RemoteProtocolError):
        await _get(closing_server(send, close_notify=False))
