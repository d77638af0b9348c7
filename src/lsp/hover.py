"""Hover text for one dependency: status, meaning, reason, index, versions, alternatives (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.findings.kinds import STATUS_MEANING
from sbom_enrich.manifests import ParsedManifest, Requirement, Span
from sbom_enrich.status.maintenance import MaintenanceVerdict
from sbom_enrich.status.model import ProjectStatus, StatusRecord, format_rfc3339
from sbom_enrich.status.untrusted import clean_text, escape_markdown
from sbom_enrich.status.urls import project_page_link, redact_url

from .diagnostics import installed_from


def _contains(span: Span | None, line: int, column: int) -> bool:
    return span is not None and span.line == line and span.start <= column <= span.end


def requirement_at(manifest: ParsedManifest, line: int, column: int) -> Requirement | None:
    """The requirement whose name (preferred), version or text covers a code-point position.

    A lock entry's version is on a line of its own: hovering it is hovering its package (a
    requirement's version lies inside its text, which already counts).
    """
    for requirement in manifest.requirements:
        if _contains(requirement.name_span, line, column):
            return requirement
    for requirement in manifest.requirements:
        if _contains(requirement.version_span, line, column) or _contains(
            requirement.text_span, line, column
        ):
            return requirement
    return None


def hover_span(requirement: Requirement, line: int, column: int) -> Span:
    """What a hover at a code-point position marks: the lock entry's version when that is what
    the position is on, else the name (also for a requirement's version, as always)."""
    version = requirement.version_span
    if (
        version is not None
        and version.line != requirement.name_span.line
        and _contains(version, line, column)
    ):
        return version
    return requirement.name_span


def _safe(text: str, limit: int = 500) -> str:
    """Index- or user-supplied text, made inert for Markdown."""
    return escape_markdown(clean_text(text, limit=limit))


def hover_markdown(
    requirement: Requirement,
    record: StatusRecord | None,
    alternatives: Sequence[Alternative] = (),
    *,
    ignored_by_setting: bool = False,
    maintenance: MaintenanceVerdict | None = None,
    not_checked: str | None = None,
) -> str:
    """Markdown for a hover on ``requirement``; every untrusted string is escaped.

    ``not_checked``: why nothing could be looked up (the status client could not be built),
    said instead of "in progress" when there is no record.
    """
    name = _safe(requirement.name, 200)
    remote = requirement.remote is not None
    if requirement.url and not remote:
        return (
            f"**{name}** is installed from {_safe(requirement.url, 200)}, a file or folder on "
            "this disk: sbom-enrich does not look up its status."
        )
    if requirement.source and not remote:
        return (
            f"**{name}** comes from {_safe(requirement.source, 200)}, not from the index: "
            "sbom-enrich does not look up its status."
        )
    lines: list[str] = []
    if record is None and not_checked is not None:
        lines.append(f"**{name}** — not checked: {_safe(not_checked, 300)}")
    elif record is None:
        lines.append(f"**{name}** — status not known yet (the index lookup is in progress).")
    else:
        status = record.status
        meaning = STATUS_MEANING.get(status, "")
        if remote:
            lines += [
                f"**{name}** is installed from {installed_from(requirement)}; the index's status "
                f"of this name: **{escape_markdown(status.value)}**: {meaning}.",
                "",
                "The index's project of this name may be another one: only a quarantine is "
                "about what is installed here (the only status that fails `sbom-enrich check` "
                "for it), and the index's versions say nothing about its files.",
            ]
        else:
            lines.append(f"**{name}** — **{escape_markdown(status.value)}**: {meaning}.")
        if record.reason:
            lines += ["", f"Reason given by the index: {_safe(record.reason)}"]
        if record.error:
            lines += ["", f"Lookup failed: {_safe(record.error, 200)}"]
        facts_lines = [f"- Index: {_safe(redact_url(record.index_url), 300)}"]
        if record.latest_version:
            latest = f"- Latest version: {_safe(record.latest_version, 100)}"
            if record.latest_upload is not None:
                latest += f" (uploaded {record.latest_upload.date().isoformat()})"
            facts_lines.append(latest)
        checked = f"- Checked: {format_rfc3339(record.checked_at)}"
        if record.stale:
            checked += " (cached answer, being refreshed)"
        facts_lines.append(checked)
        pinned = requirement.pinned_version if not remote else None
        if pinned and status not in (ProjectStatus.NOT_FOUND, ProjectStatus.QUARANTINED):
            facts = record.version_facts(pinned)
            version = _safe(pinned, 100)
            if facts.yanked:
                why = _safe(facts.yank_reason) if facts.yank_reason else "no reason given"
                facts_lines.append(f"- Pinned version {version} is **yanked**: {why}")
            elif facts.missing:
                facts_lines.append(f"- Pinned version {version} is **not listed** by the index")
        lines += ["", *facts_lines]
    if maintenance is not None and not remote:  # a namesake's repository: not this line's
        evidence = "; ".join(maintenance.evidence)
        lines += [
            "",
            f"Maintenance (repository and release age): **{maintenance.verdict.value}** — "
            f"{_safe(evidence, 400)}",
        ]
    if requirement.ignored or ignored_by_setting:
        how = (
            f"a `# sbom-enrich: ignore[{requirement.canonical_name}]` comment"
            if requirement.ignored
            else "the `ignore` setting"
        )
        lines += ["", f"Diagnostics for this dependency are silenced by {how}."]
    if alternatives:
        lines += ["", "Suggested alternatives:"]
        for alternative in alternatives:
            label = _safe(alternative.name, 100)
            label = f"`{alternative.name}` (standard library)" if alternative.stdlib else label
            lines.append(f"- **{label}** — {_safe(alternative.rationale, 200)}")
            if alternative.source == "maintainers":
                lines[-1] = f"- **{label}** — recommended by its maintainers"
    if record is not None:
        link = project_page_link(record.index_url, requirement.canonical_name)
        lines += ["", f"[Project page]({link.replace(')', '%29')})"]
    return "\n".join(lines)
