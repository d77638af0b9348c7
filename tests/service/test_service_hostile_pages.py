"""The service against a hostile index: every lying page is that lookup's unknown, never a 500."""

from __future__ import annotations

import json

from servicekit import MakeService

from hostile_pages import HOSTILE_NAMES, QUARANTINED_NAMES, HostilePageServer, hostile_pages


def test_hostile_pages_are_unknown_with_a_lookup_error_and_others_answer(
    make_service: MakeService,
) -> None:
    pages = hostile_pages()
    with HostilePageServer() as index:
        service = make_service(index.url)
        with service.client() as http:
            answers = {name: http.get(f"/v1/projects/{name}") for name in HOSTILE_NAMES}
            fine = http.get("/v1/projects/fine")
            honest = {name: http.get(f"/v1/projects/{name}") for name in QUARANTINED_NAMES}
            forever = http.get("/v1/projects/fine-forever")
            names = [*HOSTILE_NAMES, "fine", "fine-forever"]
            batch = http.post("/v1/projects:batch", json={"names": names})
            enriched = http.post(
                "/v1/enrich",
                content=sbom(*names),
                headers={"Content-Type": "application/vnd.cyclonedx+json"},
            )
    assert fine.status_code == 200 and fine.json()["status"] == "active"
    assert {name: a.json()["status"] for name, a in honest.items()} == dict.fromkeys(
        QUARANTINED_NAMES, "quarantined"
    )
    assert forever.status_code == 200, forever.text
    assert forever.json()["status"] == "active" and forever.json()["error"] is None
    for name, answer in answers.items():
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        assert body["status"] == "unknown", (name, body)
        assert pages[name].error in (body["error"] or ""), (name, body)
    assert batch.status_code == 200, batch.text
    assert enriched.status_code == 200, enriched.text
    assert enriched.headers["X-Sbom-Enrich-Exit-Code"] == "3"  # incomplete, never a 500
    found = {
        component["name"]: {p["name"]: p["value"] for p in component["properties"]}
        for component in enriched.json()["components"]
    }
    for name in ("fine", "fine-forever"):
        assert found[name]["sbom-enrich:pypi:project-status"] == "active", found[name]
    for name in HOSTILE_NAMES:
        assert found[name]["sbom-enrich:pypi:project-status"] == "unknown", found[name]
        assert pages[name].error in found[name]["sbom-enrich:pypi:lookup-error"], found[name]


def sbom(*names: str) -> bytes:
    components = [
        {"type": "library", "name": name, "version": "1.0", "purl": f"pkg:pypi/{name}@1.0"}
        for name in names
    ]
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**document, "components": components}).encode()
