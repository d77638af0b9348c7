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
from ..status.maintenance import Maintenance, MaintenanceVerdict
from ..status.model import ProjectStatus, StatusRecord, format_rfc3339
from ..status.untrusted import clean_text
from .model import Judgement, MaintenanceJudgement, NoticeDraft, UsageRef, WatchKey

__all__ = [
    "KINDS",
    "MAINTENANCE_KINDS",
    "Judge",
    "changed",
    "judge_maintenance",
    "judge_record",
    "transition_kinds",
]

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

#: Maintenance transitions (``--maintenance``): the repository's state, a signal of its own.
MAINTENANCE_KINDS: Mapping[str, str] = {
    "repository-archived": "the project's source repository was archived (read-only)",
    "stale": "the project went stale: no recent release and no recent commit",
    "repository-gone": (
        "the project's source repository is gone (deleted, made private, or never there): "
        "anyone may take its name"
    ),
    "maintained-again": "the project's repository is active again",
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
Judge = Callable[[WatchKey, StatusRecord | None, StatusRecord], Judgement]


#: The transitions of a name watched only as a lock's namesake (:func:`judge_record`).
NAMESAKE_KINDS = frozenset({"quarantined", "quarantine-lifted"})


def judge_record(
    usages: Mapping[WatchKey, Sequence[UsageRef]],
    alternatives: Alternatives,
    seen_at: datetime,
    namesakes: Mapping[WatchKey, Sequence[UsageRef]] | None = None,
) -> Judge:
    """The judge a pass hands the store: baselines, observations and notice drafts.

    ``namesakes``: items watched on the configured index for lock usages that install the name
    from another index (``PassPlan.namesakes``). One no usage watches for its own sake is
    judged as ``check`` judges it: only its quarantine, and the quarantine's lifting, are
    news; its other statuses and its versions are a namesake's (a private package's public
    twin), recorded as a baseline and notified never.
    """
    namesakes = namesakes or {}

    def judge(key: WatchKey, before: StatusRecord | None, after: StatusRecord) -> Judgement:
        if after.status not in _KNOWN:
            return Judgement(baseline=None, changed=False)
        if before is None:
            return Judgement(baseline=after, changed=True)
        if after.checked_at < before.checked_at:
            # An answer older than the baseline (a cache an offline pass read, written before
            # the baseline's answer) says nothing new: judged, it would announce the index's
            # past ("reactivated" after an archiving) and flap back at the next pass.
            return Judgement(baseline=None, changed=False)
        name, index = key
        used = usages.get(key, ())
        if not used and key in namesakes:
            drafts = tuple(
                _draft(name, kind, None, reason, before, after, namesakes[key],
                       lambda name: (), seen_at, index, namesake=True)
                for kind, _, reason in transition_kinds(before, after, ())
                if kind in NAMESAKE_KINDS
            )  # fmt: skip
            return Judgement(baseline=after, changed=changed(before, after), drafts=drafts)
        versions = {u.version for u in used if u.version}
        drafts = tuple(
            _draft(name, kind, version, reason, before, after, used, alternatives, seen_at, index)
            for kind, version, reason in transition_kinds(before, after, versions)
        )
        return Judgement(baseline=after, changed=changed(before, after), drafts=drafts)

    return judge


def _maintenance_kind(new: Maintenance) -> str:
    return "maintained-again" if new is Maintenance.ACTIVE else new.value


def judge_maintenance(
    usages: Mapping[str, Sequence[UsageRef]],
    index_status: Mapping[str, ProjectStatus],
    seen_at: datetime,
) -> Callable[[str, MaintenanceVerdict | None, MaintenanceVerdict], MaintenanceJudgement]:
    """The judge of maintenance verdicts: first sight is a baseline; ``unknown`` (a failed
    forge lookup, a rate limit, no repository found) never replaces one and never notifies."""

    def judge(
        name: str, before: MaintenanceVerdict | None, after: MaintenanceVerdict
    ) -> MaintenanceJudgement:
        if after.verdict is Maintenance.UNKNOWN:
            return MaintenanceJudgement(baseline=None)
        if before is None or before.verdict is after.verdict:
            return MaintenanceJudgement(baseline=after)
        draft = _maintenance_draft(
            name, before, after, usages.get(name, ()), index_status.get(name), seen_at
        )
        return MaintenanceJudgement(baseline=after, drafts=(draft,))

    return judge


def _maintenance_draft(
    name: str,
    before: MaintenanceVerdict,
    after: MaintenanceVerdict,
    used: Sequence[UsageRef],
    status: ProjectStatus | None,
    seen_at: datetime,
) -> NoticeDraft:
    kind = _maintenance_kind(after.verdict)
    event_id = str(uuid.uuid4())
    repository = after.repository
    evidence = [clean_text(item, 300) for item in after.evidence]
    notice: dict[str, Any] = {
        "type": "sbom-enrich.monitor.maintenance",
        "schema": 1,
        "signal": "maintenance",
        "event_id": event_id,
        "name": name,
        "kind": kind,
        "summary": MAINTENANCE_KINDS[kind],
        "old_maintenance": before.verdict.value,
        "new_maintenance": after.verdict.value,
        # The index's own status, for context: never changed by this signal.
        "index_status": status.value if status is not None else None,
        "repository": {
            "url": repository.moved_to or repository.url,
            "archived": repository.archived,
            "last_commit": (
                format_rfc3339(repository.last_commit) if repository.last_commit else None
            ),
            "state": repository.state.value,
        }
        if repository is not None
        else None,
        "evidence": evidence,
        "seen_at": format_rfc3339(seen_at),
        "used_by": [
            {"project": u.project, "file": clean_text(u.path, 500), "version": u.version}
            for u in used
        ],
    }
    return NoticeDraft(
        event_id,
        name,
        kind,
        before.verdict.value,
        after.verdict.value,
        None,
        "; ".join(evidence) if evidence else None,
        seen_at,
        notice,
        signal="maintenance",
    )


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
    index: str = "",
    *,
    namesake: bool = False,
) -> NoticeDraft:
    seen = format_rfc3339(seen_at)
    # Random, then stored with the transition: every retry and every target sees this id. A
    # hash of the facts would repeat when a name flips back and forth within one second.
    event_id = str(uuid.uuid4())
    users = [u for u in used if version is None or u.version == version]
    notice: dict[str, Any] = {
        "type": "sbom-enrich.monitor.transition",
        "schema": 1,
        "signal": "index",
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
        "used_by": [
            {"project": u.project, "file": clean_text(u.path, 500), "version": u.version}
            for u in users
        ],
        # The watched index (null: the configured one); a private index's name and PyPI's
        # same name are two items, each with its own notices.
        "watched_index": index or None,
    }
    if namesake:
        # The configured index's word on a name the files install from another index (their
        # lock entries name it): the dependency-confusion signal `check` fails on.
        notice["off_index"] = "index"
        for entry, user in zip(notice["used_by"], users, strict=True):
            entry["installed_from"] = user.index
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
        index_url=index,
    )
