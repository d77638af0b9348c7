"""SARIF 2.1.0 for code scanning: one rule per finding kind, results located where known."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import PROJECT_URL, __version__
from ..findings.graph import elided_steps
from ..findings.kinds import (
    INVALID_REQUIREMENT,
    KINDS_BY_CODE,
    SARIF_KINDS,
    VERSION_MISSING,
    YANKED,
    FindingKind,
)
from ..findings.model import ExitCode, Finding, Report
from ..status.model import ProjectStatus
from ..status.untrusted import clean_text
from ..status.urls import redact_purl
from .json import clean_json
from .text import finding_line

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


# Rules, their levels and help come from the one kinds table; a result that fails the run's
# --fail-on policy is raised to "error" whatever its rule's default.
RULES: Mapping[str, FindingKind] = {kind.rule_id: kind for kind in SARIF_KINDS}
_RULE_INDEX = {rule_id: index for index, rule_id in enumerate(RULES)}
_PROBLEM_RULE = KINDS_BY_CODE[INVALID_REQUIREMENT]


def _problem_rule(code: str) -> FindingKind:
    """A problem's SARIF rule: its own when the kinds table gives it one (invalid-component),
    else the rule it is reported as (the manifest problems share invalid-requirement's)."""
    kind = KINDS_BY_CODE.get(code)
    if kind is None:
        return _PROBLEM_RULE
    if kind.reported_as is not None:
        return KINDS_BY_CODE[kind.reported_as]
    return kind if kind.rule_id in RULES else _PROBLEM_RULE


def _rule_json(rule: FindingKind) -> dict[str, Any]:
    return {
        "id": rule.rule_id,
        "name": rule.sarif_name,
        "shortDescription": {"text": rule.sarif_short},
        "fullDescription": {"text": rule.sarif_full},
        "helpUri": rule.help_uri,
        "help": {"text": f"{rule.sarif_full} See {rule.help_uri}"},
        "defaultConfiguration": {"level": rule.sarif_level},
        "properties": {"tags": ["supply-chain", "dependencies"]},
    }


def _finding_rules(finding: Finding) -> list[str]:
    rules = []
    if finding.status is not ProjectStatus.ACTIVE:
        rules.append(KINDS_BY_CODE[finding.status.value].rule_id)
    if finding.yanked:
        rules.append(KINDS_BY_CODE[YANKED].rule_id)
    if finding.facts and finding.facts.missing:
        rules.append(KINDS_BY_CODE[VERSION_MISSING].rule_id)
    if finding.maintenance_kind is not None:
        rules.append(KINDS_BY_CODE[finding.maintenance_kind].rule_id)
    return rules


def _physical(path: str, line: int, column: int | None, end: int | None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line}
    if column is not None:
        region["startColumn"] = column
        if end is not None and end > column:
            region["endColumn"] = end
    return {"physicalLocation": {"artifactLocation": {"uri": path}, "region": region}}


def _result(
    rule_id: str, finding: Finding, report: Report, fail_on: frozenset[str]
) -> dict[str, Any]:
    import hashlib  # here, not at the top: ~3 ms of every start, for SARIF output alone

    rule = RULES[rule_id]
    message = finding_line(finding).strip()
    location: dict[str, Any] = {}
    if finding.location is not None:
        loc = finding.location
        location = _physical(loc.path, loc.line, loc.column, loc.end_column)
    elif report.source:
        location = _physical(report.source, 1, None, None)
    purl, bom_ref = redact_purl(finding.purl), redact_purl(finding.bom_ref)  # no credentials
    if purl or bom_ref:
        logical: dict[str, Any] = {"kind": "package"}
        logical["name"] = bom_ref or purl
        if purl:
            logical["fullyQualifiedName"] = purl
        location["logicalLocations"] = [logical]
    level = "error" if _fails(rule_id, finding, fail_on) else rule.sarif_level
    if finding.off_index is not None and level != "error":
        # The index's status of a name installed from a URL or VCS may be a namesake's: a
        # note, as the editor shows it, never the warning its rule gives the project's own.
        level = "note"
    where = str(finding.location or finding.bom_ref or finding.purl or "")
    fingerprint = hashlib.sha256(
        f"{rule_id}|{finding.record.name}|{finding.version or ''}|{where}".encode()
    ).hexdigest()[:32]
    optional = {"version": finding.version, "purl": purl, "bom-ref": bom_ref}
    properties: dict[str, Any] = {
        "project": finding.record.name,
        "status": finding.status.value,
        **{key: value for key, value in optional.items() if value},
    }
    if finding.alternatives:
        properties["alternatives"] = [a.name for a in finding.alternatives]
    if finding.maintenance is not None:
        properties["maintenance"] = finding.maintenance.verdict.value
    if finding.direct is not None:
        properties["direct"] = finding.direct
    if finding.off_index is not None:
        properties["off_index"] = finding.off_index
    if finding.build_tool is not None:
        properties["build_tool"] = finding.build_tool
    result = {
        "ruleId": rule_id,
        "ruleIndex": _RULE_INDEX[rule_id],
        "level": level,
        "message": {"text": message},
        "locations": [location] if location else [],
        "partialFingerprints": {"sbomEnrichFinding/v1": fingerprint},
        "properties": properties,
    }
    if finding.via:
        result["relatedLocations"] = _chain_locations(finding)
    return result


def _chain_locations(finding: Finding) -> list[dict[str, Any]]:
    """Each package on the chain that pulls ``finding`` in, where it is written (SARIF 3.27.22)."""
    related = []
    step_number = 0  # counts the steps a long chain's "… N more" stands for
    for position, step in enumerate(finding.via[:-1]):
        where: dict[str, Any] = {}
        if step.location is not None:
            loc = step.location
            where = _physical(loc.path, loc.line, loc.column, loc.end_column)
        where["id"] = position
        where["message"] = {"text": f"{clean_text(step.name, 100)} (step {step_number + 1})"}
        related.append(where)
        step_number += elided_steps(step.name) or 1
    return related


def _fails(rule_id: str, finding: Finding, fail_on: frozenset[str]) -> bool:
    """True when this result's own condition is one the policy fails on."""
    if finding.off_index is not None:  # only a quarantine of the name: Finding.violates
        status_rule = KINDS_BY_CODE[finding.status.value].rule_id
        return rule_id == status_rule and finding.violates(fail_on)
    if rule_id == KINDS_BY_CODE[YANKED].rule_id:
        return YANKED in fail_on
    kind = finding.maintenance_kind
    if kind is not None and rule_id == KINDS_BY_CODE[kind].rule_id:
        return kind in fail_on
    status_rule = KINDS_BY_CODE[finding.status.value].rule_id
    return rule_id == status_rule and finding.status.value in fail_on


def render_sarif(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, one rule per status and per version signal."""
    results = []
    seen: set[tuple[str, str, str | None, str]] = set()
    for finding in report.findings:
        for rule_id in _finding_rules(finding):
            key = (rule_id, finding.record.name, finding.version, str(finding.location))
            if key in seen:
                continue
            seen.add(key)
            results.append(_result(rule_id, finding, report, fail_on))
    for problem in report.problems:
        loc = problem.location
        rule = _problem_rule(problem.code)
        results.append(
            {
                "ruleId": rule.rule_id,
                "ruleIndex": _RULE_INDEX[rule.rule_id],
                "level": rule.sarif_level,
                "message": {"text": clean_text(f"{problem.code}: {problem.message}", 500)},
                "locations": [_physical(loc.path, loc.line, loc.column, loc.end_column)],
            }
        )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "sbom-enrich",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": PROJECT_URL,
                "rules": [_rule_json(rule) for rule in RULES.values()],
            }
        },
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                # An incomplete run did not complete its analysis (exit 3).
                "executionSuccessful": exit_status not in (ExitCode.USAGE, ExitCode.INCOMPLETE),
                "exitCode": int(exit_status),
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": clean_text(w, 500)}}
                    for w in report.warnings
                ],
            }
        ],
        "results": results,
        "properties": {
            "index": report.index_url,
            "otherIndexes": [
                {"index": other.url, "namedBy": other.named_by, "projects": list(other.projects)}
                for other in report.other_indexes
            ],
            "failOn": sorted(fail_on),
            "ignored": [
                {"name": i.name, "version": i.version, "reason": i.reason, "until": i.until}
                for i in report.ignored
            ],
        },
    }
    # Names, versions, paths and ignore reasons come from input files: cleaned like every text.
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return clean_json(sarif)  # type: ignore[no-any-return]


def render(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    """The SARIF report file, indented, newline-terminated."""
    return json.dumps(render_sarif(report, fail_on, exit_status), indent=2) + "\n"
