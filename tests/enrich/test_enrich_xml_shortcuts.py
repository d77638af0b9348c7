"""The XML writer's shortcuts write what its general paths write, on markup made to mislead them.

The shortcuts: a child longer than ``_LARGE`` skipped by searching for its end tag; a
component's ``<properties>`` found by its start tag alone (``locate_descendant``); a new
``<properties>`` appended without a look at every child when CycloneDX's is the only
namespace declared (``_one_namespace``); the append point read off lxml's tails or off the
text alone; and every component located by its tags in one pass (``locate_all``). Each
document here is enriched twice, once as shipped and once with every shortcut turned off;
the bytes must be equal, and the output must keep byte fidelity.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from enrich_support import corpus_files, enrich, supported_files
from lxml import etree
from test_enrich_byte_fidelity import _fidelity

from sbom_enrich.enrich import load_sbom, xml_positions, xml_sbom
from sbom_enrich.enrich.xml_positions import XmlNodes
from sbom_enrich.enrich.xml_sbom import XmlSbom, _Splice
from sbom_enrich.errors import SbomError

NS = "http://cyclonedx.org/schema/bom/1.5"
DS = "http://www.w3.org/2000/09/xmldsig#"
PROPERTIES = '      <properties>\n        <property name="a">b</property>\n      </properties>\n'


def _bom(components: str, root: str = f'xmlns="{NS}"', prefix: str = "", tail: str = "") -> str:
    p = prefix
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}bom {root} version="1">\n'
        f"  <{p}components>\n{components}  </{p}components>\n{tail}</{p}bom>\n"
    )


def _component(name: str, inner: str = "", p: str = "", end: str = "") -> str:
    return (
        f'    <{p}component type="library">\n      <{p}name>{name}</{p}name>\n'
        f"      <{p}purl>pkg:pypi/{name}@1.0</{p}purl>\n{inner}    {end or f'</{p}component>'}\n"
    )


def _long(n: int) -> str:
    return f"      <description>{'y' * n}</description>\n"


CASES: dict[str, str] = {
    "existing-properties-after-misleading-markup": _bom(
        _component(
            "requests",
            "      <!-- <properties> -->\n      <?pi <properties> ?>\n"
            '      <description a="&lt;properties>"><![CDATA[<properties>]]></description>\n'
            '      <x:properties xmlns:x="urn:x"/>\n      <properties xmlns="urn:y"/>\n'
            '      <evidence><properties xmlns=""/></evidence>\n'
            + PROPERTIES
            + '      <properties xmlns="urn:z"/>\n',
        )
        + _component("flask", '      <properties a=">"\n      >\n      </properties\n      >\n')
    ),
    "a-whole-properties-element-in-a-comment-first": _bom(
        _component(
            "requests",
            "      <!-- <properties><property name='c'>d</property></properties> -->\n"
            + PROPERTIES,
        )
        + _component("flask", "      <?pi <properties/> ?>\n" + PROPERTIES)
    ),
    "properties-spelled-with-a-prefix-of-cyclonedx": _bom(
        _component(
            "requests",
            f'      <q:properties xmlns:q="{NS}">'
            '<q:property name="a">b</q:property></q:properties>\n'
            + PROPERTIES
            + '      <properties xmlns="urn:z"/>\n',
        )
        + _component("flask"),
    ),
    "cyclonedx-bound-to-a-prefix": _bom(
        _component("requests", p="bom:") + _component("flask", p="bom:", end="</bom:component >"),
        root=f'xmlns:bom="{NS}"',
        prefix="bom:",
    ),
    # Only CycloneDX's namespace declared: what must follow is found by the tree pass.
    "children-that-must-follow-properties": _bom(
        _component("requests", "      <evidence/>\n      <tags/>\n")
        + _component("six", "      <xml:foo/>\n")
        + _component("idna", "      <components/>\n")
        + _component("flask", "      <releaseNotes/>\n      <name>again</name>\n")
    ),
    "children-of-other-namespaces-last": _bom(
        _component("requests", "      <y xmlns='urn:x'/>\n")
        + _component("flask", "      <evidence/>\n      <d:e xmlns:d='urn:d'/>\n")
    ),
    "a-namespace-declared-deep-inside": _bom(
        _component("requests", "      <pedigree><notes><x:y xmlns:x='urn:x'/></notes></pedigree>\n")
        + _component("flask", "      <z xmlns=''/>\n")
    ),
    "default-namespace-declared-again": _bom(
        _component("requests").replace('type="library"', f'type="library" xmlns="{NS}"')
        + _component("flask")
    ),
    "signature-with-its-own-prefix": _bom(
        _component("requests", PROPERTIES),
        tail=f'  <zz:Signature xmlns:zz="{DS}"><zz:SignatureValue>AA==</zz:SignatureValue>'
        "</zz:Signature>\n",
    ),
    "self-closing-and-spaced-components": _bom(
        '    <component type="library"/>\n'
        + _component("requests", _long(600), end="</component\r\n    >")
        + '    <component type="library" bom-ref="x"/>\n'
        + _component("flask", end="</component >")
    ),
    # The flat path takes the white space around a component's last child from lxml's
    # tails: where the text wrote it otherwise, it must write what the text holds.
    "blanks-written-as-character-references": _bom(
        _component("requests", "      <description>d</description>&#10;      ")
        + _component("flask").replace("</purl>\n", "</purl>&#32;\n")
        + _component("six").replace("</name>\n", "</name>&#10;")
    ),
    "blanks-in-cdata-around-the-last-child": _bom(
        _component("requests", "      <description>d</description><![CDATA[\n      ]]>")
        + _component("flask").replace("      <purl>", "<![CDATA[ ]]>      <purl>")
        + _component("six")
    ),
    "a-lone-carriage-return-among-crlf": _bom(
        _component("requests", "      <description>d</description>\r")
        + _component("flask").replace("</name>\n", "</name>\r\n")
        + _component("six")
    ).replace("\n", "\r\n"),
    "text-around-the-last-child": _bom(
        _component("requests", "      <description>d</description>tail")
        + _component("flask").replace("      <purl>", "text<purl>")
        + _component("six")
    ),
    "a-comment-last-and-a-component-with-only-a-purl": _bom(
        _component("requests", "      <!-- last -->\n")
        + '    <component type="library"><purl>pkg:pypi/flask@1.0</purl></component>\n'
        + '    <component type="library">\n<purl>pkg:pypi/six@1.0</purl></component>\n'
    ),
    "a-nested-component-and-one-in-pedigree": _bom(
        _component(
            "requests", "      <components>\n" + _component("nested") + "      </components>\n"
        )
        + _component("flask")
    ),
    "components-of-the-tool-and-in-pedigree": _bom(
        _component(
            "requests",
            "      <pedigree><ancestors>\n" + _component("old") + "      </ancestors></pedigree>\n",
        )
        + _component("flask"),
        tail="",
    ).replace(
        "  <components>",
        "  <metadata><tools><components>\n"
        + _component("tool")
        + "  </components></tools></metadata>\n  <components>",
        1,
    ),
    # A <properties> of another tool last in the component: ours appended to it, read off
    # lxml's tails; anything unusual about it takes the general path.
    "other-tools-properties-in-every-shape": _bom(
        _component("requests", PROPERTIES)
        + _component("flask", PROPERTIES.replace('name="a"', "name = 'a'  "))
        + _component("six", PROPERTIES.replace("b</property>", "b</property >"))
        + _component("idna", "      <properties><property name='x'>y</property></properties>\n")
        + _component(
            "urllib3",
            PROPERTIES.replace('<property name="a">b</property>', '<property name="a"/>'),
        )
        + _component("attrs", PROPERTIES.replace('name="a"', 'name="a" x="y"'))
        + _component("certifi", PROPERTIES + "      <evidence/>\n")
        + _component("chardet", PROPERTIES.replace('">b<', '">sbom-enrich:b<'))
        + _component(
            "pyyaml",
            PROPERTIES.replace(
                "</properties>",
                '  <property name="sbom-enrich:pypi:project-status">active</property>\n'
                "      </properties>",
            ),
        )
        + _component(
            "toml",
            PROPERTIES.replace(
                "</property>\n", '</property>\n        <property name="c">d</property>\n'
            ),
        )
        + _component("jinja2", PROPERTIES.replace("</properties>", "<!-- c --></properties>"))
        + _component("wheel", "      <properties/>\n")
        + _component("rich", PROPERTIES.replace("property", "propertyx"))
        + _component("tqdm", PROPERTIES.replace("<property name", "<property\tname"))
        + _component("pip", PROPERTIES.replace("      <properties>", "      <properties >"))
    ),
    "other-tools-properties-after-a-character-reference": _bom(
        _component("requests", PROPERTIES.replace("<properties>", "<properties>&#10;"))
        + _component("flask", PROPERTIES)
    ),
    "other-tools-properties-crlf": _bom(
        _component("requests", PROPERTIES) + _component("flask", PROPERTIES)
    ).replace("\n", "\r\n"),
    # The parse drops text that is all white space: the flat path reads the white space
    # around a component's last child from the text, and finds where that child starts by
    # its tags. Every shape of last child, and names that begin like others.
    "last-children-of-every-shape": _bom(
        _component("requests", "      <hashes/>\n")
        + _component("flask", "      <description>d</description>\n")
        + _component("six", "      <licenses><license><licenses/></license></licenses>\n")
        + _component(
            "idna",
            "      <externalReferences><reference><externalReferences>x</externalReferences>"
            "</reference></externalReferences>\n",
        )
        + _component("attrs", "      <licenses\n        ><license/></licenses\n      >\n")
        + _component("certifi").replace("</purl>\n", "</purl><description>d</description>\n")
        + '    <component type="library"><purl>pkg:pypi/wheel@1.0</purl>\n    </component>\n'
        + '    <component type="library">\n\t<purl>pkg:pypi/pip@1.0</purl></component>\n'
        + _component("tqdm", "      <hash><hashes/></hash>\n")
        + _component("rich", "      <hashes><hash/></hashes>\n")
        + _component("toml", '      <description a="/">x</description >\n')
        + _component("jinja2", '      <description a="b/"/>\n')
    ),
    "text-that-ends-like-a-tag-around-the-last-child": _bom(
        _component("requests", "      <hashes/>x/>\n")
        + _component("flask", "      <description>d</description>a>\n")
        + _component("six").replace("      <purl>", "      b>\n      <purl>")
        + _component("idna", "      <hashes/>\n").replace("      <hashes", "   c/>   <hashes")
    ),
    "blank-text-kept-under-xml-space-preserve": _bom(
        _component("requests", "      <description>d</description>\n").replace(
            'type="library"', 'type="library" xml:space="preserve"'
        )
        + _component("flask", PROPERTIES).replace(
            'type="library"', 'type="library" xml:space="preserve"'
        )
        + _component("six", PROPERTIES)
    ),
    "long-runs-of-white-space": _bom(
        _component(
            "requests", " " * 700 + "\n" * 300 + "      <description>d</description>"
        ).replace("</name>\n", "</name>\n" + "\t" * 400)
        + _component("flask", PROPERTIES.replace("</property>\n", "</property>" + " " * 500))
        + _component("six", "\n" * 600)
    ),
}
CASES["last-children-of-every-shape-crlf"] = CASES["last-children-of-every-shape"].replace(
    "\n", "\r\n"
)
CASES["blank-text-kept-under-xml-space-preserve-on-the-root"] = CASES[
    "other-tools-properties-in-every-shape"
].replace('version="1"', 'version="1" xml:space="preserve"', 1)
CASES["other-tools-properties-crlf"] = CASES["other-tools-properties-crlf"].replace(
    "</property>\r\n", '</property>\r\n\t<property name="c">d</property>\r\n', 1
)
for size in (511, 512, 513):
    CASES[f"misleading-markup-after-a-child-of-{size}"] = _bom(
        _component("requests", _long(size) + "      <!-- </component> -->\n")
        + "    <!-- </component> <component> -->\n"
        + _component(
            "flask", f"      <description><![CDATA[</component>{'z' * size}]]></description>\n"
        )
        + "    <?pi </component> ?>\n"
        + _component("six", f"      <?pi {'p' * size}</component> ?>\n" + PROPERTIES)
        + _component(
            "idna",
            _long(size)
            + "      <components>\n"
            + _component("nested", _long(size))
            + "      </components>\n",
        )
    )
    CASES[f"crlf-and-tabs-around-a-child-of-{size}"] = (
        _bom(_component("requests", _long(size) + PROPERTIES) + _component("flask"))
        .replace("  ", "\t")
        .replace("\n", "\r\n")
    )


@contextmanager
def _general_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setattr(xml_positions, "_LARGE", 10**12)
        patch.setattr(XmlNodes, "locate_descendant", lambda self, node, element, first=False: None)
        patch.setattr(XmlNodes, "append_point", lambda self, node, element=None: None)
        patch.setattr(XmlNodes, "append_point_in_text", lambda self, node: None)
        patch.setattr(XmlNodes, "locate_all", lambda self, same, local, prefix: None)
        patch.setattr(XmlNodes, "flat_spans", lambda self, count, local, prefix: None)
        patch.setattr(_Splice, "_append_to_container", lambda self, *args: False)
        patch.setattr(XmlSbom, "_one_namespace", property(lambda self: False))
        yield


def _enriched(data: bytes) -> bytes:
    sbom = load_sbom(data)
    enrich(sbom)
    return sbom.to_bytes()


@pytest.mark.parametrize("name", CASES)
def test_shortcuts_write_what_the_general_paths_write(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CASES[name].encode()
    fast = _enriched(original)
    with _general_paths(monkeypatch):
        general = _enriched(original)
        again = _enriched(fast)
    assert fast == general
    _fidelity(original, fast)
    etree.fromstring(fast)
    assert _enriched(fast) == again  # enriching the output again: the same both ways


def _keeping_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = xml_sbom._parser
    monkeypatch.setattr(xml_sbom, "_parser", lambda huge=True, keep_blanks=True: parser(huge))


@pytest.mark.parametrize(
    "document",
    [*CASES, *(path.name for path in supported_files() if path.suffix == ".xml")],
)
def test_white_space_read_from_the_text_is_what_lxml_read(
    document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enrichment's parse drops blank text, so the shortcuts read white space from the text;
    # with it kept they read it off lxml's tails. Both must write the same bytes, as
    # written and with every line break a CRLF.
    paths = {path.name: path for path in corpus_files()}
    original = CASES[document].encode() if document in CASES else paths[document].read_bytes()
    sbom = load_sbom(original)
    assert isinstance(sbom, XmlSbom)
    if document not in CASES:  # (the cases keep some: references, CDATA, xml:space)
        assert not any((element.tail or "x").strip() == "" for element in sbom._root.iter()), (
            "the parse kept blank text"
        )
    for variant in (original, original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")):
        dropped = _enriched(variant)
        with monkeypatch.context() as patch:
            _keeping_blanks(patch)
            kept = _enriched(variant)
        assert dropped == kept


@pytest.mark.parametrize(
    ("encoding", "codec", "transparent"),
    [
        ("UTF-8", "utf-8", True),
        ("ISO-8859-1", "latin-1", True),
        ("windows-1252", "cp1252", True),
        ("UTF-16", "utf-16", True),
        ("ISO-2022-JP", "iso2022_jp", None),
        ("UTF-7", "utf-7", None),
        ("Shift_JIS", "shift_jis", False),
    ],
)
def test_flat_path_only_where_ascii_bytes_are_ascii(
    encoding: str, codec: str, transparent: bool | None
) -> None:
    # In Shift_JIS some ASCII bytes are other characters (0x5C), so a "<component" in the
    # bytes need not be a tag: the flat path, which does not look at every start tag, is
    # not taken there (the general paths count them all). ISO-2022-JP and UTF-7, where ASCII
    # bytes may hide markup, are refused before any path (None).
    text = _bom(_component("requests")).replace("UTF-8", encoding)
    if transparent is None:
        with pytest.raises(SbomError):
            load_sbom(text.encode(codec))
        return
    sbom = load_sbom(text.encode(codec))
    assert isinstance(sbom, XmlSbom)
    assert sbom._ascii_is_ascii is transparent


@pytest.mark.parametrize(
    "container", [False, True], ids=["new-properties", "other-tools-properties"]
)
def test_flat_path_writes_legacy_references_as_the_general_paths_do(
    container: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a legacy encoding, new text holds plain ASCII only (Shift_JIS and Johab read 0x5C as
    # a currency sign): the flat path, which skips escaping plain values, must not skip that.
    inner = PROPERTIES if container else ""
    components = "".join(_component(f"p{i}", inner) for i in range(3))
    original = _bom(components).replace("UTF-8", "ISO-8859-1").encode("latin-1")
    value = "café a\\b ~"

    def written() -> bytes:
        sbom = load_sbom(original)
        for component in sbom.pypi_components():
            sbom.set_properties(component, [("sbom-enrich:test", value)])
        return sbom.to_bytes()

    fast = written()
    with _general_paths(monkeypatch):
        general = written()
    assert fast == general
    assert b"caf&#233; a&#92;b &#126;" in fast
    read = etree.fromstring(fast)
    found = read.findall(f".//{{{NS}}}property[@name='sbom-enrich:test']")
    assert [element.text for element in found] == [value] * 3


@pytest.mark.parametrize("quote", ['"', "'"])
def test_flat_path_renders_each_property_set_as_the_general_paths_do(
    quote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flat path renders a plain set of properties with one concatenation a property (the
    # end tag folded into what goes between): sets of one and of several properties, a name
    # first seen in the middle of the run, the same names in another order, components
    # indented differently, and values that need escaping (which turn rendering off the
    # plain way for the whole run) must come out as the general paths write them.
    components = (
        _component("p0")
        + _component("p1").replace("\n      <", "\n\t<")
        + _component("p2")
        + _component("p3").replace("    <component", "<component")
        + _component("p4")
    )
    original = _bom(components).replace('version="1"', f"version={quote}1{quote}").encode()
    sets = [
        [("sbom-enrich:a", "1")],
        [("sbom-enrich:a", "2"), ("sbom-enrich:b", "x y")],
        [("sbom-enrich:c", "new"), ("sbom-enrich:a", "3")],
        [("sbom-enrich:b", ""), ("sbom-enrich:a", "4"), ("sbom-enrich:c", "z")],
        [("sbom-enrich:d", "last")],
    ]

    def written(escaped: bool) -> bytes:
        sbom = load_sbom(original)
        for component, pairs in zip(sbom.pypi_components(), sets, strict=True):
            if escaped and component.name == "p3":
                pairs = [*pairs, ("sbom-enrich:e", "<&\"'>\t")]
            sbom.set_properties(component, pairs)
        return sbom.to_bytes()

    for escaped in (False, True):
        fast = written(escaped)
        with _general_paths(monkeypatch):
            general = written(escaped)
        assert fast == general
        _fidelity(original, fast)
        read = etree.fromstring(fast)
        found = [
            [(p.get("name"), p.text or "") for p in c.iter(f"{{{NS}}}property")]
            for c in read.iter(f"{{{NS}}}component")
        ]
        expected = [list(pairs) for pairs in sets]
        if escaped:
            expected[3].append(("sbom-enrich:e", "<&\"'>\t"))
        assert found == expected


def test_xml_first_names_are_each_components_first_name_child() -> None:
    # The dependency graph's names (asked for the steps of chains): the first ``name`` child
    # that is not blank of the components with the bom-ref, read past comments, PIs, other
    # namespaces' names and nested names; ``get`` answers as Mapping.get does.
    document = f"""<?xml version="1.0"?>
<bom xmlns="{NS}" version="1">
  <metadata><component bom-ref="app"><!-- <name>c</name> --><?pi <name>p</name>?><name>
    app </name></component></metadata>
  <components>
    <component bom-ref="a"><x:name xmlns:x="urn:x">wrong</x:name><name>right</name>
      <name>2</name></component>
    <component bom-ref="b"><name/></component>
    <component bom-ref="b"><group>g</group><name> bee </name></component>
    <component bom-ref="c"><description>d<name>nested</name></description></component>
    <component bom-ref="d"><name><![CDATA[cdata <name>]]></name></component>
    <component bom-ref="e"><name>&amp;amp; &#x41;</name></component>
    <component bom-ref="f"><components><component bom-ref="g"><name>in</name></component>
      </components><name>out</name></component>
    <component><name>no ref</name></component>
    <component bom-ref="h"/>
    <component bom-ref="h"><name>h</name></component>
  </components>
</bom>
"""
    sbom = load_sbom(document.encode())
    assert isinstance(sbom, XmlSbom)
    names = sbom.dependency_graph().names
    expected = {
        "app": "app",
        "a": "right",
        "b": "bee",
        "d": "cdata <name>",
        "e": "&amp; A",
        "f": "out",
        "g": "in",
        "h": "h",
    }
    assert dict(names) == expected
    assert len(names) == len(expected)
    assert names["a"] == "right"
    with pytest.raises(KeyError):
        names["c"]
    assert names.get("c") is None
    assert names.get("c", "c") == "c"
    assert names.get("missing", "missing") == "missing"
    assert names.get(5) is None  # type: ignore[arg-type]
    assert {ref: names.get(ref, ref) for ref in expected} == expected


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_overlapping_edits_are_refused_whole(codec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pieces are cut and the overlap checked in one loop: an edit overlapping the one
    # before it still refuses the document, in either kind of text, with nothing returned.
    text = _bom(_component("requests") + _component("flask"))
    original = text.replace("UTF-8", codec.upper()).encode(codec)
    sbom = load_sbom(original)
    for component in sbom.pypi_components():
        sbom.set_properties(component, [("sbom-enrich:a", "b")])
    untouched = sbom.to_bytes()

    def overlapping(self: _Splice) -> None:
        start = self.edits[-1][0] if self.edits else 10
        self.edits.append((start - 5, start + 5, len(self.edits), "x"))

    monkeypatch.setattr(_Splice, "_tool_edits", overlapping)
    sbom.add_tool("sbom-enrich", "0.1.0", None)
    with pytest.raises(SbomError, match="overlapping edits"):
        sbom.to_bytes()
    assert untouched.decode(codec).count("sbom-enrich:a") == 2


_CHILD_NAMES = ["hashes", "hash", "licenses", "externalReferences", "purl", "description", "x"]
_BLANKS = ["", " ", "\n", "\n      ", "\t", "\r\n  ", "  \n\n   ", " " * 90, "\n" * 85]
_TEXTS = ["", "t", "a>", "b/>", "&gt;", "&#10;", "&#32;", "<![CDATA[ ]]>", "<!-- c -->"]
_ATTRIBUTES = ["", ' a="1"', " a='>'", ' b="/"', ' c=">/"', " d='x' ", '\n  e="f"']


def _random_child(rng: random.Random, depth: int = 0) -> str:
    name = rng.choice(_CHILD_NAMES)
    attributes = rng.choice(_ATTRIBUTES)
    if depth > 2 or rng.random() < 0.25:
        if rng.random() < 0.5:
            return f"<{name}{attributes}/>"
        return f"<{name}{attributes}>{rng.choice(_TEXTS)}</{name}{rng.choice(['', ' '])}>"
    inner = "".join(
        rng.choice(_BLANKS) + _random_child(rng, depth + 1) for _ in range(rng.randint(0, 3))
    )
    return f"<{name}{attributes}>{inner}{rng.choice(_BLANKS)}</{name}>"


def _random_component(rng: random.Random, index: int) -> str:
    children = [f"<name>p{index}</name>", f"<purl>pkg:pypi/p{index}@1.0</purl>"]
    for _ in range(rng.randint(0, 3)):
        children.insert(rng.randint(0, len(children)), _random_child(rng))
    body = "".join(
        rng.choice(_BLANKS) + (rng.choice(_TEXTS) if rng.random() < 0.1 else "") + child
        for child in children
    )
    return f'    <component type="library">{body}{rng.choice(_BLANKS)}</component>\n'


@pytest.mark.parametrize("seed", range(0, 200, 20))
def test_random_last_children_write_what_the_general_paths_write(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Components whose last child is of every shape, with white space, text, references,
    # CDATA and comments around it and quoted ">" and "/" in attributes: the flat path
    # (white space read off the text), the general paths and a parse that keeps blank text
    # must write the same bytes. Twenty documents a case, seeded.
    for offset in range(20):
        rng = random.Random(seed + offset)
        document = _bom("".join(_random_component(rng, i) for i in range(rng.randint(1, 4))))
        if rng.random() < 0.3:
            document = document.replace("\n", "\r\n")
        original = document.encode()
        fast = _enriched(original)
        with _general_paths(monkeypatch):
            general = _enriched(original)
        with monkeypatch.context() as patch:
            _keeping_blanks(patch)
            kept = _enriched(original)
        assert fast == general == kept, seed + offset
        _fidelity(original, fast)
