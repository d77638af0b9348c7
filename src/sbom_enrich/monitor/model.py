"""The monitor's values: sources of an inventory, what uses a name, transitions, outbox items."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from ..status.maintenance import MaintenanceVerdict
from ..status.model import StatusRecord

__all__ = [
    "Judgement",
    "MaintenanceJudgement",
    "NoticeDraft",
    "OutboxItem",
    "PassStats",
    "Source",
    "Transition",
    "Usage",
    "UsageRef",
    "WatchKey",
]

#: One watched item: (canonical name, index key). The key is "" for the configured index, else
#: the index's URL without credentials: the same name on a private index and on PyPI are two
#: projects (dependency confusion), watched, judged and notified apart.
WatchKey = tuple[str, str]


@dataclass(frozen=True)
class Usage:
    """One project name (and the version, when the file pins one) as a source file uses it."""

    name: str  # canonical
    display: str  # as written in the file
    version: str | None = None
    #: The index the file says the package comes from (a purl ``repository_url``, a lock
    #: entry's index), normalized, credentials removed; None: the configured one.
    index: str | None = None
    #: Repository URLs an SBOM names for it (``externalReferences`` vcs, then website),
    #: untrusted: the repository source validates them (``--maintenance``).
    repository_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One registered file of a project: its path, what kind of file it is, the names it uses."""

    project: str
    path: str
    kind: str
    usages: tuple[Usage, ...]
    added_at: datetime | None = None
    #: What could not be read of the file (lines or entries not watched); not stored.
    problems: tuple[str, ...] = ()
    #: A lock file registered before lock indexes were recorded: ``monitor add`` it again.
    readd: bool = False


@dataclass(frozen=True)
class UsageRef:
    """Where a watched name is used: which project, which file, at which version."""

    project: str
    path: str
    version: str | None
    index: str | None = None
    #: The index was named by a lock file the user registered: asked like ``check`` asks it
    #: (a purl's index must be allowed by configuration).
    lock: bool = False
    repository_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoticeDraft:
    """A transition found by a pass, before the store gives it its row (kind: transitions.py)."""

    event_id: str
    name: str
    kind: str
    old_status: str
    new_status: str
    version: str | None
    reason: str | None
    seen_at: datetime
    notice: Mapping[str, Any] = field(default_factory=dict)
    #: The watched item's index key ("" the configured index).
    index_url: str = ""
    #: Which signal changed: "index" (the project status) or "maintenance" (the repository).
    signal: str = "index"

    def stored(self) -> Transition:
        """The transition this draft becomes once its row is written (the same facts)."""
        return Transition(*(getattr(self, f.name) for f in fields(self)))


@dataclass(frozen=True)
class Transition:
    """A stored transition: the draft's facts plus the notice every target receives."""

    event_id: str
    name: str
    kind: str
    old_status: str
    new_status: str
    version: str | None
    reason: str | None
    seen_at: datetime
    notice: Mapping[str, Any]
    index_url: str = ""
    signal: str = "index"


@dataclass(frozen=True)
class OutboxItem:
    """One notice still to deliver to one target (claimed by this process until delivered)."""

    id: int
    event_id: str
    target: str
    attempts: int
    notice: Mapping[str, Any]


@dataclass(frozen=True)
class PassStats:
    """What one pass did, kept in the database for ``status`` and the metrics of every replica."""

    started_at: datetime
    finished_at: datetime
    names: int
    failed: int
    transitions: int
    requests: int
    not_modified: int
    bytes_downloaded: int

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Judgement:
    """What a pass concludes about one name from its last baseline and the new answer.

    ``baseline`` is the record to keep as the new baseline (``None``: keep the old one, as for
    a failed lookup); ``changed`` asks for an observation row (what the index says changed).
    """

    baseline: StatusRecord | None
    changed: bool
    drafts: tuple[NoticeDraft, ...] = ()


@dataclass(frozen=True)
class MaintenanceJudgement:
    """What a pass concludes about one name's maintenance verdict (``baseline`` None: keep the
    old one, as for an ``unknown`` from a failed forge lookup)."""

    baseline: MaintenanceVerdict | None
    drafts: tuple[NoticeDraft, ...] = ()
