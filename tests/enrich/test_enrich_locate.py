"""Where SBOM findings are located: each component its own line, in one pass, JSON and XML."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sbom_enrich.enrich import load_sbom
from sbom_enrich.enrich.locate import component_lines, locate_findings
from sbom_enrich.findings.model import Finding, Location
from sbom_enrich.status.model import ProjectStatus, StatusRecord

CORPUS = Path(__file__).resolve().parent.parent / "data" / "sboms"
SUPPORTED = sorted(path for path in CORPUS.iterdir() if re.search(r"-1\.[3-7]\.\w+$", path.name))
SIX = "pkg:pypi/six@1.16.0"
# Keys sorted as cyclonedx-py writes them, so a parent's purl comes after its children's; the
# same purl also in a pedigree and a description, neither of which is a component we enrich,
# and in a tool, which is (CycloneDX 1.5+: what built the product); one purl spelled with a
# JSON escape.
SORTED_KEYS = [
    '{"bomFormat": "CycloneDX", "specVersion": "1.6",',
    ' "components": [',
    '  {"bom-ref": "parent", "components": [',
    '    {"bom-ref": "child", "name": "six",',
    '     "purl": "pkg:pypi\\/six@1.16.0", "type": "library"}],',
    '   "name": "six", "pedigree": {"ancestors": [',
    f'    {{"name": "six", "purl": "{SIX}", "type": "library"}}]}},',
    f'   "purl": "{SIX}", "type": "library"}}],',
    ' "metadata": {"tools": {"components": [',
    f'   {{"name": "six", "purl": "{SIX}", "type": "library"}}]}},',
    f'   "component": {{"description": "say \\"purl\\": \\"{SIX}\\"", "name": "six",',
    f'    "purl": "{SIX}", "type": "application"}}}}}}',
]


@pytest.mark.parametrize(
    ("prefix", "newline"), [("", "\n"), ("\ufeff", "\r\n")], ids=["plain", "bom-crlf"]
)
def test_json_components_get_their_purl_line_in_enrichment_order(prefix: str, newline: str) -> None:
    data = (prefix + newline.join(SORTED_KEYS) + newline).encode()
    places = component_lines(data, "sbom.json")
    assert [(c.bom_ref, c.build_tool, line) for c, line in places] == [
        ("parent", None, 8), ("child", None, 5), (None, "metadata.tools", 10), (None, None, 12),
    ]  # fmt: skip
    assert [c for c, _ in places] == load_sbom(data).pypi_components()


@pytest.mark.parametrize("path", SUPPORTED, ids=lambda path: path.name)
def test_every_corpus_component_is_found_on_a_purl_line(path: Path) -> None:
    data = path.read_bytes()
    places = component_lines(data, path.name)
    assert [c for c, _ in places] == load_sbom(data).pypi_components()
    lines = data.decode("utf-8", errors="replace").splitlines()
    for _, line in places:
        assert line > 0 and "purl" in lines[line - 1]


def finding(
    purl: str, version: str, bom_ref: str | None = None, *, active: bool = False
) -> Finding:
    status = ProjectStatus.ACTIVE if active else ProjectStatus.DEPRECATED
    record = StatusRecord("nose", status, "https://pypi.org/simple/", datetime.now(timezone.utc))
    return Finding("nose", version, record, purl=purl, bom_ref=bom_ref)


XML = b"""<?xml version="1.0"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6">
  <components>
    <component type="library"><name>nose</name><version>1.3.6</version>
      <purl>pkg:pypi/nose</purl></component>
    <component type="library"><name>nose</name><version>1.3.7</version>
      <purl>pkg:pypi/nose</purl></component>
    <component type="library" bom-ref="b"><name>nose</name><version>1.3.7</version>
      <purl>pkg:pypi/nose</purl></component>
    <component type="library"><name>nose</name><version>1.3.7</version>
      <purl>pkg:pypi/nose</purl></component>
  </components>
</bom>
"""


def test_findings_left_after_ignores_still_get_their_own_component() -> None:
    # An ignore for nose 1.3.6 removed the first finding; the purl alone (no version in it)
    # would send the next 1.3.7 finding to the first component's line.
    findings = [
        finding("pkg:pypi/nose", "1.3.7"),
        finding("pkg:pypi/nose", "1.3.7", "b"),
        finding("pkg:pypi/nose", "1.3.7", active=True),
    ]
    located = locate_findings(findings, XML, "sbom.xml")
    assert [f.location for f in located] == [
        Location("sbom.xml", 7),
        Location("sbom.xml", 9),
        None,  # clean active answers are not located: no report shows a place for them
    ]


def test_nothing_noteworthy_is_nothing_to_locate() -> None:
    findings = (finding("pkg:pypi/nose", "1.3.7", active=True),)
    assert locate_findings(findings, b"not even an SBOM", "x") == findings
