"""Round trips over every real-world SBOM in tests/data/sboms: lossless, valid, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enrich_support import (
    OLD_SPECS,
    comparable,
    corpus_files,
    enrich,
    json_structure_errors,
    reset_version,
    supported_files,
    tool_names,
)
from lxml import etree

from sbom_enrich.enrich import (
    PROPERTY_PREFIX,
    UnsupportedSpecError,
    load_sbom,
    strip_enrichment,
    validate_sbom,
)

# The library's JSON validator checks every URL's iri-reference format with an Earley parser
# (~0.1 s per URL): 8-15 s for the 65-140 KB files, ~190 s for the 1.9 MB one. Those files are
# checked against the same bundled schema without format checks (0.03-3 s); XML is fast.
FULLY_VALIDATED_JSON = {
    "cdxgen-python-1.4.json",
    "cdxgen-python-1.5.json",
    "cdxgen-python-1.7.json",
}


def test_corpus_is_complete() -> None:
    names = {path.name for path in corpus_files()}
    assert len(names) == 14
    assert set(OLD_SPECS) <= names


@pytest.mark.parametrize("path", supported_files(), ids=lambda path: path.name)
def test_enrich_then_strip_gives_back_the_input(path: Path) -> None:
    original = path.read_bytes()
    sbom = load_sbom(original, source=path.name)
    enrich(sbom)
    enriched = sbom.to_bytes()
    assert enriched != original

    restored = reset_version(enriched, original)
    strip_enrichment(restored)
    assert comparable(restored.to_bytes(), sbom.format) == comparable(original, sbom.format)


@pytest.mark.parametrize("path", supported_files(), ids=lambda path: path.name)
def test_load_and_write_without_edits_is_byte_identical(path: Path) -> None:
    original = path.read_bytes()
    assert load_sbom(original).to_bytes() == original


@pytest.mark.parametrize("path", supported_files(), ids=lambda path: path.name)
def test_enriching_twice_gives_one_set_of_properties_and_one_tool(path: Path) -> None:
    sbom = load_sbom(path.read_bytes())
    count = enrich(sbom)
    once = sbom.to_bytes()
    again = load_sbom(once)
    enrich(again)
    twice = again.to_bytes()

    assert once.count(b'sbom-enrich:pypi:project-status"') == count
    assert twice.count(b'sbom-enrich:pypi:project-status"') == count
    assert tool_names(once).count("sbom-enrich") == 1
    assert tool_names(twice).count("sbom-enrich") == 1
    assert reset_version(twice, once).to_bytes() == once


@pytest.mark.parametrize("path", supported_files(), ids=lambda path: path.name)
def test_only_pypi_components_change(path: Path) -> None:
    original = path.read_bytes()
    sbom = load_sbom(original)
    pypi = {component.purl for component in sbom.pypi_components()}
    enrich(sbom)
    enriched = load_sbom(sbom.to_bytes())
    if sbom.format == "json":

        def non_pypi(data: bytes) -> list[str]:
            document = json.loads(data)
            found = []
            stack = list(document.get("components", []))
            if "component" in document.get("metadata", {}):
                stack.append(document["metadata"]["component"])
            while stack:
                node = stack.pop()
                stack.extend(node.get("components", []))
                if node.get("purl") not in pypi:
                    found.append(json.dumps(node, sort_keys=True))
            return sorted(found)

        assert non_pypi(enriched.to_bytes()) == non_pypi(original)
        if not pypi:
            assert PROPERTY_PREFIX.encode() not in enriched.to_bytes()
    else:

        def non_pypi_xml(data: bytes) -> list[bytes]:
            root = etree.fromstring(data)
            return sorted(
                etree.tostring(node, method="c14n")
                for node in root.iter("{*}component")
                if (node.findtext("{*}purl") or "").strip() not in pypi
                and "}tools" not in str([a.tag for a in node.iterancestors()])
            )

        assert non_pypi_xml(enriched.to_bytes()) == non_pypi_xml(original)


@pytest.mark.parametrize("path", supported_files(), ids=lambda path: path.name)
def test_enriched_output_is_schema_valid(path: Path) -> None:
    sbom = load_sbom(path.read_bytes())
    enrich(sbom)
    output = sbom.to_bytes()
    if sbom.format == "json" and path.name not in FULLY_VALIDATED_JSON:
        assert json_structure_errors(output, sbom.spec_version) == []
    else:
        assert validate_sbom(output, sbom.format, sbom.spec_version) == []


@pytest.mark.parametrize("name", sorted(OLD_SPECS))
def test_specs_before_1_3_are_refused_with_a_clear_message(name: str) -> None:
    path = next(path for path in corpus_files() if path.name == name)
    with pytest.raises(UnsupportedSpecError) as caught:
        load_sbom(path.read_bytes(), source=name)
    message = str(caught.value)
    assert message == (
        f"{name}: CycloneDX {OLD_SPECS[name]} has no component properties; "
        "sbom-enrich needs 1.3 or later"
    )
