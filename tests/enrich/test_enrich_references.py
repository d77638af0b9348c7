"""Repository URLs from components' externalReferences, in SBOMs made by real tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sbom_enrich.enrich import load_sbom

DATA = Path(__file__).resolve().parent.parent / "data" / "sboms"


@pytest.mark.parametrize(
    "name", ["cyclonedx-py-environment-1.6.json", "cyclonedx-py-environment-1.4.xml"]
)
def test_vcs_and_website_references_are_read(name: str) -> None:
    components = {c.name: c for c in load_sbom((DATA / name).read_bytes()).pypi_components()}
    assert components["attrs"].repository_urls == ("https://github.com/python-attrs/attrs",)
    assert components["anyio"].repository_urls == ()


def test_vcs_comes_before_website_and_odd_entries_are_skipped() -> None:
    component = {
        "type": "library",
        "name": "x",
        "version": "1",
        "purl": "pkg:pypi/x@1",
        "externalReferences": [
            {"type": "website", "url": "https://example.org"},
            {"type": "vcs", "url": "https://github.com/o/x"},
            {"type": "vcs", "url": 42},
            "not an object",
            {"type": "issue-tracker", "url": "https://github.com/o/x/issues"},
        ],
    }
    data = json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [component]}
    ).encode()
    (found,) = load_sbom(data).pypi_components()
    assert found.repository_urls == ("https://github.com/o/x", "https://example.org")
