"""The Host a request asks by: on loopback only loopback names (no DNS rebinding), and
``--allowed-hosts``."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from servicekit import MakeService
from test_service_hostile_clients import read_response

from indexserver import IndexServer
from sbom_enrich.cli import main
from sbom_enrich.service.config import ServiceSettings
from sbom_enrich.service.openapi import openapi_document

REFUSED_HOSTS = [
    "evil.example",  # a page whose name now resolves to 127.0.0.1 (DNS rebinding)
    "evil.example:8000",
    "localhost.evil.example",
    "127.0.0.1.evil.example",
    "127.1",  # inet_aton's shorthand: not an address we read as loopback
    "[::ffff:7f00:1]",
    "",
    "local host",
]


def test_on_loopback_a_rebound_name_is_refused_before_anything_is_asked(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, rate_limit=0)
    with service.client() as http:
        refused = [
            http.get("/v1/projects/requests", headers={"Host": host}) for host in REFUSED_HOSTS
        ]
        batch = http.post(
            "/v1/projects:batch", json={"names": ["requests"]}, headers={"Host": "evil.example"}
        )
        others = [
            http.get(path, headers={"Host": "evil.example"}) for path in ("/docs", "/metrics")
        ]
        probe = http.get("/healthz", headers={"Host": "evil.example"})  # probes send any Host

    for response in [*refused, batch, *others]:
        assert response.status_code == 421, response.request.headers["Host"]
        assert response.headers["Content-Type"] == "application/json"
        message = response.json()["error"]
        assert "not a name this service answers to" in message or "Host header" in message
        assert "--allowed-hosts" in message
    assert "'evil.example:8000'" in refused[1].json()["error"]
    assert index_server.stats.by_project["requests"] == 0  # no lookup for a refused request
    assert probe.status_code == 200


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8000", "LOCALHOST.:1", "127.0.0.1:8000", "127.8.9.10", "[::1]:8000"],
)
def test_on_loopback_loopback_names_are_served(
    make_service: MakeService, index_server: IndexServer, host: str
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        response = http.get("/v1/projects/nose", headers={"Host": host})
    assert response.status_code == 200 and response.json()["status"] == "deprecated"


def _raw(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        return read_response(conn, 10)


def test_no_host_or_two_hosts_is_refused(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    none = _raw(service.port, b"GET /v1/projects/nose HTTP/1.0\r\n\r\n")
    two = _raw(
        service.port,
        b"GET /v1/projects/nose HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert none.startswith(b"HTTP/1.1 421 ") and b'"no Host header' in none
    # h11 refuses a second Host itself, before the app (the check would too): never served.
    assert two.startswith(b"HTTP/1.1 400 "), two
    assert b"application/json" in two.split(b"\r\n\r\n")[0]
    assert index_server.stats.by_project["nose"] == 0


def test_allowed_hosts_adds_names_and_off_loopback_turns_the_check_on(
    make_service: MakeService, index_server: IndexServer
) -> None:
    proxied = make_service(index_server.url, allowed_hosts=("sbom.internal",))
    # Listening on every address: no check unless names are given (any name may reach it).
    everywhere = make_service(index_server.url, host="0.0.0.0", no_auth=True)
    named = make_service(
        index_server.url, host="0.0.0.0", no_auth=True, allowed_hosts=("sbom.internal",)
    )
    hosts = ("sbom.internal:443", "SBOM.internal", "evil.example", "localhost")
    answers = {}
    for label, service in (("proxied", proxied), ("everywhere", everywhere), ("named", named)):
        with service.client() as http:
            answers[label] = [
                http.get("/v1/projects/nose", headers={"Host": host}).status_code for host in hosts
            ]
    assert answers == {
        "proxied": [200, 200, 421, 200],
        "everywhere": [200, 200, 200, 200],
        "named": [200, 200, 421, 200],
    }


def test_the_openapi_document_lists_the_421_where_hosts_are_checked() -> None:
    loopback = openapi_document(ServiceSettings())
    everywhere = openapi_document(ServiceSettings(host="0.0.0.0", no_auth=True))
    project = "/v1/projects/{name}"
    assert "421" in loopback["paths"][project]["get"]["responses"]
    assert "421" not in loopback["paths"]["/healthz"]["get"]["responses"]
    assert "421" not in everywhere["paths"][project]["get"]["responses"]


def test_a_bad_allowed_host_is_a_one_line_usage_error(capsys: object, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert main(["serve", "--allowed-hosts", "sbom.internal,*.example"], env=env) == 2
    assert main(["serve"], env={**env, "SBOM_ENRICH_ALLOWED_HOSTS": "http://sbom.internal/"}) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("sbom-enrich: error: ") for line in lines)
    assert "--allowed-hosts: '*.example' is not a host name" in lines[0]
    assert "'http://sbom.internal/'" in lines[1]
