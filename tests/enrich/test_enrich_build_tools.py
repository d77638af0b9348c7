"""PyPI components an SBOM lists as what built the product (``metadata.tools.components``,
``formulation[].components``, CycloneDX 1.5+) are looked up like the rest: they ran on the
build machine, and a quarantined one (malware) is what a gate is for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from enrich_support import EXTRA, enrich
from lxml import etree

from cli_runner import Run
from sbom_enrich.enrich import SbomError, load_sbom
from sbom_enrich.enrich.locate import component_lines

STATUS = "sbom-enrich:pypi:project-status"
NS = "http://cyclonedx.org/schema/bom/1.6"


def json_bom(
    *, tools: list[object] | None = None, formulation: list[object] | None = None
) -> bytes:
    metadata: dict[str, object] = {"component": {"type": "application", "name": "app"}}
    if tools is not None:
        metadata["tools"] = {"components": tools}
    document: dict[str, object] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": metadata,
        "components": [{"type": "library", "name": "requests", "purl": "pkg:pypi/requests@2.31.0"}],
    }
    if formulation is not None:
        document["formulation"] = formulation
    return json.dumps(document, indent=2).encode()


def tool(name: str, version: str, **extra: object) -> dict[str, object]:
    return {"type": "application", "name": name, "purl": f"pkg:pypi/{name}@{version}", **extra}


def xml_bom(tools: str = "", formulation: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="{NS}" version="1">\n'
        "  <metadata>\n"
        f"    <tools>\n      <components>\n{tools}      </components>\n    </tools>\n"
        '    <component type="application"><name>app</name></component>\n'
        "  </metadata>\n"
        "  <components>\n"
        '    <component type="library"><name>requests</name>'
        "<purl>pkg:pypi/requests@2.31.0</purl></component>\n"
        "  </components>\n"
        f"{formulation}"
        "</bom>\n"
    ).encode()


def xml_tool(name: str, version: str, inner: str = "") -> str:
    return (
        f'        <component type="application"><name>{name}</name>'
        f"<purl>pkg:pypi/{name}@{version}</purl>{inner}</component>\n"
    )


def gate(cli: Callable[..., Run], tmp_path: Path, data: bytes, suffix: str) -> tuple[Run, bytes]:
    source = tmp_path / f"in{suffix}"
    source.write_bytes(data)
    output = tmp_path / f"out{suffix}"
    run = cli("enrich", str(source), "-o", str(output), "--report", str(tmp_path / "r.json"))
    assert "Traceback" not in run.stderr
    return run, output.read_bytes() if output.exists() else b""


def json_properties(node: dict[str, object]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in node.get("properties", [])}  # type: ignore[attr-defined]


def test_a_quarantined_tool_fails_the_gate(cli: Callable[..., Run], tmp_path: Path) -> None:
    # It passed (exit 0): the summary counted the two components it read and no other.
    data = json_bom(tools=[tool("evil-pkg", "0.0.1")])
    run, output = gate(cli, tmp_path, data, ".json")
    assert run.code == 1, run.stderr
    assert "evil-pkg · 0.0.1 · quarantined" in run.stderr
    assert "a build tool (metadata.tools)" in run.stderr
    written = json.loads(output)
    entries = written["metadata"]["tools"]["components"]
    assert json_properties(entries[0])[STATUS] == "quarantined"
    assert [e["name"] for e in entries] == ["evil-pkg", "sbom-enrich"]  # ours still added
    report = json.loads((tmp_path / "r.json").read_text())
    [evil] = [c for c in report["components"] if c["name"] == "evil-pkg"]
    assert evil["build_tool"] == "metadata.tools" and evil["direct"] is None
    [requests] = [c for c in report["components"] if c["name"] == "requests"]
    assert requests["build_tool"] is None


def test_a_quarantined_formulation_component_fails_the_gate(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    inner = {"type": "library", "name": "nested", "components": [tool("evil-pkg", "0.0.1")]}
    data = json_bom(formulation=[{"bom-ref": "f1", "components": [inner]}])
    run, output = gate(cli, tmp_path, data, ".json")
    assert run.code == 1, run.stderr
    assert "a build tool (formulation)" in run.stderr
    written = json.loads(output)["formulation"][0]["components"][0]["components"][0]
    assert json_properties(written)[STATUS] == "quarantined"


def test_xml_tools_and_formulation_components_are_looked_up(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    formulation = (
        '  <formulation>\n    <formula bom-ref="f1">\n      <components>\n'
        + xml_tool("nose", "1.3.7")
        + "      </components>\n    </formula>\n  </formulation>\n"
    )
    data = xml_bom(tools=xml_tool("evil-pkg", "0.0.1"), formulation=formulation)
    run, output = gate(cli, tmp_path, data, ".xml")
    assert run.code == 1, run.stderr
    root = etree.fromstring(output)
    statuses = {
        element.findtext(f"{{{NS}}}name"): element.find(
            f"{{{NS}}}properties/{{{NS}}}property[@name='{STATUS}']"
        )
        for element in root.iter(f"{{{NS}}}component")
    }
    assert statuses["evil-pkg"] is not None and statuses["evil-pkg"].text == "quarantined"
    assert statuses["nose"] is not None and statuses["nose"].text == "deprecated"
    tools = root.find(f"{{{NS}}}metadata/{{{NS}}}tools/{{{NS}}}components")
    assert tools is not None
    assert [c.findtext(f"{{{NS}}}name") for c in tools] == ["evil-pkg", "sbom-enrich"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_pypi_component_is_listed_in_document_order_with_its_section(fmt: str) -> None:
    if fmt == "json":
        data = json_bom(
            tools=[{"type": "application", "name": "cyclonedx-py"}, tool("builder", "2.0",
                   components=[tool("hatchling", "1.0")])],
            formulation=[{"components": [tool("pycrypto", "2.6.1")]}],
        )  # fmt: skip
    else:
        formulation = (
            "  <formulation><formula><components>"
            + xml_tool("pycrypto", "2.6.1")
            + "</components></formula></formulation>\n"
        )
        data = xml_bom(
            tools=xml_tool("builder", "2.0", "<components>" + xml_tool("hatchling", "1.0")
                           + "</components>"),
            formulation=formulation,
        )  # fmt: skip
    sbom = load_sbom(data)
    listed = [(c.name, c.build_tool) for c in sbom.pypi_components()]
    assert listed == [
        ("builder", "metadata.tools"),
        ("hatchling", "metadata.tools"),
        ("requests", None),
        ("pycrypto", "formulation"),
    ]
    # The located reports find each purl's line in the same order.
    lines = [(c.name, line) for c, line in component_lines(data, "in")]
    assert [name for name, _ in lines] == [name for name, _ in listed]
    text = data.decode()
    for name, line in lines:
        assert f"pkg:pypi/{name}@" in text.splitlines()[line - 1]


@pytest.mark.parametrize(
    ("members", "rule"),
    [
        (
            '"formulation": [{"components": {"a": {"type": "library", "name": "evil", '
            '"purl": "pkg:pypi/evil@1.0"}}}]',
            "formulation[0].components must be an array of component objects",
        ),
        (
            '"metadata": {"tools": {"components": [{"type": "library", "name": "app", '
            '"components": {"a": {"type": "library", "name": "evil"}}}]}}',
            "metadata.tools.components[0].components must be an array of component objects",
        ),
    ],
)
def test_build_components_in_a_shape_the_schema_has_no_place_for_are_refused(
    members: str, rule: str
) -> None:
    data = '{"bomFormat": "CycloneDX", "specVersion": "1.6", ' + members + "}"
    with pytest.raises(SbomError) as caught:
        load_sbom(data.encode())
    assert f"{rule} (CycloneDX)" in str(caught.value)


@pytest.mark.parametrize(
    "members",
    [
        '"Formulation": [{"components": []}]',
        '"metadata": {"tools": {"Components": []}}',
        '"formulation": [{"Components": []}]',
    ],
)
def test_build_components_under_a_key_of_another_case_are_refused(members: str) -> None:
    data = '{"bomFormat": "CycloneDX", "specVersion": "1.6", ' + members + "}"
    with pytest.raises(SbomError, match="readers that ignore case"):
        load_sbom(data.encode())


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_only_a_pypi_build_tool_is_counted_as_a_component(suffix: str) -> None:
    # cyclonedx-py's and cdxgen's own entries, and ours once added, are no component of the
    # product: "not PyPI" counts the product's other components (here the subject) alone.
    sbom = load_sbom((EXTRA / f"build-tools-formulation-1.6{suffix}").read_bytes())
    assert sbom.component_count() - len(sbom.pypi_components()) == 1
    enrich(sbom)
    assert sbom.component_count() - len(sbom.pypi_components()) == 1
