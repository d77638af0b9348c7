"""The JSON summary (``--summary-json``): stable keys, additions only."""

from __future__ import annotations

import json
from typing import Any

from ..findings.model import ExitCode, Finding, Report, is_incomplete, status_note
from ..status.model import ProjectStatus, format_rfc3339
from ..status.untrusted import clean_text, visible_text
from ..status.urls import redact_purl
from .text import missed

#: Keys whose values identify an input item and are echoed verbatim (JSON escapes controls).
_VERBATIM_KEYS = frozenset({"purl", "bom_ref"})
MAX_JSON_TEXT = 1000


def clean_json(value: Any) -> Any:
    """``value`` with every string in it made safe to print, except the input's own
    identifiers (:data:`_VERBATIM_KEYS`): a report is read by people and by tools that print it.

    A printable string is data and stays as it is (C speed, and no folding of a file name's
    spaces); any other goes through :func:`clean_text`. Keys are this module's own.
    """
    if type(value) is str:
        if value.isprintable() and len(value) <= MAX_JSON_TEXT:
            return value
        return clean_text(value, MAX_JSON_TEXT)
    if type(value) is dict:
        return {
            k: v if k in _VERBATIM_KEYS or v is None or v is True or v is False else clean_json(v)
            for k, v in value.items()
        }
    if type(value) is list:
        return [clean_json(item) for item in value]
    return value


def finding_json(finding: Finding) -> dict[str, Any]:
    facts = finding.facts
    record = finding.record
    return {
        # As written, with any control character shown as its escape (evil\x00, never
        # "evil": clean_json drops them, and the name read as another, valid one).
        "name": visible_text(finding.name, MAX_JSON_TEXT),
        "project": record.name,
        "version": finding.version,
        "purl": redact_purl(finding.purl),
        "bom_ref": redact_purl(finding.bom_ref),
        "subject": finding.subject,
        "status": record.status.value,
        "reason": record.reason,
        "index": record.index_url,
        "checked_at": format_rfc3339(record.checked_at),
        "from_cache": record.from_cache,
        "stale": record.stale,
        "yanked": bool(facts and facts.yanked),
        "yank_reason": facts.yank_reason if facts else None,
        "version_missing": bool(facts and facts.missing),
        "latest_version": record.latest_version,
        "latest_upload": format_rfc3339(record.latest_upload) if record.latest_upload else None,
        "lookup_error": record.error,
        "status_note": status_note(record),
        "api_version": record.api_version,
        "alternatives": [
            {"name": a.name, "rationale": a.rationale, "stdlib": a.stdlib, "source": a.source}
            for a in finding.alternatives
        ],
        # The second signal (--maintenance), never mixed into "status"; null when not asked.
        "maintenance": finding.maintenance.to_json() if finding.maintenance else None,
        "location": finding.location.to_json() if finding.location else None,
        "direct": finding.direct,
        "via": [step.name for step in finding.via],
        # "url" or "git": installed from there, not the index; "status" is the index's word
        # on the name it installs ("index": from an index a lock names, and this is the
        # configured index's word, given when it is a quarantine or a failed lookup).
        "off_index": finding.off_index,
        # "metadata.tools" or "formulation": it built the product (an SBOM's), no dependency.
        "build_tool": finding.build_tool,
    }


def render_json(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> dict[str, Any]:
    """The ``--summary-json`` document (stable keys; additions only), every text cleaned."""
    return clean_json(_json_document(report, fail_on, exit_status))  # type: ignore[no-any-return]


def _json_document(
    report: Report, fail_on: frozenset[str], exit_status: ExitCode
) -> dict[str, Any]:
    return {
        "index": report.index_url,
        "elapsed_seconds": round(report.elapsed, 3),
        "counts": {s.value: report.counts().get(s.value, 0) for s in ProjectStatus},
        "yanked": report.yanked,
        "version_missing": report.missing,
        "skipped": report.skipped,
        # Of the counts above: names installed from a URL or VCS, whose status is the index's
        # word on the name (a namesake's, maybe); each component says so ("off_index").
        "off_index": report.off_index,
        # Why each skipped one was (check: the file, line and column, and what it installs).
        "skipped_reasons": list(report.skipped_reasons),
        "not_pypi": report.other_components,
        "fail_on": sorted(fail_on),
        "violations": [finding_json(f) for f in report.violations(fail_on)],
        "incomplete": is_incomplete(report),
        # Every cause, as the text verdict gives them: failed lookups and problems too (an
        # "incomplete": true with no reason told a dashboard nothing).
        "incomplete_reasons": missed(report),
        "exit_code": int(exit_status),
        "components": [finding_json(f) for f in report.findings],
        "kind": report.kind,
        "source": report.source,
        "files": list(report.files),
        "problems": [
            {"message": p.message, "code": p.code, "location": p.location.to_json()}
            for p in report.problems
        ],
        "ignored": [
            {
                "name": i.name,
                "version": i.version,
                "status": i.status,
                "reason": i.reason,
                "until": i.until,
                "location": i.location.to_json() if i.location else None,
            }
            for i in report.ignored
        ],
        "warnings": list(report.warnings),
        # The indexes asked besides "index" (check: those lock files name), and for what.
        "other_indexes": [
            {"index": other.url, "named_by": other.named_by, "projects": list(other.projects)}
            for other in report.other_indexes
        ],
    }


def render(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    """The JSON report file, indented, newline-terminated."""
    return json.dumps(render_json(report, fail_on, exit_status), indent=2) + "\n"
