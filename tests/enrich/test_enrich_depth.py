"""Nesting: XML is accepted as deep as JSON (~450 component levels under pytest, ~480 alone),
refused beyond with the right words, at load time (before any lookup); signatures at any depth.
"""

from __future__ import annotations

import json

import pytest
from lxml import etree

from sbom_enrich.enrich import SbomError, UnsafeXmlError, load_sbom, validate_sbom


def nested_xml(levels: int) -> bytes:
    inner = '<component type="library"><name>x</name><purl>pkg:pypi/x@1</purl></component>'
    for level in range(levels):
        inner = (
            f'<component type="library"><name>c{level}</name><purl>pkg:pypi/c{level}@1</purl>'
            f"<components>{inner}</components></component>"
        )
    return (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">'
        f"<components>{inner}</components></bom>"
    ).encode()


def nested_json(levels: int) -> bytes:
    inner = '{"type":"library","name":"x","purl":"pkg:pypi/x@1"}'
    for level in range(levels):
        inner = (
            f'{{"type":"library","name":"c{level}","purl":"pkg:pypi/c{level}@1",'
            f'"components":[{inner}]}}'
        )
    head = '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":['
    return f"{head}{inner}]}}".encode()


def enrich_all(data: bytes) -> bytes:
    sbom = load_sbom(data, source="deep")
    for component in sbom.pypi_components():
        sbom.set_properties(component, [("sbom-enrich:pypi:project-status", "active")])
    sbom.add_tool("sbom-enrich", "0.1.0", None)
    sbom.bump_version()
    return sbom.to_bytes()


@pytest.mark.parametrize("make", [nested_xml, nested_json], ids=["xml", "json"])
@pytest.mark.parametrize("levels", [128, 300, 450])
def test_deep_components_are_enriched_in_both_formats(make: object, levels: int) -> None:
    assert callable(make)
    output = enrich_all(make(levels))
    assert output.count(b"sbom-enrich:pypi:project-status") == levels + 1


def test_a_deep_xml_enrichment_is_schema_valid() -> None:
    output = enrich_all(nested_xml(200))
    assert validate_sbom(output, "xml", "1.6") == []


@pytest.mark.parametrize("make", [nested_xml, nested_json], ids=["xml", "json"])
@pytest.mark.parametrize("levels", [500, 1100])
def test_deeper_is_refused_at_load_with_the_right_words(make: object, levels: int) -> None:
    assert callable(make)
    with pytest.raises(SbomError) as caught:
        load_sbom(make(levels), source="deep")
    message = str(caught.value)
    assert "nested too deeply" in message
    assert "not well-formed" not in message and "XML_PARSE_HUGE" not in message


def test_entities_are_still_refused_with_the_deep_parser() -> None:
    data = b'<!DOCTYPE bom [<!ENTITY a "b">]>' + nested_xml(300)
    with pytest.raises(UnsafeXmlError):
        load_sbom(data)


def test_signatures_in_arrays_read_without_positions_are_still_stripped() -> None:
    signature = {"algorithm": "ES256", "value": "c2ln"}
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "six", "purl": "pkg:pypi/six@1.16.0"}],
        "compositions": [{"aggregate": "complete", "signature": signature}],
        "declarations": {"affirmation": {"signature": signature}},
    }
    sbom = load_sbom(json.dumps(document, indent=2).encode())
    assert sorted(sbom.signatures()) == ["affirmation", "composition"]
    assert sbom.remove_signatures() == 2
    output = sbom.to_bytes()
    assert b"signature" not in output
    del document["compositions"][0]["signature"]  # type: ignore[index]
    del document["declarations"]["affirmation"]["signature"]  # type: ignore[index]
    assert json.loads(output) == document
    assert output == json.dumps(document, indent=2).encode()


def test_nested_xml_signatures_are_removed_once() -> None:
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
        b"  <components>\n"
        b'    <component type="library">\n'
        b"      <name>six</name>\n      <purl>pkg:pypi/six@1.16.0</purl>\n"
        b'      <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>\n'
        b"    </component>\n"
        b"  </components>\n"
        b'  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/>'
        b"</ds:Signature>\n"
        b"</bom>\n"
    )
    sbom = load_sbom(data)
    assert sorted(sbom.signatures()) == ["bom", "component"]
    assert sbom.remove_signatures() == 2
    [component] = sbom.pypi_components()
    sbom.set_properties(component, [("sbom-enrich:pypi:project-status", "active")])
    output = sbom.to_bytes()
    assert b"Signature" not in output
    assert validate_sbom(output, "xml", "1.6") == []
    assert b"<purl>pkg:pypi/six@1.16.0</purl>\n      <properties>" in output
    assert etree.fromstring(output).find(".//{*}properties") is not None
