"""The service against a hostile index: every lying page is that lookup's unknown, never a 500."""

from __future__ import annotations

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
            batch = http.post("/v1/projects:batch", json={"names": [*HOSTILE_NAMES, "fine"]})
    assert fine.status_code == 200 and fine.json()["status"] == "active"
    assert {name: a.json()["status"] for name, a in honest.items()} == dict.fromkeys(
        QUARANTINED_NAMES, "quarantined"
    )
    for name, answer in answers.items():
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        assert body["status"] == "unknown", (name, body)
        assert pages[name].error in (body["error"] or ""), (name, body)
    assert batch.status_code == 200, batch.text
