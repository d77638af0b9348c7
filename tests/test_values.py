"""Values the hot paths make by position (components, findings, version facts) are complete,
every field set to what its name says."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any

import msgspec
from msgspec.structs import replace

from sbom_enrich.enrich.document import SbomGraph, make_pypi_component
from sbom_enrich.enrich.run import _findings
from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.findings.model import ChainStep, Finding
from sbom_enrich.status.cache.disk import CacheEntry, decode_entry, encode_entry
from sbom_enrich.status.model import ProjectStatus, StatusRecord, VersionFacts

CHECKED = datetime(2026, 12, 1, tzinfo=timezone.utc)
RECORD = StatusRecord(
    name="demo", status=ProjectStatus.ARCHIVED, index_url="https://i/simple/",
    checked_at=CHECKED, reason="old", api_version="1.4", versions=("1.0", "2.0"),
    yanked={"2.0": "broken"}, latest_version="2.0", latest_upload=CHECKED,
)  # fmt: skip


def assert_complete(value: Any) -> None:
    """Every field of the value's dataclass is set, and nothing else (a msgspec Struct, which
    has no ``__dict__``, cannot lack one: each field is read)."""
    if isinstance(value, msgspec.Struct):
        assert all(hasattr(value, name) for name in value.__struct_fields__)
        return
    assert set(vars(value)) == {f.name for f in fields(value)}


def test_a_decoded_cache_entry_and_its_record_are_complete_and_equal() -> None:
    entry = CacheEntry(RECORD, '"etag"', 1.5, 600.0)
    decoded = decode_entry(encode_entry(entry))
    assert_complete(decoded)
    assert_complete(decoded.record)
    assert decoded == replace(entry, record=replace(RECORD, from_cache=True))
    stale = decoded.record.as_cached(stale=True)
    assert_complete(stale)
    assert stale == replace(RECORD, from_cache=True, stale=True)


def test_version_facts_of_a_listed_version_are_complete() -> None:
    facts = replace(RECORD, yanked={}).version_facts("1.0")
    assert_complete(facts)
    assert facts == VersionFacts("1.0")


def test_a_pypi_component_is_complete() -> None:
    node = {"purl": "pkg:pypi/Demo_Project@1.0"}
    component = make_pypi_component(node, node["purl"], "1.0", "ref-1", references=("u",))
    assert component is not None
    assert_complete(component)
    assert (component.name, component.canonical_name, component.line) == (
        "Demo_Project",
        "demo-project",
        None,
    )


def test_a_pypi_components_repr_leaves_out_its_node() -> None:
    """The node is a whole JSON subtree (or an element): a log line or an assertion message
    that shows a component must not dump it, as the dataclass's ``repr=False`` kept it out."""
    node = {"purl": "pkg:pypi/demo@1.0", "components": [{"name": "x" * 5000}]}
    component = make_pypi_component(node, node["purl"], None, "r", references=lambda _: ())
    assert component is not None
    shown = repr(component)
    assert "x" * 50 not in shown and "lambda" not in shown
    assert shown.startswith("PypiComponent(name='demo', canonical_name='demo', version='1.0'")


def test_a_pypi_component_holds_each_value_in_its_own_field() -> None:
    """make_pypi_component builds by position: every field a value no other field holds, so
    that two fields swapped in the call cannot pass."""
    node = {"purl": "x"}
    purl = "pkg:pypi/Demo_Project@1.0?repository_url=https://r/simple/&vcs_url=git%2Bhttps://g/x"
    component = make_pypi_component(node, purl, None, "ref-1", True, ("u",), None)
    assert component is not None
    values = {name: getattr(component, name) for name in component.__struct_fields__}
    assert values == {
        "handle": node, "name": "Demo_Project", "canonical_name": "demo-project",
        "version": "1.0", "purl": purl, "repository_url": "https://r/simple/",
        "bom_ref": "ref-1", "skip_reason": "git", "subject": True, "references": ("u",),
        "problem": None, "line": None, "off_index": None, "build_tool": None,
    }  # fmt: skip
    component = make_pypi_component(
        node, purl, None, "ref-2", False, (), "bad properties", build_tool="formulation"
    )
    assert component is not None
    assert (
        component.skip_reason,
        component.off_index,
        component.problem,
        component.subject,
        component.build_tool,
    ) == (None, "git", "bad properties", False, "formulation")


def test_an_enrich_runs_findings_are_complete() -> None:
    node = json.loads('{"purl": "pkg:pypi/demo@2.0", "bom-ref": "b"}')
    component = make_pypi_component(node, node["purl"], None, "b")
    assert component is not None
    facts = RECORD.version_facts("2.0")
    graph = SbomGraph(edges={"root": ("a",), "a": ("b",)}, root="root", names={"a": "A"})
    [finding] = _findings([(component, RECORD, facts, (), None, False)], ["b"], graph)
    assert_complete(finding)
    assert finding == Finding(
        name="demo", version="2.0", record=RECORD, facts=facts, purl="pkg:pypi/demo@2.0",
        bom_ref="b", direct=False, via=(ChainStep("root"), ChainStep("A"), ChainStep("b")),
    )  # fmt: skip


def test_an_enrich_runs_finding_holds_each_value_in_its_own_field() -> None:
    """_findings builds by position: the flags and the optional values each distinct, so that
    two fields swapped in the call cannot pass."""
    node = json.loads('{"purl": "pkg:pypi/demo@2.0?vcs_url=git%2Bhttps://g/x", "bom-ref": "b"}')
    component = make_pypi_component(node, node["purl"], None, "b", True)
    assert component is not None and component.subject
    facts = RECORD.version_facts("2.0")
    graph = SbomGraph(edges={"root": ("b",)}, root="root", names={})
    alternatives = (Alternative("other", "maintained"),)
    [finding] = _findings([(component, RECORD, facts, alternatives, None, False)], ["b"], graph)
    values = {name: getattr(finding, name) for name in finding.__struct_fields__}
    assert values == {
        "name": "demo", "version": "2.0", "record": RECORD, "facts": facts,
        "alternatives": alternatives, "purl": node["purl"], "bom_ref": "b", "location": None,
        "subject": True, "refused": False, "direct": None, "via": (), "maintenance": None,
        "off_index": None, "build_tool": None,
    }  # fmt: skip
