"""The service over real HTTP (uvicorn on 127.0.0.1) against the test index: every endpoint."""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path

import httpx
from lxml import etree
from servicekit import MakeIndexServer, MakeService

from indexserver import IndexServer, ProjectSpec, release

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sbom.cdx.json"
DATA = ROOT / "tests" / "data" / "sboms"
JSON_TYPE = "application/vnd.cyclonedx+json"
XML_TYPE = "application/vnd.cyclonedx+xml"
STATUS = "sbom-enrich:pypi:project-status"


def bom(*components: dict[str, object], spec: str = "1.6") -> bytes:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, "components": components}
    ).encode()


def comp(name: str, version: str, purl: str | None = None) -> dict[str, object]:
    return {"type": "library", "name": name, "version": version,
            "purl": purl or f"pkg:pypi/{name}@{version}"}  # fmt: skip


def statuses(document: bytes) -> dict[str, str]:
    """component name → the project-status property the service wrote."""
    found = {}
    for component in json.loads(document)["components"]:
        for prop in component.get("properties", []):
            if prop["name"] == STATUS:
                found[component["name"]] = prop["value"]
    return found


def counts(response: httpx.Response) -> dict[str, int]:
    header = response.headers["X-Sbom-Enrich-Counts"]
    return {key: int(value) for key, value in (item.split("=") for item in header.split(", "))}


def test_enrich_json_returns_enriched_sbom_with_verdict_headers(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        response = http.post(
            "/v1/enrich", content=EXAMPLE.read_bytes(), headers={"Content-Type": JSON_TYPE}
        )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{JSON_TYPE}; version=1.6"
    assert response.headers["X-Sbom-Enrich-Verdict"] == "passed"
    assert response.headers["X-Sbom-Enrich-Exit-Code"] == "0"
    assert counts(response)["archived"] == 1 and counts(response)["deprecated"] == 1
    found = statuses(response.content)
    assert found["requests"] == "active"
    assert found["pycrypto"] == "archived"
    assert found["nose"] == "deprecated"
    assert found["click"] == "not-found"
    document = response.json()
    assert document["version"] == json.loads(EXAMPLE.read_bytes())["version"] + 1
    assert any(t["name"] == "sbom-enrich" for t in document["metadata"]["tools"]["components"])


def test_enrich_xml_answers_in_xml(make_service: MakeService, index_server: IndexServer) -> None:
    source = DATA / "cyclonedx-py-requirements-1.6.xml"
    service = make_service(index_server.url)
    with service.client() as http:
        response = http.post(
            "/v1/enrich", content=source.read_bytes(), headers={"Content-Type": XML_TYPE}
        )
        plain = http.post(
            "/v1/enrich", content=source.read_bytes(), headers={"Content-Type": "text/xml"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == f"{XML_TYPE}; version=1.6"
    assert plain.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    names = {p.get("name") for p in root.iter("{*}property")}
    assert STATUS in names
    assert counts(response)["components"] == 9


def test_policy_failure_is_a_200_with_failed_verdict(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    body = bom(comp("pycrypto", "2.6.1"), comp("requests", "2.32.0"))
    with service.client() as http:
        default = http.post("/v1/enrich", content=body, headers={"Content-Type": JSON_TYPE})
        archived = http.post(
            "/v1/enrich?fail_on=archived",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        yanked = http.post(
            "/v1/enrich?fail_on=yanked&format=report",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    assert default.headers["X-Sbom-Enrich-Verdict"] == "passed"
    assert archived.status_code == 200
    assert archived.headers["X-Sbom-Enrich-Verdict"] == "failed"
    assert archived.headers["X-Sbom-Enrich-Exit-Code"] == "1"
    assert archived.headers["Content-Type"] == "application/json"
    assert statuses(archived.content)["pycrypto"] == "archived"
    report = yanked.json()
    assert report["exit_code"] == 1
    assert [v["name"] for v in report["violations"]] == ["requests"]
    assert report["counts"]["archived"] == 1
    assert counts(yanked)["yanked"] == 1


def test_enrich_report_offers_no_alternative_for_a_component_from_git(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """The service's report is the CLI's: a nose from git may be a private package bearing
    the deprecated project's name, so the namesake's replacements are not suggested for it."""
    service = make_service(index_server.url)
    git_nose = comp("nose", "9.0", "pkg:pypi/nose@9.0?vcs_url=git%2Bhttps://git.example/n")
    body = bom(comp("pycrypto", "2.6.1"), git_nose)
    with service.client() as http:
        answer = http.post(
            "/v1/enrich?format=report", content=body, headers={"Content-Type": JSON_TYPE}
        )
    assert answer.status_code == 200, answer.text
    by_name = {c["name"]: c for c in answer.json()["components"]}
    assert by_name["nose"]["off_index"] == "git"
    assert by_name["nose"]["alternatives"] == []
    assert [a["name"] for a in by_name["pycrypto"]["alternatives"]] == ["pycryptodome"]


def test_default_policy_comes_from_the_service_settings(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, fail_on=frozenset({"deprecated"}))
    with service.client() as http:
        response = http.post(
            "/v1/enrich", content=bom(comp("nose", "1.3.7")), headers={"Content-Type": JSON_TYPE}
        )
        overridden = http.post(
            "/v1/enrich?fail_on=none",
            content=bom(comp("nose", "1.3.7")),
            headers={"Content-Type": JSON_TYPE},
        )
    assert response.headers["X-Sbom-Enrich-Verdict"] == "failed"
    assert overridden.headers["X-Sbom-Enrich-Verdict"] == "passed"


def test_failed_lookups_make_the_verdict_incomplete(
    make_service: MakeService, make_index_server: MakeIndexServer
) -> None:
    service = make_service("http://127.0.0.1:9/simple/", timeout=2.0)
    with service.client() as http:
        response = http.post(
            "/v1/enrich", content=bom(comp("requests", "1")), headers={"Content-Type": JSON_TYPE}
        )
        allowed = http.post(
            "/v1/enrich?allow_incomplete=true",
            content=bom(comp("requests", "1")),
            headers={"Content-Type": JSON_TYPE},
        )
    assert response.status_code == 200
    assert response.headers["X-Sbom-Enrich-Verdict"] == "incomplete"
    assert response.headers["X-Sbom-Enrich-Exit-Code"] == "3"
    assert statuses(response.content) == {"requests": "unknown"}
    assert allowed.headers["X-Sbom-Enrich-Verdict"] == "passed"


def test_bad_input_is_refused_with_a_json_error(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    dtd = b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x "y">]><bom/>'
    cases = [
        (b"not an sbom", JSON_TYPE, "", 400),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}', JSON_TYPE, "", 422),
        (b'{"hello": "world"}', JSON_TYPE, "", 400),
        (EXAMPLE.read_bytes(), "text/plain", "", 415),
        (EXAMPLE.read_bytes(), XML_TYPE, "", 400),  # JSON sent as XML
        (dtd, XML_TYPE, "", 400),
        (EXAMPLE.read_bytes(), JSON_TYPE, "?fail_on=bogus", 422),
        (EXAMPLE.read_bytes(), JSON_TYPE, "?format=pdf", 422),
        (EXAMPLE.read_bytes(), JSON_TYPE, "?allow_incomplete=maybe", 422),
        (b"", JSON_TYPE, "", 400),
    ]
    with service.client() as http:
        for body, content_type, query, expected in cases:
            response = http.post(
                f"/v1/enrich{query}", content=body, headers={"Content-Type": content_type}
            )
            assert response.status_code == expected, (body[:40], content_type, query)
            assert response.headers["Content-Type"] == "application/json"
            message = response.json()["error"]
            assert message and "\n" not in message and "Traceback" not in message
    assert index_server.stats.requests == 0


def test_body_over_the_limit_is_413_by_content_length(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url, max_body=1000)
    with service.client() as http:
        response = http.post(
            "/v1/enrich", content=b"{" + b" " * 2000 + b"}", headers={"Content-Type": JSON_TYPE}
        )
        small = http.post(
            "/v1/enrich",
            content=bom(comp("requests", "2.32.3")),
            headers={"Content-Type": JSON_TYPE},
        )
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["error"]
    assert small.status_code == 200


def test_streamed_body_is_cut_off_at_the_limit_not_read_whole(
    make_service: MakeService, index_server: IndexServer
) -> None:
    """Chunked upload with no Content-Length: the 413 arrives while the client still sends."""
    limit = 64 * 1024
    service = make_service(index_server.url, max_body=limit)
    chunk = b" " * 16384
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/enrich HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(400):  # at most 6.4 MB, a hundred times the limit
            try:
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                break  # the server answered and closed
            sent += len(chunk)
            if select.select([conn], [], [], 0)[0]:
                break
            time.sleep(0.001)
        conn.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                data = conn.recv(4096)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < 20 * limit


def test_purl_repository_url_only_to_allowed_indexes(
    make_service: MakeService, index_server: IndexServer, make_index_server: MakeIndexServer
) -> None:
    other = make_index_server(
        [ProjectSpec("private-pkg", status="archived", files=release("private-pkg", "1.0"))]
    )
    unlisted = make_index_server()
    service = make_service(index_server.url, allowed_indexes=(other.url,))
    body = bom(
        comp("private-pkg", "1.0", f"pkg:pypi/private-pkg@1.0?repository_url={other.url}"),
        comp("requests", "2.32.3", f"pkg:pypi/requests@2.32.3?repository_url={unlisted.url}"),
        comp("metadata", "1", "pkg:pypi/metadata@1?repository_url=http://169.254.169.254/latest/"),
    )
    with service.client() as http:
        response = http.post("/v1/enrich", content=body, headers={"Content-Type": JSON_TYPE})
        refused = http.get("/v1/projects/requests", params={"index": unlisted.url})
        accepted = http.get("/v1/projects/private-pkg", params={"index": other.url})
    assert statuses(response.content) == {
        "private-pkg": "archived",
        "requests": "unknown",
        "metadata": "unknown",
    }
    assert unlisted.stats.requests == 0
    assert index_server.stats.requests == 0
    assert refused.status_code == 422 and "not allowed" in refused.json()["error"]
    assert accepted.json()["status"] == "archived"


def test_project_record_with_version_facts_and_alternatives(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        nose = http.get("/v1/projects/Nose", params={"version": "1.3.6"})
        again = http.get("/v1/projects/nose")
        missing = http.get("/v1/projects/no-such-project", params={"version": "1.0"})
        invalid = http.get("/v1/projects/-bad-")
        # A caller's fail_on is echoed in the error, cleaned (raw ESC and BEL were).
        hostile = http.post(
            "/v1/enrich", params={"fail_on": "\x1b[2J\x1b[31mPWNED\x07," + "A" * 3000},
            content=b"{}", headers={"Content-Type": "application/json"},
        )  # fmt: skip
    assert nose.status_code == 200
    record = nose.json()
    assert record["requested"] == "Nose" and record["name"] == "nose"
    assert record["status"] == "deprecated"
    assert record["reason"] == "Unmaintained since 2015; use pytest"
    assert record["version"] == {
        "version": "1.3.6", "yanked": True, "yank_reason": None, "missing": False
    }  # fmt: skip
    assert "pytest" in [a["name"] for a in record["alternatives"]]
    assert record["from_cache"] is False and again.json()["from_cache"] is True
    assert missing.json()["status"] == "not-found"
    # No list of versions: nothing is known of this one (it said "not yanked, not missing").
    assert missing.json()["version"] == {
        "version": "1.0", "yanked": None, "yank_reason": None, "missing": None
    }  # fmt: skip
    assert invalid.status_code == 422
    assert hostile.status_code == 422
    error = hostile.json()["error"]
    assert "\x1b" not in error and "\x07" not in error and len(error) <= 400, error
    assert index_server.stats.by_project["nose"] == 1


def test_batch_returns_records_in_order_each_project_looked_up_once(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    names = ["requests", "evil-pkg", "Requests", "zope.interface", "unknown-thing"]
    with service.client() as http:
        response = http.post("/v1/projects:batch", json={"names": names})
        not_json = http.post(
            "/v1/projects:batch", content=b"{", headers={"Content-Type": "application/json"}
        )
        shapes = [
            http.post("/v1/projects:batch", json=body)
            for body in ({"names": "requests"}, {"names": []}, {"names": [1]}, ["requests"])
        ]
        too_many = http.post("/v1/projects:batch", json={"names": ["a"] * 1001})
        bad_name = http.post("/v1/projects:batch", json={"names": ["ok", "not ok!"]})
        # What a web page may send a service on this machine without asking first (no CORS
        # preflight): refused before the body is read, nothing looked up.
        cross_site = [
            http.post("/v1/projects:batch", content=b'{"names": ["six"]}', headers=headers)
            for headers in ({"Content-Type": "text/plain"}, {"Content-Type": ""}, {})
        ]
    assert [r.status_code for r in cross_site] == [415, 415, 415]
    assert "send the names as application/json" in cross_site[0].json()["error"]
    assert "six" not in index_server.stats.by_project
    assert response.status_code == 200
    records = response.json()["records"]
    assert [r["requested"] for r in records] == names
    assert [r["status"] for r in records] == [
        "active", "quarantined", "active", "active", "not-found"
    ]  # fmt: skip
    assert index_server.stats.by_project["requests"] == 1
    assert not_json.status_code == 400
    assert [r.status_code for r in shapes] == [422, 422, 422, 422]
    assert too_many.status_code == 422
    assert bad_name.status_code == 422 and "not ok!" in bad_name.json()["error"]


def test_request_timeout_is_504_and_what_arrived_is_cached_for_the_retry(
    make_service: MakeService, make_index_server: MakeIndexServer
) -> None:
    index = make_index_server()
    index.hold("nose")  # answered only once the test releases it
    service = make_service(index.url, request_timeout=2.0)
    names = {"names": ["requests", "nose"]}
    with service.client() as http:
        response = http.post("/v1/projects:batch", json=names)
        index.release("nose")
        retry = http.post("/v1/projects:batch", json=names)
    # 504, not the index's 200: the service answered before "nose" was.
    assert response.status_code == 504
    assert "2 s" in response.json()["error"]
    # The retry went further: "requests" came from the cache, "nose" was asked afresh (its
    # lookup ended with the request that timed out; none was left running to join).
    assert retry.status_code == 200
    requests, nose = retry.json()["records"]
    assert requests["status"] == "active" and requests["from_cache"] is True
    assert nose["status"] == "deprecated" and nose["from_cache"] is False
    assert index.stats.by_project["requests"] == 1 and index.stats.by_project["nose"] == 2


def test_health_metrics_docs_and_json_404(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        body = bom(comp("requests", "2.32.3"), comp("nose", "1.3.7"))
        for _ in range(2):
            http.post("/v1/enrich", content=body, headers={"Content-Type": JSON_TYPE})
        health = http.get("/healthz")
        metrics = http.get("/metrics")
        docs = http.get("/docs")
        spec = http.get("/openapi.json")
        missing = http.get("/v2/nothing")
        wrong_method = http.get("/v1/enrich")
    assert health.json() == {
        "status": "ok", "version": health.json()["version"],
        "cache": {"backend": "disk", "usable": True}, "maintenance": False,
    }  # fmt: skip
    text = metrics.text
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert 'sbom_enrich_http_requests_total{method="POST",route="/v1/enrich",status="200"} 2.0' in (
        text
    )
    assert 'sbom_enrich_lookups_total{source="index"} 2.0' in text
    assert 'sbom_enrich_lookups_total{source="cache"} 2.0' in text
    assert "sbom_enrich_index_requests_total 2.0" in text
    assert 'sbom_enrich_components_total{status="deprecated"} 2.0' in text
    assert 'sbom_enrich_http_request_duration_seconds_bucket{le="0.5",route="/v1/enrich"}' in text
    assert "sbom_enrich_cache_up 1.0" in text
    assert docs.status_code == 200 and "POST /v1/enrich" in docs.text
    assert spec.json()["paths"].keys() >= {"/v1/enrich", "/v1/projects/{name}"}
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
