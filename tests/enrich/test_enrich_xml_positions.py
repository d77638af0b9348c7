"""XML nodes located lazily (xml_positions.XmlNodes) sit where a full scan of the document puts
them: over the whole corpus, and in hand-made documents with what could mislead a search for
tags (comments, CDATA, processing instructions, ">" and "/" in attributes, prefixes, nesting
of one name, character references and CDATA between elements, CRLF, UTF-16, Latin-1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from enrich_support import CORPUS, enrich, reset_version
from lxml import etree
from test_enrich_byte_fidelity import FILES, _fidelity
from xml_reference_scan import ScannedNodes, scan_nodes

from sbom_enrich.enrich import load_sbom
from sbom_enrich.enrich.xml_positions import XmlNodes
from sbom_enrich.enrich.xml_sbom import XmlSbom

XML_FILES = [path for path in FILES if path.name.endswith((".xml", ".xml.bin"))]


def _spans(nodes: XmlNodes | ScannedNodes, order: list[int]) -> list[tuple[int, int, int, int]]:
    return [
        (nodes.starts[n], nodes.tag_ends[n], nodes.close_starts[n], nodes.ends[n]) for n in order
    ]


def assert_located_like_the_full_scan(data: bytes) -> None:
    sbom = load_sbom(data)
    assert isinstance(sbom, XmlSbom)
    frame = sbom._frame
    scanned = scan_nodes(frame.text, frame.root_offset)
    # Everything walked: every node's offsets, and its lxml node, in document order.
    encoding = sbom._encoding if frame.codec == "latin-1" else None
    lazy = XmlNodes(frame.text, sbom._root, frame.root_offset, "x", encoding)
    order = list(lazy.located())
    assert _spans(lazy, order) == _spans(scanned, list(range(len(scanned.starts))))
    assert [lazy.element(n) for n in order] == list(sbom._root.iter())
    # A descendant found by its start tag alone (no walk of the levels between) is numbered
    # with the span the full scan gives it: some grandchildren of every node, the last one
    # included (behind the others, and behind any other descendant spelled like it).
    number = {lazy.element(n): n for n in order}
    for node in order:
        element = lazy.element(node)
        grandchildren = [g for child in element for g in child]
        for grandchild in {*grandchildren[:3], *grandchildren[-2:]}:
            found = lazy.locate_descendant(node, grandchild)
            if isinstance(grandchild.tag, str):
                assert found is not None  # (non-ASCII names too, in UTF-8 text as its bytes)
                assert _spans(lazy, [found]) == _spans(lazy, [number[grandchild]])
    # Where a child is appended, read off the tails or off the text alone, is where the full
    # scan puts it.
    for node, walked in zip(order, range(len(scanned.starts)), strict=True):
        for point in (lazy.append_point(node), lazy.append_point_in_text(node)):
            if point is not None:
                children = scanned.children[walked]
                last = children[-1]
                gap = scanned.ends[children[-2]] if len(children) > 1 else scanned.tag_ends[walked]
                assert point == (scanned.ends[last], frame.text[gap : scanned.starts[last]])
    # Every element of a name, located in one pass by its tags, where the full scan puts it.
    spelled: dict[tuple[str, str | None], list[etree._Element]] = {}
    for element in sbom._root.iterdescendants():
        if isinstance(element.tag, str):
            local = element.tag.rpartition("}")[2]
            spelled.setdefault((local, element.prefix), []).append(element)
    at_once = XmlNodes(frame.text, sbom._root, frame.root_offset, "x", encoding)
    for (local, prefix), same in spelled.items():
        located = at_once.locate_all(same, local, prefix)
        assert located is not None
        assert list(located) == same
        assert _spans(at_once, list(located.values())) == _spans(lazy, [number[e] for e in same])


@pytest.mark.parametrize("path", XML_FILES, ids=lambda path: path.name)
def test_nodes_located_lazily_are_the_ones_the_full_scan_finds(path: Path) -> None:
    assert_located_like_the_full_scan(path.read_bytes())


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
)


def _bom(components: str, head: str = HEAD, tail: str = "</bom>\n") -> bytes:
    return f"{head}  <components>\n{components}  </components>\n{tail}".encode()


SIX = "      <name>six</name>\n      <purl>pkg:pypi/six@1.16.0</purl>\n"
HOSTILE = {
    "markup-in-comments-cdata-pis": _bom(
        '    <component type="library">\n'
        "      <!-- </component> <component> </name> -->\n"
        "      <name>six<![CDATA[</name><purl>]]></name>\n"
        "      <?pi </component> <purl> ?>\n"
        "      <purl>pkg:pypi/six@1.16.0</purl>\n"
        "      <description><![CDATA[<a>]]>x<!-- <b> --></description>\n"
        "    </component>\n"
    ),
    "quotes-gt-and-slash-in-attributes": _bom(
        '    <component type="library" bom-ref="a>/b" x=\'">/\'>\n'
        + SIX
        + '      <hashes><hash alg="SHA-256" x="/>">ab</hash></hashes>\n'
        "    </component>\n"
    ),
    "one-name-nested-and-empty": _bom(
        '    <component type="library">\n' + SIX + "      <components>\n"
        '        <component type="library"/>\n'
        '        <component type="library"><name>a</name><purl>pkg:pypi/a@1</purl>'
        '<components><component type="library"><name>b</name><purl>pkg:pypi/b@1</purl>'
        "</component></components></component>\n"
        "      </components>\n"
        "    </component>\n"
    ),
    "prefixes-and-a-foreign-component": (
        b'<c:bom xmlns:c="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
        b"  <c:components>\n"
        b'    <c:component type="library">\n'
        b"      <c:name>six</c:name>\n      <c:purl>pkg:pypi/six@1.16.0</c:purl>\n"
        b'      <x:component xmlns:x="urn:x"><x:component/></x:component>\n'
        b'      <component xmlns="urn:y"><component>1</component></component>\n'
        b"    </c:component>\n"
        b"  </c:components>\n"
        b"</c:bom>\n"
    ),
    "references-and-cdata-between-elements": _bom(
        '    <component type="library">\n'
        "      <name>six</name>&#10;      <purl>pkg:pypi/six@1.16.0</purl><![CDATA[ ]]>\n"
        "    </component>\n"
        '    <component type="library">\n' + SIX.rstrip() + "<![CDATA[]]>\n    </component>\n"
        '    <component type="library">\n'
        "      <name>a</name>\n      <purl>pkg:pypi/a@1</purl>&#32;\n    </component>\n"
    ),
    "spaces-in-end-tags-and-one-line": (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>'
        b'<component type="library"><name>six</name ><purl>pkg:pypi/six@1.16.0</purl\n>'
        b'</component ><component type="library"><name>a</name><purl>pkg:pypi/a@1</purl>'
        b"<properties/></component></components ></bom>"
    ),
    "comment-or-pi-last": _bom(
        '    <component type="library">\n' + SIX + "      <!-- last -->\n    </component>\n"
        '    <component type="library">\n' + SIX + "      <?last?>\n    </component>\n"
    ),
    "empty-containers": _bom(
        '    <component type="library">\n' + SIX + "      <properties></properties>\n"
        "    </component>\n"
        '    <component type="library"><name>a</name><purl>pkg:pypi/a@1</purl><properties/>'
        "</component>\n"
    ),
    # Comments and PIs are found by their "!" and "?" while few others stand before them,
    # then by a pattern: markup after many of them in text and attributes.
    "many-question-marks-and-bangs-before-markup": _bom(
        '    <component type="library" bom-ref="?!?">\n'
        + SIX
        + f"      <description>{'?!' * 700}</description>\n"
        + "      <!-- </component> <component> -->\n"
        + "      <?pi </component>?>\n"
        + "      <description><![CDATA[</purl>?]]>!</description>\n"
        + "    </component>\n"
        + '    <component type="library"><name>a</name><purl>pkg:pypi/a@1?x=1</purl>'
        + "<!--?--></component>\n"
    ),
    "non-ascii-names-in-an-extension": _bom(
        '    <component type="library">\n'
        + SIX
        + '      <e:näme xmlns:e="urn:e">ü</e:näme>\n'
        + "    </component>\n"
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_markup_that_could_mislead_a_search_is_located_exactly(name: str) -> None:
    _located_and_enriched_faithfully(HOSTILE[name])


def _located_and_enriched_faithfully(original: bytes) -> None:
    assert_located_like_the_full_scan(original)
    sbom = load_sbom(original)
    assert sbom.to_bytes() == original
    enrich(sbom)
    once = sbom.to_bytes()
    _fidelity(original, once)
    assert_located_like_the_full_scan(once)
    again = load_sbom(once)
    enrich(again)
    twice = again.to_bytes()
    assert reset_version(twice, once).to_bytes() == once


_START_TAG = re.compile(rb"\n(\s*)<(?![/!?])")
SNIPPETS = (
    b"<!-- </component> <component> <properties> -->",
    b"<?pi <component> </name> ?>",
    b"<![CDATA[</purl><component>]]>",
)


def _variants(data: bytes) -> dict[str, bytes]:
    """Real files changed in ways a tag search could trip on, still well-formed."""
    root = re.search(rb"<bom[\s>]", data)
    assert root is not None
    head, body = data[: root.end()], data[root.end() :]
    count = 0

    def insert(match: re.Match[bytes]) -> bytes:
        nonlocal count
        count += 1
        snippet = SNIPPETS[count % len(SNIPPETS)] if count % 4 == 0 else b""
        return b"\n" + match.group(1) + snippet + b"<"

    return {
        "crlf": data.replace(b"\n", b"\r\n"),
        "markup-in-between": head + _START_TAG.sub(insert, body),
        "utf-16": (
            '<?xml version="1.0" encoding="UTF-16"?>' + re.sub(r"^<\?xml[^>]*>", "", data.decode())
        ).encode("utf-16"),
    }


REAL = [CORPUS / "cyclonedx-py-environment-1.4.xml", CORPUS / "cyclonedx-py-requirements-1.6.xml"]


@pytest.mark.parametrize("path", REAL, ids=lambda path: path.name)
@pytest.mark.parametrize("variant", ["crlf", "markup-in-between", "utf-16"])
def test_real_files_changed_to_mislead_a_search_are_located_exactly(
    path: Path, variant: str
) -> None:
    _located_and_enriched_faithfully(_variants(path.read_bytes())[variant])


def test_latin_1_text_and_attributes_are_located_exactly() -> None:
    original = (
        _bom(
            '    <component type="library" bom-ref="é">\n'
            "      <name>six</name>\n      <description>àé</description>\n"
            "      <purl>pkg:pypi/six@1.16.0</purl>\n    </component>\n",
            head=HEAD.replace("UTF-8", "ISO-8859-1"),
        )
        .decode()
        .encode("latin-1")
    )
    _located_and_enriched_faithfully(original)


class _CountingText(str):
    """The document text, counting the characters its searches cover."""

    searched = 0

    def find(self, sub: str, start: int | None = None, end: int | None = None) -> int:  # type: ignore[override]
        found = super().find(sub, start, end)
        stop = len(self) if end is None else end
        _CountingText.searched += (found + len(sub) if found >= 0 else stop) - (start or 0)
        return found


@pytest.mark.parametrize("levels", [100, 400])
def test_deep_nesting_is_searched_a_bounded_number_of_times(levels: int) -> None:
    """Each level's walk finds its end tags without searching the levels below it again."""
    inner = '<component type="library"><name>x</name><description>{}</description></component>'
    inner = inner.format("a" * 200_000)
    for level in range(levels):
        inner = (
            f'<component type="library"><name>c{level}</name><purl>pkg:pypi/c{level}@1</purl>'
            f"<components>{inner}</components></component>"
        )
    data = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">'
        f"<components>{inner}</components></bom>"
    ).encode()
    sbom = load_sbom(data)
    assert isinstance(sbom, XmlSbom)
    frame = sbom._frame
    text = _CountingText(frame.text)
    _CountingText.searched = 0
    nodes = XmlNodes(text, sbom._root, frame.root_offset, "x")
    assert sum(1 for _ in nodes.located()) == sum(1 for _ in sbom._root.iter())
    assert _CountingText.searched < 10 * len(text)  # not once per level: ~levels times
