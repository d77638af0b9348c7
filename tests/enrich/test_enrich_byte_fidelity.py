"""Byte fidelity over every real and hand-made SBOM: the output is the input plus our edits.

The check, precisely: in the input and in the output, cut out the regions enrichment may
change, which are

- each PyPI component's ``properties`` member (JSON) or element (XML),
- ``metadata.tools`` (or ``metadata`` when the input had none),
- the BOM ``version`` member (JSON) or attribute (XML),

each together with the separator text that joins it to its neighbours. What remains must be
equal byte for byte. Inside each cut properties container, the properties that are not ours
must also be equal byte for byte and in order. Spans come from the enricher's own readers,
whose spans are checked against the stdlib parser and lxml first (the first two tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from enrich_support import CORPUS, EXTRA, OLD_SPECS, enrich, json_structure_errors, reset_version
from lxml import etree
from xml_reference_scan import ScannedNodes, scan_nodes, scan_nodes_expat

from sbom_enrich.enrich import PROPERTY_PREFIX, SbomError, load_sbom, validate_sbom
from sbom_enrich.enrich.json_positions import PositionalReader, Source
from sbom_enrich.enrich.json_sbom import RawNumber, _object_pairs, _refuse_constant
from sbom_enrich.enrich.xml_sbom import XmlSbom

SHARED_CORPUS = Path("/work/shared/corpus/sboms")
REFUSED = {"billion-laughs.xml", "xxe.xml", "external-dtd.xml", *OLD_SPECS}


#: More directories to measure (os.pathsep-separated, searched recursively), e.g. the CycloneDX
#: specification's tools/src/test/resources and cyclonedx-python-lib's tests/_data: files that
#: are not enrichable CycloneDX (older specs, invalid on purpose) are skipped there.
EXTRA_CORPORA = "SBOM_ENRICH_FIDELITY_CORPUS"
SBOM_SUFFIXES = (".json", ".xml", ".json.bin", ".xml.bin")


def _files() -> list[Path]:
    seen: set[str] = set()
    found = []
    directories = [CORPUS, EXTRA]
    if SHARED_CORPUS.is_dir():  # the team's wider corpus, where this runs; CI has the copy
        directories.append(SHARED_CORPUS)
    for directory in directories:
        for path in sorted(directory.iterdir()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.name not in REFUSED and digest not in seen:
                seen.add(digest)
                found.append(path)
    for directory in filter(None, os.environ.get(EXTRA_CORPORA, "").split(os.pathsep)):
        for path in sorted(Path(directory).rglob("*")):
            if not (path.is_file() and path.name.endswith(SBOM_SUFFIXES)):
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            try:
                load_sbom(data)
            except SbomError:
                continue  # not enrichable: refused with one line, tested elsewhere
            found.append(path)
    return found


FILES = _files()
SMALL_JSON = 200_000  # full schema validation (with format checks) only below this size


def _reader(text: str) -> tuple[Any, dict[int, Source]]:
    reader = PositionalReader(text, _object_pairs, RawNumber, _refuse_constant, everything=True)
    return reader.document(), reader.sources


def _text(path_or_data: bytes) -> str:
    return path_or_data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")


# -- the readers' spans agree with independent parsers ----------------------------------------


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.name.endswith((".json", ".json.bin"))], ids=lambda p: p.name
)
def test_json_spans_hold_what_the_stdlib_parser_reads(path: Path) -> None:
    text = _text(path.read_bytes())
    document, sources = _reader(text)
    assert json.dumps(document, default=str) == json.dumps(
        json.loads(text, object_pairs_hook=_object_pairs, parse_float=RawNumber), default=str
    )
    for source in sources.values():
        for value, start, end in zip(
            source.values, source.value_starts, source.value_ends, strict=True
        ):
            read = json.loads(text[start:end], object_pairs_hook=_object_pairs, parse_float=str)
            assert json.dumps(read) == json.dumps(value, default=str)


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.name.endswith((".xml", ".xml.bin"))], ids=lambda p: p.name
)
def test_xml_nodes_are_the_ones_lxml_reads(path: Path) -> None:
    sbom = load_sbom(path.read_bytes())
    assert isinstance(sbom, XmlSbom)
    text = sbom._frame.text
    nodes = scan_nodes(text, sbom._frame.root_offset)
    # Both reference tokenizers (expat's offsets; a regex pass) agree.
    code_unit = 1 if sbom._frame.codec == "latin-1" else 2
    assert scan_nodes_expat(path.read_bytes(), text, code_unit) in (nodes, None)
    lxml_nodes = list(sbom._root.iter())
    assert len(lxml_nodes) == len(nodes.starts)
    for index, node in enumerate(lxml_nodes):
        raw = text[nodes.starts[index] : nodes.ends[index]]
        if isinstance(node.tag, str):
            name = etree.QName(node).localname
            assert re.match(rf"<([\w.-]+:)?{re.escape(name)}[\s/>]", raw), raw[:80]
            assert raw.endswith(">")
        else:
            assert raw.startswith(("<!--", "<?"))


# -- cutting out what enrichment may change ---------------------------------------------------


def _member_region(source: Source, index: int) -> tuple[int, int]:
    """Member ``index`` with the separator that joins it to the others."""
    count = len(source.values)
    if index:
        return source.value_ends[index - 1], source.value_ends[index]
    if count > 1:
        return source.item_starts[0], source.item_starts[1]
    return source.start + 1, source.end - 1


def _ours(name: object) -> bool:
    return isinstance(name, str) and name.startswith(PROPERTY_PREFIX)


def _is_pypi(purl: object) -> bool:
    return isinstance(purl, str) and re.match(r"(?i)pkg:/*pypi/", purl.strip()) is not None


def _json_regions(text: str, had_metadata: bool) -> tuple[list[tuple[int, int]], list[list[str]]]:
    """(regions to cut, the raw text of every foreign property per PyPI component)."""
    document, sources = _reader(text)
    regions: list[tuple[int, int]] = []
    kept: list[list[str]] = []
    root = sources[id(document)]
    assert root.keys is not None
    for index, key in enumerate(root.keys):
        if key == "version" or (key == "metadata" and not had_metadata):
            regions.append(_member_region(root, index))
    metadata = document.get("metadata")
    if had_metadata and isinstance(metadata, dict):
        source = sources[id(metadata)]
        assert source.keys is not None
        if "tools" in source.keys:
            regions.append(_member_region(source, source.keys.index("tools")))

    def visit(component: Any, cut: bool = True) -> None:
        """``cut``: the properties are a region of their own (not inside metadata.tools, which
        is cut whole)."""
        if not isinstance(component, dict):
            return
        source = sources[id(component)]
        assert source.keys is not None
        if _is_pypi(component.get("purl")) and "properties" in source.keys:
            index = source.keys.index("properties")
            if cut:
                regions.append(_member_region(source, index))
            properties = sources.get(id(component["properties"]))
            if properties is not None:
                kept.append(
                    [
                        text[start:end]
                        for value, start, end in zip(
                            properties.values,
                            properties.value_starts,
                            properties.value_ends,
                            strict=True,
                        )
                        if not (isinstance(value, dict) and _ours(value.get("name")))
                    ]
                )
        for child in component.get("components") or []:
            visit(child, cut)

    # In document order, as the enricher lists them (the tools' properties are kept too).
    for key in root.keys:
        if key == "metadata" and isinstance(metadata, dict):
            for inner, value in metadata.items():
                if inner == "component":
                    visit(value)
                elif inner == "tools" and isinstance(value, dict):
                    for tool in value.get("components") or []:
                        visit(tool, cut=False)  # inside metadata.tools (or metadata)
        elif key == "components":
            for component in document.get("components") or []:
                visit(component)
        elif key == "formulation":
            for formula in document.get("formulation") or []:
                for component in formula.get("components") or []:
                    visit(component)
    return regions, kept


def _child_region(nodes: ScannedNodes, parent: int, position: int) -> tuple[int, int]:
    children = nodes.children[parent]
    if position:
        return nodes.ends[children[position - 1]], nodes.ends[children[position]]
    if len(children) > 1:
        return nodes.starts[children[0]], nodes.starts[children[1]]
    return nodes.tag_ends[parent], nodes.close_starts[parent]


def _xml_regions(
    sbom: XmlSbom, had_metadata: bool
) -> tuple[list[tuple[int, int]], list[list[str]]]:
    text = sbom._frame.text
    nodes = scan_nodes(text, sbom._frame.root_offset)
    root = sbom._root
    regions: list[tuple[int, int]] = []
    kept: list[list[str]] = []

    def node_of(element: etree._Element) -> int:
        path = []
        while (parent := element.getparent()) is not None:
            path.append(parent.index(element))
            element = parent
        node = 0
        for index in reversed(path):
            node = nodes.children[node][index]
        return node

    start_tag = text[nodes.starts[0] : nodes.tag_ends[0]]
    version = re.search(r"""\sversion\s*=\s*("[^"]*"|'[^']*')""", start_tag)
    if version:
        regions.append((nodes.starts[0] + version.start(), nodes.starts[0] + version.end()))
    for element in root.iterfind("{*}metadata" if not had_metadata else "{*}metadata/{*}tools"):
        parent = element.getparent()
        assert parent is not None
        regions.append(_child_region(nodes, node_of(parent), parent.index(element)))
    for component in sbom.pypi_components():
        element = component.handle
        assert isinstance(element, etree._Element)
        for container in element.iterfind("{*}properties"):
            if component.build_tool != "metadata.tools":  # that one is cut whole
                regions.append(_child_region(nodes, node_of(element), element.index(container)))
            container_node = node_of(container)
            kept.append(
                [
                    text[nodes.starts[child] : nodes.ends[child]]
                    for child, child_element in zip(
                        nodes.children[container_node], container, strict=True
                    )
                    if not (child_element.get("name") or "").startswith(PROPERTY_PREFIX)
                ]
            )
    return regions, kept


def _cut(text: str, regions: list[tuple[int, int]]) -> str:
    out = []
    position = 0
    for start, end in sorted(regions):
        assert start >= position, "regions overlap"
        out.append(text[position:start])
        position = end
    out.append(text[position:])
    return "".join(out)


def _fidelity(original: bytes, enriched: bytes) -> None:
    before = load_sbom(original)
    after = load_sbom(enriched)
    if before.format == "json":
        had_metadata = "metadata" in json.loads(_text(original))
        cut_in, kept_in = _json_regions(_text(original), had_metadata)
        cut_out, kept_out = _json_regions(_text(enriched), had_metadata)
        assert _cut(_text(enriched), cut_out) == _cut(_text(original), cut_in)
    else:
        assert isinstance(before, XmlSbom) and isinstance(after, XmlSbom)
        had_metadata = before._root.find("{*}metadata") is not None
        cut_in, kept_in = _xml_regions(before, had_metadata)
        cut_out, kept_out = _xml_regions(after, had_metadata)
        assert _cut(after._frame.text, cut_out) == _cut(before._frame.text, cut_in)
        assert original.startswith(
            after._frame.text[: after._frame.root_offset].encode(after._frame.codec)
        )
    # Components that had properties keep every foreign one as written, in order.
    assert [kept for kept in kept_out if kept] == [kept for kept in kept_in if kept]


@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_output_is_the_input_plus_our_edits_byte_for_byte(path: Path) -> None:
    original = path.read_bytes()
    sbom = load_sbom(original)
    assert sbom.to_bytes() == original  # nothing edited: the input, exactly
    enrich(sbom)
    once = sbom.to_bytes()
    _fidelity(original, once)

    again = load_sbom(once)
    enrich(again)
    twice = again.to_bytes()
    assert reset_version(twice, once).to_bytes() == once  # idempotent, byte for byte
    _fidelity(once, twice)

    if sbom.format == "json" and len(original) > SMALL_JSON:
        assert json_structure_errors(once, sbom.spec_version) == []
    elif sbom.format == "json":
        assert validate_sbom(original, "json", sbom.spec_version) != [] or (
            validate_sbom(once, "json", sbom.spec_version) == []
        )
    else:
        assert validate_sbom(original, "xml", sbom.spec_version) != [] or (
            validate_sbom(once, "xml", sbom.spec_version) == []
        )


@pytest.mark.parametrize(
    "original",
    [
        # Go-style escapes, CRLF, tabs, an inline array and "k" : spacing, all kept around us.
        b'{\r\n\t"bomFormat" : "CycloneDX",\r\n\t"specVersion" : "1.6",\r\n\t"version" : 1,'
        b'\r\n\t"x" : [1, 2, {"a" : "\\u0026\\/\\u00e9"}],\r\n\t"components" : [ {\r\n\t\t'
        b'"type" : "library", "name" : "six", "purl" : "pkg:pypi/six@1.16.0"\r\n\t} ]\r\n}\r\n',
        # XML: &quot; in text, attributes in their order, multi-line tags, <a></a>.
        b'<?xml version="1.0"?>\n<bom serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"'
        b' version="1"\n     xmlns="http://cyclonedx.org/schema/bom/1.6">\n  <components>\n'
        b'    <component type="library"\n               bom-ref="six">\n'
        b"      <name>six</name>\n      <description>&quot;six&quot; &amp; co</description>\n"
        b"      <purl>pkg:pypi/six@1.16.0</purl>\n      <tags></tags>\n    </component>\n"
        b"  </components>\n</bom>\n",
    ],
    ids=["json-quirks", "xml-quirks"],
)
def test_quirks_of_real_writers_survive_next_to_our_edits(original: bytes) -> None:
    sbom = load_sbom(original)
    enrich(sbom)
    enriched = sbom.to_bytes()
    _fidelity(original, enriched)
    if sbom.format == "json":
        assert b'"x" : [1, 2, {"a" : "\\u0026\\/\\u00e9"}]' in enriched
        assert enriched.count(b"\n") == enriched.count(b"\r\n")
        # New strings follow the file's escaping: "/" as "\/" like the input wrote it.
        assert b'"https:\\/\\/pypi.org\\/simple\\/"' in enriched
    else:
        assert b"&quot;six&quot; &amp; co" in enriched
        assert b'<bom serialNumber="urn:uuid:' in enriched and b"<tags></tags>" in enriched
        assert b'<component type="library"\n               bom-ref="six">' in enriched


def _eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every reader walk each component member by member (the pre-lazy reader)."""
    import sbom_enrich.enrich.json_positions as positions

    original = positions.PositionalReader.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["lazy_components"] = False
        original(self, *args, **kwargs)

    monkeypatch.setattr(positions.PositionalReader, "__init__", init)


def _enrich_twice(original: bytes, with_bom_refs: slice) -> tuple[bytes, bytes]:
    """Enriched once (bom-refs inserted into ``with_bom_refs`` of the components: a member
    inserted, not appended), and that enriched again."""
    sbom = load_sbom(original)
    enrich(sbom)
    for component in sbom.pypi_components()[with_bom_refs]:
        sbom.ensure_bom_ref(component)
    once = sbom.to_bytes()
    again = load_sbom(once)
    enrich(again)
    return once, again.to_bytes()


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.name.endswith((".json", ".json.bin"))], ids=lambda p: p.name
)
def test_components_read_whole_are_written_as_when_read_member_by_member(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy = _enrich_twice(path.read_bytes(), slice(None, None, 3))
    _eager(monkeypatch)
    assert _enrich_twice(path.read_bytes(), slice(None, None, 3)) == lazy


def _component(name: str, **members: Any) -> dict[str, Any]:
    return {"type": "library", "name": name, "version": "1.0", "purl": f"pkg:pypi/{name}@1.0"} | (
        members
    )


#: Components that take every path of the writer for components read whole: members appended
#: (first member a plain scalar, or an array, or a key with an escape), properties of the input
#: kept with ours added after them, ours replaced, nested components, an empty object.
_SPLICE_CASES = {
    "scalar-first": _component("alpha"),
    "array-first": {"hashes": [{"alg": "SHA-256", "content": "00"}], **_component("beta")},
    "escaped-key-first": {"d\\u0065scription": "x", **_component("gamma")},
    "foreign-properties": {
        "d\\u0065scription": "x",
        **_component("delta", properties=[{"name": "cdx:x", "value": "1"}]),
    },
    "escaped-property-keys": _component("eps", properties=[{"n\\u0061me": "cdx:y", "value": "2"}]),
    "odd-properties": _component(
        "kappa", properties=[{"name": "a", "value": "b", "extra": 1}, {"name": "c", "value": "d"}]
    ),
    "no-property-shape": _component("lambda", properties=[{"name": "only-a-name"}]),
    "one-member": {"purl": "pkg:pypi/mu@1.0"},
    "wide": _component("wide"),
    "ours-already": _component(
        "zeta", properties=[{"name": "sbom-enrich:pypi:project-status", "value": "active"}]
    ),
    "nested": _component("eta", components=[_component("theta"), _component("iota")]),
    "not-pypi": {"type": "library", "name": "left", "purl": "pkg:npm/left@1"},
    # Where the writer finds an existing properties array by searching back for its key:
    # not the last member; a later member holding a "properties" key of its own; an element
    # of the array with one; a value that spells the key (escaped quotes).
    "properties-not-last": {
        **_component("nu", properties=[{"name": "cdx:a", "value": "1"}]),
        "description": "after the properties",
    },
    "nested-properties-after": {
        **_component("xi", properties=[{"name": "cdx:b", "value": "2"}]),
        "evidence": {"properties": [{"name": "cdx:c", "value": "3"}]},
    },
    "properties-in-an-element": _component(
        "omicron", properties=[{"name": "cdx:d", "value": "4", "properties": []}]
    ),
    "key-in-a-value": _component(
        "pi", properties=[{"name": "cdx:e", "value": '"properties": [] }'}]
    ),
}


def _splice_document(prefix: str, newline: str, indent: int | None, non_ascii: bool) -> bytes:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "app" + "é" * non_ascii}},
        "components": [*_SPLICE_CASES.values(), {}],
    }
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    # json.dumps escapes the backslash of the hand-written escapes: undo it, so that the
    # input really spells those keys with an escape.
    text = re.sub(r"\\\\(u00)", r"\\\1", text)
    text = text.replace('"pkg:pypi/wide@1.0"', '"pkg:pypi/wide@1.0"' + " " * 80)
    text = text.replace("\n", newline)
    return (prefix + text + newline).encode("utf-8")


@pytest.mark.parametrize("non_ascii", [False, True], ids=["ascii", "non-ascii"])
@pytest.mark.parametrize(
    ("prefix", "newline", "indent"),
    [("", "\n", 2), ("\ufeff", "\r\n", 4), ("\ufeff", "\n", None)],
    ids=["plain", "bom-crlf", "bom-one-line"],
)
def test_every_splice_path_writes_what_the_member_by_member_reader_writes(
    prefix: str, newline: str, indent: int | None, non_ascii: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _splice_document(prefix, newline, indent, non_ascii)
    lazy = _enrich_twice(original, slice(1, None, 2))
    assert lazy[0].startswith(prefix.encode("utf-8") + b"{")
    sbom = load_sbom(original)
    assert sbom.to_bytes() == original
    enrich(sbom)
    _fidelity(original, sbom.to_bytes())
    _eager(monkeypatch)
    assert _enrich_twice(original, slice(1, None, 2)) == lazy
