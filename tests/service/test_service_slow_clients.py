"""Clients that send their headers slowly, or nothing at all, are closed by the server."""

from __future__ import annotations

import select
import socket
import time

from servicekit import MakeService

from indexserver import IndexServer

#: Generous: the server closes them after 0.5 s; the deadline only stops a failing test.
DEADLINE = 20.0


def dribble_until_closed(port: int, count: int, first: bytes, trickle: bytes) -> tuple[int, bytes]:
    """Open ``count`` connections, send ``first``, then ``trickle`` on each every 50 ms until
    the server closes them or DEADLINE passes; returns how many it closed, and what one got."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    for connection in connections:
        if first:
            connection.sendall(first)
        connection.setblocking(False)
    still_open = set(connections)
    closed = 0
    answer = b""
    deadline = time.monotonic() + DEADLINE
    try:
        while still_open and time.monotonic() < deadline:
            readable, _, _ = select.select(list(still_open), [], [], 0.05)
            for connection in readable:
                try:
                    data = connection.recv(4096)
                except OSError:
                    data = b""
                answer = answer or data
                if not data:
                    still_open.discard(connection)
                    closed += 1
            for connection in list(still_open):
                if not trickle:
                    continue
                try:
                    connection.send(trickle)
                except OSError:
                    still_open.discard(connection)
                    closed += 1
    finally:
        for connection in connections:
            connection.close()
    return closed, answer


def test_clients_dribbling_headers_are_closed(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, header_timeout=0.5)
    closed, answer = dribble_until_closed(
        service.port, 100, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", b"a"
    )
    assert closed == 100
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"0.5 s" in answer
    with service.client() as http:  # the server still serves
        assert http.get("/healthz").status_code == 200


def test_connections_that_send_nothing_are_closed(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, header_timeout=0.5)
    closed, answer = dribble_until_closed(service.port, 50, b"", b"")
    assert closed == 50
    assert answer == b""  # nothing asked, nothing answered


def test_keep_alive_client_can_send_a_second_request_slowly_only_within_the_bound(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """After an answer the timer starts again: a kept-alive connection cannot dribble either."""
    service = make_service(index_server.url, header_timeout=0.5)
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    closed, answer = dribble_until_closed(service.port, 20, request + b"GET /healthz HTT", b"P")
    assert closed == 20
    assert answer.startswith(b"HTTP/1.1 200")


def test_slow_body_is_bounded_by_the_request_timeout_not_the_header_timeout(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """Headers in time, then a body within the request timeout: served, though it took longer
    than the header timeout."""
    service = make_service(index_server.url, header_timeout=0.3, request_timeout=30)
    body = b'{"names": ["nose"]}'
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/projects:batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        for start in range(0, len(body), 4):
            time.sleep(0.1)  # 0.5 s in all: longer than the header timeout
            connection.sendall(body[start : start + 4])
        connection.settimeout(10)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]


def test_a_request_framed_twice_ends_its_connection(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """Content-Length and Transfer-Encoding both: read as chunked, and the connection closed
    after the answer (RFC 9112 section 6.1), so a request behind it, which a proxy framing by
    the length would read as part of the body, is never served (request smuggling)."""
    service = make_service(index_server.url)
    body = b'{"names": ["nose"]}'
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/projects:batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
            b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(body):x}".encode()
            + b"\r\n"
            + body
            + b"\r\n0\r\n\r\n"
            + smuggled
        )
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    assert received.count(b"HTTP/1.1 ") == 1, received  # the pipelined one: never answered
    with service.client() as http:  # an honest request on a new connection is served
        assert http.get("/healthz").status_code == 200
