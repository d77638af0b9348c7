"""Adversarial but legitimate inputs: what a writer chose (newlines, encodings, purl spellings)
survives enrichment, and every PyPI component is found however its purl is spelled."""

from __future__ import annotations

import json

import pytest
from enrich_support import enrich, reset_version

from sbom_enrich.enrich import load_sbom, strip_enrichment, validate_sbom

XML_CRLF = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n'
    b"<!-- written on Windows -->\r\n"
    b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\r\n'
    b"  <components>\r\n"
    b'    <component type="library">\r\n'
    b"      <name>requests</name>\r\n"
    b"      <version>2.32.0</version>\r\n"
    b"      <!-- a comment\r\n           over two lines -->\r\n"
    b"      <purl>pkg:pypi/requests@2.32.0</purl>\r\n"
    b"    </component>\r\n"
    b"  </components>\r\n"
    b"</bom>\r\n"
    b"<!-- trailing -->\r\n"
)


def test_xml_crlf_line_breaks_are_kept_everywhere() -> None:
    sbom = load_sbom(XML_CRLF)
    assert sbom.to_bytes() == XML_CRLF
    enrich(sbom)
    enriched = sbom.to_bytes()
    # Every line break, old and new, is CRLF: no mixed line endings in the output.
    assert enriched.count(b"\n") == enriched.count(b"\r\n") > XML_CRLF.count(b"\n")
    assert validate_sbom(enriched, "xml", "1.6") == []
    restored = reset_version(enriched, XML_CRLF)
    strip_enrichment(restored)
    assert restored.to_bytes() == XML_CRLF


def test_xml_in_latin1_with_nodes_after_the_root_stays_well_formed() -> None:
    # lxml gives every node serialized on its own in a non-UTF-8 encoding an XML declaration;
    # one in front of a trailing comment makes the output not XML at all.
    original = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">\n'
        "  <components>\n"
        '    <component type="library">\n'
        "      <name>caf\u00e9</name>\n"
        "      <purl>pkg:pypi/cafe@1.0</purl>\n"
        "    </component>\n"
        "  </components>\n"
        "</bom>\n"
        "<!-- sign\u00e9 -->\n"
        "<?generator done?>\n"
    ).encode("latin-1")
    sbom = load_sbom(original)
    assert sbom.to_bytes() == original
    enrich(sbom)
    enriched = sbom.to_bytes()
    assert enriched.count(b"<?xml") == 1
    assert enriched.endswith(b"</bom>\n<!-- sign\xe9 -->\n<?generator done?>\n")
    assert validate_sbom(enriched, "xml", "1.4") == []
    assert load_sbom(enriched).pypi_components()[0].name == "cafe"


XML_UTF16 = (
    '<?xml version="1.0" encoding="UTF-16"?>\r\n'
    "<!-- \u00e9crit par un outil -->\r\n"
    '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\r\n'
    "\t<components>\r\n"
    '\t\t<component type="library">\r\n'
    "\t\t\t<name>requests</name>\r\n"
    "\t\t\t<purl>pkg:pypi/requests@2.32.0</purl>\r\n"
    "\t\t</component>\r\n"
    "\t</components>\r\n"
    "</bom>\r\n"
)


@pytest.mark.parametrize(
    ("order_mark", "codec"),
    [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"", "utf-16-le")],
    ids=["little-endian", "big-endian", "no-byte-order-mark"],
)
def test_utf16_xml_keeps_its_byte_order_prolog_and_line_breaks(
    order_mark: bytes, codec: str
) -> None:
    original = order_mark + XML_UTF16.encode(codec)
    sbom = load_sbom(original)
    assert sbom.to_bytes() == original
    enrich(sbom)
    enriched = sbom.to_bytes()
    assert enriched.startswith(original[: original.index("<bom".encode(codec))])
    text = enriched.decode(codec)
    assert text.endswith("</bom>\r\n")
    assert text.count("\n") == text.count("\r\n")
    assert validate_sbom(enriched, "xml", "1.6") == []
    restored = reset_version(enriched, original)
    strip_enrichment(restored)
    assert restored.to_bytes() == original


def _prefixed(prefix: str, encoding: str) -> str:
    """A 1.4 SBOM whose elements all carry ``prefix``: a component without properties, one
    with a property of another tool, one with an empty ``<properties/>``, our tool listed
    with an empty version."""
    p = prefix + ":"
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<{p}bom xmlns:{prefix}="http://cyclonedx.org/schema/bom/1.4" version="1">\n'
        f"  <{p}metadata>\n    <{p}tools>\n      <{p}tool>\n"
        f"        <{p}name>sbom-enrich</{p}name>\n        <{p}version/>\n"
        f"      </{p}tool>\n    </{p}tools>\n  </{p}metadata>\n"
        f"  <{p}components>\n"
        f'    <{p}component type="library">\n      <{p}name>caf\u00e9</{p}name>\n'
        f"      <{p}purl>pkg:pypi/cafe@1.0</{p}purl>\n    </{p}component>\n"
        f'    <{p}component type="library">\n      <{p}name>six</{p}name>\n'
        f"      <{p}purl>pkg:pypi/six@1.16.0</{p}purl>\n      <{p}properties>\n"
        f'        <{p}property name="other">\u00e9</{p}property>\n      </{p}properties>\n'
        f"    </{p}component>\n"
        f'    <{p}component type="library">\n      <{p}name>idna</{p}name>\n'
        f"      <{p}purl>pkg:pypi/idna@3.7</{p}purl>\n      <{p}properties/>\n"
        f"    </{p}component>\n"
        f"  </{p}components>\n</{p}bom>\n"
    )


@pytest.mark.parametrize(
    ("encoding", "codec"), [("UTF-8", "utf-8"), ("ISO-8859-1", "latin-1"), ("UTF-16", "utf-16")]
)
def test_a_non_ascii_prefix_is_edited_as_an_ascii_one_is(encoding: str, codec: str) -> None:
    # UTF-8 holds "bö" in three bytes, which the one-byte view of the text had to match.
    def enriched(prefix: str) -> str:
        original = _prefixed(prefix, encoding).encode(codec)
        sbom = load_sbom(original)
        enrich(sbom)
        output = sbom.to_bytes()
        assert validate_sbom(output, "xml", "1.4") == []
        return output.decode(codec)

    expected = enriched("c").replace("xmlns:c=", "xmlns:b\u00f6=")
    for tag in ("<", "</"):
        expected = expected.replace(tag + "c:", tag + "b\u00f6:")
    assert enriched("b\u00f6") == expected


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:pypi/Requests@2.32.0",
        "pkg:PYPI/Requests@2.32.0",
        "pkg://pypi/Requests@2.32.0",
        "pkg:/pypi/Requests@2.32.0",
        "PKG:pypi/Requests@2.32.0",
        "Pkg:///PyPI/Requests@2.32.0?repository_url=https://pypi.org/simple#sub/path",
    ],
)
def test_every_spelling_of_a_pypi_purl_is_a_pypi_component(purl: str) -> None:
    # Slashes after "pkg:" are ignored by the purl spec; a URL scheme is case-insensitive.
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "requests", "purl": purl}],
    }
    sbom = load_sbom(json.dumps(document).encode())
    [component] = sbom.pypi_components()
    assert (component.name, component.canonical_name) == ("Requests", "requests")
    assert component.version == "2.32.0"
    assert component.purl == purl  # as written: reports show the user's spelling
    enrich(sbom)
    assert json.loads(sbom.to_bytes())["components"][0]["purl"] == purl


def _json_bom(strings: str) -> bytes:
    # Consistent writers: the same escaping everywhere, as each generator does.
    slash = "\\/" if "\\/" in strings else "/"
    return (
        '{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.6",\n  "version": 1,\n'
        f'  "metadata": {{\n    "component": {{\n{strings}\n    }}\n  }},\n'
        '  "components": [\n    {\n      "type": "library",\n      "name": "nose",\n'
        f'      "purl": "pkg:pypi{slash}nose@1.3.7"\n    }}\n  ]\n}}\n'
    ).encode()


@pytest.mark.parametrize(
    "strings",
    [
        # Go's encoding/json (syft, trivy): HTML-sensitive characters escaped, lowercase hex.
        '      "name": "a\\u0026b \\u003cc\\u003e",\n'
        '      "description": "caf\u00e9 \\u2028",\n'
        '      "purl": "pkg:generic/x?download_url=https://h/?a=1\\u0026b=2"',
        # PHP's json_encode: slashes escaped, non-ASCII as \\u00e9.
        '      "name": "a\\/b",\n      "description": "caf\\u00e9",\n'
        '      "purl": "pkg:generic\\/x"',
        # .NET's System.Text.Json default: HTML-sensitive and non-ASCII, uppercase hex.
        '      "name": "a\\u002Bb \\u0027c\\u0027 \\u0022d\\u0022",\n'
        '      "description": "caf\\u00E9 \\u0026 \\u003C",\n'
        '      "purl": "pkg:generic/x@1.0\\u002B1"',
    ],
    ids=["go", "php", "dotnet"],
)
def test_json_string_escapes_of_common_writers_survive(strings: str) -> None:
    original = _json_bom(strings)
    sbom = load_sbom(original)
    assert sbom.to_bytes() == original
    enrich(sbom)
    enriched = sbom.to_bytes()
    assert strings.encode() in enriched
    restored = reset_version(enriched, original)
    strip_enrichment(restored)
    assert restored.to_bytes() == original
