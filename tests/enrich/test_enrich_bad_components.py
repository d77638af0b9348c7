"""A component enrichment cannot edit safely costs that component only: left as written,
reported with one line, exit 3; every other component is enriched (issue 18)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from enrich_support import enrich as enrich_all
from test_enrich_byte_fidelity import _fidelity
from test_enrich_run_options import component

from cli_runner import Run
from sbom_enrich.enrich import SbomError, load_sbom

STATUS = "sbom-enrich:pypi:project-status"


def json_bom(bad: dict[str, Any]) -> bytes:
    components = [component("requests", "2.31.0"), bad, component("nose", "1.3.7")]
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return (json.dumps({**document, "components": components}, indent=2) + "\n").encode()


# Each: the bad component's extra members, and words the one-line reason must hold.
JSON_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "properties-object": ({"properties": {"name": "a", "value": "b"}}, "an object, not an array"),
    "properties-string": ({"properties": "x"}, "a string, not an array"),
    "properties-number": ({"properties": 3}, "a number, not an array"),
    "properties-null": ({"properties": None}, "null, not an array"),
    "entry-string": ({"properties": ["x"]}, "property 1 is a string, not an object"),
    "entry-array": (
        {"properties": [{"name": "a", "value": "b"}, [1]]},
        "property 2 is an array, not an object",
    ),
    "name-number": ({"properties": [{"name": 3, "value": "b"}]}, "name that is a number"),
    "name-missing": ({"properties": [{"value": "b"}]}, "property 1 has no name"),
    "purl-malformed": ({"purl": "pkg:pypi/@2.6.1"}, "malformed purl"),
}


def _bad(extra: dict[str, Any]) -> dict[str, Any]:
    return {**component("pycrypto", "2.6.1"), **extra}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_a_json_component_of_the_wrong_shape_costs_only_itself(
    case: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    extra, reason = JSON_CASES[case]
    data = json_bom(_bad(extra))
    source = tmp_path / "in.json"
    source.write_bytes(data)
    output = tmp_path / "out.json"
    report = tmp_path / "report.json"
    run = cli(
        "enrich", str(source), "-o", str(output), "--fail-on", "none", "--report", str(report)
    )
    assert run.code == 3, run.stderr  # incomplete, and still written
    assert "Traceback" not in run.stderr
    enriched = output.read_bytes()
    document = json.loads(enriched)
    good = [document["components"][0], document["components"][2]]
    for item in good:
        assert any(p["name"] == STATUS for p in item["properties"])
    # The bad component is the input's text, byte for byte.
    original = json.dumps(_bad(extra), indent=2).replace("\n", "\n    ")
    assert original.encode() in enriched
    assert enriched.count(original.encode()) == 1
    lines = [line for line in run.stderr.splitlines() if "left unchanged" in line]
    assert len(lines) == 2, run.stderr  # the problem line, and the verdict
    assert reason in lines[0] and "invalid-component" in lines[0]
    assert "incomplete: 1 component left unchanged" in run.stderr
    written = json.loads(report.read_text())
    assert written["exit_code"] == 3 and written["incomplete"] is True
    assert [p["code"] for p in written["problems"]] == ["invalid-component"]
    assert {c["name"] for c in written["components"]} == {"requests", "nose"}
    _fidelity(data, enriched)  # output minus what we inserted is the input


def test_the_problem_names_the_component_line(cli: Callable[..., Run], tmp_path: Path) -> None:
    data = json_bom(_bad({"properties": {"oops": True}}))
    source = tmp_path / "in.json"
    source.write_bytes(data)
    run = cli("enrich", str(source), "-o", str(tmp_path / "out.json"), "--fail-on", "none")
    line = next(i for i, text in enumerate(data.decode().splitlines(), 1) if "pycrypto==" in text)
    assert f"{source}:{line - 2}: invalid-component: component 'pkg:pypi/pycrypto@2.6.1'" in (
        run.stderr
    )


def test_the_sarif_rule_of_a_bad_component_is_its_own_not_pep_508s(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(json_bom(_bad({"properties": "x"})))
    sarif = tmp_path / "out.sarif"
    run = cli("enrich", str(source), "-o", str(tmp_path / "out.json"), "--report", str(sarif))
    assert run.code == 3, run.stderr
    [sarif_run] = json.loads(sarif.read_text())["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    [result] = [r for r in sarif_run["results"] if "invalid-component" in r["message"]["text"]]
    assert result["ruleId"] == "sbom-enrich/invalid-component"
    rule = rules[result["ruleIndex"]]
    assert rule["id"] == "sbom-enrich/invalid-component" and result["level"] == "error"
    assert "PEP 508" not in json.dumps(rule) and "requirement" not in json.dumps(rule)
    assert "component" in rule["shortDescription"]["text"]
    # The manifest problems' rule keeps its index: rules are only ever appended.
    ids = [r["id"] for r in rules]
    assert ids.index("sbom-enrich/invalid-component") == len(ids) - 1


def test_allow_incomplete_accepts_the_partial_result(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(json_bom(_bad({"properties": "x"})))
    run = cli(
        "enrich",
        str(source),
        "-o",
        str(tmp_path / "out.json"),
        "--fail-on",
        "none",
        "--allow-incomplete",
    )
    assert run.code == 0, run.stderr
    assert "left unchanged" in run.stderr


def test_only_bad_components_means_nothing_is_written_differently(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [_bad({"properties": {}})],
    }
    data = json.dumps(document, indent=2).encode()
    source = tmp_path / "in.json"
    source.write_bytes(data)
    output = tmp_path / "out.json"
    run = cli("enrich", str(source), "-o", str(output), "--fail-on", "none")
    assert run.code == 3
    assert output.read_bytes() == data  # no tool entry, no version bump: nothing enriched


def test_a_duplicate_key_inside_a_component_costs_that_component(tmp_path: Path) -> None:
    data = json_bom(_bad({})).replace(
        b'"name": "pycrypto",', b'"name": "pycrypto", "name": "pycrypto",'
    )
    nested = data.replace(
        b'"purl": "pkg:pypi/nose@1.3.7"',
        b'"purl": "pkg:pypi/nose@1.3.7", "licenses": [{"license": {"id": "MIT", "id": "X"}}]',
    )
    for text, bad in ((data, {"pycrypto"}), (nested, {"pycrypto", "nose"})):
        sbom = load_sbom(text)
        problems = {c.name: c.problem for c in sbom.pypi_components() if c.problem}
        assert set(problems) == bad
        assert problems["pycrypto"] == "duplicate key 'name' in the component"
        if "nose" in problems:
            assert problems["nose"] == "duplicate key 'id' in the component"
        for found in sbom.pypi_components():
            if found.problem is None:
                sbom.set_properties(found, [(STATUS, "active")])
        enriched = sbom.to_bytes()
        assert b'"name": "pycrypto", "name": "pycrypto",' in enriched
        assert enriched.count(STATUS.encode()) == 3 - len(bad)


def test_a_good_component_inside_a_bad_one_is_still_enriched() -> None:
    inner = component("nose", "1.3.7")
    outer = {**_bad({"properties": {"x": 1}}), "components": [inner]}
    data = json_bom(outer).replace(b'"x": 1', b'"x": 1, "x": 2')
    sbom = load_sbom(data)
    problems = {c.name: c.problem for c in sbom.pypi_components()}
    assert problems["pycrypto"] == "duplicate key 'x' in the component"
    assert problems["nose"] is None
    for found in sbom.pypi_components():
        if found.problem is None:
            sbom.set_properties(found, [(STATUS, "active")])
    enriched = sbom.to_bytes()
    assert b'"x": 1, "x": 2' in enriched
    assert enriched.count(STATUS.encode()) == 3  # requests, nose, and nose inside pycrypto
    inserted = rb',\s*"properties": \[\s*\{\s*"name": "[^"]+",\s*"value": "active"\s*\}\s*\]'
    assert re.sub(inserted, b"", enriched) == data  # the input plus what we inserted


def test_a_signature_in_a_component_with_a_duplicate_key_is_never_silently_kept() -> None:
    bad = {**_bad({}), "signature": {"algorithm": "ES256", "value": "c2ln"}}
    data = json_bom(bad).replace(b'"name": "pycrypto",', b'"name": "pycrypto", "name": "x",')
    sbom = load_sbom(data)
    assert sbom.signatures() == ["component"]
    sbom.remove_signatures()
    with pytest.raises(SbomError, match="cannot remove a signature"):
        sbom.to_bytes()


@pytest.mark.parametrize(
    "data",
    [
        b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "specVersion": "1.6"}',
        b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {"a": 1, "a": 2}}',
        b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": [{"a": 1, "a": 2}], '
        b'"components": [{"name": "a", "purl": "pkg:pypi/a@1", "b": 1, "b": 2}]}',
    ],
)
def test_a_duplicate_key_outside_components_still_refuses_the_document(data: bytes) -> None:
    with pytest.raises(SbomError, match="duplicate key"):
        load_sbom(data, source="in.json")


def test_a_document_whose_top_level_is_not_a_bom_is_refused_whole() -> None:
    with pytest.raises(SbomError, match="not a CycloneDX document"):
        load_sbom(b'[{"bomFormat": "CycloneDX", "specVersion": "1.6", "properties": {}}]')


# -- XML ------------------------------------------------------------------------------------


def _xml_component(name: str, version: str, inner: str = "") -> str:
    return (
        f'    <component type="library" bom-ref="{name}=={version}">\n'
        f"      <name>{name}</name>\n      <version>{version}</version>\n"
        f"      <purl>pkg:pypi/{name}@{version}</purl>{inner}\n    </component>\n"
    )


def xml_bom(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n  <components>\n'
        + _xml_component("requests", "2.31.0")
        + _xml_component("pycrypto", "2.6.1", inner)
        + _xml_component("nose", "1.3.7")
        + "  </components>\n</bom>\n"
    ).encode()


XML_CASES: dict[str, tuple[str, str]] = {
    "foreign-element": ("<properties><foo>x</foo></properties>", "holds a <foo> element"),
    "text": ('<properties>junk<property name="a">b</property></properties>', "holds text"),
    "tail-text": ('<properties><property name="a">b</property>junk</properties>', "holds text"),
    "no-name": ("<properties><property>b</property></properties>", "has no name attribute"),
    "child-elements": (
        '<properties><property name="sbom-enrich:x"><b>1</b></property></properties>',
        "holds elements",
    ),
    "two-containers": (
        '<properties><property name="a">b</property></properties>'
        '<properties><property name="sbom-enrich:pypi:project-status">x</property></properties>',
        "2 <properties> elements",
    ),
    "other-namespace": (
        '<properties><x:property xmlns:x="urn:x" name="a">b</x:property></properties>',
        "of another namespace",
    ),
    "purl-malformed": ("", "malformed purl"),
}


@pytest.mark.parametrize("case", sorted(XML_CASES))
def test_an_xml_component_of_the_wrong_shape_costs_only_itself(
    case: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    inner, reason = XML_CASES[case]
    data = xml_bom(inner)
    if case == "purl-malformed":
        data = data.replace(b"pkg:pypi/pycrypto@2.6.1", b"pkg:pypi/pycrypto@2.6.1?oops")
    source = tmp_path / "in.xml"
    source.write_bytes(data)
    output = tmp_path / "out.xml"
    run = cli("enrich", str(source), "-o", str(output), "--fail-on", "none")
    assert "Traceback" not in run.stderr
    if "sbom-enrich:" in inner:
        # Ours where it cannot be removed exactly: written, it read as our word (exit 2).
        assert run.code == 2, run.stderr
        assert "sbom-enrich did not write" in run.stderr and not output.exists()
        return
    assert run.code == 3, run.stderr
    enriched = output.read_bytes()
    start = data.index(b'<component type="library" bom-ref="pycrypto')
    bad = data[start : data.index(b"</component>", start)]
    assert bad in enriched  # left as written
    ours = f'"{STATUS}"'.encode()
    assert enriched.count(ours) - data.count(ours) == 2  # the two others enriched
    lines = [line for line in run.stderr.splitlines() if "invalid-component" in line]
    assert len(lines) == 1 and reason in lines[0], run.stderr
    assert f"{source}:9: invalid-component" in lines[0]  # the component's start tag
    _fidelity(data, enriched)


def test_fine_xml_properties_with_comments_are_still_enriched() -> None:
    data = xml_bom('<properties><!-- kept --><property name="a">b</property></properties>')
    sbom = load_sbom(data)
    assert [c.problem for c in sbom.pypi_components()] == [None, None, None]
    assert enrich_all(sbom) == 3
    assert b"<!-- kept -->" in sbom.to_bytes()


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_a_finding_is_placed_on_its_own_component_not_on_a_bad_twin(
    suffix: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    if suffix == "json":
        document = {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [_bad({"properties": {}}), _bad({})],
        }
        data = json.dumps(document, indent=2).encode()
    else:
        data = xml_bom("<properties><foo/></properties>").replace(
            b"pkg:pypi/nose@1.3.7", b"pkg:pypi/pycrypto@2.6.1"
        )
        data = data.replace(b"nose==1.3.7", b"pycrypto==2.6.1").replace(b">nose<", b">pycrypto<")
        data = data.replace(b"<version>1.3.7</version>", b"<version>2.6.1</version>")
    source = tmp_path / f"in.{suffix}"
    source.write_bytes(data)
    report = tmp_path / "report.json"
    run = cli(
        "enrich",
        str(source),
        "-o",
        str(tmp_path / f"out.{suffix}"),
        "--fail-on",
        "none",
        "--report",
        str(report),
    )
    assert run.code == 3, run.stderr
    purl_lines = [
        number
        for number, text in enumerate(data.decode().splitlines(), 1)
        if "pkg:pypi/pycrypto@2.6.1" in text
    ]
    placed = [
        c["location"]["line"]
        for c in json.loads(report.read_text())["components"]
        if c["name"] == "pycrypto"
    ]
    assert placed == [purl_lines[-1]]  # the good one, written last
