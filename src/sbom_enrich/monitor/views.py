"""What the monitor shows: the inventory, what is adverse now per project, the history (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..status.model import ProjectStatus, StatusRecord, format_rfc3339
from ..status.untrusted import clean_text
from ..status.urls import normalize_index_url
from .model import Source, Transition

__all__ = [
    "Adverse",
    "adverse_now",
    "history_json",
    "history_text",
    "inventory_json",
    "inventory_text",
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

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "file": self.path,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "version_yanked": self.yanked,
            "yank_reason": self.yank_reason,
            "version_missing": self.missing,
        }


def adverse_now(
    sources: Sequence[Source], baselines: Mapping[str, StatusRecord], index_url: str
) -> list[Adverse]:
    """Per project and file, each used name whose last answer is adverse, or never came.

    A name a file takes from another index (purl ``repository_url``) is ``other-index``: the
    configured index's answer is about another project that happens to share the name.
    """
    configured = normalize_index_url(index_url)
    found: list[Adverse] = []
    for source in sources:
        for usage in source.usages:
            if usage.index is not None and usage.index != configured:
                found.append(
                    Adverse(
                        source.project,
                        source.path,
                        usage.name,
                        usage.version,
                        "other-index",
                        f"not checked: comes from {usage.index}",
                    )
                )
                continue
            record = baselines.get(usage.name)
            if record is None:
                found.append(
                    Adverse(
                        source.project, source.path, usage.name, usage.version, "not-checked", None
                    )
                )
                continue
            facts = record.version_facts(usage.version)
            if record.status in ADVERSE_STATUSES or facts.yanked or facts.missing:
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
                    )
                )
    return found


def _what(item: Adverse) -> str:
    parts = [item.status] if item.status != "active" else []
    if item.yanked:
        parts.append("version yanked" + (f" ({item.yank_reason})" if item.yank_reason else ""))
    if item.missing:
        parts.append("version not listed")
    text = ", ".join(parts)
    if item.reason:
        text += f": {item.reason}"
    return clean_text(text, 300)


def _label(item: Adverse) -> str:
    return item.name + (f"=={item.version}" if item.version else "")


def status_text(items: Sequence[Adverse], watched: int) -> str:
    if not items:
        return f"nothing adverse among {watched} watched names\n"
    lines: list[str] = []
    project = None
    for item in items:
        if item.project != project:
            project = item.project
            lines.append(f"{clean_text(project, 200)}:")
        lines.append(
            f"  {clean_text(_label(item), 200)}  {_what(item)}  ({clean_text(item.path, 300)})"
        )
    return "\n".join(lines) + "\n"


def status_json(items: Sequence[Adverse], watched: int) -> str:
    return (
        json.dumps({"watched": watched, "adverse": [i.to_json() for i in items]}, indent=2) + "\n"
    )


def _md(text: str) -> str:
    escaped = clean_text(text, 300)
    for char in "\\`*_{}[]<>|#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def status_markdown(items: Sequence[Adverse], watched: int) -> str:
    lines = ["# Adverse dependencies", ""]
    if not items:
        return "\n".join([*lines, f"Nothing adverse among {watched} watched names.", ""])
    lines += ["| project | package | status | file |", "|---|---|---|---|"]
    lines += [
        f"| {_md(i.project)} | {_md(_label(i))} | {_md(_what(i))} | {_md(i.path)} |" for i in items
    ]
    return "\n".join([*lines, ""])


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
            "names": [{"name": u.name, "version": u.version} for u in s.usages],
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
        lines.append(
            f"{format_rfc3339(t.seen_at)}  {clean_text(t.name, 200)}{clean_text(version, 100)}  "
            f"{t.kind} ({t.old_status} -> {t.new_status}){reason}"
        )
    return "\n".join(lines) + "\n"
