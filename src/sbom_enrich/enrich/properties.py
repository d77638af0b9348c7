"""The sbom-enrich properties for one component, exactly as DESIGN.md's enrichment contract."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..status.maintenance import MaintenanceVerdict
from ..status.model import STATUS_TEXT, StatusRecord, VersionFacts, format_rfc3339
from ..status.untrusted import MAX_ERROR_LENGTH, MAX_URL_LENGTH, MAX_VERSION_LENGTH, clean_text

PYPI = "sbom-enrich:pypi:"
PROJECT_STATUS = PYPI + "project-status"
PROJECT_STATUS_REASON = PYPI + "project-status-reason"
INDEX = PYPI + "index"
CHECKED_AT = PYPI + "checked-at"
VERSION_YANKED = PYPI + "version-yanked"
VERSION_YANKED_REASON = PYPI + "version-yanked-reason"
VERSION_MISSING = PYPI + "version-missing"
LATEST_VERSION = PYPI + "latest-version"
LATEST_UPLOAD = PYPI + "latest-upload"
LOOKUP_ERROR = PYPI + "lookup-error"
#: A component installed from a URL or VCS (``url``, ``git``, ``vcs``), not from an index.
OFF_INDEX = PYPI + "off-index"
#: For such a component: the index's status of the name it installs, which may be another
#: project's (never written as its ``project-status``).
NAME_STATUS = PYPI + "name-status"
NAME_STATUS_REASON = PYPI + "name-status-reason"
ALTERNATIVE = "sbom-enrich:alternative"
#: Repeats, for each alternative the project's own maintainers recommend, its name: the
#: source of that ``sbom-enrich:alternative`` (the others come from the curated catalog).
ALTERNATIVE_BY_MAINTAINERS = "sbom-enrich:alternative:recommended-by-maintainers"
REPO = "sbom-enrich:repo:"
REPO_URL = REPO + "url"
REPO_ARCHIVED = REPO + "archived"
REPO_LAST_COMMIT = REPO + "last-commit"
MAINTENANCE = "sbom-enrich:maintenance"


def maintenance_properties(
    verdict: MaintenanceVerdict, recommended: Sequence[str]
) -> list[tuple[str, str]]:
    """The second signal's properties, apart from the index's (never mixed into them)."""
    properties: list[tuple[str, str]] = []
    repository = verdict.repository
    if repository is not None:
        properties.append((REPO_URL, repository.moved_to or repository.url))
        if repository.archived is not None:
            properties.append((REPO_ARCHIVED, "true" if repository.archived else "false"))
        if repository.last_commit is not None:
            properties.append((REPO_LAST_COMMIT, format_rfc3339(repository.last_commit)))
    properties.append((MAINTENANCE, verdict.verdict.value))
    properties.extend((ALTERNATIVE_BY_MAINTAINERS, name) for name in dict.fromkeys(recommended))
    return properties


def enrichment_properties(
    record: StatusRecord,
    facts: VersionFacts | None,
    alternatives: Sequence[str],
    answered: bool = True,
) -> list[tuple[str, str]]:
    """The (name, value) properties for a component, in DESIGN.md's order.

    ``answered`` is False when no index answered (the lookup failed, offline with nothing
    cached, or an index that is not allowed): then there is no index and no time to name, so
    ``index`` and ``checked-at`` are left out rather than claimed.

    Index-supplied text (reasons, error text) is cleaned again here: it ends up in files other
    tools render, and XML cannot carry control characters at all. Cleaning is idempotent.
    """
    properties = [(PROJECT_STATUS, STATUS_TEXT[record.status])]
    reason = record.reason
    if reason:
        reason = clean_text(reason)
        if reason:
            properties.append((PROJECT_STATUS_REASON, reason))
    error = record.error
    if answered and error is None:  # not record.failed
        pair = _ANSWERED_BY.get((record.index_url, record.checked_at))
        properties += pair or _answered_by(record.index_url, record.checked_at)
    if facts is not None:
        if facts.yanked:
            properties.append((VERSION_YANKED, "true"))
            if facts.yank_reason:
                yank_reason = clean_text(facts.yank_reason)
                if yank_reason:
                    properties.append((VERSION_YANKED_REASON, yank_reason))
        if facts.missing:
            properties.append((VERSION_MISSING, "true"))
    latest_version = record.latest_version
    if latest_version:
        shown = _SHOWN_VERSIONS.get(latest_version)
        if shown is None:
            shown = _shown_version(latest_version)
        properties.append((LATEST_VERSION, shown))
    if record.latest_upload is not None:
        properties.append((LATEST_UPLOAD, format_rfc3339(record.latest_upload)))
    if error:
        properties.append((LOOKUP_ERROR, clean_text(error, MAX_ERROR_LENGTH)))
    if alternatives:
        seen: set[str] = set()
        for alternative in alternatives:
            # One property per distinct suggestion; a repeated name would only be noise.
            if alternative and alternative not in seen:
                seen.add(alternative)
                properties.append((ALTERNATIVE, alternative))
    return properties


def off_index_properties(
    record: StatusRecord, kind: str, answered: bool = True
) -> list[tuple[str, str]]:
    """The properties of a component installed from a URL or VCS (``kind``) whose name was
    asked on the index: where it came from, and the index's status of that name under a name
    of its own. ``project-status`` would say the component is that project, which nothing
    told us (a private package from git may bear a public project's name); version facts,
    latest release, alternatives and maintenance are that project's and are left out.
    ``index``, ``checked-at`` and ``lookup-error`` say what was asked, as for any component.
    """
    properties = [(OFF_INDEX, kind), (NAME_STATUS, STATUS_TEXT[record.status])]
    reason = clean_text(record.reason) if record.reason else ""
    if reason:
        properties.append((NAME_STATUS_REASON, reason))
    error = record.error
    if answered and error is None:
        properties += _answered_by(record.index_url, record.checked_at)
    if error:
        properties.append((LOOKUP_ERROR, clean_text(error, MAX_ERROR_LENGTH)))
    return properties


#: Latest versions as written, by version: a run's records name a few hundred distinct ones
#: (a warm 10,000-component run: ~50), so each is cleaned once, not once per component.
_SHOWN_VERSIONS: dict[str, str] = {}
_SHOWN_VERSIONS_KEPT = 4096


def _shown_version(version: str) -> str:
    shown = clean_text(version, MAX_VERSION_LENGTH)
    if len(_SHOWN_VERSIONS) >= _SHOWN_VERSIONS_KEPT:
        _SHOWN_VERSIONS.clear()
    _SHOWN_VERSIONS[version] = shown
    return shown


#: ``index`` and ``checked-at`` as written, by (index URL, time): a run's records name one
#: index and a handful of times (a warm 10,000-component run: 8), so each pair is cleaned
#: and formatted once, not once per component.
_ANSWERED_BY: dict[tuple[str, datetime], tuple[tuple[str, str], tuple[str, str]]] = {}
_ANSWERED_BY_KEPT = 256


def _answered_by(index_url: str, checked_at: datetime) -> tuple[tuple[str, str], tuple[str, str]]:
    key = (index_url, checked_at)
    pair = _ANSWERED_BY.get(key)
    if pair is None:
        pair = (
            (INDEX, clean_text(index_url, MAX_URL_LENGTH)),
            (CHECKED_AT, format_rfc3339(checked_at)),
        )
        if len(_ANSWERED_BY) >= _ANSWERED_BY_KEPT:
            _ANSWERED_BY.clear()
        _ANSWERED_BY[key] = pair
    return pair
