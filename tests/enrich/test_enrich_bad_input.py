"""Inputs the enricher must refuse with one clear line: never a traceback, never an expansion."""

from __future__ import annotations

import json

import pytest
from enrich_support import CORPUS, EXTRA

from sbom_enrich.enrich import SbomError, UnsafeXmlError, UnsupportedSpecError, load_sbom
from sbom_enrich.enrich.document import bumped_version

VALID_JSON = (CORPUS / "cdxgen-python-1.5.json").read_bytes()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the input is empty"),
        (b" \n\t", "the input is empty"),
        (bytes(range(256)) * 4, "neither JSON nor XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "neither JSON nor XML"),
        (b'{"name": "not an sbom"}', 'no "bomFormat": "CycloneDX"'),
        (b'[{"bomFormat": "CycloneDX"}]', 'no "bomFormat": "CycloneDX"'),
        (b'{"bomFormat": "SPDX", "specVersion": "1.5"}', 'no "bomFormat": "CycloneDX"'),
        (b'{"bomFormat": "CycloneDX"}', "without a specVersion"),
        (b'{"bomFormat": "CycloneDX", "specVersion": 1.6}', 'a string such as "1.6"'),
        ('{"bomFormat": "CycloneDX"}'.encode("utf-16"), "JSON must be UTF-8"),
        (' [{"bomFormat": "CycloneDX"}]'.encode("utf-16-be"), "JSON must be UTF-8"),
        (VALID_JSON[: len(VALID_JSON) // 2], "not valid JSON: Unterminated string"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.5",}', "not valid JSON"),
        (b'{"bomFormat": "CycloneDX", "bomFormat": "CycloneDX"}', "duplicate key 'bomFormat'"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "x": NaN}', "NaN is not a JSON"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": "1"}', "positive integer"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 0}', "positive integer"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "n": "\xff"}', "not valid UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
        (b'<?xml version="1.0"?><html><body/></html>', "not a CycloneDX document"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5x"/>', "not a CycloneDX document"),
        (b'<bom xmlns="http://example.com/bom/1.5"/>', "not a CycloneDX document"),
        (b"<bom/>", "not a CycloneDX document"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>', "not well-formed XML"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="x"/>', "positive integer"),
        (b"<bom>&undefined;</bom>", "not well-formed XML"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_bad_input_is_one_line(data: bytes, expected: str) -> None:
    with pytest.raises(SbomError) as caught:
        load_sbom(data, source="in.sbom")
    message = str(caught.value)
    assert expected in message
    assert message.startswith("in.sbom: ")
    assert "\n" not in message and "\r" not in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.2"}', "CycloneDX 1.2 has no component"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.8"}', "reads 1.3 to 1.7"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "2.0"}', "reads 1.3 to 1.7"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "one\\npoint"}', "reads 1.3 to 1.7"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.0"/>', "CycloneDX 1.0 has no component"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.8"/>', "reads 1.3 to 1.7"),
    ],
)
def test_unsupported_spec_versions(data: bytes, expected: str) -> None:
    with pytest.raises(UnsupportedSpecError) as caught:
        load_sbom(data)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "xxe.xml", "external-dtd.xml"])
def test_xml_with_a_doctype_is_refused_fast_and_unexpanded(name: str) -> None:
    # Fast because nothing is expanded: that is what is asserted, not a time (bench/ measures).
    with pytest.raises(UnsafeXmlError) as caught:
        load_sbom((EXTRA / name).read_bytes(), source=name)
    message = str(caught.value)
    assert "DOCTYPE" in message
    assert "lol" not in message and "root:" not in message  # nothing was expanded or read


@pytest.mark.parametrize(
    "prolog",
    [
        b"<!-- hidden --><!DOCTYPE bom>",
        b'<?xml version="1.0"?>\n<?pi?>\n<!-- x -->\n<!DOCTYPE bom [<!ENTITY a "b">]>',
        b"\xef\xbb\xbf<!DOCTYPE bom>",
    ],
)
def test_doctype_behind_comments_or_a_bom_is_still_found(prolog: bytes) -> None:
    with pytest.raises(UnsafeXmlError):
        load_sbom(prolog + b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>')


def test_utf16_xml_with_a_doctype_is_refused() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE bom [<!ENTITY a "b">]><bom/>'
    with pytest.raises(UnsafeXmlError):
        load_sbom(text.encode("utf-16"))


def test_a_doctype_string_inside_cdata_is_data_not_a_declaration() -> None:
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components><component type="library">'
        b"<name>x</name><description><![CDATA[<!DOCTYPE html>]]></description>"
        b"<purl>pkg:pypi/x@1</purl></component></components></bom>"
    )
    sbom = load_sbom(data)
    assert [c.name for c in sbom.pypi_components()] == ["x"]
    assert b"<![CDATA[<!DOCTYPE html>]]>" in sbom.to_bytes()


@pytest.mark.parametrize(
    ("version", "bumped"),
    [
        ("9" * 4300, "1" + "0" * 4300),
        ("12" + "9" * 4000, "13" + "0" * 4000),
        ("9223372036854775807", "9223372036854775808"),
        ("1" + "0" * 19, "1" + "0" * 18 + "1"),
        ("7", "8"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_long_bom_version_is_bumped(fmt: str, version: str, bumped: str) -> None:
    """JSON Schema bounds no integer. A version of 4,300 nines was read, and its bump was an
    internal error after every lookup: Python writes no int of more than 4,300 digits as
    text. It is counted up on its text. (JSON with a longer integer anywhere is refused as
    parsers read it differently: test_hostile_fast_paths' JSON_REFUSED.)"""
    data = (
        f'{{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": {version}}}'
        if fmt == "json"
        else f'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="{version}"/>'
    )
    sbom = load_sbom(data.encode())
    sbom.bump_version()
    written = sbom.to_bytes().decode()
    assert written == data.replace(version, bumped)


def test_whole_number_version_written_as_float_is_accepted_and_bumped() -> None:
    import json

    sbom = load_sbom(b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 2.0}')
    sbom.bump_version()
    assert json.loads(sbom.to_bytes())["version"] == 3
    with pytest.raises(SbomError, match="positive integer"):
        load_sbom(b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 2.5}')


@pytest.mark.parametrize("version", ["9" * 5000, "1" + "0" * 100_000])
def test_an_xml_bom_version_of_any_length_is_bumped(version: str) -> None:
    """XML has no bound on the digits of an attribute: counted up on its text, a version
    longer than Python converts is bumped too (int() of it was an internal error)."""
    data = f'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="{version}"/>'.encode()
    sbom = load_sbom(data)
    sbom.bump_version()
    assert sbom.to_bytes() == data.replace(version.encode(), bumped_version(version).encode())
    assert bumped_version("9" * 5000) == "1" + "0" * 5000


_EVIL = '{"type": "library", "name": "evil", "purl": "pkg:pypi/evil@1.0"}'


@pytest.mark.parametrize(
    ("members", "rule"),
    [
        (f'"components": {{"a": {_EVIL}}}', "components must be an array of component objects"),
        (f'"components": [[{_EVIL}]]', "components[0] must be a component object"),
        (
            f'"components": [{{"type": "library", "name": "app", "components": {{"a": {_EVIL}}}}}]',
            "components[0].components must be an array of component objects",
        ),
        (
            f'"metadata": {{"component": [{_EVIL}]}}',
            "metadata.component must be a component object",
        ),
        (
            f'"metadata": {{"component": {{"type": "application", "name": "app", '
            f'"components": [{{"type": "library", "name": "x"}}, [{_EVIL}]]}}}}',
            "metadata.component.components[1] must be a component object",
        ),
    ],
)
def test_components_in_a_shape_the_schema_has_no_place_for_are_refused(
    members: str, rule: str
) -> None:
    """A PyPI component inside ``components`` written as an object, or inside an array where
    a component belongs, was skipped as holding nothing: never looked up, and the run passed
    (as did a gate on it). The document is refused instead, saying where."""
    data = '{"bomFormat": "CycloneDX", "specVersion": "1.6", ' + members + "}"
    json.loads(data)  # well-formed JSON: only its shape is wrong
    with pytest.raises(SbomError) as caught:
        load_sbom(data.encode())
    assert f"{rule} (CycloneDX)" in str(caught.value)


def test_a_scalar_where_a_component_belongs_hides_nothing_and_is_left_as_written() -> None:
    data = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["pkg:pypi/x@1", 3]}'
    sbom = load_sbom(data)
    assert sbom.pypi_components() == [] and sbom.to_bytes() == data


def _xml_component(*purls: str) -> bytes:
    written = "".join(f"<purl>{purl}</purl>" for purl in purls)
    return (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>'
        f'<component type="library"><name>x</name>{written}</component>'
        "</components></bom>"
    ).encode()


@pytest.mark.parametrize(
    ("purls", "checked", "flawed"),
    [
        (("pkg:pypi/requests@1.0", "pkg:pypi/evil@1"), "pkg:pypi/requests@1.0", True),
        (("pkg:npm/left-pad@1", "pkg:pypi/evil@1"), "pkg:pypi/evil@1", True),
        (("pkg:pypi/requests@1.0", "pkg:pypi/requests@1.0"), "pkg:pypi/requests@1.0", False),
        (("  ", "pkg:pypi/requests@1.0"), "pkg:pypi/requests@1.0", False),
        (("pkg:pypi/requests@1.0", "pkg:npm/x@1"), "pkg:pypi/requests@1.0", True),
    ],
)
def test_an_xml_component_with_two_purls_is_left_unchanged_and_reported(
    purls: tuple[str, ...], checked: str, flawed: bool
) -> None:
    """The schema allows one purl; with two, which one a reader takes differs (the first, the
    last). The second was ignored: a PyPI purl written second, after another, was never
    looked up and the run passed; a first PyPI one was checked while another reader saw the
    second. Two that differ now leave the component unchanged, reported (exit 3)."""
    [component] = load_sbom(_xml_component(*purls)).pypi_components()
    assert component.purl == checked
    if flawed:
        assert component.problem is not None and "two <purl> elements" in component.problem
    else:
        assert component.problem is None


@pytest.mark.parametrize(
    ("purl", "checked"),
    [
        ("pkg:pypi/evil<!-- x -->-pkg@0.0.1", "pkg:pypi/evil-pkg@0.0.1"),
        ("pkg:pypi/evil<?pi x?>-pkg@0.0.1", "pkg:pypi/evil-pkg@0.0.1"),
        ("pkg:pypi/evil<b/>-pkg@0.0.1", "pkg:pypi/evil-pkg@0.0.1"),
        ("<!-- -->pkg:pypi/evil-pkg@0.0.1", "pkg:pypi/evil-pkg@0.0.1"),  # nothing before it
        ("pkg:pypi/evil-pkg@0.0.1<!-- -->?repository_url=http://x/", "pkg:pypi/evil-pkg@0.0.1"
         "?repository_url=http://x/"),
    ],
)  # fmt: skip
def test_markup_inside_an_xml_purl_leaves_the_component_unchanged_and_reported(
    purl: str, checked: str
) -> None:
    """A comment, processing instruction or element inside <purl>: the text before it was read
    alone, so another project (pkg:pypi/evil, not-found) was looked up, or none, and the run
    passed; XPath's string() reads all of it. Readers disagree: left unchanged, reported."""
    [component] = load_sbom(_xml_component(purl)).pypi_components()
    assert component.purl == checked
    assert component.problem is not None and "holds a comment" in component.problem


@pytest.mark.parametrize("last", ['"pkg:npm/x@1"', "null", "1", '""'])
def test_a_json_purl_duplicated_by_one_that_is_no_pypi_purl_is_still_a_pypi_component(
    last: str,
) -> None:
    """A component with "purl" twice, the PyPI one first: the last value alone decided (an
    npm purl, null) and the component vanished from the run, which passed. Readers that keep
    the first see a PyPI component: it is one, left as written and reported (exit 3)."""
    data = (
        '{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": ['
        '{"type": "library", "name": "evil-pkg", "purl": "pkg:pypi/evil-pkg@0.0.1", '
        f'"purl": {last}}}]}}'
    ).encode()
    [component] = load_sbom(data).pypi_components()
    assert component.purl == "pkg:pypi/evil-pkg@0.0.1"
    assert component.problem is not None and "duplicate key 'purl'" in component.problem


def test_an_integer_too_long_to_read_is_said_in_the_users_words() -> None:
    data = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "x": ' + b"9" * 5000
    with pytest.raises(SbomError) as caught:
        load_sbom(data + b"}", source="big.json")
    message = str(caught.value)
    assert message == (
        "big.json: not valid JSON: an integer of more than 4300 digits (parsers read it "
        "differently)"
    )  # Python's "use sys.set_int_max_str_digits() to increase the limit" was shown
