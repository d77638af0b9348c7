"""An https index that offers HTTP/2 (hypercorn, a test CA): index pages over HTTP/1.1 + TLS."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.settings import ClientSettings

hypercorn = pytest.importorskip("hypercorn")
trustme = pytest.importorskip("trustme")

PAGE = json.dumps(
    {
        "meta": {"api-version": "1.4"},
        "name": "pycrypto",
        "project-status": {"status": "archived"},
        "versions": ["2.6.1"],
        "files": [],
    }
).encode()
SEEN: list[str] = []


async def index_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A one-project PEP 691 index that records the HTTP version of every request."""
    if scope["type"] != "http":
        return
    SEEN.append(scope["http_version"])
    found = scope["path"] == "/simple/pycrypto/"
    headers = [(b"content-type", b"application/vnd.pypi.simple.v1+json")]
    await send({"type": "http.response.start", "status": 200 if found else 404, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE if found else b""})


@pytest.fixture
def h2_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    authority.cert_pem.write_to_path(str(ca_file))
    # Bound here and handed over (hypercorn listens on it): a port picked free and let go
    # could be taken before hypercorn binds it.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.alpn_protocols = ["h2", "http/1.1"]
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve(index_app, config, shutdown_trigger=stop.wait),),  # type: ignore[arg-type]
        daemon=True,
    )
    thread.start()
    for _ in range(100):
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                break
        threading.Event().wait(0.05)
    SEEN.clear()
    yield f"https://127.0.0.1:{port}/simple/", ca_file
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=10)


async def test_https_index_pages_go_over_http11_with_tls_even_when_h2_is_offered(
    h2_index: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our HTTP/1.1 transport over TLS costs ~35% less CPU than httpcore's HTTP/2 (bench)."""
    url, ca_file = h2_index
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the client trusts the environment's CAs
    settings = ClientSettings(index_url=url, use_cache=False)
    async with build_http_client(settings) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        records = [r async for r in client.lookup_many(["pycrypto", "ghost"])]
    by_name = {r.name: r.status for r in records}
    assert by_name == {"pycrypto": ProjectStatus.ARCHIVED, "ghost": ProjectStatus.NOT_FOUND}
    assert SEEN and set(SEEN) == {"1.1"}


async def test_an_untrusted_certificate_is_that_lookups_error(
    h2_index: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ca_file = h2_index  # the test CA is not trusted here
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = ClientSettings(index_url=url, use_cache=False, retries=0)
    async with build_http_client(settings) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        record = await client.lookup("pycrypto")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error and "certificate" in record.error.lower()
    assert SEEN == []  # nothing was sent
