"""The service's JSON never carries raw index text: escape sequences, CR/LF, bidi overrides."""

from __future__ import annotations

import json

from servicekit import MakeIndexServer, MakeService

from hostile_text_index import hostile_text_projects
from untrusted_text import assert_json_safe


def test_project_answers_and_reports_carry_only_clean_index_text(
    make_service: MakeService, make_index_server: MakeIndexServer
) -> None:
    index = make_index_server(hostile_text_projects())
    service = make_service(index.url)
    components = [
        {"type": "library", "name": n, "version": "1.0", "purl": f"pkg:pypi/{n}@1.0"}
        for n in ("old-text", "bad-reason", "fine")
    ]
    sbom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    with service.client() as http:
        for name in ("old-text", "bad-reason"):
            answer = http.get(f"/v1/projects/{name}", params={"version": "1.0"})
            assert answer.status_code == 200, answer.text
            assert_json_safe(answer.json(), skip=frozenset())
        assert http.get("/v1/projects/old-text").json()["status"] == "unknown"
        report = http.post(
            "/v1/enrich?format=report",
            content=json.dumps(sbom).encode(),
            headers={"Content-Type": "application/vnd.cyclonedx+json"},
        )
    assert report.status_code == 200, report.text
    assert_json_safe(report.json())
