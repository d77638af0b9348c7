"""A TLS certificate the client refuses: one attempt, and a message that says so."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.settings import ClientSettings

#: The transport on both event loops the CLI may run (tests/conftest.py).
pytestmark = pytest.mark.both_loops

trustme = pytest.importorskip("trustme")


class UntrustedTLSServer:
    """Accepts TCP connections on 127.0.0.1 and offers a certificate from a CA nobody trusts."""

    def __init__(self) -> None:
        certificate = trustme.CA().issue_cert("127.0.0.1")
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.stopping:
                conn.close()
                return
            self.connections += 1
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass  # the client hangs up on the certificate
            finally:
                conn.close()

    def close(self) -> None:
        self.stopping = True
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def untrusted_index(monkeypatch: pytest.MonkeyPatch) -> Iterator[UntrustedTLSServer]:
    for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(variable, raising=False)
    server = UntrustedTLSServer()
    yield server
    server.close()


async def test_a_refused_certificate_is_not_retried_and_says_what_it_is(
    untrusted_index: UntrustedTLSServer,
) -> None:
    url = f"https://127.0.0.1:{untrusted_index.port}/simple/"
    settings = ClientSettings(index_url=url, use_cache=False, retries=3)
    async with build_http_client(settings) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        record = await client.lookup("requests")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and record.error.startswith("certificate problem:")
    assert "SSL_CERT_FILE" in record.error
    assert untrusted_index.connections == 1  # a network error would have been tried 4 times
