"""The text summary's tallies: counts, projects, cache ages and stale answers, in words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from sbom_enrich.findings.model import ExitCode, Finding, Report
from sbom_enrich.formats.text import render_text
from sbom_enrich.status.model import ProjectStatus, StatusRecord, VersionFacts

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def finding(
    name: str,
    status: ProjectStatus = ProjectStatus.ACTIVE,
    *,
    hours_old: float | None = None,
    stale: bool = False,
    facts: VersionFacts | None = None,
    api_version: str | None = "1.4",
) -> Finding:
    record = StatusRecord(
        name=name,
        status=status,
        index_url="https://pypi.org/simple/",
        checked_at=NOW - timedelta(hours=hours_old or 0),
        api_version=api_version,
        from_cache=hours_old is not None,
        stale=stale,
    )
    return Finding(name=name, version="1.0", record=record, facts=facts)


def test_the_summary_counts_each_finding_once_and_names_the_oldest_cached_answer() -> None:
    findings = (
        finding("a", hours_old=1),
        finding("A", hours_old=5, stale=True),
        finding("b", ProjectStatus.ARCHIVED, hours_old=3, stale=True),
        finding("c", ProjectStatus.UNKNOWN, api_version="1.0"),  # the index cannot tell
        finding("d", facts=VersionFacts("1.0", yanked=True, missing=True)),
        finding("e", ProjectStatus.DEPRECATED, hours_old=5),  # as old as "A": "A" came first
    )
    report = Report(findings=findings, index_url="https://pypi.org/simple/", created_at=NOW)
    lines = render_text(report, frozenset(), ExitCode.OK).splitlines()
    assert lines[0].startswith("sbom-enrich: 6 PyPI components (6 projects) checked against")
    assert lines[1] == (
        "  active 3 · deprecated 1 · archived 1 · quarantined 0 · not-found 0 · unknown 1; "
        "yanked 1, version not listed 1"
    )
    assert lines[2].startswith("  1 project is unknown because the index cannot express")
    assert lines[3] == "  4 answers from the cache (oldest 5 h), 2 of them stale (offline)"


def test_an_incomplete_runs_verdict_reads_the_lookup_outcomes_once(monkeypatch: Any) -> None:
    # The exit code, the verdict line and the JSON report each ask whether a lookup failed
    # and what was answered: one pass over ten thousand findings each was most of their cost.
    from sbom_enrich.findings import model
    from sbom_enrich.formats.json import render as render_json

    passes = []
    real = model._lookup_outcomes
    monkeypatch.setattr(model, "_lookup_outcomes", lambda f: passes.append(1) or real(f))
    failed = msgspec.structs.replace(
        finding("x").record, status=ProjectStatus.UNKNOWN, error="timed out"
    )
    findings = (finding("a"), Finding(name="x", version=None, record=failed))
    report = Report(findings=findings, index_url="https://pypi.org/simple/", created_at=NOW)
    status = model.exit_code(report, frozenset(), allow_incomplete=False)
    assert status is ExitCode.INCOMPLETE
    lines = render_text(report, frozenset(), status).splitlines()
    assert lines[-1] == "incomplete: 1 lookup failed (use --allow-incomplete to accept)"
    assert '"incomplete": true' in render_json(report, frozenset(), status)
    assert model.unchecked(report) == ()
    assert passes == [1]
    # A report made anew (the same fields) asks again: the outcomes are the instance's.
    assert model.is_incomplete(msgspec.structs.replace(report)) and passes == [1, 1]
