"""The human summary: a few lines on stderr, the same text in a report file."""

from __future__ import annotations

from typing import Any

from ..findings.graph import chain_length
from ..findings.model import (
    OTHER_INDEX,
    PROJECT_ITSELF,
    SBOM_SUBJECT,
    ExitCode,
    Finding,
    Ignored,
    OtherIndex,
    Report,
    cannot_express_status,
    is_incomplete,
    noteworthy_findings,
    plural,
    unchecked,
)
from ..status.model import STATUS_TEXT, ProjectStatus, StatusRecord, is_project_name
from ..status.untrusted import clean_text, visible_text

MAX_SUMMARY_LINES = 50


def _age(record: StatusRecord, now: Any) -> str:
    seconds = max(0.0, (now - record.checked_at).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def finding_line(finding: Finding) -> str:
    """One terminal-safe line for a noteworthy finding."""
    parts = [visible_text(finding.name, 100)]
    if finding.version:
        parts.append(clean_text(finding.version, 60))
    parts.append(finding.status.value)
    if finding.off_index == OTHER_INDEX:
        parts.append(
            "off-index (index): the configured index's status of this name, which the lock "
            "installs from another index"
        )
    elif finding.off_index:
        parts.append(f"off-index ({finding.off_index}): the index's status of this name")
    if finding.yanked:
        reason = finding.facts.yank_reason if finding.facts else None
        parts.append(f"version yanked ({clean_text(reason, 120)})" if reason else "version yanked")
    if finding.facts and finding.facts.missing:
        parts.append("version not listed by the index")
    if finding.record.reason:
        parts.append(f"reason: {clean_text(finding.record.reason, 200)}")
    elif cannot_express_status(finding.record):
        parts.append("the index cannot express project status")
    if finding.record.error:
        parts.append(f"lookup failed: {clean_text(finding.record.error, 200)}")
    if finding.maintenance is not None and finding.maintenance.verdict.value != "active":
        evidence = "; ".join(finding.maintenance.evidence)
        parts.append(
            f"maintenance: {finding.maintenance.verdict.value} ({clean_text(evidence, 300)})"
        )
    catalog = [a.name for a in finding.alternatives if a.source != "maintainers"]
    maintainers = [a.name for a in finding.alternatives if a.source == "maintainers"]
    if catalog:
        parts.append("alternatives: " + alternatives_text(finding, catalog=True))
    if maintainers:
        parts.append("recommended by its maintainers: " + alternatives_text(finding, catalog=False))
    if finding.subject:
        parts.append("the SBOM's own subject (metadata.component)")
    if finding.build_tool:
        parts.append(f"a build tool ({finding.build_tool})")
    if finding.direct is not None:
        parts.append(how_it_got_here(finding))
    return "  " + " · ".join(parts)


#: Steps of a chain shown in a line before the middle is elided.
MAX_CHAIN_SHOWN = 8


def how_it_got_here(finding: Finding) -> str:
    """The finding as direct, or transitive with its chain: ``transitive: app → a → b``."""
    if finding.direct:
        return "direct dependency"
    if finding.via:
        names = [clean_text(step.name, 100) for step in finding.via]
        if len(names) > MAX_CHAIN_SHOWN:  # the JSON report keeps every step (up to 32)
            hidden = chain_length(step.name for step in finding.via) - (MAX_CHAIN_SHOWN - 1)
            names = [*names[:3], f"… {hidden} more", *names[-(MAX_CHAIN_SHOWN - 4) :]]
        return "transitive: " + " → ".join(names)
    return "transitive"


def alternatives_text(finding: Finding, *, catalog: bool = True) -> str:
    """``pytest, unittest (standard library)``: a standard-library module is said to be one.

    ``catalog``: the curated catalog's entries; else those the project's maintainers
    recommend (``--maintenance``), which the summary shows apart.
    """
    return ", ".join(
        f"{clean_text(a.name, 80)} (standard library)" if a.stdlib else clean_text(a.name, 80)
        for a in finding.alternatives
        if (a.source == "maintainers") is not catalog
    )


def _direct_and_transitive(noteworthy: list[Finding]) -> str | None:
    """``  not plainly active: 3 direct, 12 transitive dependencies`` when the input says."""
    direct = sum(1 for f in noteworthy if f.direct is True)
    transitive = sum(1 for f in noteworthy if f.direct is False)
    if not direct and not transitive:
        return None
    return (
        f"  not plainly active: {direct} direct, {transitive} transitive (by the dependency graph)"
    )


def cannot_express_line(report: Report, silent: list[StatusRecord]) -> str:
    """Why some projects are unknown without a failed lookup, in words: what the index sent."""
    # Only here: the page-format module (and html.parser under it) is ~5 ms of every start.
    from ..status.simple_api import STATUS_API_VERSION, parse_api_version

    sent = sorted({clean_text(r.api_version, 40) for r in silent if r.api_version})
    said = []
    if any(r.api_version is None for r in silent):
        said.append("it sends no Simple API version")
    if sent:
        said.append(f"it speaks Simple API {', '.join(sent)}")
    count = f"{len(silent)} {'project is' if len(silent) == 1 else 'projects are'}"
    line = (
        f"  {count} unknown because the index cannot express project status: "
        f"{' and '.join(said)}, and PEP 792 status markers need 1.4"
    )
    # A mirror that serves old pages is a guess worth making only when the same index answered
    # other projects at 1.4 or later; an index that is old throughout is just old.
    indexes = {r.index_url for r in silent}
    if any(
        (api := parse_api_version(f.record.api_version)) is not None
        and api >= STATUS_API_VERSION
        and f.record.index_url in indexes
        for f in report.findings
    ):
        line += " (its other pages speak 1.4 or later: a mirror that serves some old pages?)"
    return line


def shown_project(finding: Finding) -> str:
    """The project a finding names, for a line about many: its canonical name, or, when the
    name is no valid project name (nothing was asked), the name as written — canonical,
    ``.evil`` read ``-evil``, a name someone may own."""
    if is_project_name(finding.name):
        return clean_text(finding.record.name, 100)
    return visible_text(finding.name, 100)


#: Projects named on one line for a problem many share; the rest are counted.
MAX_NAMES_PER_PROBLEM = 5


def index_problems(findings: list[Finding]) -> tuple[list[str], list[Finding]]:
    """One line per problem that several lookups share (an index down, a refused certificate,
    a redirect policy), and the findings that still need a line of their own."""
    by_problem: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.record.error:
            by_problem.setdefault((finding.record.index_url, finding.record.error), []).append(
                finding
            )
    lines: list[str] = []
    grouped: set[int] = set()
    for (index, error), group in by_problem.items():
        names = sorted({shown_project(f) for f in group})
        if len(names) < 2:
            continue
        grouped.update(id(f) for f in group)
        shown = ", ".join(names[:MAX_NAMES_PER_PROBLEM])
        if len(names) > MAX_NAMES_PER_PROBLEM:
            shown += f" and {len(names) - MAX_NAMES_PER_PROBLEM} more"
        lines.append(
            f"  lookup failed for {len(names)} projects on {clean_text(index, 300)}: "
            f"{clean_text(error, 300)} ({shown})"
        )
    return lines, [f for f in findings if id(f) not in grouped]


#: (answers from the cache, of them stale, the oldest of them) of a summary's findings.
CacheTally = tuple[int, int, StatusRecord | None]


def _tally(
    findings: tuple[Finding, ...],
) -> tuple[dict[str, int], int, int, int, list[StatusRecord], CacheTally, list[Finding]]:
    """(count by status, distinct projects, yanked, version not listed, the unknown records,
    what came from the cache, the findings that may be noteworthy) in one pass: what Report's
    tallies, the summary's own lists and ``noteworthy_findings`` gave, without a pass over
    ten thousand findings (and their records, spread over the heap: most of a pass's cost)
    for each."""
    counts: dict[ProjectStatus, int] = {}
    names: set[str] = set()
    unknown: list[StatusRecord] = []
    noteworthy: list[Finding] = []
    oldest: StatusRecord | None = None
    oldest_at: Any = None
    yanked = missing = cached = stale = 0
    unknown_status = ProjectStatus.UNKNOWN  # once, not once a finding (an enum member's lookup)
    active = ProjectStatus.ACTIVE
    for finding in findings:
        record = finding.record
        status = record.status
        # By member (a str hash, C speed), named once at the end: not a text lookup each.
        counts[status] = counts.get(status, 0) + 1
        names.add(record.name)
        if status is unknown_status:
            unknown.append(record)
        if record.from_cache:
            cached += 1
            stale += record.stale
            # The first of the oldest, as min() gives it.
            at = record.checked_at
            if oldest is None or at < oldest_at:
                oldest, oldest_at = record, at
        facts = finding.facts
        if facts is not None and (facts.yanked or facts.missing):
            yanked += facts.yanked
            missing += facts.missing
            noteworthy.append(finding)
        elif status is not active or finding.maintenance is not None:
            noteworthy.append(finding)  # noteworthy_findings decides (is_noteworthy)
    by_text = {STATUS_TEXT[status]: count for status, count in counts.items()}
    return by_text, len(names), yanked, missing, unknown, (cached, stale, oldest), noteworthy


def render_text(
    report: Report,
    fail_on: frozenset[str],
    exit_status: ExitCode,
    *,
    max_lines: int | None = MAX_SUMMARY_LINES,
) -> str:
    """The human summary: on stderr cut at ``max_lines`` per list, complete in a report file."""
    counts, projects, yanked, missing, unknown, (cached, stale, oldest), candidates = _tally(
        report.findings
    )
    if report.kind == "manifests":
        what = plural(report.entries, "requirement")
        where = f" in {plural(len(report.files), 'file')}"
    else:
        what, where = plural(len(report.findings), "PyPI component"), ""
    others = (
        f" and {plural(len(report.other_indexes), 'other index', 'other indexes')}"
        if report.other_indexes
        else ""
    )
    lines = [
        f"sbom-enrich: {what} ({plural(projects, 'project')}){where} "
        f"checked against {clean_text(report.index_url, 300)}{others} in {report.elapsed:.2f} s"
    ]
    tally = " · ".join(f"{status.value} {counts.get(status.value, 0)}" for status in ProjectStatus)
    extras = [f"yanked {yanked}", f"version not listed {missing}"]
    if remote := sum(f.off_index is not None for f in report.findings):
        extras.append(
            f"off-index {remote} ({off_index_sources(report)}; "
            "their names asked on the configured index, only a quarantine told)"
        )
    if report.skipped:
        extras.append(f"skipped {report.skipped} (direct URL/VCS/local, or another index)")
    if report.other_components:
        extras.append(f"not PyPI {report.other_components}")
    lines.append(f"  {tally}; " + ", ".join(extras))
    lines.extend(other_index_line(other) for other in report.other_indexes)
    lines.extend(_skipped_lines(report))
    # Only unknown answers can be silent: the rest (nearly all) are passed over without a call.
    silent = {r.name: r for r in unknown if cannot_express_status(r)}
    if silent:
        lines.append(cannot_express_line(report, list(silent.values())))
    if oldest is not None:
        note = f"  {cached} answers from the cache (oldest {_age(oldest, report.created_at)})"
        if stale:
            note += f", {stale} of them stale (offline)"
        lines.append(note)
    noteworthy = noteworthy_findings(report, fail_on, candidates)
    if (told := _direct_and_transitive(noteworthy)) is not None:
        lines.append(told)
    located = report.kind == "manifests"
    shared, noteworthy = index_problems(noteworthy)
    lines.extend(shared)
    lines.extend(
        (f"  {clean_text(str(f.location), 200)}:" + finding_line(f)[1:])
        if located and f.location
        else finding_line(f)
        for f in noteworthy[:max_lines]
    )
    lines.extend(_cut(len(noteworthy), max_lines))
    lines.extend(
        f"  {clean_text(str(problem.location), 200)}: {problem.code}: "
        f"{clean_text(problem.message, 200)}"
        for problem in report.problems[:max_lines]
    )
    lines.extend(_cut(len(report.problems), max_lines))
    if report.ignored:
        lines.append(f"ignored {len(report.ignored)}:")
        lines.extend(f"  {ignored_line(i)}" for i in report.ignored[:max_lines])
        lines.extend(_cut(len(report.ignored), max_lines))
    lines.extend(f"warning: {clean_text(w, 300)}" for w in report.warnings)
    lines.append(verdict_line(report, fail_on, exit_status))
    return "\n".join(lines)


def off_index_sources(report: Report) -> str:
    """Where the off-index findings' packages come from, for the tally's note."""
    if any(f.off_index == OTHER_INDEX for f in report.findings):
        return "from a URL, a VCS, find-links or another index"
    return "from a URL, a VCS or find-links"


#: Projects named on an "also asked" line; the rest are counted (all in the JSON report).
MAX_OTHER_INDEX_NAMES = 5


def other_index_line(other: OtherIndex) -> str:
    """``  also asked: URL (a lock file names it) for a, b and 3 more``: an index besides the
    configured one, so no headline names one index while another answered."""
    why = "a lock file names it" if other.named_by == "lock" else "--allow-index"
    names = [clean_text(name, 100) for name in other.projects[:MAX_OTHER_INDEX_NAMES]]
    more = len(other.projects) - MAX_OTHER_INDEX_NAMES
    shown = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return f"  also asked: {clean_text(other.url, 300)} ({why}) for {shown}"


#: Skipped packages named in the summary (all of them are in the reports).
MAX_SKIPPED_NAMED = 3


def _skipped_lines(report: Report) -> list[str]:
    """The first few skipped packages, by name and place: a count alone let a lock hide a
    name behind a path or a URL source where no reviewer looked (the project's own entry,
    which is no dependency, is not named)."""
    named = [r for r in report.skipped_reasons if not r.endswith((PROJECT_ITSELF, SBOM_SUBJECT))]
    if not named:
        return []
    shown = "; ".join(clean_text(reason, 200) for reason in named[:MAX_SKIPPED_NAMED])
    more = len(named) - MAX_SKIPPED_NAMED
    rest = f"; and {more} more (all of them: --report FILE)" if more > 0 else ""
    return [f"  not asked on any index: {shown}{rest}"]


def _cut(total: int, max_lines: int | None) -> list[str]:
    if max_lines is None or total <= max_lines:
        return []
    return [f"  ... and {total - max_lines} more (all of them: --report FILE)"]


#: Violators named on the policy line; the rest are listed above it, violations first.
MAX_POLICY_NAMES = 5


def verdict_line(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    """The last line of the summary, and all that ``-q`` prints: the verdict and its cause."""
    if exit_status is ExitCode.POLICY:
        labels = sorted({v.violation_label(fail_on) for v in report.violations(fail_on)})
        shown = ", ".join(clean_text(label, 160) for label in labels[:MAX_POLICY_NAMES])
        if len(labels) > MAX_POLICY_NAMES:
            shown = (
                f"{plural(len(labels), 'component')}: {shown} "
                f"and {len(labels) - MAX_POLICY_NAMES} more (listed above)"
            )
        return f"policy: FAILED (--fail-on {','.join(sorted(fail_on))}): {shown}"
    if exit_status is ExitCode.INCOMPLETE:
        return f"incomplete: {'; '.join(missed(report))} (use --allow-incomplete to accept)"
    verdict = "policy: passed" if fail_on else "policy: none"
    if is_incomplete(report):
        # --allow-incomplete: accepted, never passed off as a complete check.
        return f"{verdict}, but incomplete (accepted): {'; '.join(missed(report))}"
    return verdict


def missed(report: Report) -> list[str]:
    """What a run could not check, one plain phrase each: the incomplete verdict's cause."""
    found = []
    if failed := report.failed_lookups:  # a pass over every finding: once
        found.append(f"{plural(len(failed), 'lookup')} failed")
    if report.problems:
        what = "component left unchanged" if report.kind == "sbom" else "manifest problem"
        many = "components left unchanged" if report.kind == "sbom" else "manifest problems"
        found.append(plural(len(report.problems), what, many))
    found.extend(clean_text(reason, 300) for reason in unchecked(report))
    return found


def ignored_line(ignored: Ignored) -> str:
    """One terminal-safe line saying what was ignored and why."""
    parts = [clean_text(ignored.name, 100)]
    if ignored.version:
        parts.append(clean_text(ignored.version, 60))
    if ignored.status:
        parts.append(ignored.status)
    parts.append(f"reason: {clean_text(ignored.reason, 200)}")
    if ignored.until:
        parts.append(f"until {clean_text(ignored.until, 40)}")
    text = " · ".join(parts)
    return f"{clean_text(str(ignored.location), 200)}: {text}" if ignored.location else text


def render(report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
    """The text report file: the summary, newline-terminated."""
    return render_text(report, fail_on, exit_status, max_lines=None) + "\n"
