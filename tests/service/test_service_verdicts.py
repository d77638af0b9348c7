"""Requests that must not get a verdict or a record the service did not work out as asked
(the test index on 127.0.0.1): the policy, the index and the names are the caller's, exactly."""

from __future__ import annotations

import json

import pytest
from servicekit import MakeService

from indexserver import IndexServer

JSON_TYPE = "application/vnd.cyclonedx+json"


def bom(*names: str) -> bytes:
    components = [
        {"type": "library", "name": name, "version": version, "purl": f"pkg:pypi/{name}@{version}"}
        for name, version in (n.split("==") for n in names)
    ]
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    ).encode()


SBOM = bom("pycrypto==2.6.1", "requests==2.32.3")


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        # The CLI's spelling: ignored, the default policy passed the archived component.
        ("fail-on=archived", "did you mean fail_on?"),
        ("failOn=archived", "fail_on, allow_incomplete, format, signatures"),
        # The last value won: a proxy that read the first saw a policy that was not applied.
        ("fail_on=archived&fail_on=none", "fail_on: given more than once"),
        ("fail_on=archived&allow_incomplete=false&allow_incomplete=true", "allow_incomplete"),
    ],
)
def test_an_enrich_policy_it_cannot_read_exactly_is_refused_not_passed(
    make_service: MakeService, index_server: IndexServer, query: str, hint: str
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        meant = http.post(
            "/v1/enrich?fail_on=archived", content=SBOM, headers={"Content-Type": JSON_TYPE}
        )
        answer = http.post(f"/v1/enrich?{query}", content=SBOM, headers={"Content-Type": JSON_TYPE})
    assert meant.headers["X-Sbom-Enrich-Verdict"] == "failed"
    assert answer.status_code == 422, answer.headers.get("X-Sbom-Enrich-Verdict")
    assert "X-Sbom-Enrich-Verdict" not in answer.headers
    assert hint in answer.json()["error"]
    assert "nothing was checked" in answer.json()["error"]


def test_project_and_batch_refuse_what_they_would_ignore(
    make_service: MakeService, index_server: IndexServer
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        misspelt = http.get("/v1/projects/requests?versions=2.32.0")
        twice = http.get("/v1/projects/requests?version=2.32.3&version=2.32.0")
        batch_query = http.post("/v1/projects:batch?index=x", json={"names": ["requests"]})
        allow_index = http.post(
            "/v1/projects:batch",
            json={"names": ["requests"], "allow_index": "https://elsewhere.example/simple/"},
        )
        repeated = http.post(
            "/v1/projects:batch",
            content=b'{"names": ["pycrypto"], "names": ["requests"]}',
            headers={"Content-Type": "application/json"},
        )
        fine = http.get("/v1/projects/requests?version=2.32.0")
    # Without the version's facts the answer read as "not yanked"; with the last of two, the
    # facts were for another version than the one a proxy or log saw asked.
    assert misspelt.status_code == 422 and "did you mean" not in misspelt.json()["error"]
    assert "'versions'" in misspelt.json()["error"]
    assert twice.status_code == 422 and "version: given more than once" in twice.json()["error"]
    assert batch_query.status_code == 422 and "takes none" in batch_query.json()["error"]
    assert allow_index.status_code == 422 and "'allow_index'" in allow_index.json()["error"]
    assert repeated.status_code == 422 and "names: given more than once" in repeated.json()["error"]
    assert fine.status_code == 200 and fine.json()["version"]["yanked"] is True
    assert index_server.stats.by_project["pycrypto"] == 0
