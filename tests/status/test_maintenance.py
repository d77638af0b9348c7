"""The maintenance verdict: both dates for stale, archived and gone from the forge, else unknown."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sbom_enrich.status.maintenance import Maintenance, StalePolicy, maintenance_verdict
from sbom_enrich.status.repository.model import RepoRecord, RepoState

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)
POLICY = StalePolicy(release_years=2, commit_months=12)


def repo(
    state: RepoState = RepoState.FOUND,
    *,
    archived: bool | None = False,
    commit_days_ago: int | None = 30,
    error: str | None = None,
) -> RepoRecord:
    return RepoRecord(
        url="https://github.com/o/r",
        forge="github",
        state=state,
        checked_at=NOW,
        archived=archived,
        last_commit=NOW - timedelta(days=commit_days_ago) if commit_days_ago is not None else None,
        error=error,
    )


def years_ago(years: float) -> datetime:
    return NOW - timedelta(days=365.25 * years)


@pytest.mark.parametrize(
    ("repository", "release", "expected"),
    [
        # A finished library: no release for 5 years, but still a commit last month.
        (repo(commit_days_ago=30), years_ago(5), Maintenance.ACTIVE),
        # Releasing, from a quiet repository.
        (repo(commit_days_ago=900), years_ago(0.5), Maintenance.ACTIVE),
        # Both old: stale.
        (repo(commit_days_ago=900), years_ago(5), Maintenance.STALE),
        # Archived wins over any date.
        (repo(archived=True, commit_days_ago=1), years_ago(0.1), Maintenance.REPOSITORY_ARCHIVED),
        (
            repo(RepoState.GONE, archived=None, commit_days_ago=None),
            years_ago(0.1),
            Maintenance.REPOSITORY_GONE,
        ),
        # Could not tell is never active.
        (
            repo(RepoState.UNKNOWN, archived=None, error="rate limited"),
            years_ago(0.1),
            Maintenance.UNKNOWN,
        ),
        (repo(archived=None), years_ago(0.1), Maintenance.UNKNOWN),
        (repo(commit_days_ago=None), years_ago(5), Maintenance.UNKNOWN),
        (repo(commit_days_ago=900), None, Maintenance.UNKNOWN),
        # No repository found: a recent release is evidence enough; an old one is not.
        (None, years_ago(0.5), Maintenance.ACTIVE),
        (None, years_ago(5), Maintenance.UNKNOWN),
        (None, None, Maintenance.UNKNOWN),
    ],
)
def test_verdicts(
    repository: RepoRecord | None, release: datetime | None, expected: Maintenance
) -> None:
    verdict = maintenance_verdict(
        repository=repository, latest_release=release, policy=POLICY, now=NOW
    )
    assert verdict.verdict is expected
    assert verdict.evidence  # every verdict says why


def test_the_thresholds_are_configurable() -> None:
    quiet = repo(commit_days_ago=200)
    release = years_ago(1.5)
    assert (
        maintenance_verdict(
            repository=quiet, latest_release=release, policy=POLICY, now=NOW
        ).verdict
        is Maintenance.ACTIVE
    )
    strict = StalePolicy(release_years=1, commit_months=6)
    verdict = maintenance_verdict(repository=quiet, latest_release=release, policy=strict, now=NOW)
    assert verdict.verdict is Maintenance.STALE
    assert "no release for 1 years and no commit for 6 months" in verdict.evidence[-1]


def test_the_evidence_names_dates_and_the_repository() -> None:
    verdict = maintenance_verdict(
        repository=repo(commit_days_ago=900), latest_release=years_ago(5), policy=POLICY, now=NOW
    )
    text = " | ".join(verdict.evidence)
    assert "last release 2021-12-05" in text
    assert "repository https://github.com/o/r" in text
    assert "last commit 2024-06-19" in text


@pytest.mark.parametrize("release", [years_ago(0.5), years_ago(5), None])
def test_a_repository_that_could_not_be_looked_for_is_unknown(release: datetime | None) -> None:
    # The project API failed: no repository was found because none could be looked for. A
    # recent release made that "active", so a dead or hostile API read as "fine".
    verdict = maintenance_verdict(
        repository=None,
        latest_release=release,
        policy=POLICY,
        now=NOW,
        search_failed="project API: HTTP 503",
    )
    assert verdict.verdict is Maintenance.UNKNOWN
    why = "the project's metadata could not be read (project API: HTTP 503)"
    assert verdict.evidence[-1] == why
