"""Hostile and broken clients: every client mistake is a 4xx JSON error, never a 500 or a hang."""

from __future__ import annotations

import gzip
import json
import socket
import time

import pytest
from servicekit import MakeService, RunningService

from indexserver import IndexServer
from sbom_enrich.service.openapi import openapi_document

JSON_TYPE = "application/json"
BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}


def read_response(conn: socket.socket, timeout: float) -> bytes:
    """What the server sent until it closed the connection or ``timeout`` passed."""
    conn.settimeout(timeout)
    answer = b""
    try:
        while data := conn.recv(4096):
            answer += data
    except OSError:
        pass
    return answer


def metric_lines(service: RunningService, name: str) -> list[str]:
    with service.client() as http:
        text = http.get("/metrics").text
    return [line for line in text.splitlines() if line.startswith(name)]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # More digits than int() converts: packaging raises ValueError, not InvalidVersion.
        ("GET", "/v1/projects/requests?version=" + "1" * 5000, b""),
        ("GET", "/v1/projects/requests?index=http://[::1/simple/", b""),
        ("POST", "/v1/projects:batch", b"[" * 100_000 + b"]" * 100_000),
        ("POST", "/v1/projects:batch", b'{"names": ["requests"], "index": "http://\\ud800/"}'),
    ],
    ids=["huge-version", "unclosed-ipv6-index", "deeply-nested-batch", "surrogate-index"],
)
def test_malformed_request_values_are_client_errors_not_500(
    make_service: MakeService, index_server: IndexServer, method: str, path: str, body: bytes
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        response = http.request(method, path, content=body, headers={"Content-Type": JSON_TYPE})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    message = response.json()["error"]
    assert message and len(message) < 300


def test_report_with_a_lone_surrogate_in_a_purl_is_valid_json(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """JSON allows "\\ud800"; the report echoes the purl as sent instead of failing to encode."""
    service = make_service(index_server.url)
    body = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "nose", '
    body += b'"purl": "pkg:pypi/nose@1.3.7?x=\\ud800"}]}'
    with service.client() as http:
        response = http.post(
            "/v1/enrich?format=report", content=body, headers={"Content-Type": JSON_TYPE}
        )
    assert response.status_code == 200, response.text
    [component] = json.loads(response.content)["components"]
    assert component["status"] == "deprecated"
    assert component["purl"].endswith("x=\ud800")


def test_stalled_upload_gets_408_within_the_request_timeout(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, request_timeout=0.5)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/enrich HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        answer = read_response(conn, timeout=5)
    # The answer (read_response gives up after 5 s) is the request timeout's, not a hang's.
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b'{"error":' in answer and b"0.5 s" in answer
    responses = openapi_document(service.settings)["paths"]["/v1/enrich"]["post"]["responses"]
    assert "408" in responses
    assert metric_lines(service, 'sbom_enrich_http_requests_total{method="POST"') == [
        'sbom_enrich_http_requests_total{method="POST",route="/v1/enrich",status="408"} 1.0'
    ]


def test_client_that_hangs_up_mid_upload_is_not_counted_as_a_server_error(
    make_service: MakeService, index_server: IndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(index_server.url)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/enrich HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while not (lines := metric_lines(service, 'sbom_enrich_http_requests_total{method="POST"')):
        assert time.monotonic() < deadline, "the request was never counted"
        time.sleep(0.05)
    # 499 is nginx's "client closed request": not the service's fault, so not a 5xx to alert on.
    assert lines == [
        'sbom_enrich_http_requests_total{method="POST",route="/v1/enrich",status="499"} 1.0'
    ]
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]


def test_unknown_methods_do_not_grow_the_metrics(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """The method label takes a fixed set of values: a client inventing methods cannot make
    a new time series per request."""
    service = make_service(index_server.url)
    with service.client() as http:
        for number in range(20):
            assert http.request(f"X{number}", "/v1/enrich").status_code == 405
        assert http.request("PUT", "/v1/enrich").status_code == 405
    lines = metric_lines(service, "sbom_enrich_http_requests_total{")
    assert (
        'sbom_enrich_http_requests_total{method="other",route="/v1/enrich",status="405"} 20.0'
        in (lines)
    )
    assert 'sbom_enrich_http_requests_total{method="PUT",route="/v1/enrich",status="405"} 1.0' in (
        lines
    )
    assert not [line for line in lines if 'method="X' in line]


@pytest.mark.parametrize(
    ("head", "framing", "status"),
    [
        (b"/v1/enrich", b"Content-Length: 100000\r\n\r\n{", b"413"),
        (b"/v1/enrich", b"Transfer-Encoding: chunked\r\n\r\n800\r\n" + b" " * 2048, b"413"),
        (b"/v1/enrich?fail_on=bogus", b"Content-Length: 100000\r\n\r\n{", b"422"),
        (b"/v1/enrich", b"Content-Encoding: br\r\nContent-Length: 100000\r\n\r\n{", b"415"),
    ],
    ids=["413-content-length", "413-chunked", "422-query", "415-encoding"],
)
def test_refused_upload_closes_the_connection(
    make_service: MakeService, index_server: IndexServer, head: bytes, framing: bytes, status: bytes
) -> None:
    """Refused before its body was read, an upload is answered and the server hangs up, rather
    than keeping the connection and swallowing the rest of the upload."""
    service = make_service(index_server.url, max_body=1000)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
        conn.sendall(b"POST " + head + b" HTTP/1.1\r\nHost: localhost\r\n")
        conn.sendall(b"Content-Type: application/json\r\n" + framing)
        answer = read_response(conn, timeout=5)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:100]
    assert b"connection: close" in answer.lower()
    with service.client() as http:  # a request read to its end keeps the connection
        kept = http.post("/v1/enrich", content=b"{}", headers={"Content-Type": JSON_TYPE})
        listed = http.get("/healthz")
    assert kept.status_code == 400 and "connection" not in kept.headers
    assert listed.status_code == 200 and "connection" not in listed.headers


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1 junk\r\nHost: localhost\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n",
        b"POST /v1/projects:batch HTTP/1.1\r\nHost: localhost\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32 + b"\r\n\r\n",  # TLS to HTTP
    ],
    ids=["request-line", "header-line", "two-hosts", "chunk-size", "tls-hello"],
)
def test_what_h11_cannot_read_is_a_json_400(
    make_service: MakeService, index_server: IndexServer, request_bytes: bytes
) -> None:
    service = make_service(index_server.url)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
        conn.sendall(request_bytes)
        answer = read_response(conn, 10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"].startswith("malformed HTTP request")


def test_path_with_a_trailing_slash_is_a_json_404_not_a_redirect(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """Starlette's slash redirect built its Location from the client's Host header, answered
    POST with an empty 307, and sent GET /v1/enrich/ on to a 405."""
    # The Host must pass the service's own check to reach the router (a proxy's name).
    service = make_service(index_server.url, allowed_hosts=("evil.example",))
    with service.client() as http:
        answers = [
            http.get("/healthz/", headers={"Host": "evil.example"}),
            http.post("/v1/enrich/", content=b"{}", headers={"Content-Type": JSON_TYPE}),
            http.get("/v1/projects/requests/"),
        ]
    for response in answers:
        assert response.status_code == 404, response.request.url
        assert "location" not in response.headers
        assert response.json() == {"error": "Not Found"}


def test_compressed_body_is_415_not_misread(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """The service reads bodies as sent: a Content-Encoding it would ignore is refused clearly
    (RFC 9110: 415) instead of 'not JSON', or a plain body labelled gzip being accepted."""
    service = make_service(index_server.url)
    sbom = json.dumps({**BOM, "components": []}).encode()
    with service.client() as http:
        answers = [
            http.post(
                path,
                content=gzip.compress(body),
                headers={"Content-Type": JSON_TYPE, "Content-Encoding": coding},
            )
            for path, body, coding in [
                ("/v1/enrich", sbom, "gzip"),
                ("/v1/enrich", sbom, "GZIP, identity"),
                ("/v1/projects:batch", b'{"names": ["nose"]}', "gzip"),
            ]
        ]
        plain = http.post(
            "/v1/enrich",
            content=sbom,
            headers={"Content-Type": JSON_TYPE, "Content-Encoding": "identity"},
        )
    for response in answers:
        assert response.status_code == 415, response.text
        assert "Content-Encoding" in response.json()["error"]
    assert plain.status_code == 200
    assert index_server.stats.requests == 0


def test_a_small_unread_body_is_drained_so_the_connection_survives(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """Closing with the body unread made the kernel send a reset, which could eat the answer
    (seen as a flaky ReadError); a small body is now read first and the connection kept."""
    service = make_service(index_server.url)
    with service.client() as http:
        refused = http.post("/v1/enrich/", content=b"{}", headers={"Content-Type": JSON_TYPE})
        after = http.get("/healthz")
    assert refused.status_code == 404
    assert refused.headers.get("connection") != "close"
    assert after.status_code == 200
