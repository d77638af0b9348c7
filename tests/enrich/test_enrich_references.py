"""Repository URLs from components' externalReferences, in SBOMs made by real tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbom_enrich.enrich import load_sbom
from sbom_enrich.enrich.document import MAX_REFERENCES, repository_urls
from sbom_enrich.enrich.json_sbom import _references

DATA = Path(__file__).resolve().parent.parent / "data" / "sboms"


@pytest.mark.parametrize(
    "name", ["cyclonedx-py-environment-1.6.json", "cyclonedx-py-environment-1.4.xml"]
)
def test_vcs_and_website_references_are_read(name: str) -> None:
    components = {c.name: c for c in load_sbom((DATA / name).read_bytes()).pypi_components()}
    assert components["attrs"].repository_urls == ("https://github.com/python-attrs/attrs",)
    assert components["anyio"].repository_urls == ()


def test_xml_reads_repository_urls_only_when_asked() -> None:
    # Only --maintenance and the monitor use them: a run without need not read every reference.
    data = (DATA / "cyclonedx-py-environment-1.4.xml").read_bytes()
    attrs = next(c for c in load_sbom(data).pypi_components() if c.name == "attrs")
    assert callable(attrs.references)
    assert attrs.repository_urls == ("https://github.com/python-attrs/attrs",)
    assert attrs.references == attrs.repository_urls  # read once, then kept


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


_REFERENCE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["vcs", "website", "other", "distribution", 7, None]),
            "url": st.one_of(
                st.sampled_from(["https://a.example", " https://b.example ", "", "  "]),
                st.integers(),
                st.none(),
            ),
        },
    ),
    st.sampled_from(["not an object", 3, None, []]),
)


@given(st.lists(_REFERENCE, max_size=MAX_REFERENCES + 10))
def test_json_references_agree_with_the_format_neutral_rule(references: list[Any]) -> None:
    # The JSON reader's one-pass reading gives what repository_urls gives for the same pairs
    # (objects only, the first MAX_REFERENCES of them, vcs before website).
    pairs = [(ref.get("type"), ref.get("url")) for ref in references if isinstance(ref, dict)]
    assert _references({"externalReferences": references}) == repository_urls(pairs)
