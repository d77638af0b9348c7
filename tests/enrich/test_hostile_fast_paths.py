"""Hostile SBOMs against the enricher's fast paths, through the real CLI and a real index.

The fast paths: JSON spliced from the input's bytes (duplicate keys found by a pairs hook),
XML components located by a raw search for their tags checked against lxml's count. Each
document here is made to mislead them; the oracle is independent of the tool: lxml (XML) or
``json`` (JSON) reading the output says which component got which status, and the output with
what enrichment inserts taken out must be the input (the BOM version aside). Right behaviour
is that, or a refusal: one line, exit 2, nothing written.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from lxml import etree

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, default_projects, release
from sbom_enrich.cli import main
from sbom_enrich.enrich.validation import validate_sbom

NS = "http://cyclonedx.org/schema/bom/1.5"
STATUS = "sbom-enrich:pypi:project-status"
#: What tests/indexserver.py's default projects say; any other name is not found.
EXPECTED = {"requests": "active", "evil-pkg": "quarantined", "nose": "deprecated"}


@pytest.fixture(scope="module")
def index() -> Iterator[IndexServer]:
    with IndexServer(default_projects()) as server:
        yield server


@dataclass
class Enriched:
    run: Run
    output: bytes | None


def _enrich(
    index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, suffix: str
) -> Enriched:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source, target = tmp_path / f"in.{suffix}", tmp_path / f"out.{suffix}"
    source.write_bytes(data)
    env = {
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
        "SBOM_ENRICH_INDEX_URL": index.url,
    }
    argv = ["enrich", str(source), "-o", str(target), "--fail-on", "none"]
    code = main(argv, env=env, stdin=io.BytesIO(), stdout=io.BytesIO())
    run = Run(code, b"", capsys.readouterr().err)
    assert "Traceback" not in run.stderr
    return Enriched(run, target.read_bytes() if target.exists() else None)


def _expected(purl: str) -> str:
    path = purl[purl.lower().index("pypi/") + 5 :]
    name = unquote(path.split("@", 1)[0].split("?", 1)[0])
    return EXPECTED.get(re.sub(r"[-_.]+", "-", name).lower(), "not-found")


def _assert_refused(result: Enriched) -> None:
    assert result.run.code == 2, result.run.stderr
    assert result.output is None
    assert len(result.run.stderr.strip().splitlines()) == 1, result.run.stderr


# -- XML ---------------------------------------------------------------------------------------

_XML_PROPERTIES = re.compile(
    r"\s*<([\w.-]+:)?properties>(?:\s*<([\w.-]+:)?property name=\"sbom-enrich:[^\"]*\">"
    r"[^<]*</([\w.-]+:)?property>)+\s*</([\w.-]+:)?properties>"
)
_XML_METADATA = re.compile(r"\s*<([\w.-]+:)?metadata>\s*<([\w.-]+:)?tools>.*?</\1?metadata>", re.S)
#: The root's start tag (a quoted value may hold ">"), and a version attribute in it.
_XML_ROOT_TAG = re.compile(r"""<([\w.-]+:)?bom\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_XML_VERSION = re.compile(r"""(\sversion\s*=\s*["'])\d+""")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _check_xml(original: bytes, output: bytes, codec: str) -> None:
    """Every CycloneDX component lxml finds in the output has its own status and nothing else
    got one; the output less what enrichment inserts is the input, byte for byte."""
    root = _check_xml_statuses(output)
    _check_xml_bytes(original, output, codec, root)


def _check_xml_statuses(output: bytes) -> etree._Element:
    """Each CycloneDX component lxml reads in ``output`` has its own status, in its own
    ``<properties>``; no other element has one. Returns the root."""
    root = etree.fromstring(output, _PARSER)
    cdx = etree.QName(root).namespace
    for found in root.iter():
        if found.get("name") == STATUS:
            container = found.getparent()
            assert container is not None and container.tag == f"{{{cdx}}}properties"
            owner = container.getparent()
            assert owner is not None and owner.tag == f"{{{cdx}}}component"
    tools = root.find(f"{{{cdx}}}metadata/{{{cdx}}}tools")
    for component in root.iter(f"{{{cdx}}}component"):
        if tools is not None and component in set(tools.iter()):
            continue
        statuses = [
            item.text
            for item in component.iterfind(f"{{{cdx}}}properties/{{{cdx}}}property")
            if item.get("name") == STATUS
        ]
        purl = component.findtext(f"{{{cdx}}}purl") or ""
        wanted = [_expected(purl.strip())] if "pypi/" in purl.lower() else []
        assert statuses == wanted, (component.findtext(f"{{{cdx}}}name"), purl)
    for component in root.iter("{*}component"):
        if etree.QName(component).namespace != cdx:  # another namespace's: not ours to touch
            assert not [item for item in component.iter() if item.get("name") == STATUS]
    return root


def _check_xml_bytes(original: bytes, output: bytes, codec: str, root: etree._Element) -> None:
    parser = _PARSER
    # The version is bumped, in the version attribute; the root's other attributes are kept.
    before_root = etree.fromstring(original, parser)
    attributes = dict(before_root.attrib)
    version = attributes.pop("version", "1")
    assert root.get("version") == str(int(version) + 1)
    assert {k: v for k, v in root.attrib.items() if k != "version"} == attributes
    before, after = _root_normal(original.decode(codec)), _root_normal(output.decode(codec))
    if before_root.get("version") is None:  # added at the end of the start tag
        after = after.replace(' version="N">', ">", 1).replace(" version='N'>", ">", 1)
    after = _XML_PROPERTIES.sub("", after)
    if "metadata>" not in before:
        after = _XML_METADATA.sub("", after, count=1)
    assert after == before


def _root_normal(text: str) -> str:
    """``text`` with every number after ``version=`` in the root's start tag made ``N``."""
    tag = _XML_ROOT_TAG.search(text)
    assert tag is not None
    normal = _XML_VERSION.sub(r"\g<1>N", tag.group())
    return text[: tag.start()] + normal + text[tag.end() :]


def _component(name: str, inner: str = "", p: str = "", attributes: str = ' type="library"',
               purl: str | None = None, close: str | None = None) -> str:  # fmt: skip
    purl = purl or f"pkg:pypi/{name}@1.0"
    return (
        f"    <{p}component{attributes}>\n      <{p}name>{name}</{p}name>\n"
        f"      <{p}purl>{purl}</{p}purl>\n{inner}    {close or f'</{p}component>'}\n"
    )


def _bom(body: str, root: str = f'xmlns="{NS}"', p: str = "", encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<{p}bom {root} version="1">\n'
        f"  <{p}components>\n{body}  </{p}components>\n</{p}bom>\n"
    )


C = _component
TWO = C("requests") + C("evil-pkg")
FOREIGN_EVIL = "<name>evil-pkg</name><purl>pkg:pypi/evil-pkg@1.0</purl>"
ACCENTED = C("requests") + C("evil-pkg", "      <description>caf\u00e9 \u00fc</description>\n")
KANJI = C("requests") + C("evil-pkg", "      <description>\u8868\u30bd</description>\n")
CYCLONEDX_PREFIX = f'xmlns:c="{NS}"'

#: (document, Python codec of its bytes)
XML_HELD: dict[str, tuple[str, str]] = {
    "component-tags-in-a-comment": (
        _bom("    <!-- <component><name>x</name></component> -->\n" + TWO),
        "utf-8",
    ),
    "component-tags-in-cdata": (
        _bom(
            C("requests", "      <description><![CDATA[<component></component>]]></description>\n")
            + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    "component-tag-in-a-processing-instruction": (_bom("    <?pi <component> ?>\n" + TWO), "utf-8"),
    "counts-agree-once-a-comment-and-a-pi-are-read": (
        _bom(
            "    <!-- </component> -->\n"
            + C("requests")
            + "    <?p <component> ?>\n"
            + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    # An extension inside a component: in a components list it would be refused, since
    # readers that match names alone take it for a component (test_enrich_unseen_components).
    "component-of-another-default-namespace": (
        _bom(
            C("requests", f'      <component xmlns="urn:other">{FOREIGN_EVIL}</component>\n')
            + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    "component-of-no-namespace-inside-a-prefixed-element": (
        _bom(
            C("requests") + f'    <q:w xmlns:q="urn:q"><component xmlns="">{FOREIGN_EVIL}'
            "</component></q:w>\n" + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    "second-prefix-bound-to-cyclonedx": (
        _bom(
            C("requests", p="c:").replace("<c:component", f"<c:component {CYCLONEDX_PREFIX}", 1)
            + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    "prefixed-root": (
        _bom(C("requests", p="c:") + C("evil-pkg", p="c:"), root=CYCLONEDX_PREFIX, p="c:"),
        "utf-8",
    ),
    "prefix-rebound-to-another-namespace-midway": (
        _bom(
            C("requests", p="c:") + '    <c:x xmlns:c="urn:other"><c:component>'
            "<c:name>evil-pkg</c:name><c:purl>pkg:pypi/evil-pkg@1.0</c:purl></c:component>"
            "</c:x>\n" + C("evil-pkg", p="c:"),
            root=CYCLONEDX_PREFIX,
            p="c:",
        ),  # fmt: skip
        "utf-8",
    ),
    "xml-prefix-component-inside-a-component": (
        _bom(C("requests", "      <xml:component>x</xml:component>\n") + C("evil-pkg")),
        "utf-8",
    ),
    "names-that-start-with-component": (
        _bom(
            '    <componentX xmlns="urn:x"/>\n'
            + C("requests")
            + '    <components-x xmlns="urn:x"><component/></components-x>\n'
            + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    "self-closing-components": (
        _bom(
            '    <component type="library"/>\n'
            + C("requests")
            + "    <component/>\n"
            + C("evil-pkg")
        ),  # fmt: skip
        "utf-8",
    ),
    "white-space-inside-tags": (
        _bom(
            C("requests", close="</component >").replace("<component ", "<component\n  ")
            + C("evil-pkg", close="</component\n>")
        ),  # fmt: skip
        "utf-8",
    ),
    "gt-and-end-tags-in-attribute-values": (
        _bom(
            C("requests", attributes=' type="library" bom-ref="a>b/component>"')
            + C("evil-pkg", attributes=" bom-ref='x>\"y &lt;component'")
        ),  # fmt: skip
        "utf-8",
    ),
    "character-references-in-purls": (
        _bom(
            C("requests", purl="&#x70;kg:pypi/requests@1.0")
            + C("evil-pkg", purl="pkg:&#112;ypi/evil&#x2d;pkg@1.0")
        ),  # fmt: skip
        "utf-8",
    ),
    "nested-components": (
        _bom(
            C(
                "requests",
                "      <components>\n"
                + C("evil-pkg").replace("\n", "\n    ")
                + "\n      </components>\n",
            )
            + C("nose")
        ),  # fmt: skip
        "utf-8",
    ),
    "version-attribute-spelled-across-lines": (
        _bom(TWO).replace(' version="1"', '\n\tversion\n=\n"1"'),
        "utf-8",
    ),
    "no-version-and-a-prefixed-version-attribute": (
        _bom(TWO, root=f'xmlns="{NS}" xmlns:v="urn:v" v:version="9"').replace(' version="1"', ""),
        "utf-8",
    ),
    "crlf": (_bom(TWO).replace("\n", "\r\n"), "utf-8"),
    "crlf-and-lf-mixed": (_bom(TWO).replace("\n", "\r\n", 3), "utf-8"),
    "lone-cr-line-breaks": (_bom(TWO).replace("\n", "\r"), "utf-8"),
    "utf-8-with-a-byte-order-mark": ("\ufeff" + _bom(ACCENTED), "utf-8"),
    "utf-8-byte-order-mark-but-latin-1-declared": (
        "\ufeff" + _bom(ACCENTED, encoding="ISO-8859-1"),
        "utf-8",
    ),
    "latin-1": (_bom(ACCENTED, encoding="ISO-8859-1"), "latin-1"),
    "windows-1252": (_bom(ACCENTED, encoding="windows-1252"), "cp1252"),
    "utf-16-with-a-byte-order-mark": (_bom(ACCENTED, encoding="UTF-16"), "utf-16"),
    "utf-16-le-without-a-byte-order-mark": (_bom(ACCENTED, encoding="UTF-16"), "utf-16-le"),
    "utf-16-be-without-a-byte-order-mark": (_bom(ACCENTED, encoding="UTF-16"), "utf-16-be"),
    "shift-jis": (_bom(KANJI, encoding="Shift_JIS"), "shift_jis"),
    "big5": (
        _bom(
            C("requests") + C("evil-pkg", "      <description>\u8868\u8a31</description>\n"),
            encoding="Big5",
        ),
        "big5",
    ),  # fmt: skip
    "non-ascii-prefix-in-latin-1": (
        _bom(
            C("requests", p="\u00e7:") + C("evil-pkg", p="\u00e7:"),
            root=f'xmlns:\u00e7="{NS}"',
            p="\u00e7:",
            encoding="ISO-8859-1",
        ),  # fmt: skip
        "latin-1",
    ),
    "non-ascii-prefix-in-utf-8": (
        _bom(
            C("requests", p="\u00e7:") + C("evil-pkg", p="\u00e7:"),
            root=f'xmlns:\u00e7="{NS}"',
            p="\u00e7:",
        ),  # fmt: skip
        "utf-8",
    ),
}


@pytest.mark.parametrize("case", sorted(XML_HELD))
def test_xml_made_to_mislead_the_tag_search(
    case: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, codec = XML_HELD[case]
    data = document.encode(codec)
    result = _enrich(index, tmp_path, capsys, data, "xml")
    assert result.run.code == 0, result.run.stderr
    assert result.output is not None
    _check_xml(data, result.output, codec)


@pytest.mark.parametrize(
    "attribute", ["serialNumber=\"urn:x version='7'\"", "serialNumber='urn:x\" version=\"7'"]
)
def test_version_text_inside_another_root_attribute(
    attribute: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _bom(TWO, root=f'xmlns="{NS}" {attribute}').encode()
    result = _enrich(index, tmp_path, capsys, data, "xml")
    assert result.output is not None
    _check_xml(data, result.output, "utf-8")


NS6 = "http://cyclonedx.org/schema/bom/1.6"
OURS = '<property name="sbom-enrich:pypi:project-status">'


def _bom6(body: str, metadata: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="{NS6}" version="1">\n{metadata}'
        f"  <components>\n{body}  </components>\n</bom>\n"
    )


#: Where the new elements go among hostile neighbours: (document, whether the output holds
#: the input as a subsequence: False where a stale entry of ours is replaced).
XML_NEIGHBOURS: dict[str, tuple[str, bool]] = {
    "foreign-extension-last": (
        _bom6(C("requests", '      <x:ext xmlns:x="urn:x">1</x:ext>\n') + C("evil-pkg")),
        True,
    ),
    "components-child-last": (
        _bom6(
            C("requests", "      <components>\n" + C("nose") + "      </components>\n")
            + C("evil-pkg")
        ),  # fmt: skip
        True,
    ),
    "tags-last": (_bom6(C("requests", "      <tags><tag>a</tag></tags>\n") + C("evil-pkg")), True),
    "properties-with-a-second-cyclonedx-prefix": (
        _bom6(
            C(
                "requests",
                f'      <c:properties xmlns:c="{NS6}"><c:property name="a">b'
                "</c:property></c:properties>\n",
            )
            + C("evil-pkg")
        ),  # fmt: skip
        True,
    ),
    "properties-self-closing": (
        _bom6(C("requests", "      <properties/>\n") + C("evil-pkg")),
        True,
    ),
    "properties-empty": (
        _bom6(C("requests", "      <properties></properties>\n") + C("evil-pkg")),
        True,
    ),
    "stale-properties-of-ours": (
        _bom6(
            C(
                "requests",
                f"      <properties>\n        {OURS}quarantined</property>\n"
                '        <property name="keep">me</property>\n      </properties>\n',
            )
            + C("evil-pkg", f"      <properties>{OURS}active</property></properties>\n")
        ),
        False,
    ),  # fmt: skip
    "a-property-of-ours-in-a-comment": (
        _bom6(
            C(
                "evil-pkg",
                f"      <properties>\n        <!-- {OURS}active</property> -->\n"
                '        <property name="k">v</property>\n      </properties>\n',
            )
        ),
        True,
    ),  # fmt: skip
    "metadata-self-closing": (_bom6(TWO, "  <metadata/>\n"), True),
    "metadata-empty": (_bom6(TWO, "  <metadata></metadata>\n"), True),
    "legacy-tools": (
        _bom6(
            TWO,
            "  <metadata>\n    <tools>\n      <tool><name>x</name></tool>\n    </tools>\n"
            "  </metadata>\n",
        ),  # fmt: skip
        True,
    ),
    "tools-in-a-comment": (
        _bom6(
            TWO,
            "  <metadata>\n    <!-- <tools><components></components></tools> -->\n"
            "    <timestamp>2020-01-01T00:00:00Z</timestamp>\n  </metadata>\n",
        ),
        True,
    ),  # fmt: skip
    "pypi-subject-in-metadata": (
        _bom6(
            C("requests"),
            "  <metadata>\n" + C("evil-pkg", attributes=' type="application"') + "  </metadata>\n",
        ),  # fmt: skip
        True,
    ),
    "tools-self-closing": (_bom6(TWO, "  <metadata>\n    <tools/>\n  </metadata>\n"), True),
    "tool-components-self-closing": (
        _bom6(TWO, "  <metadata>\n    <tools><components/></tools>\n  </metadata>\n"),
        True,
    ),
    "an-old-tool-entry-of-ours": (
        _bom6(
            TWO,
            '  <metadata>\n    <tools>\n      <components>\n        <component type="'
            'application"><name>sbom-enrich</name><version>0.0.1</version></component>'
            "\n      </components>\n    </tools>\n  </metadata>\n",
        ),
        False,
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(XML_NEIGHBOURS))
def test_xml_edits_among_hostile_neighbours_stay_valid(
    case: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, kept = XML_NEIGHBOURS[case]
    data = document.encode()
    result = _enrich(index, tmp_path, capsys, data, "xml")
    assert result.run.code == 0, result.run.stderr
    assert result.output is not None
    root = _check_xml_statuses(result.output)
    assert validate_sbom(result.output, "xml", "1.6") == []
    tools = "{*}metadata/{*}tools/"
    entries = [
        *root.iterfind(tools + "{*}components/{*}component"),
        *root.iterfind(tools + "{*}tool"),
    ]
    assert [entry.findtext("{*}name") for entry in entries].count("sbom-enrich") == 1
    before, after = _root_normal(document), _root_normal(result.output.decode())
    assert _is_subsequence(before, after) is kept


def test_bytes_of_iso_2022_jp_text_that_spell_a_tag_are_refused_not_misplaced(
    index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two kanji whose ISO-2022-JP bytes read "<component>" in the byte view the tag search
    # uses: a refusal is right (the output would otherwise be a guess).
    kanji = (b"\x1b$B<component>x\x1b(B").decode("iso2022_jp")
    body = C("requests", f"      <description>{kanji}</description>\n") + C("evil-pkg")
    data = _bom(body, encoding="ISO-2022-JP").encode("iso2022_jp")
    result = _enrich(index, tmp_path, capsys, data, "xml")
    if result.output is None:
        _assert_refused(result)
    else:
        _check_xml(data, result.output, "iso2022_jp")


def test_utf_7_markup_hidden_from_the_byte_view(
    index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lt = "+ADw-"  # "<" in UTF-7: lxml reads it, the byte search does not
    data = (
        f'<?xml version="1.0" encoding="UTF-7"?>\n<bom xmlns="{NS}" version="1">\n'
        f"  <components>\n"
        f'    {lt}!-- <component type="library"><name>decoy</name></component> --+AD4-\n'
        f'    {lt}component type="library">\n      <name>evil-pkg</name>\n'
        f"      <purl>pkg:pypi/evil-pkg@1.0</purl>\n    {lt}/component>\n"
        f"  </components>\n</bom>\n"
    ).encode("ascii")
    result = _enrich(index, tmp_path, capsys, data, "xml")
    if result.output is None:
        _assert_refused(result)
    else:
        _check_xml(data, result.output, "utf-7")


@pytest.mark.parametrize(
    "encoding",
    [
        "UTF-7",  # "+ADw-" is "<"
        "ISO-2022-JP",  # after ESC $ B, ASCII bytes are kanji
        "HZ-GB-2312",  # after "~{", ASCII bytes are hanzi
        "C99",  # libxml2 (iconv) knows it, Python does not: nothing can be tried
    ],
)
def test_an_encoding_whose_ascii_bytes_may_be_other_text_is_refused(
    encoding: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Even a document of ASCII only: which bytes are markup cannot be told from the bytes.
    data = _bom(TWO, encoding=encoding).encode("ascii")
    assert etree.fromstring(data, _PARSER).getroottree().docinfo.encoding == encoding
    result = _enrich(index, tmp_path, capsys, data, "xml")
    _assert_refused(result)
    assert f"XML in {encoding} cannot be edited in place" in result.run.stderr


# -- JSON --------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(set(keys)) == len(keys), f"duplicate keys in the output: {keys}"
    return dict(pairs)


def _json_components(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    def walk(component: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(component, dict):
            return  # not a component (the schema says so; the enricher leaves it)
        yield component
        for child in component.get("components") or []:
            yield from walk(child)

    for component in document.get("components") or []:
        yield from walk(component)
    subject = (document.get("metadata") or {}).get("component")
    if subject is not None:
        yield from walk(subject)


def _is_subsequence(short: str, long: str) -> bool:
    position = 0
    for character in short:
        position = long.find(character, position)
        if position < 0:
            return False
        position += 1
    return True


_JSON_VERSION = re.compile(r'("version"\s*:\s*)\d+')


def _check_json(original: bytes, output: bytes, flawed: frozenset[str] = frozenset()) -> None:
    """Each component json reads in the output has its own status (none for ``flawed`` ones,
    left as written); the output is the input with text inserted (the BOM version aside)."""
    document = json.loads(output.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
    for component in _json_components(document):
        statuses = [
            item.get("value")
            for item in component.get("properties") or []
            if item.get("name") == STATUS
        ]
        purl = component.get("purl")
        flaw = component.get("name") in flawed
        wanted = [_expected(purl)] if isinstance(purl, str) and "pypi/" in purl.lower() else []
        assert statuses == ([] if flaw else wanted), (component.get("name"), purl)
    # What json reads: the input's document, once our additions are taken out of the output's.
    before = json.loads(original.decode("utf-8-sig"))
    _take_ours_out(document, before)
    assert document == before
    if b'"sbom-enrich:' in original:
        return  # a stale entry of ours was replaced: not a subsequence
    text_before = original.decode("utf-8", "surrogatepass")
    text_after = output.decode("utf-8", "surrogatepass")
    normal = r"\g<1>N"
    text_before = _JSON_VERSION.sub(normal, text_before)
    assert _is_subsequence(text_before, _JSON_VERSION.sub(normal, text_after))


def _take_ours_out(after: dict[str, Any], before: dict[str, Any]) -> None:
    """Remove from ``after`` the version bump, our tool entry and our properties."""
    assert after["version"] == before.get("version", 1) + 1
    if "version" in before:
        after["version"] = before["version"]
    else:
        del after["version"]
    tools = after["metadata"]["tools"]
    entries = tools if isinstance(tools, list) else tools["components"]
    assert [entry["name"] for entry in entries].count("sbom-enrich") == 1
    entries[:] = [entry for entry in entries if entry["name"] != "sbom-enrich"]
    if "metadata" not in before:
        assert after["metadata"] == {"tools": {"components": []}}
        del after["metadata"]
    elif "tools" not in before["metadata"]:
        del after["metadata"]["tools"]
    # Ours out of both (the input's may be stale ones, replaced), then empty arrays: the
    # enricher removes an array that held only ours.
    for document in (after, before):
        for component in _json_components(document):
            if isinstance(component.get("properties"), list):
                component["properties"] = [
                    item
                    for item in component["properties"]
                    if not str(item.get("name", "")).startswith("sbom-enrich:")
                ]
                if not component["properties"]:
                    del component["properties"]


def _jc(name: str, extra: str = "", purl: str | None = None) -> str:
    purl = purl or f"pkg:pypi/{name}@1.0"
    return f'{{"type": "library", "name": "{name}", "version": "1.0", "purl": "{purl}"{extra}}}'


HEAD = '"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1'


def _jbom(components: list[str], head: str = HEAD) -> str:
    return "{" + head + ', "components": [\n    ' + ",\n    ".join(components) + "\n  ]}\n"


PROPS = ', "properties": [{"name": "x", "value": "y"}]'
ESCAPED_PROPS = PROPS.replace('"properties"', '"propert\\u0069es"')
EVIDENCE = ', "evidence": {"properties": [{"name": "q", "value": "r"}]}'
NESTED = _jc("nose")[:-1] + ', "components": ['
JTWO = [_jc("requests"), _jc("evil-pkg")]
STALE = '{"name": "sbom-enrich:pypi:project-status", "value": "active"}'

JSON_HELD: dict[str, str] = {
    "escaped-purl-key": _jbom([_jc("requests"), _jc("evil-pkg").replace('"purl"', '"\\u0070url"')]),
    "escaped-components-key": _jbom(JTWO).replace('"components"', '"comp\\u006fnents"'),
    "escaped-purl-value": _jbom(
        [_jc("requests"), _jc("evil-pkg", purl="pkg:pypi\\/evil\\u002dpkg@1.0")]
    ),
    "escaped-properties-key": _jbom(
        [_jc("requests", ESCAPED_PROPS), _jc("evil-pkg", ESCAPED_PROPS)]
    ),
    "properties-key-inside-a-string": _jbom(
        [_jc("requests"), _jc("evil-pkg", ', "description": "\\"properties\\": [1]"' + PROPS)]
    ),
    "nested-properties-after-the-components-own": _jbom([_jc("evil-pkg", PROPS + EVIDENCE)]),
    "escaped-properties-key-then-nested-properties": _jbom(
        [_jc("evil-pkg", ESCAPED_PROPS + EVIDENCE)]
    ),
    "nested-components-behind-an-escaped-key": _jbom(
        [_jc("requests", ', "comp\\u006fnents": [' + _jc("evil-pkg") + "]")]
    ),
    "components-nested-400-deep": _jbom(
        [_jc("requests"), NESTED * 400 + _jc("evil-pkg") + "]}" * 400]
    ),
    "huge-float-and-negative-zero": _jbom(
        [_jc("requests", ', "x": 1.5e99999, "y": -0, "z": -0.0'), _jc("evil-pkg")]
    ),
    "escaped-lone-surrogate": _jbom([_jc("requests", ', "x": "\\ud800"'), _jc("evil-pkg")]),
    "byte-order-mark": "\ufeff" + _jbom(JTWO),
    "version-written-as-a-float": _jbom(JTWO, head=HEAD.replace(": 1", ": 1.0")),
    "version-with-an-exponent": _jbom(JTWO, head=HEAD.replace(": 1", ": 1e0")),
    "version-beyond-64-bits": _jbom(JTWO, head=HEAD.replace(": 1", ": 99999999999999999999999")),
    "purl-spelled-loosely": _jbom([_jc("evil-pkg", purl="pkg:PyPI/Evil_Pkg@1.0")]),
    "signature-only-in-a-string": _jbom([_jc("requests", ', "d": "\\"signature\\""'), _jc("nose")]),
    "odd-white-space": _jbom(JTWO).replace(", ", " ,\u0020\t").replace(": ", "\r\n:\t"),
    "one-line": _jbom(JTWO).replace("\n", ""),
    "version-text-inside-another-member": _jbom(
        JTWO,
        head=HEAD.replace(
            '"specVersion"', '"serialNumber": "urn:x \\"version\\": 7", "specVersion"'
        ),
    ),
    "version-after-the-components": "{"
    + HEAD.replace(', "version": 1', "")
    + ', "components": ['
    + _jc("evil-pkg")
    + '], "version": 3}',
    "metadata-with-a-version-of-its-own-first": _jbom(
        JTWO,
        head=HEAD.replace(
            ', "version"',
            ', "metadata": {"version": 5, "component": {"name": "x", "version": "7"}}, "version"',
        ),
    ),
    "version-key-behind-an-escape": _jbom(JTWO, head=HEAD.replace('"version"', '"v\\u0065rsion"')),
    "no-version": _jbom(JTWO, head=HEAD.replace(', "version": 1', "")),
    "stale-ours-behind-an-escaped-key-then-nested-properties": _jbom(
        [_jc("evil-pkg", ', "propert\\u0069es": [' + STALE + "]" + EVIDENCE)]
    ),
    "stale-ours-behind-an-escaped-key": _jbom(
        [_jc("evil-pkg", ', "propert\\u0069es": [' + STALE + "]")]
    ),
    "stale-ours-and-a-foreign-property": _jbom(
        [_jc("evil-pkg", ', "properties": [' + STALE + ', {"name": "k", "value": "v"}]')]
    ),
    "stale-ours-then-a-key-in-a-string": _jbom(
        [_jc("evil-pkg", ', "properties": [' + STALE + '], "description": "x\\"properties\\": []"')]
    ),
    "stale-ours-then-nested-object-with-the-same-keys": _jbom(
        [
            _jc(
                "evil-pkg",
                ', "properties": [' + STALE + '], "tags": ["a"], "evidence": '
                '{"properties": [], "tags": ["b"]}',
            )
        ]  # fmt: skip
    ),
    "stale-ours-in-a-nested-object-first": _jbom(
        [
            _jc(
                "evil-pkg",
                ', "evidence": {"properties": [' + STALE + ']}, "properties": [' + STALE + "]",
            )
        ]
    ),
    "ours-with-a-number-for-a-value": _jbom(
        [_jc("evil-pkg", ', "properties": [' + STALE.replace('"active"', "5") + "]")]
    ),
    "ours-with-an-escaped-name": _jbom(
        [_jc("evil-pkg", ', "properties": [' + STALE.replace("status", "st\\u0061tus") + "]")]
    ),
    "a-component-that-is-a-string": _jbom(
        [_jc("requests"), '"pkg:pypi/evil-pkg@1.0"', _jc("nose")]
    ),
}


@pytest.mark.parametrize("case", sorted(JSON_HELD))
def test_json_made_to_mislead_the_splicer(
    case: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = JSON_HELD[case].encode("utf-8")
    result = _enrich(index, tmp_path, capsys, data, "json")
    assert result.run.code == 0, result.run.stderr
    assert result.output is not None
    _check_json(data, result.output)


JSON_REFUSED: dict[str, bytes] = {
    "duplicate-in-dependencies": _jbom(JTWO)
    .replace("\n  ]}", '\n  ], "dependencies": [{"ref": "a", "ref": "b"}]}')
    .encode(),
    "duplicate-in-vulnerabilities": _jbom(JTWO)
    .replace("\n  ]}", '\n  ], "vulnerabilities": [{"id": "a", "id": "b"}]}')
    .encode(),
    "duplicate-in-services": _jbom(JTWO)
    .replace("\n  ]}", '\n  ], "services": [{"name": "a", "name": "b"}]}')
    .encode(),
    "duplicate-in-an-unknown-member": _jbom(JTWO)
    .replace("\n  ]}", '\n  ], "x": {"a": 1, "a": 2}}')
    .encode(),
    "duplicate-components-outside-any-component": _jbom([_jc("evil-pkg")])
    .replace(": 1,", ": 1, " + '"components": [' + _jc("requests") + "],", 1)
    .encode(),
    "duplicate-components-behind-an-escape": _jbom([_jc("evil-pkg")])
    .replace(": 1,", ": 1, " + '"comp\\u006fnents": [' + _jc("requests") + "],", 1)
    .encode(),
    "duplicate-bomformat-behind-an-escape": _jbom(
        [_jc("evil-pkg")], head=HEAD.replace(",", ', "bomForm\\u0061t": "SPDX",', 1)
    ).encode(),
    "duplicate-metadata-component": _jbom(
        [_jc("requests")],
        head=HEAD
        + ', "metadata": {"component": '
        + _jc("evil-pkg")
        + ', "c\\u006fmponent": '
        + _jc("nose")
        + "}",
    ).encode(),  # fmt: skip
    "duplicate-tools": _jbom(
        [_jc("evil-pkg")], head=HEAD + ', "metadata": {"tools": [], "t\\u006fols": {}}'
    ).encode(),
    "integer-of-5000-digits": _jbom([_jc("requests", ', "x": 1' + "0" * 5000)]).encode(),
    "nan": _jbom([_jc("requests", ', "x": NaN')]).encode(),
    "raw-lone-surrogate": _jbom([_jc("requests", ', "x": "\ud800"')]).encode(
        "utf-8", "surrogatepass"
    ),
    "latin-1": _jbom([_jc("requests", ', "d": "caf\u00e9"')]).encode("latin-1"),
    "arrays-5000-deep": _jbom([_jc("requests", ', "x": ' + "[" * 5000 + "]" * 5000)]).encode(),
    "two-documents": (_jbom([_jc("evil-pkg")]) + _jbom([_jc("requests")])).encode(),
    "raw-tab-in-a-string": _jbom([_jc("requests", ', "d": "a\tb"')]).encode(),
}


@pytest.mark.parametrize("case", sorted(JSON_REFUSED))
def test_json_that_cannot_be_read_one_way_is_refused(
    case: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_refused(_enrich(index, tmp_path, capsys, JSON_REFUSED[case], "json"))


JSON_FLAWED: dict[str, str] = {
    "duplicate-inside-a-hashes-entry": _jbom(
        [
            _jc("requests"),
            _jc("evil-pkg", ', "hashes": [{"alg": "SHA-256", "content": "a", "content": "b"}]'),
        ]
    ),
    "duplicate-name-in-a-stale-property-of-ours": _jbom(
        [_jc("requests"), _jc("evil-pkg", ', "properties": [' + STALE[:-1] + ', "name": "x"}]')]
    ),
    "duplicate-purl": _jbom([_jc("requests"), _jc("evil-pkg", ', "purl": "pkg:pypi/nose@1.0"')]),
    "duplicate-purl-behind-an-escape": _jbom(
        [_jc("requests"), _jc("evil-pkg", ', "\\u0070url": "pkg:pypi/nose@1.0"')]
    ),
    "duplicate-name": _jbom([_jc("requests"), _jc("evil-pkg", ', "name": "nose"')]),
    "duplicate-properties": _jbom([_jc("requests"), _jc("evil-pkg", PROPS + PROPS)]),
    "duplicate-properties-behind-an-escape": _jbom(
        [_jc("requests"), _jc("evil-pkg", PROPS + ESCAPED_PROPS)]
    ),
    "duplicate-nested-components": _jbom(
        [_jc("requests"), _jc("evil-pkg", ', "components": [' + _jc("x") + '], "components": []')]
    ),
}


@pytest.mark.parametrize("case", sorted(JSON_FLAWED))
def test_a_component_with_duplicate_keys_is_left_as_written_and_fails_the_run(
    case: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = JSON_FLAWED[case].encode()
    result = _enrich(index, tmp_path, capsys, data, "json")
    if "stale-property-of-ours" in case:  # ours, out of reach: refused, never "fine"
        assert result.run.code == 2, result.run.stderr
        assert "sbom-enrich did not write" in result.run.stderr and result.output is None
        return
    assert result.run.code == 3, result.run.stderr  # incomplete: never "fine"
    assert "duplicate key" in result.run.stderr
    assert result.output is not None
    written = JSON_FLAWED[case].split("\n")[2].strip()  # the flawed component, as written
    assert written.startswith('{"type": "library", "name": "evil-pkg"')
    assert written in result.output.decode()
    first = json.loads(result.output)["components"][0]
    assert [item["value"] for item in first["properties"] if item["name"] == STATUS] == ["active"]
    before = _JSON_VERSION.sub(r"\g<1>N", JSON_FLAWED[case])
    assert _is_subsequence(before, _JSON_VERSION.sub(r"\g<1>N", result.output.decode()))


@pytest.mark.parametrize(
    "properties", ["null", '{"a": 1}', '"x"', "[1]", '[{"name": 5, "value": "v"}]']
)
def test_a_component_whose_properties_cannot_be_edited_fails_the_run(
    properties: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flawed = _jc("evil-pkg", ', "properties": ' + properties)
    data = _jbom([_jc("requests"), flawed]).encode()
    result = _enrich(index, tmp_path, capsys, data, "json")
    assert result.run.code == 3, result.run.stderr  # incomplete: never "fine"
    assert result.output is not None
    assert flawed in result.output.decode()


# -- what the index says, written into each encoding ---------------------------------------------

#: A reason with every character class that needs care in XML or JSON text.
HOSTILE_REASON = (
    "a]]>b \"q\" 's' <x/> &amp; \\ ~ \u2028 \ufffe \uffff \U0001f600 \x85 \x7f \u200e\u202e end"
)


@pytest.fixture(scope="module")
def hostile_index() -> Iterator[IndexServer]:
    project = ProjectSpec(
        "evil-pkg", status="quarantined", reason=HOSTILE_REASON, files=release("evil-pkg", "1.0")
    )
    with IndexServer([project]) as server:
        yield server


def _reasons(output: bytes, fmt: str) -> list[str]:
    if fmt == "json":
        return [
            item["value"]
            for component in json.loads(output)["components"]
            for item in component.get("properties", [])
            if item["name"] == "sbom-enrich:pypi:project-status-reason"
        ]
    return [
        item.text or ""
        for item in etree.fromstring(output, _PARSER).iter("{*}property")
        if item.get("name") == "sbom-enrich:pypi:project-status-reason"
    ]


def _json_reason(index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    result = _enrich(index, tmp_path / "json", capsys, _jbom([_jc("evil-pkg")]).encode(), "json")
    assert result.output is not None
    (reason,) = _reasons(result.output, "json")
    assert reason.startswith('a]]>b "q"') and reason.endswith("\U0001f600 end")
    return reason


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("ISO-8859-1", "latin-1"),
        ("US-ASCII", "ascii"),
        ("UTF-16", "utf-16"),
        ("windows-1252", "cp1252"),
        ("Shift_JIS", "shift_jis"),  # iconv reads 0x5C as U+00A5 (Python: backslash)
        ("JOHAB", "johab"),  # iconv reads 0x5C as U+20A9 (Python: backslash)
        ("EUC-JP", "euc_jp"),
        ("Big5", "big5"),
        ("GB18030", "gb18030"),
        ("KOI8-R", "koi8_r"),
        ("ISO-8859-2", "iso8859_2"),
    ],
)
def test_a_hostile_reason_reads_back_the_same_in_every_encoding(
    encoding: str,
    codec: str,
    hostile_index: IndexServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = _json_reason(hostile_index, tmp_path, capsys)
    data = _bom(C("evil-pkg"), encoding=encoding).encode(codec)
    result = _enrich(hostile_index, tmp_path / "xml", capsys, data, "xml")
    assert result.output is not None, result.run.stderr
    # XML 1.0 cannot carry U+FFFE and U+FFFF at all; everything else must read back.
    assert _reasons(result.output, "xml") == [expected.replace("\ufffe", "").replace("\uffff", "")]


# -- enriched again, after the index changed its mind ---------------------------------------------

CHANGED = {"evil-pkg": "active", "requests": "archived", "nose": "quarantined"}


@pytest.fixture(scope="module")
def changed_index() -> Iterator[IndexServer]:
    projects = [
        ProjectSpec(name, status=status, files=release(name, "1.0"))
        for name, status in CHANGED.items()
    ]
    with IndexServer(projects) as server:
        yield server


def _statuses(output: bytes, fmt: str) -> dict[str, list[list[str]]]:
    """Each CycloneDX component's status properties, by component name."""
    found: dict[str, list[list[str]]] = {}
    if fmt == "json":
        for member in _json_components(json.loads(output)):
            items = member.get("properties")
            values = [
                str(item.get("value"))
                for item in (items if isinstance(items, list) else [])
                if isinstance(item, dict) and item.get("name") == STATUS
            ]
            found.setdefault(str(member.get("name")), []).append(values)
        return found
    root = etree.fromstring(output, _PARSER)
    cdx = etree.QName(root).namespace
    for component in root.iter(f"{{{cdx}}}component"):
        texts = [
            item.text or ""
            for item in component.iterfind(f"{{{cdx}}}properties/{{{cdx}}}property")
            if item.get("name") == STATUS
        ]
        found.setdefault(component.findtext(f"{{{cdx}}}name") or "", []).append(texts)
    return found


@pytest.mark.parametrize(
    ("fmt", "case"),
    [("xml", case) for case in sorted(XML_HELD)] + [("json", case) for case in sorted(JSON_HELD)],
)
def test_enriched_again_every_status_is_the_new_one(
    fmt: str,
    case: str,
    index: IndexServer,
    changed_index: IndexServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = XML_HELD[case][0].encode(XML_HELD[case][1]) if fmt == "xml" else JSON_HELD[case].encode()
    once = _enrich(index, tmp_path / "once", capsys, data, fmt).output
    assert once is not None
    twice = _enrich(changed_index, tmp_path / "twice", capsys, once, fmt).output
    assert twice is not None
    for name, statuses in _statuses(twice, fmt).items():
        if name in CHANGED:
            assert all(values == [CHANGED[name]] for values in statuses), (name, statuses)


# -- a <properties> of another tool's, with ours among or after its children ----------------------


def _container(*children: str) -> str:
    return (
        "      <properties>\n"
        + "".join(f"        {child}\n" for child in children)
        + ("      </properties>\n")
    )


def _property(name: str, value: str = "v", extra: str = "") -> str:
    return f'<property name="{name}"{extra}>{value}</property>'


OUR_NAME = "sbom-enrich:pypi:project-status"

#: (the evil-pkg component's extra children, whether the component can be edited: False, it
#: is left as written and the run is incomplete)
CONTAINERS: dict[str, tuple[str, bool]] = {
    "a-comment-after-the-first-property": (
        _container(_property("a"), "<!-- c -->", _property("b")),
        True,
    ),
    "a-pi-after-the-first-property": (_container(_property("a"), "<?pi x?>", _property("b")), True),
    "stale-ours-between-others": (
        _container(_property("a"), _property(OUR_NAME, "active"), _property("b")),
        True,
    ),
    "stale-ours-first": (_container(_property(OUR_NAME, "active"), _property("a")), True),
    "stale-ours-with-another-attribute": (
        _container(_property("a"), _property(OUR_NAME, "active", ' x="1"')),
        True,
    ),
    "stale-ours-self-closing": (_container(_property("a"), f'<property name="{OUR_NAME}"/>'), True),
    "stale-ours-named-through-a-character-reference": (
        _container(_property(OUR_NAME.replace(":", "&#58;", 1), "active"), _property("a")),
        True,
    ),
    "markup-in-a-cdata-value-first": (
        _container('<property name="a"><![CDATA[<property name="x">]]></property>', _property("b")),
        True,
    ),
    "gt-in-the-first-name": (_container(_property("a>b"), _property("c")), True),
    "first-in-single-quotes": (
        _container("<property name='a'>v</property>", _property("b")),
        True,
    ),
    "first-with-spaces-around-its-equals-sign": (
        _container('<property name = "a" >v</property >'),
        True,
    ),
    "first-value-of-references": (
        _container(_property("a", "&lt;&amp;&quot;"), _property("b")),
        True,
    ),
    "a-space-written-as-a-reference-last": (_container(_property("a"), "&#32;"), True),
    "crlf-in-the-container-only": (_container(_property("a")).replace("\n", "\r\n", 2), True),
    "prefixed-container-unprefixed-property": (
        f'      <c:properties xmlns:c="{NS}">\n        <c:property name="a">v</c:property>\n'
        '        <property name="b">w</property>\n      </c:properties>\n',
        True,
    ),
    "a-foreign-element-in-the-container": (
        _container(_property("a"), '<x:y xmlns:x="urn:x"/>'),
        False,
    ),
    "ours-in-another-namespace": (
        _container(_property("a"), f'<property xmlns="urn:o" name="{OUR_NAME}">active</property>'),
        False,
    ),
    "stale-ours-with-a-child-element": (
        _container(_property("a"), _property(OUR_NAME, 'act<x:b xmlns:x="urn:x"/>ive')),
        False,
    ),
    "two-containers": (_container(_property("a")) + _container(_property("b")), False),
}


@pytest.mark.parametrize("case", sorted(CONTAINERS))
def test_ours_among_another_tools_properties(
    case: str, index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inner, editable = CONTAINERS[case]
    evil = C("evil-pkg", inner)
    data = _bom(C("requests") + evil).encode()
    result = _enrich(index, tmp_path, capsys, data, "xml")
    if not editable and OUR_NAME in inner:  # ours, out of reach: refused, never "fine"
        assert result.run.code == 2, result.run.stderr
        assert "sbom-enrich did not write" in result.run.stderr and result.output is None
        return
    assert result.output is not None
    if not editable:  # left as written, and the run says so: never "fine"
        assert result.run.code == 3, result.run.stderr
        assert evil.encode() in result.output
        return
    assert result.run.code == 0, result.run.stderr
    _check_xml_statuses(result.output)
    assert validate_sbom(result.output, "xml", "1.5") == []
    if OUR_NAME not in inner and "&#58;" not in inner:
        assert _is_subsequence(_root_normal(data.decode()), _root_normal(result.output.decode()))
