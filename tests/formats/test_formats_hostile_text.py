"""Every report format is safe to print even when records and input names carry hostile text."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from sbom_enrich.findings.model import ExitCode, Finding, Ignored, Location, Problem, Report
from sbom_enrich.formats import REPORT_FORMATS, render_report
from sbom_enrich.status.model import ProjectStatus, StatusRecord, VersionFacts
from untrusted_text import HOSTILE, assert_json_safe, assert_terminal_safe

CHECKED = datetime(2026, 12, 1, tzinfo=timezone.utc)


def hostile_record(name: str, status: ProjectStatus, **fields: object) -> StatusRecord:
    # As a poisoned cache entry written by an older version, or a front end's own record, holds
    # it: raw, never through the client's cleaning.
    return StatusRecord(
        name=name,
        status=status,
        index_url=f"https://index.test/simple/{HOSTILE}",
        checked_at=CHECKED,
        **fields,  # type: ignore[arg-type]
    )


def hostile_report() -> Report:
    at = Location(f"req{HOSTILE}.txt", 3, 1, 5)
    findings = (
        Finding(  # an index before PEP 792: its api-version text lands in the summary
            name=f"old{HOSTILE}",
            version=f"1.0{HOSTILE}",
            record=hostile_record("old", ProjectStatus.UNKNOWN, api_version=f"1.0{HOSTILE}"),
            location=at,
        ),
        Finding(
            name=f"dep{HOSTILE}",
            version="2.0",
            record=hostile_record(
                "dep",
                ProjectStatus.QUARANTINED,
                reason=f"malware{HOSTILE}",
                latest_version=f"3.0{HOSTILE}",
                versions=(f"2.0{HOSTILE}",),
            ),
            facts=VersionFacts("2.0", yanked=True, yank_reason=f"broken{HOSTILE}"),
            location=at,
        ),
        Finding(
            name="gone",
            version=None,
            record=hostile_record("gone", ProjectStatus.UNKNOWN, error=f"HTTP 500{HOSTILE}"),
            location=at,
        ),
    )
    return Report(
        findings=findings,
        index_url=f"https://index.test/simple/{HOSTILE}",
        kind="manifests",
        files=(f"req{HOSTILE}.txt",),
        source=f"sbom{HOSTILE}.json",
        problems=(Problem(f"bad line{HOSTILE}", at),),
        ignored=(Ignored(f"ign{HOSTILE}", "1", f"because{HOSTILE}", until=f"2027{HOSTILE}"),),
        warnings=(f"warned{HOSTILE}",),
    )


@pytest.mark.parametrize("report_format", REPORT_FORMATS)
@pytest.mark.parametrize("code", [ExitCode.POLICY, ExitCode.INCOMPLETE])
def test_every_report_format_is_terminal_safe(report_format: str, code: ExitCode) -> None:
    rendered = render_report(report_format, hostile_report(), frozenset({"quarantined"}), code)
    assert_terminal_safe(rendered)
    if report_format in ("json", "sarif"):
        assert_json_safe(json.loads(rendered))


@pytest.mark.parametrize("report_format", REPORT_FORMATS)
def test_the_incomplete_hints_are_terminal_safe(report_format: str) -> None:
    # Every answer from an index that cannot express status: the hint names the index URL.
    findings = tuple(
        Finding(name=n, version=None, record=hostile_record(n, ProjectStatus.UNKNOWN))
        for n in ("a", "b")
    )
    report = Report(findings=findings, index_url=f"https://index.test/simple/{HOSTILE}")
    rendered = render_report(report_format, report, frozenset(), ExitCode.INCOMPLETE)
    assert "cannot express project status" in rendered or report_format == "sarif"
    assert_terminal_safe(rendered)
