"""What the monitor shows: the inventory, what is adverse now per project, the history (pure)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..status.maintenance import Maintenance, MaintenanceVerdict
from ..status.model import ProjectStatus, StatusRecord, format_rfc3339
from ..status.untrusted import clean_text
from .indexes import IndexRules
from .model import PassStats, Source, Transition, UsageRef, WatchKey

__all__ = [
    "Adverse",
    "adverse_now",
    "history_json",
    "history_text",
    "inventory_json",
    "inventory_text",
    "readd_warning",
    "status_json",
    "status_markdown",
    "status_text",
]

ADVERSE_STATUSES = frozenset(
    {
        ProjectStatus.ARCHIVED,
        ProjectStatus.DEPRECATED,
        ProjectStatus.QUARANTINED,
        ProjectStatus.NOT_FOUND,
    }
)
#: Maintenance verdicts ``status`` shows (beside the index's status, never in its place).
ADVERSE_MAINTENANCE = frozenset(
    {Maintenance.REPOSITORY_ARCHIVED, Maintenance.STALE, Maintenance.REPOSITORY_GONE}
)


@dataclass(frozen=True)
class Adverse:
    """One name a project's file uses that is not fine now (or has not been answered yet)."""

    project: str
    path: str
    name: str
    version: str | None
    status: str  # a status, or "not-checked" before the first real answer
    reason: str | None
    yanked: bool = False
    yank_reason: str | None = None
    missing: bool = False
    #: The watched index (None: the configured one).
    index: str | None = None
    #: The repository source's verdict (``--maintenance``), when it is adverse.
    maintenance: MaintenanceVerdict | None = None
    #: When the index last answered about it, if the last pass could not check it (a failed
    #: lookup, an index that cannot express status, an index URL taken to be wrong): the
    #: status is the last known one, not today's.
    last_answer: datetime | None = None
    #: The index the file installs the name from, when ``status`` is the configured index's
    #: word on the name (a quarantine: ``PassPlan.namesakes``) and not that index's.
    installed_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "file": self.path,
            "name": self.name,
            "index": self.index,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "version_yanked": self.yanked,
            "yank_reason": self.yank_reason,
            "version_missing": self.missing,
            "maintenance": self.maintenance.to_json() if self.maintenance else None,
            "stale": self.last_answer is not None,
            "last_answer": format_rfc3339(self.last_answer) if self.last_answer else None,
            # "index": the configured index's quarantine of a name installed from another.
            "off_index": "index" if self.installed_from else None,
            "installed_from": self.installed_from,
        }


def adverse_now(
    sources: Sequence[Source],
    baselines: Mapping[WatchKey, StatusRecord],
    rules: IndexRules,
    maintenance: Mapping[str, MaintenanceVerdict] | None = None,
    unchecked: Collection[WatchKey] = (),
) -> list[Adverse]:
    """Per project and file, each used name whose last answer is adverse, or never came, or
    that the last pass could not check (``unchecked``: "could not tell" is never shown as
    fine, whatever the last answer said).

    Each usage is keyed as a pass keys it (``rules``): a name a file takes from an index no
    rule lets us ask (a purl ``repository_url`` not allowed) is ``other-index``; a name on a
    private index has its own answer, never PyPI's. The maintenance verdict (names on the
    configured index) is shown beside the status, never in its place.
    """
    verdicts = maintenance or {}
    # Stored keys read as a pass keys them (a database this process cannot write may still
    # hold an index under another spelling, or the configured index under its URL).
    baselines = rules.keyed(baselines)
    unchecked = {(name, rules.key(index or None)) for name, index in unchecked}
    found: list[Adverse] = []
    for source in sources:
        for usage in source.usages:
            ref = UsageRef(source.project, source.path, usage.version, usage.index,
                           source.kind == "lock")  # fmt: skip
            key = rules.key(usage.index)
            shown = key or None
            if rules.lock_named(ref):
                namesake = baselines.get((usage.name, ""))
                if namesake is not None and namesake.status is ProjectStatus.QUARANTINED:
                    found.append(
                        Adverse(source.project, source.path, usage.name, usage.version,
                                namesake.status.value, namesake.reason,
                                installed_from=usage.index)
                    )  # fmt: skip
            if not rules.asked(ref):
                found.append(
                    Adverse(
                        source.project,
                        source.path,
                        usage.name,
                        usage.version,
                        "other-index",
                        f"not checked: comes from {usage.index} (not an allowed index)",
                        index=shown,
                    )
                )
                continue
            record = baselines.get((usage.name, key))
            verdict = verdicts.get(usage.name) if not key else None
            if verdict is not None and verdict.verdict not in ADVERSE_MAINTENANCE:
                verdict = None
            if record is None:
                found.append(
                    Adverse(source.project, source.path, usage.name, usage.version,
                            "not-checked", None, index=shown, maintenance=verdict)
                )  # fmt: skip
                continue
            facts = record.version_facts(usage.version)
            stale = (usage.name, key) in unchecked
            if (
                record.status in ADVERSE_STATUSES
                or facts.yanked
                or facts.missing
                or verdict is not None
                or stale
            ):
                found.append(
                    Adverse(
                        source.project,
                        source.path,
                        usage.name,
                        usage.version,
                        record.status.value,
                        record.reason,
                        facts.yanked,
                        facts.yank_reason,
                        facts.missing,
                        index=shown,
                        maintenance=verdict,
                        last_answer=record.checked_at if stale else None,
                    )
                )
    return found


def _what(item: Adverse) -> str:
    # A status the last pass could not confirm is shown even when it was "active".
    parts = [item.status] if item.status != "active" or item.last_answer else []
    if item.yanked:
        parts.append("version yanked" + (f" ({item.yank_reason})" if item.yank_reason else ""))
    if item.missing:
        parts.append("version not listed")
    text = ", ".join(parts)
    if item.installed_from:
        text += " on the configured index, installed from another index"
    if item.reason:
        text += f": {item.reason}"
    if item.maintenance is not None:
        text += ("; " if text else "") + f"maintenance: {item.maintenance.verdict.value}"
    if item.last_answer is not None:
        text += ("; " if text else "") + (
            f"not checked by the last pass (last answer {format_rfc3339(item.last_answer)})"
        )
    return clean_text(text, 300)


def _label(item: Adverse) -> str:
    label = item.name + (f"=={item.version}" if item.version else "")
    source = item.index or item.installed_from
    return label + (f" (from {source})" if source else "")


#: What status says when no name is watched: "nothing adverse" would read as "all is well".
NOTHING_WATCHED = (
    "nothing is watched: register a manifest, lock file or SBOM with `sbom-enrich monitor add`"
)


def last_pass_line(last: PassStats | None) -> str:
    """When the answers shown were asked: a pass that ran long ago (a stopped ``serve``) is
    not today's news, and "nothing adverse" must say how old it is."""
    if last is None:
        return "no pass has run yet (`sbom-enrich monitor run`)"
    return (
        f"last pass finished {format_rfc3339(last.finished_at)}: {last.names} names, "
        f"{last.failed} failed lookups"
    )


def status_text(items: Sequence[Adverse], watched: int, last: PassStats | None = None) -> str:
    if not watched:
        return NOTHING_WATCHED + "\n"
    if not items:
        return f"nothing adverse among {watched} watched names\n{last_pass_line(last)}\n"
    lines: list[str] = []
    project = None
    for item in items:
        if item.project != project:
            project = item.project
            lines.append(f"{clean_text(project, 200)}:")
        lines.append(
            f"  {clean_text(_label(item), 200)}  {_what(item)}  ({clean_text(item.path, 300)})"
        )
    lines.append(last_pass_line(last))
    return "\n".join(lines) + "\n"


def status_json(
    items: Sequence[Adverse],
    watched: int,
    warnings: Sequence[str] = (),
    last: PassStats | None = None,
) -> str:
    return json.dumps(status_document(items, watched, warnings, last), indent=2) + "\n"


def status_document(
    items: Sequence[Adverse],
    watched: int,
    warnings: Sequence[str] = (),
    last: PassStats | None = None,
) -> dict[str, Any]:
    """``status --json`` and the API's status: ``warnings`` are what the user must act on that
    is not a package's status (lock files to add again); ``last_pass`` when the answers were
    asked (null: never)."""
    if not watched:
        warnings = [NOTHING_WATCHED, *warnings]
    return {
        "watched": watched,
        "adverse": [i.to_json() for i in items],
        "warnings": [*warnings],
        "last_pass": None
        if last is None
        else {
            "finished_at": format_rfc3339(last.finished_at),
            "names": last.names,
            "failed": last.failed,
        },
    }


#: Lock files named in one warning line; the rest are counted.
READD_SHOWN = 5


def readd_warning(sources: Sequence[tuple[str, str]]) -> str | None:
    """One line naming the lock files registered before lock indexes were recorded, with the
    command that fixes them (one per project: ``add`` takes several files); None: no such file.

    Until they are added again every package they lock is watched on the configured index, as
    the first release did, even one the file takes from a private index.
    """
    if not sources:
        return None
    per_project: dict[str, list[str]] = {}
    for project, path in sources:
        per_project.setdefault(project, []).append(path)
    commands = []
    shown = 0
    for project, paths in per_project.items():
        if shown >= READD_SHOWN:
            break
        paths = paths[: READD_SHOWN - shown]
        shown += len(paths)
        files = " ".join(shlex.quote(clean_text(path, 300)) for path in paths)
        commands.append(f"`monitor add --project {shlex.quote(clean_text(project, 200))} {files}`")
    more = f" (and {len(sources) - shown} more files)" if len(sources) > shown else ""
    files_word = "lock file" if len(sources) == 1 else "lock files"
    return (
        f"{len(sources)} {files_word} registered before lock indexes were recorded: re-add with "
        + ", ".join(commands)
        + more
    )


def _md(text: str) -> str:
    escaped = clean_text(text, 300)
    for char in "\\`*_{}[]<>|#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def status_markdown(items: Sequence[Adverse], watched: int, last: PassStats | None = None) -> str:
    lines = ["# Adverse dependencies", ""]
    if not watched:
        return "\n".join([*lines, _md(NOTHING_WATCHED) + ".", ""])
    when = _md(last_pass_line(last)).capitalize() + "."
    if not items:
        return "\n".join([*lines, f"Nothing adverse among {watched} watched names.", "", when, ""])
    lines += ["| project | package | status | file |", "|---|---|---|---|"]
    lines += [
        f"| {_md(i.project)} | {_md(_label(i))} | {_md(_what(i))} | {_md(i.path)} |" for i in items
    ]
    return "\n".join([*lines, "", when, ""])


def inventory_text(sources: Sequence[Source]) -> str:
    if not sources:
        return "no projects registered (sbom-enrich monitor add --project NAME FILE...)\n"
    lines: list[str] = []
    project = None
    for source in sources:
        if source.project != project:
            project = source.project
            lines.append(f"{clean_text(project, 200)}:")
        added = format_rfc3339(source.added_at) if source.added_at else "?"
        lines.append(
            f"  {clean_text(source.path, 300)}  {source.kind}  {len(source.usages)} names  "
            f"added {added}"
        )
    return "\n".join(lines) + "\n"


def inventory_json(sources: Sequence[Source]) -> list[dict[str, Any]]:
    return [
        {
            "project": s.project,
            "file": s.path,
            "kind": s.kind,
            "added_at": format_rfc3339(s.added_at) if s.added_at else None,
            "names": [{"name": u.name, "version": u.version, "index": u.index} for u in s.usages],
            "warning": readd_warning([(s.project, s.path)]) if s.readd else None,
        }
        for s in sources
    ]


def transition_json(t: Transition) -> dict[str, Any]:
    return dict(t.notice)


def history_json(transitions: Sequence[Transition]) -> str:
    return json.dumps([transition_json(t) for t in transitions], indent=2) + "\n"


def history_text(transitions: Sequence[Transition]) -> str:
    if not transitions:
        return "no transitions recorded\n"
    lines = []
    for t in transitions:
        version = f" {t.version}" if t.version else ""
        reason = f": {clean_text(t.reason, 200)}" if t.reason else ""
        where = f" (from {clean_text(t.index_url, 200)})" if t.index_url else ""
        # A maintenance transition says so: its old and new are verdicts, not statuses.
        signal = "maintenance " if t.signal == "maintenance" else ""
        lines.append(
            f"{format_rfc3339(t.seen_at)}  {clean_text(t.name, 200)}{clean_text(version, 100)}"
            f"{where}  {signal}{t.kind} ({t.old_status} -> {t.new_status}){reason}"
        )
    return "\n".join(lines) + "\n"
