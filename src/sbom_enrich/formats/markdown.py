"""The Markdown summary, fit for a GitHub step summary; every index-supplied text escaped."""

from __future__ import annotations

import re

from ..findings.model import (
    OTHER_INDEX,
    ExitCode,
    Finding,
    OtherIndex,
    Report,
    is_incomplete,
    noteworthy_findings,
    plural,
    status_note,
)
from ..status.model import ProjectStatus
from ..status.untrusted import clean_text, escape_markdown, markdown_link, visible_text
from .text import (
    alternatives_text,
    how_it_got_here,
    index_problems,
    missed,
    off_index_sources,
    verdict_line,
)

#: Rows in the Markdown table at most (a GitHub step summary holds 1 MiB).
MAX_MARKDOWN_ROWS = 500


def _md(text: object, limit: int = 200) -> str:
    return escape_markdown(clean_text(text, limit))


def _code(text: object, *, in_table: bool = False) -> str:
    """``text`` (a file name, a location) as a code span nothing in it can close.

    A file name may hold backticks: wrapped in single ones, ``x`<img src=…>.txt`` ended the
    span and its HTML reached the page. The fence is one backtick longer than any run inside
    (CommonMark); in a table a "|" would still end the cell, so it is escaped there.
    """
    cleaned = clean_text(text, 200)
    if in_table:
        cleaned = cleaned.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", cleaned)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if cleaned.startswith("`") or cleaned.endswith("`") else ""
    return f"{fence}{pad}{cleaned}{pad}{fence}"


def _verdict(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    if exit_status is ExitCode.POLICY:
        names = sorted({v.violation_label(fail_on) for v in report.violations(fail_on)})
        return f"❌ **Policy failed** (fail on: {', '.join(sorted(fail_on))}): " + ", ".join(
            _md(n, 120) for n in names
        )
    if exit_status is ExitCode.INCOMPLETE:
        return f"⚠️ **Incomplete**: {_md(verdict_line(report, fail_on, exit_status), 2000)}"
    verdict = (
        f"✅ **Policy passed** (fail on: {', '.join(sorted(fail_on))})"
        if fail_on
        else "ℹ️ No policy (fail on: none)"
    )
    if is_incomplete(report):
        # --allow-incomplete: accepted, never shown as a complete check.
        shown = _md("; ".join(missed(report)), 2000)
        return f"{verdict}, ⚠️ **but incomplete** (accepted with --allow-incomplete): {shown}"
    return verdict


def render_markdown(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    """A summary fit for ``$GITHUB_STEP_SUMMARY``; every index-supplied text is escaped."""
    counts = report.counts()
    if report.kind == "manifests":
        subject = f"{plural(report.entries, 'requirement')} in {plural(len(report.files), 'file')}"
    else:
        source = f" in {_code(report.source)}" if report.source else ""
        subject = f"{plural(len(report.findings), 'PyPI component')}{source}"
    lines = [
        "## sbom-enrich: project status",
        "",
        f"{_verdict(report, fail_on, exit_status)}",
        "",
        f"{subject} ({plural(report.projects, 'project')}) checked against "
        f"{markdown_link(report.index_url)}{_others(report)}.",
        "",
        *(_other_index_item(other) for other in report.other_indexes),
        *([""] if report.other_indexes else []),
        "| " + " | ".join(s.value for s in ProjectStatus) + " | yanked | version not listed |",
        "|" + "---:|" * (len(ProjectStatus) + 2),
        "| "
        + " | ".join(str(counts.get(s.value, 0)) for s in ProjectStatus)
        + f" | {report.yanked} | {report.missing} |",
        "",
    ]
    if off_index := report.off_index:
        # The tally counts them under their status, which may be a namesake's: say so.
        lines[-1:-1] = [
            "",
            f"Of these, {off_index} installed {_md(off_index_sources(report), 200)}: the "
            "configured index's status of the name each installs (only a quarantine fails "
            "the policy).",
        ]
    noteworthy = noteworthy_findings(report, fail_on)
    shared, noteworthy = index_problems(noteworthy)
    if shared:
        # One line per problem many lookups share (an index down), not one row per component.
        lines += ["### Lookups that failed the same way", ""]
        lines += [f"- {_md(line.strip(), 1000)}" for line in shared]
        lines.append("")
    if noteworthy:
        located = report.kind == "manifests"
        header = ["Dependency", "Version", "Status", "Reason", "Alternatives"]
        if located:
            header.append("Where")
        lines += ["### Not plainly active", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for finding in noteworthy[:MAX_MARKDOWN_ROWS]:
            row = [
                _md(visible_text(finding.name, 100), 100),
                _md(finding.version or "", 60),
                _status_cell(finding, fail_on),
                _reason_cell(finding),
                _md(_alternatives_cell(finding), 400),
            ]
            if located:
                row.append(_code(str(finding.location or ""), in_table=True))
            lines.append("| " + " | ".join(row) + " |")
        if len(noteworthy) > MAX_MARKDOWN_ROWS:
            lines.append("")
            lines.append(f"… and {len(noteworthy) - MAX_MARKDOWN_ROWS} more (see the JSON report).")
        lines.append("")
    if report.problems:
        heading = (
            "Components left unchanged"
            if report.kind == "sbom"
            else "Lines that could not be checked"
        )
        lines += [f"### {heading}", ""]
        lines += [
            f"- {_code(str(p.location))} {p.code}: {_md(p.message)}"
            for p in report.problems[:MAX_MARKDOWN_ROWS]
        ]
        lines.append("")
    if report.ignored:
        lines += ["### Ignored", "", "| Dependency | Version | Status | Why | Until |"]
        lines.append("|---|---|---|---|---|")
        for ignored in report.ignored[:MAX_MARKDOWN_ROWS]:
            cells = [
                _md(ignored.name, 100),
                _md(ignored.version or "", 60),
                ignored.status or "not checked",
                _md(ignored.reason),
                _md(ignored.until or "", 40),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if report.warnings:
        lines += [f"> ⚠️ {_md(w, 300)}" for w in report.warnings]
        lines.append("")
    return "\n".join(lines)


def _others(report: Report) -> str:
    count = len(report.other_indexes)
    return f" and {plural(count, 'other index', 'other indexes')}" if count else ""


def _other_index_item(other: OtherIndex) -> str:
    """One list item per index asked besides the configured one, with what it answered for."""
    why = "a lock file names it" if other.named_by == "lock" else "`--allow-index`"
    names = ", ".join(_md(name, 100) for name in other.projects[:MAX_MARKDOWN_ROWS])
    more = len(other.projects) - MAX_MARKDOWN_ROWS
    if more > 0:
        names += f" and {more} more"
    return f"- Also asked: {_code(other.url)} ({why}) for {names}"


def _status_cell(finding: Finding, fail_on: frozenset[str]) -> str:
    words = [f"**{finding.status.value}**" if finding.violates(fail_on) else finding.status.value]
    if finding.yanked:
        words.append("version yanked")
    if finding.facts and finding.facts.missing:
        words.append("version not listed")
    return ", ".join(words)


def _reason_cell(finding: Finding) -> str:
    parts = []
    if finding.off_index == OTHER_INDEX:
        parts.append(
            "off-index (index): the configured index's status of this name, which the lock "
            "installs from another index"
        )
    elif finding.off_index:
        parts.append(f"off-index ({_md(finding.off_index, 20)}): the index's status of this name")
    if finding.record.reason:
        parts.append(_md(finding.record.reason))
    if finding.yanked and finding.facts and finding.facts.yank_reason:
        parts.append("yanked: " + _md(finding.facts.yank_reason, 120))
    if finding.record.error:
        parts.append("lookup failed: " + _md(finding.record.error))
    if (note := status_note(finding.record)) is not None:
        parts.append(_md(note))
    if finding.direct is not None:
        parts.append(_md(how_it_got_here(finding), 300))
    if finding.build_tool:
        parts.append(f"a build tool ({_md(finding.build_tool, 40)})")
    if finding.maintenance is not None and finding.maintenance_kind is not None:
        evidence = "; ".join(finding.maintenance.evidence)
        parts.append(f"maintenance: {finding.maintenance.verdict.value} ({_md(evidence, 300)})")
    return "; ".join(parts)


def render(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    """The Markdown report file."""
    return render_markdown(report, fail_on, exit_status)


def _alternatives_cell(finding: Finding) -> str:
    """The catalog's alternatives, then those the project's maintainers recommend."""
    cell = alternatives_text(finding)
    recommended = alternatives_text(finding, catalog=False)
    if recommended:
        cell = f"{cell}; " if cell else ""
        cell += f"recommended by its maintainers: {recommended}"
    return cell
