"""What enrichment does to hand-made edge cases: placement, tools, version, layout, purls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from enrich_support import EXTRA, TOOL_URL, comparable, enrich, reset_version, tool_names
from lxml import etree

from sbom_enrich.enrich import Sbom, load_sbom, strip_enrichment, validate_sbom
from sbom_enrich.enrich.xml_sbom import _NEEDS_WORK, _NOT_XML_CHARS, _plain

HAND_MADE = sorted(
    path
    for path in EXTRA.iterdir()
    if path.name not in {"billion-laughs.xml", "xxe.xml", "external-dtd.xml"}
)
BOM15 = "{http://cyclonedx.org/schema/bom/1.5}"


def load(name: str) -> Sbom:
    return load_sbom((EXTRA / name).read_bytes(), source=name)


def enriched_bytes(name: str) -> bytes:
    sbom = load(name)
    enrich(sbom)
    return sbom.to_bytes()


@pytest.mark.parametrize("path", HAND_MADE, ids=lambda path: path.name)
def test_hand_made_files_round_trip_and_validate(path: Path) -> None:
    original = path.read_bytes()
    sbom = load_sbom(original)
    # Not byte-identical: these files use character references and hand-wrapped JSON objects.
    assert comparable(sbom.to_bytes(), sbom.format) == comparable(original, sbom.format)
    enrich(sbom)
    enriched = sbom.to_bytes()
    assert validate_sbom(enriched, sbom.format, sbom.spec_version) == []
    restored = reset_version(enriched, original)
    strip_enrichment(restored)
    stripped = restored.to_bytes()
    if b"sbom-enrich" in original:
        # The input carried stale entries of ours: stripping removes them too.
        assert b"sbom-enrich" not in stripped
    else:
        assert comparable(stripped, sbom.format) == comparable(original, sbom.format)


def test_components_are_found_at_any_depth_in_document_order() -> None:
    components = load("prefixed-nested-1.5.xml").pypi_components()
    assert [c.name for c in components] == [
        "Demo_App",
        "nose",
        "requests",
        "vcs-thing",
        "direct",
        "hosted",
        "local-thing",
        "wheel-file",
        "unpinned",
    ]
    by_name = {c.name: c for c in components}
    assert by_name["Demo_App"].canonical_name == "demo-app"
    assert by_name["Demo_App"].bom_ref == "app"
    assert by_name["requests"].repository_url == "https://mirror.example/simple"
    assert by_name["requests"].skip_reason is None
    assert by_name["unpinned"].version is None
    assert {name: c.skip_reason for name, c in by_name.items() if c.skip_reason} == {
        "local-thing": "local",
    }
    # From a repository or a URL elsewhere: asked by name (a download_url on PyPI's file
    # host is an index download like any other).
    assert {name: c.off_index for name, c in by_name.items() if c.off_index} == {
        "vcs-thing": "git",
        "direct": "url",
    }


def test_json_components_follow_key_order_and_nesting() -> None:
    names = [c.name for c in load("numbers-services-1.6.json").pypi_components()]
    assert names == ["numpy", "Typing_Extensions"]


def test_xml_properties_go_before_evidence_and_keep_other_properties_in_order() -> None:
    root = etree.fromstring(enriched_bytes("prefixed-nested-1.5.xml"))
    nose = root.find(f".//{BOM15}component[@bom-ref='nested-nose']")
    assert nose is not None
    assert [etree.QName(child).localname for child in nose if isinstance(child.tag, str)] == [
        "name",
        "version",
        "purl",
        "properties",
        "evidence",
    ]
    requests = root.find(f".//{BOM15}component[@bom-ref='requests']")
    assert requests is not None
    names = [p.get("name") for p in requests.iterfind(f"{BOM15}properties/{BOM15}property")]
    assert names[:2] == ["first", "last"]
    assert names[2] == "sbom-enrich:pypi:project-status"
    assert "stale" not in etree.tostring(requests, encoding="unicode")
    # The foreign extension element stays last, after the properties and sub-components.
    assert etree.QName(requests[-1]).localname == "note"


def test_xml_elements_we_add_use_the_documents_prefix_and_indentation() -> None:
    text = enriched_bytes("prefixed-nested-1.5.xml").decode()
    assert "xmlns:ns0" not in text
    assert '\t\t\t\t\t<bom:properties>\n\t\t\t\t\t\t<bom:property name="sbom-enrich:pypi' in text
    assert text.count("xmlns:bom=") == 1
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!-- Hand')
    assert text.endswith("</bom:bom>\n<!-- trailing comment -->\n")


def test_xml_tools_are_inserted_in_schema_order() -> None:
    root = etree.fromstring(enriched_bytes("prefixed-nested-1.5.xml"))
    metadata = root.find(f"{BOM15}metadata")
    assert metadata is not None
    assert [etree.QName(c).localname for c in metadata if isinstance(c.tag, str)] == [
        "timestamp",
        "tools",
        "component",
    ]
    tool = metadata.find(f"{BOM15}tools/{BOM15}components/{BOM15}component")
    assert tool is not None
    assert tool.get("type") == "application"
    assert tool.findtext(f"{BOM15}name") == "sbom-enrich"
    assert tool.findtext(f"{BOM15}externalReferences/{BOM15}reference/{BOM15}url") == TOOL_URL


def test_xml_version_attribute_is_added_when_absent() -> None:
    root = etree.fromstring(enriched_bytes("prefixed-nested-1.5.xml"))
    assert root.get("version") == "2"


def test_xml_without_metadata_gets_it_first_with_legacy_tools_before_1_5() -> None:
    data = enriched_bytes("latin1-no-metadata-1.4.xml")
    assert data.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    assert b"Ren\xe9 Dupr&#233;" in data  # as written: one raw byte, one character reference
    root = etree.fromstring(data)
    assert root.get("version") == "8"
    assert etree.QName(root[0]).localname == "metadata"
    tool = root.find("{*}metadata/{*}tools/{*}tool")
    assert tool is not None
    assert [etree.QName(c).localname for c in tool] == [
        "vendor",
        "name",
        "version",
        "externalReferences",
    ]


def test_json_numbers_and_unknown_fields_survive_exactly() -> None:
    data = enriched_bytes("numbers-services-1.6.json")
    text = data.decode()
    for literal in (
        '"score": 9.80',
        '"score": 1e1',
        '"score": 0.1000000000000000055511151231257827',
        '"score": 123456789012345678901234567890',
        '"score": -0.0',
        '"endpoints": [',
    ):
        assert literal in text
    # The input escaped non-ASCII; the output does the same, so only our lines differ.
    assert "\\u00fc\\u00df" in text
    assert "\\ud83d\\ude00" in text


def test_json_services_only_tools_gain_components() -> None:
    document = json.loads(enriched_bytes("numbers-services-1.6.json"))
    tools = document["metadata"]["tools"]
    assert tools["services"][0]["name"] == "build-service"
    assert tools["components"] == [
        {
            "type": "application",
            "name": "sbom-enrich",
            "version": "0.1.0",
            "externalReferences": [{"type": "website", "url": TOOL_URL}],
        }
    ]
    assert document["version"] == 2
    assert list(document)[:4] == ["bomFormat", "specVersion", "serialNumber", "version"]


def test_json_stale_properties_are_replaced_and_others_keep_their_order() -> None:
    document = json.loads(enriched_bytes("numbers-services-1.6.json"))
    names = [p["name"] for p in document["components"][0]["properties"]]
    assert names[:2] == ["first", "last"]
    assert names[2] == "sbom-enrich:pypi:project-status"
    assert all(
        p["value"] not in ("stale", "stale-too") for p in document["components"][0]["properties"]
    )


def test_json_legacy_tools_array_is_kept_and_our_entry_updated_in_place() -> None:
    data = enriched_bytes("legacy-tools-compact-1.6.json")
    document = json.loads(data)
    assert document["metadata"]["tools"] == [
        {"vendor": "acme", "name": "scanner", "version": "1"},
        {"vendor": "sbom-enrich", "name": "sbom-enrich", "version": "0.1.0"},
    ]
    assert document["version"] == 4
    assert b"\n" not in data.rstrip(b"\n") and b": " not in data  # compact stays compact


def test_json_1_3_without_metadata_gets_a_legacy_tool_without_references() -> None:
    data = enriched_bytes("no-metadata-1.3.json")
    document = json.loads(data)
    assert document["metadata"] == {
        "tools": [{"vendor": "sbom-enrich", "name": "sbom-enrich", "version": "0.1.0"}]
    }
    assert document["version"] == 2
    assert data.endswith(b"}\n")
    assert tool_names(data) == ["sbom-enrich"]


def test_set_properties_with_nothing_removes_ours_only() -> None:
    sbom = load("numbers-services-1.6.json")
    numpy = sbom.pypi_components()[0]
    sbom.set_properties(numpy, [])
    document = json.loads(sbom.to_bytes())
    assert document["components"][0]["properties"] == [
        {"name": "first", "value": "kept"},
        {"name": "last", "value": "kept"},
    ]


def test_xml_values_with_control_characters_are_written_not_crashed() -> None:
    sbom = load("latin1-no-metadata-1.4.xml")
    component = sbom.pypi_components()[0]
    sbom.set_properties(component, [("sbom-enrich:pypi:project-status-reason", "bad\x00\x1b[31m")])
    assert b">bad[31m<" in sbom.to_bytes()


_FOREIGN_LAST = {
    # A default namespace declared again: the only other way to an element of another one.
    "redeclared": '<ext:note xmlns:ext="urn:ext">x</ext:note><note xmlns="urn:x">y</note>',
    # The xml prefix is bound without a declaration: a document whose only "xmlns" is the
    # root's can still hold an element of another namespace.
    "xml-prefix": "<xml:note>x</xml:note>",
}


@pytest.mark.parametrize("name", _FOREIGN_LAST)
def test_xml_properties_go_before_elements_of_other_namespaces(name: str) -> None:
    data = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
        "  <components>\n"
        '    <component type="library">\n'
        "      <name>six</name>\n"
        "      <purl>pkg:pypi/six@1.16.0</purl>\n"
        f"      {_FOREIGN_LAST[name]}\n"
        "    </component>\n"
        "  </components>\n"
        "</bom>\n"
    ).encode()
    sbom = load_sbom(data)
    enrich(sbom)
    component = etree.fromstring(sbom.to_bytes()).find("{*}components/{*}component")
    assert component is not None
    names = [etree.QName(child).localname for child in component]
    assert names[:3] == ["name", "purl", "properties"]
    assert etree.QName(component[2]).namespace == "http://cyclonedx.org/schema/bom/1.6"


def test_xml_escaping_search_finds_exactly_what_needs_escaping_or_removing() -> None:
    every = "".join(map(chr, range(0x110000)))
    needs_escaping = "[&<>\"'\t\n\r]"
    not_xml = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    expected = [m.start() for m in re.finditer(f"{needs_escaping}|{not_xml}", every)]
    assert [m.start() for m in _NEEDS_WORK.finditer(every)] == expected
    not_xml_listed = [m.start() for m in _NOT_XML_CHARS.finditer(every)]
    assert not_xml_listed == [m.start() for m in re.finditer(not_xml, every)]


def test_json_unknown_fields_survive_even_where_the_schema_forbids_them() -> None:
    original = (
        b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "x-root": {"b": 1, "a": [1.50, null]},'
        b' "components": [{"type": "library", "name": "six", "purl": "pkg:pypi/six@1.16.0",'
        b' "x-vendor": {"z": 1, "y": 2}}]}'
    )
    sbom = load_sbom(original)
    enrich(sbom)
    enriched = sbom.to_bytes()
    assert b'"x-root": {"b": 1, "a": [1.50, null]}' in enriched
    assert b'"x-vendor": {"z": 1, "y": 2}, "properties": [' in enriched
    restored = reset_version(enriched, original)
    strip_enrichment(restored)
    assert restored.to_bytes() == original


@pytest.mark.parametrize("version", ["1.3", "1.4", "1.5", "1.6", "1.7"])
def test_insertion_order_tables_cover_the_bundled_xsds(version: str) -> None:
    import cyclonedx.schema

    from sbom_enrich.enrich import xml_sbom

    xs = "{http://www.w3.org/2001/XMLSchema}"
    schema_dir = Path(cyclonedx.schema.__file__).parent / "_res"
    xsd = etree.parse(str(schema_dir / f"bom-{version}.SNAPSHOT.xsd"))

    def names_after(sequence: etree._Element, name: str) -> set[str]:
        names = [child.get("name") for child in sequence if child.get("name")]
        return set(names[names.index(name) + 1 :])

    component = xsd.find(f"{xs}complexType[@name='component']/{xs}sequence")
    metadata = xsd.find(f"{xs}complexType[@name='metadata']/{xs}sequence")
    bom = xsd.find(f"{xs}element[@name='bom']/{xs}complexType/{xs}sequence")
    assert component is not None and metadata is not None and bom is not None
    assert names_after(component, "properties") <= xml_sbom._AFTER_COMPONENT_PROPERTIES
    assert names_after(metadata, "tools") <= xml_sbom._AFTER_METADATA_TOOLS
    assert names_after(bom, "metadata") <= xml_sbom._AFTER_BOM_METADATA


@pytest.mark.parametrize("name", ["numbers-services-1.6.json", "prefixed-nested-1.5.xml"])
def test_setting_then_clearing_properties_leaves_no_empty_container(name: str) -> None:
    original = (EXTRA / name).read_bytes()
    sbom = load_sbom(original)
    last = sbom.pypi_components()[-1]  # has no properties in the input
    sbom.set_properties(last, [("sbom-enrich:pypi:project-status", "active")])
    sbom.set_properties(last, [])
    assert comparable(sbom.to_bytes(), sbom.format) == comparable(original, sbom.format)


def _tool_children(data: bytes, path: str) -> list[tuple[str, str]]:
    root = etree.fromstring(data)
    [tool] = [entry for entry in root.iterfind(path) if entry.findtext("{*}name") == "sbom-enrich"]
    return [(etree.QName(child).localname, (child.text or "").strip()) for child in tool]


# Our entry from an earlier run, or written by hand, without the optional version element.
VERSIONLESS_TOOL = """<bom xmlns="http://cyclonedx.org/schema/bom/{spec}" version="1">
  <metadata>
    <tools>
      <tool>
        <vendor>sbom-enrich</vendor>
        <name>sbom-enrich</name>
        {after_name}
      </tool>
    </tools>
  </metadata>
  <components/>
</bom>
"""
AFTER_NAME = {
    "1.3": f'<hashes><hash alg="SHA-256">{"ab" * 32}</hash></hashes>',
    "1.4": '<externalReferences><reference type="website"><url>https://example.com/</url>'
    "</reference></externalReferences>",
}


@pytest.mark.parametrize(("version", "after"), [("1.3", "hashes"), ("1.4", "externalReferences")])
def test_xml_legacy_tool_without_a_version_gets_one_where_the_schema_wants_it(
    version: str, after: str
) -> None:
    original = VERSIONLESS_TOOL.format(spec=version, after_name=AFTER_NAME[version]).encode()
    sbom = load_sbom(original)
    enrich(sbom)
    once = sbom.to_bytes()
    tool = "{*}metadata/{*}tools/{*}tool"
    assert [name for name, _ in _tool_children(once, tool)] == [
        "vendor",
        "name",
        "version",
        after,
    ]
    assert ("version", "0.1.0") in _tool_children(once, tool)
    assert validate_sbom(once, "xml", version) == []
    # Indented like its siblings, so the diff is one added line.
    assert "<name>sbom-enrich</name>\n        <version>0.1.0</version>\n        <" in once.decode()
    again = load_sbom(once)
    enrich(again)
    twice = again.to_bytes()
    assert _tool_children(twice, tool) == _tool_children(once, tool)
    assert tool_names(twice) == ["sbom-enrich"]


def test_xml_tool_component_without_a_version_gets_one_after_its_name() -> None:
    original = b"""<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><metadata><tools>\
<components><component type="application"><group>x</group><name>sbom-enrich</name>\
<description>old entry</description></component></components></tools></metadata></bom>"""
    sbom = load_sbom(original)
    enrich(sbom)
    once = sbom.to_bytes()
    path = "{*}metadata/{*}tools/{*}components/{*}component"
    assert _tool_children(once, path) == [
        ("group", "x"),
        ("name", "sbom-enrich"),
        ("version", "0.1.0"),
        ("description", "old entry"),
    ]
    assert validate_sbom(once, "xml", "1.5") == []
    assert b"<name>sbom-enrich</name><version>0.1.0</version><description>" in once


def test_json_legacy_tool_without_a_version_gets_one_after_its_name() -> None:
    original = (
        b'{"bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1, "metadata": {"tools": '
        b'[{"vendor": "sbom-enrich", "name": "sbom-enrich", "externalReferences": '
        b'[{"type": "website", "url": "https://example.com/"}]}]}}'
    )
    sbom = load_sbom(original)
    enrich(sbom)
    once = sbom.to_bytes()
    [tool] = json.loads(once)["metadata"]["tools"]
    assert list(tool.items())[:3] == [
        ("vendor", "sbom-enrich"),
        ("name", "sbom-enrich"),
        ("version", "0.1.0"),
    ]
    assert validate_sbom(once, "json", "1.4") == []
    again = load_sbom(once)
    enrich(again)
    assert json.loads(again.to_bytes())["metadata"]["tools"] == [tool]


@pytest.mark.parametrize("version", ["1.3", "1.4", "1.5", "1.6", "1.7"])
def test_a_tool_version_belongs_right_after_its_name_in_the_bundled_xsds(version: str) -> None:
    # add_tool inserts a missing version element right after name; that is only valid while
    # version follows name directly in both the legacy tool and the 1.5+ tool component.
    import cyclonedx.schema

    xs = "{http://www.w3.org/2001/XMLSchema}"
    schema_dir = Path(cyclonedx.schema.__file__).parent / "_res"
    xsd = etree.parse(str(schema_dir / f"bom-{version}.SNAPSHOT.xsd"))
    for type_name in ("toolType", "component"):
        sequence = xsd.find(f"{xs}complexType[@name='{type_name}']/{xs}sequence")
        assert sequence is not None
        names = [child.get("name") for child in sequence]
        following = names[names.index("name") + 1]
        if following is None:  # 1.7: <xs:choice> of version and versionRange
            choice = sequence[names.index("name") + 1]
            assert etree.QName(choice).localname == "choice"
            following = choice.find(f"{xs}element").get("name")  # type: ignore[union-attr]
        assert following == "version", (type_name, names)


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:pypi/requests@2.32.0",
        "pkg:pypi/Typing_Extensions@4.12.2",
        "pkg:pypi/zope.interface@6.1",
        "pkg:pypi/unpinned",
        "pkg:pypi/local-ver@1.0+local.1",
        "pkg:pypi/epoch@1!2.0",
        "pkg:pypi/pre@1.0rc1.post2.dev3",
        "pkg:PyPI/Mixed@1",
        "pkg:pypi/escaped%2Dname@1.0",
        "pkg:pypi/q@1.0?repository_url=https://mirror.example/simple",
        "pkg:pypi/sub@1.0#path",
        "pkg:pypi/empty@",
    ],
)
def test_the_purl_fast_path_answers_what_the_library_answers(
    purl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    from sbom_enrich.enrich import purls

    fast = purls.parse_pypi_purl(purl)
    monkeypatch.setattr(purls, "_SIMPLE_PYPI_PURL", re.compile(r"(?!)(x)(x)"))
    assert fast == purls.parse_pypi_purl(purl)


def test_xml_plain_text_test_agrees_with_the_escaping_search() -> None:
    # Each character alone and inside plain text: the quick test never calls text plain
    # that the search would change.
    for code in [*range(0x300), 0x85, 0xA0, 0x2028, 0xD800, 0xFFFE, 0xFFFF, 0x10000]:
        for text in (chr(code), f"pkg:pypi/a{chr(code)}b 2026-01-01T00:00:00Z"):
            assert _plain(text) == (_NEEDS_WORK.search(text) is None), repr(text)
