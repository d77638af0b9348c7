"""Bearer tokens on the real `sbom-enrich serve` process: who gets in, and what refuses to start."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from servicekit import serve_process

from indexserver import IndexServer
from sbom_enrich.cli import main
from sbom_enrich.errors import SettingsError
from sbom_enrich.service.access import check_exposure, is_loopback

FIRST = "first-token-0123456789abcdef"
SECOND = "second-token-0123456789abcdef"


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(f"# CI pipelines\n{FIRST}\n\n   # the portal\n  {SECOND}  \n")
    return path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_requests_need_one_of_the_tokens(index_server: IndexServer, tmp_path: Path) -> None:
    args = ["-v", "--index-url", index_server.url, "--cache-dir", str(tmp_path / "cache")]
    tokens = ["--token-file", str(token_file(tmp_path))]
    with (
        serve_process([*args, *tokens]) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        missing = http.get("/v1/projects/nose")
        wrong = http.get("/v1/projects/nose", headers=bearer(FIRST[:-1] + "X"))
        basic = http.get("/v1/projects/nose", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        prefix = http.get("/v1/projects/nose", headers=bearer(FIRST[:20]))
        batch = http.post("/v1/projects:batch", json={"names": ["nose"]})
        docs = http.get("/openapi.json")
        first = http.get("/v1/projects/nose", headers=bearer(FIRST))
        second = http.get("/v1/projects/nose", headers={"Authorization": f"bearer   {SECOND}"})
        health = http.get("/healthz")
        metrics = http.get("/metrics")
    for refused in (missing, wrong, basic, prefix, batch, docs):
        assert refused.status_code == 401, refused.request
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert refused.json()["error"]
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "invalid_token" not in missing.headers["WWW-Authenticate"]
    assert first.status_code == 200 and first.json()["status"] == "deprecated"
    assert second.status_code == 200
    assert health.status_code == 200 and metrics.status_code == 200  # open by default
    assert index_server.stats.requests == 1  # refused requests never reach the index
    assert b'"GET /v1/projects/nose HTTP/1.1" 401' in service.log  # the access log ran
    assert FIRST[:12].encode() not in service.log
    assert SECOND[:12].encode() not in service.log


def test_metrics_auth_and_the_token_file_from_the_environment(
    index_server: IndexServer, tmp_path: Path
) -> None:
    env = {
        "SBOM_ENRICH_TOKEN_FILE": str(token_file(tmp_path)),
        "SBOM_ENRICH_METRICS_AUTH": "true",
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
    }
    with (
        serve_process(["--index-url", index_server.url], env) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        anonymous = http.get("/metrics")
        scraper = http.get("/metrics", headers=bearer(SECOND))
        health = http.get("/healthz")
    assert anonymous.status_code == 401
    assert scraper.status_code == 200 and "sbom_enrich_http_requests_total" in scraper.text
    assert health.status_code == 200


@pytest.mark.parametrize(
    ("args", "content", "expected"),
    [
        # Addresses that cannot be bound here: the old code failed without listening anywhere.
        (["--host", "sbom-enrich.invalid"], None, "--token-file"),
        (["--host", "192.0.2.1"], None, "--no-auth"),
        (["--token-file", "{dir}/absent"], None, "cannot read it"),
        (["--token-file", "{dir}"], None, "directory"),
        (["--token-file", "{file}"], "# only a comment\n\n", "no tokens"),
        (["--token-file", "{file}"], "short\n", "shorter than 16"),
        (["--token-file", "{file}", "--no-auth"], FIRST, "contradict"),
    ],
    ids=["host-name", "public-address", "absent", "directory", "empty", "short", "both"],
)
def test_unsafe_or_unusable_access_settings_refuse_to_start(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    content: str | None,
    expected: str,
) -> None:
    path = tmp_path / "tokens"
    if content is not None:
        path.write_text(content)
    argv = [arg.format(dir=tmp_path, file=path) for arg in args]
    assert main(["serve", *argv], env={"HOME": str(tmp_path)}) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sbom-enrich: error: ") and expected in line
    assert "short\n" not in line


def test_no_auth_is_an_explicit_choice_and_loopback_needs_none() -> None:
    check_exposure("0.0.0.0", has_tokens=False, no_auth=True)  # noqa: S104
    check_exposure("192.0.2.1", has_tokens=True, no_auth=False)
    for host in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
        check_exposure(host, has_tokens=False, no_auth=False)
    for host in ("0.0.0.0", "::", "10.0.0.1", "sbom-enrich.internal"):  # noqa: S104
        assert not is_loopback(host)
        with pytest.raises(SettingsError):
            check_exposure(host, has_tokens=False, no_auth=False)


def test_openapi_document_declares_the_bearer_scheme_when_tokens_are_on(tmp_path: Path) -> None:
    from dataclasses import replace

    from sbom_enrich.service.config import ServiceSettings
    from sbom_enrich.service.openapi import openapi_document

    plain = openapi_document(ServiceSettings())
    assert "security" not in plain and "securitySchemes" not in plain["components"]
    document = openapi_document(replace(ServiceSettings(), token_file=token_file(tmp_path)))
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]
    assert "401" in document["paths"]["/v1/enrich"]["post"]["responses"]
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert document["paths"]["/metrics"]["get"]["security"] == []
    assert "429" in document["paths"]["/v1/enrich"]["post"]["responses"]
