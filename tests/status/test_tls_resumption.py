"""TLS session resumption in the plain transport, against a real TLS server (Python's ssl)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sbom_enrich.status._http import tls as tls_module
from sbom_enrich.status._http.plain import PlainHTTPTransport

#: The transport on both event loops the CLI may run (tests/conftest.py).
pytestmark = pytest.mark.both_loops

trustme = pytest.importorskip("trustme")

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)


@dataclass
class TLSServer:
    """An HTTP/1.1 server over TLS that answers every request with ``Connection: close`` (each
    request then needs a new connection) and records, per connection, the name the client
    asked for (SNI: None for an IP address) and whether the handshake resumed a session."""

    port: int
    ca: trustme.CA
    handshakes: list[tuple[str | None, bool]] = field(default_factory=list)


def _serve(contexts: list[ssl.SSLContext], ready: threading.Event, box: list[object]) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        handshakes: list[tuple[str | None, bool]] = []
        names: dict[int, str | None] = {}

        def remember_name(ssl_object: ssl.SSLObject, name: str | None, _: object) -> None:
            names[id(ssl_object)] = name

        for context in contexts:
            context.sni_callback = remember_name  # type: ignore[assignment]

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            ssl_object = writer.get_extra_info("ssl_object")
            handshakes.append((names.get(id(ssl_object)), ssl_object.session_reused))
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(ANSWER)
                await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        # Connections take the server contexts in turn (each has its own ticket keys: a
        # ticket one issued, the other cannot resume).
        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=_Alternating(contexts))
        box[:] = [server.sockets[0].getsockname()[1], handshakes, asyncio.get_running_loop(), stop]
        ready.set()
        async with server:
            await stop.wait()

    asyncio.run(main())


class _Alternating:
    """Stands for an SSLContext on the server side: each connection gets the next one."""

    def __init__(self, contexts: list[ssl.SSLContext]) -> None:
        self._contexts = contexts
        self._next = 0

    def wrap_bio(self, *args: object, **kwargs: object) -> ssl.SSLObject:
        context = self._contexts[self._next % len(self._contexts)]
        self._next += 1
        return context.wrap_bio(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def tls_server_factory() -> Iterator[object]:
    stops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, threading.Thread]] = []

    def start(
        *names: str,
        not_after: datetime.datetime | None = None,
        ticket_keys: int = 1,
        tls_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
        tickets: bool = True,
    ) -> TLSServer:
        authority = trustme.CA()
        certificate = authority.issue_cert(*names, not_after=not_after)
        contexts = []
        for _ in range(ticket_keys):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.maximum_version = tls_version
            if not tickets:
                context.options |= ssl.OP_NO_TICKET
                context.num_tickets = 0
            certificate.configure_cert(context)
            contexts.append(context)
        ready, box = threading.Event(), []  # type: ignore[var-annotated]
        thread = threading.Thread(target=_serve, args=(contexts, ready, box), daemon=True)
        thread.start()
        assert ready.wait(10)
        port, handshakes, loop, stop = box
        stops.append((loop, stop, thread))
        return TLSServer(port, authority, handshakes)

    yield start
    for loop, stop, thread in stops:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)


def _client_context(server: TLSServer) -> ssl.SSLContext:
    context = ssl.create_default_context()
    server.ca.configure_trust(context)
    context.set_alpn_protocols(["http/1.1"])
    return context


class _NoFallback(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError("index GETs never reach the fallback")


def _transport(server: TLSServer) -> PlainHTTPTransport:
    context = _client_context(server)
    return PlainHTTPTransport(_NoFallback(), limit=4, tls=lambda: context)


async def _get(transport: PlainHTTPTransport, url: str) -> httpx.Response:
    request = httpx.Request("GET", url, extensions={"timeout": {"connect": 10, "read": 10}})
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_later_connections_resume_the_first_ones_session(tls_server_factory) -> None:
    server = tls_server_factory("127.0.0.1")
    transport = _transport(server)
    try:
        for _ in range(3):  # "Connection: close": each request on a new connection
            assert (await _get(transport, f"https://127.0.0.1:{server.port}/")).content == b"ok"
    finally:
        await transport.aclose()
    assert server.handshakes == [(None, False), (None, True), (None, True)]
    assert (transport.tls_handshakes, transport.tls_resumed) == (3, 2)


async def test_tls_1_2_sessions_resume_too(tls_server_factory) -> None:
    server = tls_server_factory("127.0.0.1", tls_version=ssl.TLSVersion.TLSv1_2)
    transport = _transport(server)
    try:
        for _ in range(3):
            assert (await _get(transport, f"https://127.0.0.1:{server.port}/")).content == b"ok"
    finally:
        await transport.aclose()
    assert [resumed for _, resumed in server.handshakes] == [False, True, True]


async def test_a_server_without_tickets_gets_full_handshakes(tls_server_factory) -> None:
    # No ticket: nothing is held, nothing offered (a session ID alone is not taken up).
    server = tls_server_factory("127.0.0.1", tickets=False, tls_version=ssl.TLSVersion.TLSv1_2)
    transport = _transport(server)
    try:
        for _ in range(8):
            assert (await _get(transport, f"https://127.0.0.1:{server.port}/")).content == b"ok"
        sessions = transport._tls_sessions["127.0.0.1", server.port]
    finally:
        await transport.aclose()
    assert [resumed for _, resumed in server.handshakes] == [False] * 8
    # Reading a session costs a copy: each connection is looked at once, and after a few
    # without a ticket none is looked at any more.
    assert sessions._without_ticket == tls_module._NO_TICKETS


async def test_a_session_is_never_offered_to_another_host_name(
    tls_server_factory,
) -> None:
    # One server, one certificate valid for both names, one ticket key: it would resume a
    # session offered under either name, so only the client keeps the names apart.
    server = tls_server_factory("127.0.0.1", "localhost")
    transport = _transport(server)
    try:
        await _get(transport, f"https://127.0.0.1:{server.port}/")
        await _get(transport, f"https://localhost:{server.port}/")
        await _get(transport, f"https://localhost:{server.port}/")
        await _get(transport, f"https://127.0.0.1:{server.port}/")
    finally:
        await transport.aclose()
    # Each name's first handshake is a full one; later ones resume that name's own session.
    assert server.handshakes == [
        (None, False),
        ("localhost", False),
        ("localhost", True),
        (None, True),
    ]


async def test_a_session_is_never_offered_to_another_port(tls_server_factory) -> None:
    first = tls_server_factory("127.0.0.1")
    second = tls_server_factory("127.0.0.1")
    context = _client_context(first)
    second.ca.configure_trust(context)
    transport = PlainHTTPTransport(_NoFallback(), limit=4, tls=lambda: context)
    try:
        await _get(transport, f"https://127.0.0.1:{first.port}/")
        await _get(transport, f"https://127.0.0.1:{second.port}/")
        offers_declined = [sessions.declined for sessions in transport._tls_sessions.values()]
    finally:
        await transport.aclose()
    assert second.handshakes == [(None, False)]
    # (The two servers' ticket keys differ: the client must not even offer, not just fail.)
    assert offers_declined == [0, 0]


async def test_host_name_verification_holds_while_a_session_is_at_hand(
    tls_server_factory,
) -> None:
    # The certificate names 127.0.0.1 only; "localhost" reaches the same server, which would
    # resume a session of 127.0.0.1 offered under that name (and skip the certificate).
    server = tls_server_factory("127.0.0.1")
    transport = _transport(server)
    try:
        await _get(transport, f"https://127.0.0.1:{server.port}/")
        await _get(transport, f"https://127.0.0.1:{server.port}/")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await _get(transport, f"https://localhost:{server.port}/")
    finally:
        await transport.aclose()
    assert transport.tls_resumed == 1


async def test_no_session_is_offered_past_the_certificates_expiry(
    tls_server_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=2)
    server = tls_server_factory("127.0.0.1", not_after=expiry)
    transport = _transport(server)
    real_time = tls_module._now
    try:
        await _get(transport, f"https://127.0.0.1:{server.port}/")
        # Three minutes on (within SESSION_LIFETIME): the certificate has expired since it
        # was verified, so the next connection must verify anew rather than resume.
        monkeypatch.setattr(tls_module, "_now", lambda: real_time() + 180)
        await _get(transport, f"https://127.0.0.1:{server.port}/")
    finally:
        await transport.aclose()
    assert [resumed for _, resumed in server.handshakes] == [False, False]


async def test_no_session_is_offered_past_its_lifetime(
    tls_server_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = tls_server_factory("127.0.0.1")
    transport = _transport(server)
    real_time = tls_module._now
    url = f"https://127.0.0.1:{server.port}/"
    try:
        await _get(transport, url)
        await _get(transport, url)  # resumes
        later = real_time() + tls_module.SESSION_LIFETIME + 1
        monkeypatch.setattr(tls_module, "_now", lambda: later)
        await _get(transport, url)  # the verification is too old: a full handshake
        await _get(transport, url)  # which starts a new lifetime: resumes again
    finally:
        await transport.aclose()
    assert [resumed for _, resumed in server.handshakes] == [False, True, False, True]


async def test_a_server_that_declines_sessions_gets_full_verified_handshakes(
    tls_server_factory,
) -> None:
    # Two ticket keys taken in turn: no ticket is ever accepted by the next connection.
    server = tls_server_factory("127.0.0.1", ticket_keys=2)
    transport = _transport(server)
    try:
        for _ in range(6):
            assert (await _get(transport, f"https://127.0.0.1:{server.port}/")).content == b"ok"
        sessions = transport._tls_sessions["127.0.0.1", server.port]
    finally:
        await transport.aclose()
    assert [resumed for _, resumed in server.handshakes] == [False] * 6
    # Offered twice, declined twice, then no more offers (each costs a copy of the session).
    assert (sessions.resumed, sessions.declined) == (0, 2)


def test_the_index_context_made_before_a_fork_is_the_one_clients_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``import_http_stack(tls=True)`` (the CLI, before it forks lookup workers) loads the CA
    bundle once: the clients built afterwards, in this process or a forked one, use that
    context; other CA settings get a context of their own."""
    from sbom_enrich.status._http import client as client_module
    from sbom_enrich.status.compose import import_http_stack
    from sbom_enrich.status.settings import ClientSettings

    monkeypatch.setattr(client_module, "_prepared", {})
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    def index_context() -> ssl.SSLContext:
        transport = client_module.build_http_client(ClientSettings(cache_dir=tmp_path))._transport
        assert isinstance(transport, PlainHTTPTransport) and transport._tls is not None
        return transport._tls()

    assert index_context() is not index_context()  # nothing prepared: one per client
    import_http_stack(tls=True)
    prepared = index_context()
    assert index_context() is prepared
    assert prepared.verify_mode is ssl.CERT_REQUIRED and prepared.check_hostname
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    assert index_context() is not prepared
