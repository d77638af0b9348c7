"""--report files: SARIF 2.1.0 checked against the official schema, Markdown, JSON and text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from indexserver import IndexServer

if TYPE_CHECKING:
    from cli_runner import Run

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "sarif" / "sarif-schema-2.1.0.json")
    .read_text(encoding="utf-8")
)  # fmt: skip
SPEC = "https://packaging.python.org/en/latest/specifications/project-status-markers/"


def valid_sarif(path: Path) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(path.read_text())
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return log


def bom(*components: tuple[str, str]) -> bytes:
    return json.dumps({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [
            {"type": "library", "name": n, "version": v, "bom-ref": f"ref-{n}",
             "purl": f"pkg:pypi/{n}@{v}"} for n, v in components
        ],
    }, indent=2).encode()  # fmt: skip


def test_sarif_for_manifests_is_schema_valid_and_located(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text(
        "requests==2.32.0\n  evil-pkg\nnose==1.3.7\npycrypto\nnot a requirement!\n"
    )
    run = check("--report", "out.sarif", "--fail-on", "quarantined,archived")
    assert run.code == 1
    log = valid_sarif(project / "out.sarif")
    [sarif_run] = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "sbom-enrich" and driver["version"] and driver["informationUri"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert rules["sbom-enrich/quarantined"]["helpUri"] == f"{SPEC}#quarantined"
    assert rules["sbom-enrich/archived"]["helpUri"] == f"{SPEC}#archived"
    assert rules["sbom-enrich/deprecated"]["helpUri"] == f"{SPEC}#deprecated"
    by_rule = {r["ruleId"]: r for r in sarif_run["results"]}
    assert set(by_rule) == {
        "sbom-enrich/yanked", "sbom-enrich/quarantined", "sbom-enrich/deprecated",
        "sbom-enrich/archived", "sbom-enrich/invalid-requirement",
    }  # fmt: skip
    for result in sarif_run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    evil = by_rule["sbom-enrich/quarantined"]
    assert evil["level"] == "error"
    assert evil["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "requirements.txt"},
        "region": {"startLine": 2, "startColumn": 3, "endColumn": 11},
    }
    assert "Reported as malware" in evil["message"]["text"]
    assert by_rule["sbom-enrich/archived"]["level"] == "error"  # in --fail-on
    assert by_rule["sbom-enrich/deprecated"]["level"] == "warning"
    assert by_rule["sbom-enrich/yanked"]["level"] == "warning"  # yanked not in --fail-on
    assert by_rule["sbom-enrich/invalid-requirement"]["locations"][0]["physicalLocation"][
        "region"]["startLine"] == 5  # fmt: skip
    assert sarif_run["columnKind"] == "unicodeCodePoints"
    assert sarif_run["invocations"][0]["exitCode"] == 1


def test_sarif_for_an_sbom_points_at_the_file_with_logical_locations(
    project: Path, cli: Callable[..., Run]
) -> None:
    (project / "sbom.json").write_bytes(bom(("requests", "2.32.3"), ("nose", "1.3.7")))
    run = cli("enrich", "sbom.json", "-o", "out.json", "--report", "r.sarif")
    assert run.code == 0, run.stderr
    log = valid_sarif(project / "r.sarif")
    [result] = log["runs"][0]["results"]  # requests is active: no result
    assert result["ruleId"] == "sbom-enrich/deprecated"
    [location] = result["locations"]
    assert location["logicalLocations"] == [
        {"kind": "package", "name": "ref-nose", "fullyQualifiedName": "pkg:pypi/nose@1.3.7"}
    ]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "sbom.json"
    line = physical["region"]["startLine"]
    assert "pkg:pypi/nose@1.3.7" in (project / "sbom.json").read_text().splitlines()[line - 1]


def test_sarif_from_stdin_has_logical_locations_only(
    project: Path, cli: Callable[..., Run]
) -> None:
    run = cli("enrich", "-", "-o", "out.json", "--report", "r.sarif",
              stdin=bom(("evil-pkg", "0.0.1")))  # fmt: skip
    assert run.code == 1
    results = valid_sarif(project / "r.sarif")["runs"][0]["results"]
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels == {"sbom-enrich/quarantined": "error", "sbom-enrich/version-missing": "warning"}
    for result in results:
        assert "physicalLocation" not in result["locations"][0]
        assert result["locations"][0]["logicalLocations"][0]["name"] == "ref-evil-pkg"


def test_markdown_summary_escapes_index_text_and_lists_alternatives(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    index_server.set_status(
        "nose", "deprecated", "Use [this](https://evil.example) | <img src=x onerror=alert(1)>"
    )
    (project / "requirements.txt").write_text("nose\npycrypto==2.6.1\nrequests\n")
    run = check("--report", "summary.md")
    assert run.code == 0, run.stderr
    text = (project / "summary.md").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("## ")
    assert "✅ **Policy passed**" in text
    assert "| 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 |" in text  # active deprecated archived ...
    [nose_row] = [line for line in lines if line.startswith("| nose ")]
    assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(https", text)  # only escaped forms
    assert "\\<img" in nose_row and "\\|" in nose_row
    assert nose_row.count(" | ") == 5  # six cells: the escaped pipe splits nothing
    [pycrypto_row] = [line for line in lines if line.startswith("| pycrypto ")]
    assert "pycryptodome" in pycrypto_row and "`requirements.txt:2:1`" in pycrypto_row
    assert not any(line.startswith("| requests ") for line in lines)  # active: not listed


@pytest.mark.parametrize(
    ("name", "fmt", "probe"),
    [("r.json", None, '"counts"'), ("r.txt", None, "policy: passed"),
     ("r.out", "markdown", "## sbom-enrich"), ("r.sarif.json", None, '"version": "2.1.0"')],
)  # fmt: skip
def test_format_comes_from_the_flag_or_the_file_name(
    project: Path, check: Callable[..., Run], name: str, fmt: str | None, probe: str
) -> None:
    (project / "requirements.txt").write_text("nose\n")
    argv = ["--report", name] + (["--report-format", fmt] if fmt else [])
    assert check(*argv).code == 0
    assert probe in (project / name).read_text()


def test_several_reports_and_the_env_twin_for_the_format(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text("evil-pkg\n")
    run = check("--report", "a.sarif", "--report", "b.md")
    assert run.code == 1
    valid_sarif(project / "a.sarif")
    assert "❌ **Policy failed**" in (project / "b.md").read_text()
    env = {"SBOM_ENRICH_REPORT": "c.report", "SBOM_ENRICH_REPORT_FORMAT": "sarif"}
    assert check(env=env).code == 1
    valid_sarif(project / "c.report")
    bad = check(env={"SBOM_ENRICH_REPORT_FORMAT": "pdf"})
    assert bad.code == 2 and "SBOM_ENRICH_REPORT_FORMAT" in bad.stderr


def test_enrich_refuses_a_stdout_report_when_stdout_carries_the_sbom(
    project: Path, cli: Callable[..., Run], index_server: IndexServer
) -> None:
    run = cli("enrich", "-", "--report", "-", stdin=bom(("nose", "1.3.7")))
    assert run.code == 2 and run.stdout == b"" and index_server.stats.requests == 0


NOSE = "pkg:pypi/nose@1.3.7"
# The same purl four times: nested under an application, then three times at the top (the
# last two without a bom-ref). One component per line, so a line names its component.
DUPLICATED_PURL_SBOMS = {
    "json": f"""{{
  "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "components": [
    {{"type": "application", "name": "app", "bom-ref": "app", "components": [
      {{"type": "library", "name": "nose", "bom-ref": "nested", "purl": "{NOSE}"}}
    ]}},
    {{"type": "library", "name": "nose", "bom-ref": "top", "purl": "{NOSE}"}},
    {{"type": "library", "name": "nose", "purl": "{NOSE}"}},
    {{"type": "library", "name": "nose", "purl": "{NOSE}"}}
  ]
}}
""",
    "xml": f"""<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <components>
    <component type="application" bom-ref="app">
      <name>app</name>
      <components>
        <component type="library" bom-ref="nested"><name>nose</name><purl>{NOSE}</purl></component>
      </components>
    </component>
    <component type="library" bom-ref="top"><name>nose</name><purl>{NOSE}</purl></component>
    <component type="library"><name>nose</name><purl>{NOSE}</purl></component>
    <component type="library"><name>nose</name><purl>{NOSE}</purl></component>
  </components>
</bom>
""",
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_sarif_points_each_component_sharing_a_purl_at_its_own_line(
    project: Path, cli: Callable[..., Run], fmt: str
) -> None:
    text = DUPLICATED_PURL_SBOMS[fmt]
    (project / f"sbom.{fmt}").write_text(text)
    run = cli("enrich", f"sbom.{fmt}", "-o", f"out.{fmt}", "--report", "r.sarif",
              "--report", "r.md")  # fmt: skip
    assert run.code == 0, run.stderr
    results = valid_sarif(project / "r.sarif")["runs"][0]["results"]
    lines = text.splitlines()
    purl_lines = [number for number, line in enumerate(lines, 1) if NOSE in line]
    assert len(purl_lines) == 4
    # One result per component, in document order, each on the line of its own purl.
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results] == (
        purl_lines
    )
    names = [r["locations"][0]["logicalLocations"][0]["name"] for r in results]
    assert names == ["nested", "top", NOSE, NOSE]
    for result, name in zip(results, names[:2], strict=False):
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert name in lines[line - 1]
    # Where the place is not shown (summary, Markdown), the project is listed once.
    assert run.stderr.count("nose") == 1, run.stderr
    assert (project / "r.md").read_text().count("| nose ") == 1


def test_sarif_invalid_requirement_is_an_error_like_in_the_editor(
    project: Path, check: Callable[..., Run]
) -> None:
    # The one deliberate level change of the regrouping: it was "warning" here, "error" in the
    # language server; the line makes the run incomplete, so it is an error everywhere.
    (project / "requirements.txt").write_text("requests==2.32.0\nnot a requirement!\n")
    run = check("--report", "out.sarif", "--fail-on", "none", "--allow-incomplete")
    assert run.code == 0
    [sarif_run] = valid_sarif(project / "out.sarif")["runs"]
    [problem] = [
        r for r in sarif_run["results"] if r["ruleId"] == "sbom-enrich/invalid-requirement"
    ]
    assert problem["level"] == "error"
    rules = {rule["id"]: rule for rule in sarif_run["tool"]["driver"]["rules"]}
    level = rules["sbom-enrich/invalid-requirement"]["defaultConfiguration"]["level"]
    assert level == "error"


def test_sarif_related_locations_for_chains_are_schema_valid(
    project: Path, check: Callable[..., Run], cli: Callable[..., Run], index_server: IndexServer
) -> None:
    # A lock's chain: related locations at each step's name in the lock.
    url = index_server.url
    (project / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\nsource = { editable = "." }\n'
        'dependencies = [{ name = "requests" }]\n\n[[package]]\nname = "requests"\n'
        f'version = "2.31.0"\nsource = {{ registry = "{url}" }}\n'
        'dependencies = [{ name = "pycrypto" }]\n\n[[package]]\nname = "pycrypto"\n'
        f'version = "2.6.1"\nsource = {{ registry = "{url}" }}\n'
    )
    check("uv.lock", "--report", "lock.sarif")
    (result,) = [
        r for r in valid_sarif(project / "lock.sarif")["runs"][0]["results"]
        if r["properties"]["project"] == "pycrypto"
    ]  # fmt: skip
    assert [s["message"]["text"] for s in result["relatedLocations"]] == [
        "app (step 1)", "requests (step 2)",
    ]  # fmt: skip
    assert result["properties"]["direct"] is False
    # An SBOM's chain: related locations name the components (no file position).
    sbom = json.loads(bom(("requests", "2.31.0"), ("pycrypto", "2.6.1")))
    sbom["metadata"] = {"component": {"type": "application", "name": "app", "bom-ref": "app"}}
    sbom["dependencies"] = [
        {"ref": "app", "dependsOn": ["ref-requests"]},
        {"ref": "ref-requests", "dependsOn": ["ref-pycrypto"]},
    ]
    (project / "bom.json").write_text(json.dumps(sbom))
    cli("enrich", "bom.json", "-o", "out.json", "--report", "bom.sarif", "--fail-on", "none")
    (result,) = [
        r for r in valid_sarif(project / "bom.sarif")["runs"][0]["results"]
        if r["properties"]["project"] == "pycrypto"
    ]  # fmt: skip
    assert [s["message"]["text"] for s in result["relatedLocations"]] == [
        "app (step 1)", "requests (step 2)",
    ]  # fmt: skip
