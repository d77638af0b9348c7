"""A gate is only as good as what it reads: a quarantined PyPI component that another tool
sees in an SBOM must never let ``enrich --fail-on quarantined`` pass, and the output must not
carry a status of ours for a component we did not look up."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from test_enrich_run_options import bom, component

from cli_runner import Run

STATUS = "sbom-enrich:pypi:project-status"
NS = "http://cyclonedx.org/schema/bom/1.6"


def gate(
    cli: Callable[..., Run], tmp_path: Path, data: bytes, suffix: str, *argv: str
) -> tuple[Run, bytes]:
    source = tmp_path / f"in{suffix}"
    source.write_bytes(data)
    output = tmp_path / f"out{suffix}"
    output.unlink(missing_ok=True)
    run = cli("enrich", str(source), "-o", str(output), *(argv or ("--fail-on", "quarantined")))
    assert "Traceback" not in run.stderr
    return run, output.read_bytes() if output.exists() else b""


# -- what the input claims in our name is not our word ---------------------------------------


def test_a_skipped_component_loses_planted_status_properties(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    planted = [
        {"name": "build", "value": "ci"},
        {"name": STATUS, "value": "active"},
        {"name": "sbom-enrich:pypi:checked-at", "value": "2026-01-01T00:00:00Z"},
    ]
    vcs = component("evil-pkg", "0.0.1", properties=planted)
    vcs["purl"] += "?vcs_url=git%2Bfile:///srv/git/evil.git"  # on this disk: skipped
    run, output = gate(cli, tmp_path, bom([component("requests", "2.31.0"), vcs]), ".json")
    assert run.code == 0, run.stderr  # skipped and counted, as DESIGN.md says
    written = json.loads(output)["components"][1]
    # Never looked up: nothing in our namespace claims it is active; the rest is kept.
    assert written["properties"] == [{"name": "build", "value": "ci"}]


def test_a_skipped_xml_component_loses_planted_status_properties(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="{NS}" version="1">\n'
        "  <components>\n"
        '    <component type="library"><name>requests</name>'
        "<purl>pkg:pypi/requests@2.31.0</purl></component>\n"
        '    <component type="library"><name>evil-pkg</name>'
        "<purl>pkg:pypi/evil-pkg@0.0.1?download_url=file:///srv/e.whl</purl>\n"
        f'      <properties><property name="{STATUS}">active</property></properties>\n'
        "    </component>\n  </components>\n</bom>\n"
    ).encode()
    run, output = gate(cli, tmp_path, data, ".xml")
    assert run.code == 0, run.stderr
    [skipped] = etree.fromstring(output).findall(f"{{{NS}}}components/{{{NS}}}component")[1:]
    assert skipped.find(f"{{{NS}}}properties") is None


# A component left as written for a problem (here: a second purl key, "Purl") still says
# nothing in our name: with --allow-incomplete the run passed, our tool entry beside it.
PLANTED = [{"name": "build", "value": "ci"}, {"name": STATUS, "value": "active"}]
TWO_PURLS = {**component("evil-pkg", "0.0.1"), "Purl": "pkg:pypi/evil-pkg@0.0.1"}


def allowed_incomplete(
    cli: Callable[..., Run], tmp_path: Path, data: bytes, suffix: str
) -> tuple[Run, bytes]:
    return gate(cli, tmp_path, data, suffix, "--allow-incomplete")


def test_a_component_left_as_written_loses_planted_status_properties(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    npm = {"type": "library", "name": "left-pad", "purl": "pkg:npm/left-pad@1"}
    data = bom(
        [
            component("requests", "2.31.0"),
            {**TWO_PURLS, "properties": PLANTED},
            {**npm, "properties": PLANTED},
            {**npm, "bom-ref": "only", "properties": PLANTED[1:]},
        ]
    )
    run, output = allowed_incomplete(cli, tmp_path, data, ".json")
    assert run.code == 0, run.stderr
    assert "invalid-component" in run.stderr  # still reported, still not looked up
    written = json.loads(output)
    assert any(tool["name"] == "sbom-enrich" for tool in written["metadata"]["tools"]["components"])
    kept = {**TWO_PURLS, "properties": PLANTED[:1]}
    assert written["components"][1:] == [
        kept,
        {**npm, "properties": PLANTED[:1]},
        npm | {"bom-ref": "only"},
    ]
    # Only those properties went: the rest of the text is as written.
    for left in (kept, {**npm, "properties": PLANTED[:1]}):
        assert json.dumps(left, indent=2).replace("\n", "\n    ").encode() in output


PLANTED_OUT_OF_REACH = {
    "Properties": {**TWO_PURLS, "Properties": PLANTED},
    "properties-and-Properties": {**TWO_PURLS, "properties": PLANTED[:1], "PROPERTIES": PLANTED},
    "nameless-property": {**TWO_PURLS, "properties": [*PLANTED, {"value": "x"}]},
    "Name": {**TWO_PURLS, "properties": [{"Name": STATUS, "value": "active"}]},
    "npm-Properties": {
        "type": "library",
        "name": "x",
        "purl": "pkg:npm/x@1",
        "Properties": PLANTED,
    },
}


@pytest.mark.parametrize("case", sorted([*PLANTED_OUT_OF_REACH, "duplicate-properties"]))
def test_planted_status_properties_out_of_reach_refuse_the_document(
    case: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    if case == "duplicate-properties":  # the first is what first-wins readers take
        evil = json.dumps({**component("evil-pkg", "0.0.1"), "properties": PLANTED})
        data = document(components=[component("requests", "2.31.0")]).replace(
            b"}\n  ]", b"}, " + evil[:-1].encode() + b', "properties": []}]', 1
        )
        assert json.loads(data)["components"][1]["properties"] == []
    else:
        data = bom([component("requests", "2.31.0"), PLANTED_OUT_OF_REACH[case]])
    run, output = allowed_incomplete(cli, tmp_path, data, ".json")
    # Written, it read as our word beside our tool entry: refused, nothing written.
    assert run.code == 2, run.stderr
    assert output == b""
    [line] = [line for line in run.stderr.splitlines() if "error" in line]
    assert "sbom-enrich did not write" in line


def test_an_xml_component_left_as_written_loses_planted_status_properties(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    planted = (
        '\n      <properties><property name="build">ci</property>'
        f'<property name="{STATUS}">active</property></properties>\n    '
    )
    data = xml_bom(
        f"    {EVIL}<purl>pkg:pypi/evil-pkg@0.0.2</purl>{planted}</component>\n"
        f'    <component type="library"><name>left-pad</name><purl>pkg:npm/left-pad@1</purl>'
        f"{planted}</component>\n"
    )
    run, output = allowed_incomplete(cli, tmp_path, data, ".xml")
    assert run.code == 0, run.stderr
    assert "invalid-component" in run.stderr
    ours = planted.replace(f'<property name="{STATUS}">active</property>', "")
    assert output.count(ours.encode()) == 2 and STATUS.encode() in output  # requests: ours
    components = etree.fromstring(output).findall(f"{{{NS}}}components/{{{NS}}}component")
    for left in components[1:]:
        names = [p.get("name") for p in left.iter(f"{{{NS}}}property")]
        assert names == ["build"]


def test_xml_planted_status_properties_out_of_reach_refuse_the_document(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    two = f'<properties><property name="{STATUS}">active</property></properties>'
    data = xml_bom(f"    {EVIL}{two}{two}</component>\n")
    run, output = allowed_incomplete(cli, tmp_path, data, ".xml")
    assert run.code == 2, run.stderr
    assert output == b""
    assert "sbom-enrich did not write" in run.stderr


# -- XML: what readers that match element names alone see ------------------------------------


def xml_bom(components: str, metadata: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="{NS}" version="1">\n'
        f"{metadata}  <components>\n"
        '    <component type="library"><name>requests</name>'
        "<purl>pkg:pypi/requests@2.31.0</purl></component>\n"
        f"{components}  </components>\n</bom>\n"
    ).encode()


EVIL = '<component type="library"><name>evil-pkg</name><purl>pkg:pypi/evil-pkg@0.0.1</purl>'

# Go's encoding/xml (syft, grype, trivy) and Jackson (Dependency-Track) match the names of
# elements whatever their namespace; cyclonedx-python-lib reads those in no namespace as its own.
OTHER_VERSION = NS[:-1] + "5"
FOREIGN = {
    "component-in-no-namespace": "    "
    + EVIL.replace("<component ", '<component xmlns="" ')
    + "</component>\n",
    "component-of-another-version": "    "
    + EVIL.replace("<component ", f'<component xmlns="{OTHER_VERSION}" ')
    + "</component>\n",
    "purl-in-another-namespace": '    <component type="library"><name>evil-pkg</name>'
    '<purl xmlns="urn:x">pkg:pypi/evil-pkg@0.0.1</purl></component>\n',
    "components-prefixed-otherwise": '  </components>\n  <x:components xmlns:x="urn:x">'
    '<x:component type="library"><x:name>evil-pkg</x:name>'
    "<x:purl>pkg:pypi/evil-pkg@0.0.1</x:purl></x:component></x:components>\n  <components>\n",
}


@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_xml_structure_in_another_namespace_is_refused_not_skipped(
    case: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = gate(cli, tmp_path, xml_bom(FOREIGN[case]), ".xml")
    # It passed (exit 0) with the quarantined component unread; now: input error, one line.
    assert run.code == 2, run.stderr
    assert output == b""
    [line] = [line for line in run.stderr.splitlines() if "error" in line]
    assert "namespace" in line and "unchecked" in line


def test_a_second_metadata_component_is_refused_not_skipped(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    metadata = (
        '  <metadata>\n    <component type="application"><name>app</name></component>\n'
        f"    {EVIL}</component>\n  </metadata>\n"
    )
    data = xml_bom("", metadata)
    # cyclonedx-python-lib reads the last one as the subject: the quarantined project.
    from cyclonedx.model.bom import Bom

    seen = Bom.from_xml(etree.fromstring(data))  # type: ignore[attr-defined]
    assert str(seen.metadata.component.purl) == "pkg:pypi/evil-pkg@0.0.1"
    run, output = gate(cli, tmp_path, data, ".xml")
    assert run.code == 2, run.stderr
    assert "2 metadata <component> elements" in run.stderr and output == b""


# -- JSON: what readers that ignore the case of keys see -------------------------------------

# Go's encoding/json (syft, grype and trivy read CycloneDX with it) takes a key for a field that
# differs only in case, with Unicode's simple folding ("\u017f" is "s", "\u212a" is "k").
EVIL_JSON = component("evil-pkg", "0.0.1")


def document(**members: object) -> bytes:
    head = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**head, **members}, indent=2).encode()


HIDDEN_BY_CASE = {
    "Components": document(components=[component("requests", "2.31.0")], Components=[EVIL_JSON]),
    "long-s": document(
        components=[component("requests", "2.31.0")], **{"component\u017f": [EVIL_JSON]}
    ),
    "Metadata": document(
        Metadata={"component": EVIL_JSON}, components=[component("requests", "2.31.0")]
    ),
    "metadata-Component": document(
        metadata={"Component": EVIL_JSON}, components=[component("requests", "2.31.0")]
    ),
    "nested-COMPONENTS": document(
        components=[{**component("requests", "2.31.0"), "COMPONENTS": [EVIL_JSON]}]
    ),
}


@pytest.mark.parametrize("case", sorted(HIDDEN_BY_CASE))
def test_components_under_a_key_of_another_case_are_refused_not_skipped(
    case: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = gate(cli, tmp_path, HIDDEN_BY_CASE[case], ".json")
    assert run.code == 2, run.stderr  # it passed: the quarantined component was never read
    assert output == b""
    [line] = [line for line in run.stderr.splitlines() if "error" in line]
    assert "readers that ignore case" in line


def test_a_purl_under_a_key_of_another_case_is_a_component_left_as_written(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    evil = {k: v for k, v in EVIL_JSON.items() if k != "purl"}
    npm_then_pypi = {**evil, "purl": "pkg:npm/evil-pkg@0.0.1", "Purl": EVIL_JSON["purl"]}
    pypi_only = {**evil, "PURL": EVIL_JSON["purl"]}
    planted = {**EVIL_JSON, "Properties": [{"name": "build", "value": "ci"}]}
    for bad in (npm_then_pypi, pypi_only, planted):
        data = bom([component("requests", "2.31.0"), bad])
        run, output = gate(cli, tmp_path, data, ".json")
        # Never "passed": the component is reported and the run incomplete (exit 3).
        assert run.code == 3, run.stderr
        assert "invalid-component" in run.stderr and "readers that ignore case" in run.stderr
        written = json.loads(output)["components"]
        assert written[1] == bad  # as written
        assert any(p["name"] == STATUS for p in written[0]["properties"])


# -- bom-refs: what names one component must not name another -------------------------------

LEFT_PAD = '<component type="library" bom-ref="lib"><name>left-pad</name>'


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_a_bom_ref_a_pypi_component_shares_with_another_is_refused(
    suffix: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    """The quarantine vulnerability's affects named "lib", which left-pad holds too: a
    scanner or Dependency-Track pinned malware on left-pad (or on whichever it resolved)."""
    if suffix == ".json":
        evil = component("evil-pkg", "0.0.1", **{"bom-ref": "lib"})
        npm = {"type": "library", "bom-ref": "lib", "name": "left-pad"}
        data = bom([component("requests", "2.31.0"), evil, npm | {"purl": "pkg:npm/left-pad@1"}])
    else:
        shared = EVIL.replace("<component ", '<component bom-ref="lib" ')
        data = xml_bom(
            f"    {shared}</component>\n    {LEFT_PAD}<purl>pkg:npm/left-pad@1</purl></component>\n"
        )
    source, output = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    source.write_bytes(data)
    run = cli("enrich", str(source), "-o", str(output), "--quarantined-as-vulnerability")
    assert run.code == 2, run.stderr
    assert not output.exists()
    [line] = [line for line in run.stderr.splitlines() if "bom-ref" in line]
    # One line naming the ref and both places: each line number is where that component is.
    shape = r"bom-ref 'lib' is held by two components, line (\d+) \((\S+)\) and line (\d+) "
    found = re.search(shape + r"\((\S+)\): CycloneDX requires bom-refs to be unique", line)
    assert found is not None, line
    assert (found[2], found[4]) == ("pkg:pypi/evil-pkg@0.0.1", "pkg:npm/left-pad@1")
    text = data.decode().splitlines()
    for at, purl in ((int(found[1]), found[2]), (int(found[3]), found[4])):
        assert purl in "".join(text[at - 1 : at + 7]).split("}")[0]


def test_one_package_listed_twice_under_one_bom_ref_is_enriched(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    # A merge of two SBOMs: what names the ref names one package either way. Nor is a ref
    # two non-PyPI components share ours to judge.
    evil = component("evil-pkg", "0.0.1")
    npm = [{"type": "library", "bom-ref": "n", "name": n, "purl": f"pkg:npm/{n}@1"} for n in "ab"]
    run, output = gate(cli, tmp_path, bom([evil, dict(evil), *npm]), ".json")
    assert run.code == 1, run.stderr
    written = json.loads(output)["components"]
    assert all(any(p["name"] == STATUS for p in c["properties"]) for c in written[:2])
