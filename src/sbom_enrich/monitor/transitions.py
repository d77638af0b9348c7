"""Which changes between two answers about a name are transitions worth a notice (pure).

First sight is a baseline, never a notice. An ``unknown`` answer (a failed lookup, or an index
that cannot express status) is never a transition and never replaces the baseline: an outage
must not flap into "archived → unknown → archived" alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..findings.kinds import STATUS_MEANING
from ..status.model import ProjectStatus, StatusRecord, format_rfc3339
from ..status.untrusted import clean_text
from .model import Judgement, NoticeDraft, UsageRef

__all__ = ["KINDS", "Judge", "changed", "judge_record", "transition_kinds"]

#: Every transition kind, with what it means in a notice.
KINDS: Mapping[str, str] = {
    "archived": "the project was archived: no further releases, including security fixes",
    "deprecated": "the project was deprecated: obsolete, maybe superseded",
    "quarantined": "the project was quarantined: the index considers it unsafe, serves no files",
    "quarantine-lifted": "the quarantine was lifted",
    "reactivated": "the project is active again",
    "not-found": "the project disappeared from the index; anyone may register the name again",
    "revived": (
        "a project that had disappeared exists again: check who registered it (revival hijack)"
    ),
    "status-changed": "the project's status changed",
    "yanked": "a version in use was yanked",
    "version-gone": "a version in use is no longer listed by the index",
}

#: Statuses a baseline may hold (an unknown answer never becomes one).
_KNOWN = frozenset(
    {
        ProjectStatus.ACTIVE,
        ProjectStatus.DEPRECATED,
        ProjectStatus.ARCHIVED,
        ProjectStatus.QUARANTINED,
        ProjectStatus.NOT_FOUND,
    }
)
#: Statuses under which per-version facts mean nothing (no page, or no files served).
_NO_VERSIONS = frozenset({ProjectStatus.NOT_FOUND, ProjectStatus.QUARANTINED})


def _status_kind(old: ProjectStatus, new: ProjectStatus) -> str:
    if new is ProjectStatus.NOT_FOUND:
        return "not-found"
    if old is ProjectStatus.NOT_FOUND:
        return "revived"
    if new in (ProjectStatus.ARCHIVED, ProjectStatus.DEPRECATED, ProjectStatus.QUARANTINED):
        return str(new.value)
    if old is ProjectStatus.QUARANTINED:
        return "quarantine-lifted"
    if new is ProjectStatus.ACTIVE:
        return "reactivated"
    return "status-changed"  # pragma: no cover - every known pair is named above


def transition_kinds(
    before: StatusRecord, after: StatusRecord, versions: Collection[str]
) -> list[tuple[str, str | None, str | None]]:
    """(kind, version, reason) of each transition from ``before`` to ``after``."""
    found: list[tuple[str, str | None, str | None]] = []
    if before.status is not after.status:
        found.append((_status_kind(before.status, after.status), None, after.reason))
    if before.status in _NO_VERSIONS or after.status in _NO_VERSIONS:
        return found
    for version in sorted(versions):
        old, new = before.version_facts(version), after.version_facts(version)
        if new.yanked and not old.yanked:
            found.append(("yanked", version, new.yank_reason))
        if new.missing and not old.missing:
            found.append(("version-gone", version, None))
    return found


def changed(before: StatusRecord, after: StatusRecord) -> bool:
    """Whether the index says something else now (worth an observation row)."""
    return (before.status, before.reason, before.versions, dict(before.yanked)) != (
        after.status,
        after.reason,
        after.versions,
        dict(after.yanked),
    )


#: Alternatives for a name: (name, rationale) pairs.
Alternatives = Callable[[str], Sequence[tuple[str, str]]]
Judge = Callable[[str, StatusRecord | None, StatusRecord], Judgement]


def judge_record(
    usages: Mapping[str, Sequence[UsageRef]], alternatives: Alternatives, seen_at: datetime
) -> Judge:
    """The judge a pass hands the store: baselines, observations and notice drafts."""

    def judge(name: str, before: StatusRecord | None, after: StatusRecord) -> Judgement:
        if after.status not in _KNOWN:
            return Judgement(baseline=None, changed=False)
        if before is None:
            return Judgement(baseline=after, changed=True)
        used = usages.get(name, ())
        versions = {u.version for u in used if u.version}
        drafts = tuple(
            _draft(name, kind, version, reason, before, after, used, alternatives, seen_at)
            for kind, version, reason in transition_kinds(before, after, versions)
        )
        return Judgement(baseline=after, changed=changed(before, after), drafts=drafts)

    return judge


def _draft(
    name: str,
    kind: str,
    version: str | None,
    reason: str | None,
    before: StatusRecord,
    after: StatusRecord,
    used: Sequence[UsageRef],
    alternatives: Alternatives,
    seen_at: datetime,
) -> NoticeDraft:
    seen = format_rfc3339(seen_at)
    # Random, then stored with the transition: every retry and every target sees this id. A
    # hash of the facts would repeat when a name flips back and forth within one second.
    event_id = str(uuid.uuid4())
    users = [u for u in used if version is None or u.version == version]
    notice: dict[str, Any] = {
        "type": "sbom-enrich.monitor.transition",
        "schema": 1,
        "event_id": event_id,
        "name": name,
        "kind": kind,
        "summary": KINDS[kind],
        "old_status": before.status.value,
        "new_status": after.status.value,
        "meaning": STATUS_MEANING[after.status],
        "version": version,
        "reason": clean_text(reason, 500) if reason else None,
        "index": after.index_url,
        "seen_at": seen,
        "latest_version": after.latest_version,
        "alternatives": [{"name": n, "rationale": r} for n, r in alternatives(name)],
        "used_by": [{"project": u.project, "file": u.path, "version": u.version} for u in users],
    }
    return NoticeDraft(
        event_id,
        name,
        kind,
        before.status.value,
        after.status.value,
        version,
        notice["reason"],
        seen_at,
        notice,
    )
