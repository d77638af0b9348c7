"""The maintenance verdict: repository state and release age, with the evidence. Pure."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from .model import format_rfc3339

if TYPE_CHECKING:
    from .repository.model import RepoRecord

# The repository model is imported by the functions that read one: a run without a maintenance
# survey (most) needs this module's enum and values only (~1.5 ms of every start).

__all__ = ["Maintenance", "MaintenanceVerdict", "StalePolicy", "maintenance_verdict"]


class Maintenance(str, enum.Enum):
    """A second signal beside the index's project status, never mixed into it."""

    ACTIVE = "active"
    STALE = "stale"
    REPOSITORY_ARCHIVED = "repository-archived"
    REPOSITORY_GONE = "repository-gone"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


class StalePolicy(msgspec.Struct, frozen=True):
    """``stale`` needs both: no release for ``release_years`` and no commit for
    ``commit_months`` — a finished library with occasional commits, or one still releasing
    from a quiet repository, is not stale."""

    release_years: float = 2.0
    commit_months: float = 12.0

    @property
    def release_age(self) -> timedelta:
        return timedelta(days=365.25 * self.release_years)

    @property
    def commit_age(self) -> timedelta:
        return timedelta(days=30.44 * self.commit_months)


class MaintenanceVerdict(msgspec.Struct, frozen=True):
    """The verdict, the plain-words evidence for it, and the repository record it read."""

    verdict: Maintenance
    evidence: tuple[str, ...]
    repository: RepoRecord | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "evidence": list(self.evidence),
            "repository": self.repository.to_json() if self.repository else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MaintenanceVerdict:
        """Inverse of :meth:`to_json`; raises KeyError/ValueError/TypeError when malformed."""
        evidence = data.get("evidence") or []
        if not isinstance(evidence, list):
            raise TypeError("evidence must be a list")
        repository = data.get("repository")
        from .repository.model import RepoRecord

        return cls(
            Maintenance(data["verdict"]),
            tuple(str(item) for item in evidence),
            RepoRecord.from_json(repository) if isinstance(repository, dict) else None,
        )


def _day(moment: datetime) -> str:
    return format_rfc3339(moment)[:10]


def maintenance_verdict(
    *,
    repository: RepoRecord | None,
    latest_release: datetime | None,
    policy: StalePolicy,
    now: datetime,
    missing: str = "no repository found",
    search_failed: str | None = None,
) -> MaintenanceVerdict:
    """What the evidence says. "Could not tell" is ``unknown``, never ``active``.

    ``missing``: the evidence line when there is no repository (why none was found).
    ``search_failed``: why the repository could not be looked for (the project API gave no
    answer): then there is no repository to read, and the verdict is ``unknown`` whatever the
    release date — a recent release says nothing of a repository archived or gone, and only
    a project that lists no repository is judged by its release alone."""
    evidence: list[str] = []
    release_recent: bool | None = None
    if latest_release is not None:
        release_recent = now - latest_release < policy.release_age
        evidence.append(f"last release {_day(latest_release)}")
    else:
        evidence.append("no release date from the index")

    def verdict(value: Maintenance, *more: str) -> MaintenanceVerdict:
        return MaintenanceVerdict(value, (*evidence, *more), repository)

    if repository is None:
        if search_failed is not None:
            return verdict(
                Maintenance.UNKNOWN,
                missing,
                f"the project's metadata could not be read ({search_failed})",
            )
        if release_recent:
            return verdict(Maintenance.ACTIVE, missing)
        return verdict(Maintenance.UNKNOWN, missing)
    from .repository.model import RepoState

    evidence.append(f"repository {repository.url}")
    if repository.moved_to:
        evidence.append(f"moved to {repository.moved_to}")
    if repository.state is RepoState.GONE:
        return verdict(
            Maintenance.REPOSITORY_GONE,
            "the forge has no such repository (deleted, private, or never there)",
        )
    if repository.state is RepoState.UNKNOWN:
        return verdict(Maintenance.UNKNOWN, f"repository lookup failed: {repository.error}")
    if repository.archived:
        return verdict(Maintenance.REPOSITORY_ARCHIVED, "the repository is archived")
    if repository.archived is None:
        return verdict(Maintenance.UNKNOWN, "the forge did not say whether it is archived")
    commit_recent: bool | None = None
    if repository.last_commit is not None:
        commit_recent = now - repository.last_commit < policy.commit_age
        evidence.append(f"last commit {_day(repository.last_commit)}")
    if release_recent or commit_recent:
        return verdict(Maintenance.ACTIVE)
    if release_recent is False and commit_recent is False:
        return verdict(
            Maintenance.STALE,
            f"no release for {policy.release_years:g} years and no commit for "
            f"{policy.commit_months:g} months",
        )
    return verdict(Maintenance.UNKNOWN, "not enough dates to tell")
