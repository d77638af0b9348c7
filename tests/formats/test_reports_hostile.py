"""Reports of an SBOM whose purls carry credentials: the reports never repeat them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.status.urls import redact_purl

SECRET = "pw5ecret"


def _sbom(index_url: str) -> dict[str, object]:
    with_credentials = index_url.replace("http://", f"http://user:{SECRET}@")
    purl = f"pkg:pypi/nose@1.3.7?repository_url={with_credentials}"
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "nose", "bom-ref": purl, "purl": purl}],
    }


@pytest.mark.parametrize("report", ["r.json", "r.sarif", "r.md", "summary"])
def test_no_report_repeats_the_credentials_of_a_purl(
    report: str, project: Path, cli: Callable[..., Run], index_server: IndexServer
) -> None:
    (project / "bom.json").write_text(json.dumps(_sbom(index_server.url)))
    where = ["--summary-json", "s.json"] if report == "summary" else ["--report", report]
    allow = index_server.url.replace("http://", f"http://user:{SECRET}@")
    run = cli("enrich", "bom.json", "-o", "out.json", "--allow-index", allow, *where)
    assert run.code in (0, 1, 3), run.stderr
    written = (project / ("s.json" if report == "summary" else report)).read_text()
    assert "nose" in written
    assert SECRET not in written and SECRET not in run.stderr


def test_a_purl_without_credentials_is_kept_as_written() -> None:
    purl = "pkg:pypi/nose@1.3.7?repository_url=https%3A%2F%2Fh%2Fsimple#sub"
    assert redact_purl(purl) == purl
    assert redact_purl("pkg:pypi/a@1?repository_url=https%3A%2F%2Fu%3Ap%40h%2Fs") == (
        "pkg:pypi/a@1?repository_url=https://h/s"
    )
