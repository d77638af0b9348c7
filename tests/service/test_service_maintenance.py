"""The service with ``--maintenance``: verdicts beside the status, its bounds, tokens never shown
(the test index and a fake forge on 127.0.0.1)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from servicekit import MakeIndexServer, MakeService, RedisServer

from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer, ProjectSpec, release
from sbom_enrich.service.config import ServiceSettings
from sbom_enrich.status.repository import RepositorySettings

SECRET = "ghp_service_S3CRET_never_print_me"
JSON_TYPE = "application/vnd.cyclonedx+json"
DESCRIPTION = "This project is deprecated: use `requests` instead."


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with FakeForge(
        github={
            "psf/requests": FakeRepo(),
            "pycrypto/pycrypto": FakeRepo(archived=True, pushed_at="2014-06-20T00:00:00Z"),
            "nose-devs/nose": FakeRepo(
                pushed_at="2016-02-01T00:00:00Z", committed_at="2016-01-31T00:00:00Z"
            ),
        },
        projects={
            "nose": {
                "info": {
                    "project_urls": {"Source": "https://github.com/nose-devs/nose"},
                    "description": DESCRIPTION,
                }
            },
            "requests": {"info": {"project_urls": {"Source": "https://github.com/psf/requests"}}},
            "pycrypto": {"info": {"home_page": "https://github.com/pycrypto/pycrypto"}},
        },
    ) as server:
        yield server


def repository(forge: FakeForge, token: str | None = SECRET) -> RepositorySettings:
    return RepositorySettings(
        github_api_url=f"{forge.url}/github",
        project_api_url=f"{forge.url}/pypi",
        github_token=token,
    )


def test_answers_carry_the_verdict_and_evidence_apart_from_the_status(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    service = make_service(index_server.url, repository=repository(forge))
    with service.client() as http:
        nose = http.get("/v1/projects/nose").json()
        batch = http.post("/v1/projects:batch", json={"names": ["requests", "pycrypto", "nose"]})
        health = http.get("/healthz").json()
    # The index's status stays the index's; the second signal has a field of its own.
    assert nose["status"] == "deprecated"
    maintenance = nose["maintenance"]
    assert maintenance["verdict"] == "stale"
    assert "last release 2015-06-02" in maintenance["evidence"]
    assert maintenance["repository"]["url"] == "https://github.com/nose-devs/nose"
    assert maintenance["repository"]["last_commit"] == "2016-01-31T00:00:00Z"
    assert maintenance["recommended"] == ["requests"]
    assert {"name": "requests", "source": "maintainers"}.items() <= nose["alternatives"][-1].items()
    records = {r["name"]: r for r in batch.json()["records"]}
    assert records["pycrypto"]["status"] == "archived"
    assert records["pycrypto"]["maintenance"]["verdict"] == "repository-archived"
    assert records["requests"]["status"] == "active"
    assert records["requests"]["maintenance"]["verdict"] == "active"
    assert health["maintenance"] is True
    # The batch's two repositories not cached yet took one GraphQL request.
    assert forge.count("/github/graphql") == 2


def test_enrich_writes_the_maintenance_properties(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {
                "type": "library",
                "name": "pycrypto",
                "version": "2.6.1",
                "purl": "pkg:pypi/pycrypto@2.6.1",
                "externalReferences": [
                    {"type": "vcs", "url": "https://github.com/pycrypto/pycrypto"}
                ],
            }
        ],
    }
    service = make_service(index_server.url, repository=repository(forge))
    with service.client() as http:
        answer = http.post(
            "/v1/enrich?fail_on=repo-archived",
            content=json.dumps(document),
            headers={"Content-Type": JSON_TYPE},
        )
        report = http.post(
            "/v1/enrich?format=report",
            content=json.dumps(document),
            headers={"Content-Type": JSON_TYPE},
        )
    assert answer.status_code == 200
    assert answer.headers["X-Sbom-Enrich-Verdict"] == "failed"  # repo-archived is in fail_on
    [component] = answer.json()["components"]
    properties = {p["name"]: p["value"] for p in component["properties"]}
    assert properties["sbom-enrich:pypi:project-status"] == "archived"
    assert properties["sbom-enrich:maintenance"] == "repository-archived"
    assert properties["sbom-enrich:repo:archived"] == "true"
    [reported] = report.json()["components"]
    assert reported["maintenance"]["verdict"] == "repository-archived"


def test_off_by_default_nothing_is_asked_and_no_field_appears(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    service = make_service(index_server.url)
    with service.client() as http:
        nose = http.get("/v1/projects/nose").json()
        health = http.get("/healthz").json()
    assert "maintenance" not in nose and health["maintenance"] is False
    assert forge.seen == []


def test_each_project_costs_a_second_rate_limit_unit(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    names = ["requests", "pycrypto", "nose", "old-api"]
    # 8 a minute: the batch costs 1 + 4 index lookups (+ 4 forge lookups with --maintenance).
    plain = make_service(index_server.url, rate_limit=8)
    surveyed = make_service(index_server.url, rate_limit=8, repository=repository(forge))
    with plain.client() as one, surveyed.client() as two:
        assert one.post("/v1/projects:batch", json={"names": names}).status_code == 200
        assert one.get("/healthz").status_code == 200
        assert one.get("/v1/projects/nose").status_code == 200
        assert two.post("/v1/projects:batch", json={"names": names}).status_code == 200
        refused = two.get("/v1/projects/nose")
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def forge_in_flight(http: httpx.Client) -> float | None:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("sbom_enrich_forge_lookups_in_flight "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_timed_out_request_ends_its_forge_lookups_and_holds_up_nobody(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    held = forge.held["/github/repos/psf/requests"] = threading.Event()
    # One forge call at a time, REST (no token): a call left running holds the one slot.
    settings = replace(repository(forge, token=None), concurrency=1)
    service = make_service(index_server.url, request_timeout=2.0, rate_limit=0, repository=settings)
    try:
        with service.client() as http:
            timed_out = http.get("/v1/projects/requests")
            in_flight = forge_in_flight(http)
            after = http.get("/v1/projects/pycrypto")
            held.set()
            again = http.get("/v1/projects/requests")
    finally:
        held.set()
    assert timed_out.status_code == 504
    # The forge was slow, the index answered at once: the message blamed the index.
    assert "(the index or a forge is slow)" in timed_out.json()["error"], timed_out.text
    assert in_flight == 0
    # Before, the lookup nobody awaited kept the slot until the forge answered (up to the
    # 30 s forge timeout), and this request timed out behind it.
    assert after.status_code == 200, after.text
    assert after.json()["maintenance"]["verdict"] == "repository-archived"
    # Asked again: a fresh forge call, not the cancelled one (nothing of it was cached).
    assert again.status_code == 200 and again.json()["maintenance"]["verdict"] == "active"
    assert forge.count("/github/repos/psf/requests") == 2


def test_a_project_on_another_index_is_not_judged_by_its_namesake_on_the_default(
    make_service: MakeService,
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
    forge: FakeForge,
) -> None:
    # A private "nose", archived on the private index; the project API (PyPI's, the default
    # index's) describes the public nose, and the forge its public repository.
    private = make_index_server(
        [ProjectSpec("nose", status="archived", files=release("nose", "2.0"))]
    )
    service = make_service(
        index_server.url, allowed_indexes=(private.url,), repository=repository(forge)
    )
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {
                "type": "library",
                "name": "nose",
                "version": "2.0",
                "purl": f"pkg:pypi/nose@2.0?repository_url={private.url}",
            },
            {"type": "library", "name": "nose", "version": "1.3.7", "purl": "pkg:pypi/nose@1.3.7"},
        ],
    }
    with service.client() as http:
        single = http.get("/v1/projects/nose", params={"index": private.url}).json()
        batch = http.post("/v1/projects:batch", json={"names": ["nose"], "index": private.url})
        enriched = http.post(
            "/v1/enrich?format=report&fail_on=stale",
            content=json.dumps(document),
            headers={"Content-Type": JSON_TYPE},
        )
        public = http.get("/v1/projects/nose").json()
    [record] = batch.json()["records"]
    component, namesake = enriched.json()["components"]
    for answer in (single, record, component):
        assert answer["status"] == "archived"
        # Before: "stale", from the public project's repository and its recommendation.
        maintenance = answer["maintenance"]
        assert maintenance["verdict"] == "unknown", maintenance
        assert maintenance["repository"] is None
        assert any(line.startswith("not surveyed: ") for line in maintenance["evidence"])
        assert not maintenance.get("recommended")
    # The public nose in the same SBOM is judged, and fails the policy by itself alone.
    assert namesake["status"] == "deprecated" and namesake["maintenance"]["verdict"] == "stale"
    assert [v["purl"] for v in enriched.json()["violations"]] == ["pkg:pypi/nose@1.3.7"]
    assert forge.count("/pypi/nose/json") == 1  # asked for the public nose only
    assert public["maintenance"]["verdict"] == "stale"
    assert public["maintenance"]["recommended"] == ["requests"]


def test_the_batch_limit_applies(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    service = make_service(index_server.url, max_batch=2, repository=repository(forge))
    with service.client() as http:
        answer = http.post("/v1/projects:batch", json={"names": ["requests", "nose", "pycrypto"]})
    assert answer.status_code == 422 and "limit of 2" in answer.json()["error"]
    assert forge.seen == []


def test_tokens_never_appear_in_answers_logs_metrics_or_the_worker_hand_off(
    make_service: MakeService,
    index_server: IndexServer,
    forge: FakeForge,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    forge.rate_limit = 2  # the third request is refused: notes and errors get written
    service = make_service(index_server.url, repository=repository(forge))
    with service.client() as http:
        shown = [
            http.get("/v1/projects/nose").text,
            http.post("/v1/projects:batch", json={"names": ["requests", "pycrypto"]}).text,
            http.get("/metrics").text,
            http.get("/openapi.json").text,
            http.get("/docs").text,
            http.get("/healthz").text,
        ]
    graphql = [seen for seen in forge.seen if seen.path == "/github/graphql"]
    assert graphql and graphql[0].headers.get("Authorization") == f"Bearer {SECRET}"
    assert "sbom_enrich_forge_requests" in shown[2]
    assert 'sbom_enrich_maintenance_verdicts_total{verdict="stale"} 1.0' in shown[2]
    hand_off = service.settings.to_json()
    shown += [caplog.text, hand_off, repr(service.settings)]
    assert not [text for text in shown if SECRET in text]
    # Workers read the tokens from their own environment (inherited), not from the hand-off.
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    worker = ServiceSettings.from_json(hand_off)
    assert worker.repository is not None and worker.repository.github_token == SECRET
    assert worker.repository.github_api_url == f"{forge.url}/github"


def test_replicas_share_forge_answers_through_redis(
    make_service: MakeService,
    index_server: IndexServer,
    forge: FakeForge,
    redis_server: RedisServer,
) -> None:
    first = make_service(index_server.url, cache_url=redis_server.url, repository=repository(forge))
    second = make_service(
        index_server.url, cache_url=redis_server.url, repository=repository(forge)
    )
    with first.client() as one, second.client() as two:
        asked = one.get("/v1/projects/nose").json()
        shared = two.get("/v1/projects/nose").json()
    assert asked["maintenance"]["repository"]["url"] == "https://github.com/nose-devs/nose"
    assert shared["maintenance"] == asked["maintenance"]
    # The second replica asked neither the forge nor the JSON project API again.
    assert forge.count("/github/") == 1
    assert forge.count("/pypi/nose/json") == 1


def test_serve_takes_the_maintenance_flags(tmp_path: Path) -> None:
    from sbom_enrich.cli.entry import build_parser
    from sbom_enrich.cli.options import resolve_options
    from sbom_enrich.cli.serve import service_settings

    parser = build_parser()
    args = parser.parse_args(
        ["serve", "--maintenance", "--gitlab-api-url", "https://gitlab.example.org/api/v4"]
    )
    env = {"GITLAB_TOKEN": "glpat-x", "SBOM_ENRICH_CACHE_DIR": str(tmp_path)}
    settings = service_settings(args, resolve_options(args, env, tmp_path), env)
    assert settings.repository is not None
    assert settings.repository.gitlab_api_url == "https://gitlab.example.org/api/v4"
    assert settings.repository.gitlab_token == "glpat-x"
    args = parser.parse_args(["serve"])
    off = service_settings(args, resolve_options(args, {}, tmp_path), {})
    assert off.repository is None
    on = service_settings(
        args, resolve_options(args, {"SBOM_ENRICH_MAINTENANCE": "1"}, tmp_path), {}
    )
    assert on.repository is not None


def test_bearer_tokens_guard_the_maintenance_answers_too(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("caller-token-0123456789\n")
    service = make_service(index_server.url, token_file=tokens, repository=repository(forge))
    with service.client() as http:
        refused = http.get("/v1/projects/nose")
        allowed = http.get(
            "/v1/projects/nose", headers={"Authorization": "Bearer caller-token-0123456789"}
        )
    assert refused.status_code == 401
    assert allowed.json()["maintenance"]["verdict"] == "stale"
    # Only the authorised request reached the forge (its JSON API and GraphQL, once each).
    assert [seen.path for seen in forge.seen] == ["/pypi/nose/json", "/github/graphql"]


def test_a_project_api_answer_nested_past_the_recursion_limit_is_no_500(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    # 400 kB of "[[[[" from the project API: json.loads raised RecursionError, a 500.
    forge.raw["/pypi/nose/json"] = (200, b"[" * 200_000 + b"]" * 200_000)
    service = make_service(index_server.url, repository=repository(forge))
    with service.client() as http:
        nose = http.get("/v1/projects/nose")
        batch = http.post("/v1/projects:batch", json={"names": ["nose", "pycrypto"]})
    assert nose.status_code == 200, nose.text
    assert nose.json()["status"] == "deprecated"
    assert nose.json()["maintenance"]["verdict"] == "unknown"
    assert batch.status_code == 200, batch.text
    records = {r["name"]: r for r in batch.json()["records"]}
    assert records["pycrypto"]["maintenance"]["verdict"] == "repository-archived"


def test_a_failed_project_api_is_unknown_never_active(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    """requests's repository is found through the project API; with the API failing, its
    recent release (by the policy) made the verdict active. Now unknown, naming the failure."""
    from sbom_enrich.status.maintenance import StalePolicy

    forge.raw["/pypi/requests/json"] = (503, b"")
    service = make_service(
        index_server.url,
        repository=repository(forge),
        stale_policy=StalePolicy(release_years=100),
    )
    with service.client() as http:
        answer = http.get("/v1/projects/requests").json()
        enriched = http.post(
            "/v1/enrich",
            content=json.dumps(
                {
                    "bomFormat": "CycloneDX",
                    "specVersion": "1.6",
                    "version": 1,
                    "components": [
                        {
                            "type": "library",
                            "name": "requests",
                            "version": "2.32.3",
                            "purl": "pkg:pypi/requests@2.32.3",
                        }
                    ],
                }  # fmt: skip
            ),
            headers={"Content-Type": JSON_TYPE},
        )
    assert answer["maintenance"]["verdict"] == "unknown", answer["maintenance"]
    assert "project API: HTTP 503" in " ".join(answer["maintenance"]["evidence"])
    [component] = enriched.json()["components"]
    properties = {p["name"]: p["value"] for p in component["properties"]}
    assert properties["sbom-enrich:maintenance"] == "unknown"


def test_enrich_asks_nothing_about_a_name_installed_from_git(
    make_service: MakeService, index_server: IndexServer, forge: FakeForge
) -> None:
    """As `check` and the CLI's `enrich`: the git `nose` is not the index's nose (whose
    repository the survey would find), so no question and no verdict for it; the index's
    `nose` beside it is judged by its own repository."""
    private = "https://github.com/corp/nose"
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {"type": "library", "name": "nose", "version": "9.0",
             "purl": f"pkg:pypi/nose@9.0?vcs_url=git%2B{private}",
             "externalReferences": [{"type": "vcs", "url": private}]},
            {"type": "library", "name": "nose", "version": "1.3.7",
             "purl": "pkg:pypi/nose@1.3.7"},
        ],
    }  # fmt: skip
    service = make_service(index_server.url, repository=repository(forge))
    with service.client() as http:
        answer = http.post(
            "/v1/enrich", content=json.dumps(document), headers={"Content-Type": JSON_TYPE}
        )
        report = http.post(
            "/v1/enrich?format=report",
            content=json.dumps(document),
            headers={"Content-Type": JSON_TYPE},
        )
    assert answer.status_code == 200, answer.text
    by_version = {
        c["version"]: {p["name"]: p["value"] for p in c["properties"]}
        for c in answer.json()["components"]
    }
    assert "sbom-enrich:maintenance" not in by_version["9.0"]
    assert by_version["1.3.7"]["sbom-enrich:maintenance"] == "stale"
    findings = {c["version"]: c for c in report.json()["components"]}
    assert findings["9.0"]["maintenance"] is None
    assert findings["1.3.7"]["maintenance"]["verdict"] == "stale"
    assert not any("corp" in seen.path for seen in forge.seen), forge.seen
