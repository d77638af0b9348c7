"""Repository records in the status cache's stores (disk, or Redis shared by service replicas)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from ..cache.disk import StatusCache
from .model import RepoRecord, RepoState
from .project_meta import ProjectMetadata

__all__ = ["RepoCache", "TextStore", "repo_cache_key"]

logger = logging.getLogger(__name__)

SCHEMA = 1
#: A repository's state changes slowly; a day keeps a daily CI run to one request per repo.
FOUND_MAX_AGE = 24 * 3600.0
#: Project metadata (project URLs, the last description): a day, like a found repository.
METADATA_MAX_AGE = 24 * 3600.0
#: "Gone" is kept briefly, like the index's 404: the name may come back (or be taken).
GONE_MAX_AGE = 3600.0


def repo_cache_key(key: str) -> str:
    return f"repo{SCHEMA}|{key}"


class TextStore(Protocol):
    """What the repository records need of a store: text by key, best effort (never raises)."""

    def get_text(self, key: str) -> str | bytes | None: ...

    def set_text(self, key: str, text: str, expire: float | None = None) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


_warned = False


def _unreadable(kind: str, error: BaseException) -> None:
    """One warning per process for an entry nobody can read, then debug lines (no flood)."""
    global _warned
    level = logging.DEBUG if _warned else logging.WARNING
    _warned = True
    logger.log(level, "ignoring unreadable %s cache entry: %s", kind, type(error).__name__)


@dataclass(frozen=True)
class RepoCache:
    """Best effort, like the status cache: a broken store logs once and acts as a miss.

    Shared with the status cache: the stores (:class:`StatusCache` on disk — diskcache, JSON
    text never pickles, batched writes, size bound; or Redis, shared by service replicas) and
    their rules (failure → miss with one warning; an entry validated when read, a bad one a
    miss with one warning). Not shared: the place (``<cache dir>/repositories``, or
    ``sbom-enrich:text:`` keys in Redis, so ``cache info`` on the index store never meets an
    entry it cannot read), the record shape and the freshness rules (forges send no
    ``Cache-Control`` we could use; a day for found, an hour for gone, failures never stored).
    Entries expire from the store when they stop being fresh.
    """

    store: TextStore

    @classmethod
    def beside(cls, status_cache_dir: Path) -> RepoCache:
        return cls(StatusCache(cls.directory_beside(status_cache_dir)))

    @staticmethod
    def directory_beside(status_cache_dir: Path) -> Path:
        """Where :meth:`beside` keeps its records."""
        return status_cache_dir / "repositories"

    @classmethod
    def in_redis(cls, url: str) -> RepoCache:
        """Records in the Redis at ``url`` (the service's ``--cache-url``), shared by replicas."""
        from ..cache.redis import RedisTextStore

        return cls(RedisTextStore(url))

    def get(self, key: str, now: float) -> RepoRecord | None:
        """A fresh record, or None (miss, stale, or unreadable)."""
        raw = self.store.get_text(repo_cache_key(key))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            fetched_at, max_age = float(data["fetched_at"]), float(data["max_age"])
            if not (math.isfinite(fetched_at) and math.isfinite(max_age)):
                raise ValueError("fetched_at and max_age must be finite")
            # A stored age is not trusted past the longest this source ever keeps a record.
            max_age = min(max_age, FOUND_MAX_AGE)
            if now - fetched_at >= max_age or now < fetched_at:
                return None
            return replace(RepoRecord.from_json(data["record"]), from_cache=True)
        except Exception as error:  # noqa: BLE001 - a stored entry is untrusted: any fault is a miss
            _unreadable("repository", error)
            return None

    def get_metadata(self, api_url: str, name: str, now: float) -> ProjectMetadata | None:
        """Fresh project metadata from the JSON project API, or None."""
        raw = self.store.get_text(f"meta{SCHEMA}|{api_url}|{name}")
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            fetched_at = float(data["fetched_at"])
            if not math.isfinite(fetched_at):
                raise ValueError("fetched_at must be finite")
            if not 0 <= now - fetched_at < METADATA_MAX_AGE:
                return None
            return ProjectMetadata.from_json(data["metadata"])
        except Exception as error:  # noqa: BLE001 - a stored entry is untrusted: any fault is a miss
            _unreadable("project metadata", error)
            return None

    def set_metadata(self, api_url: str, metadata: ProjectMetadata, now: float) -> None:
        if metadata.error is not None:
            return
        text = json.dumps({"metadata": metadata.to_json(), "fetched_at": now})
        self.store.set_text(f"meta{SCHEMA}|{api_url}|{metadata.name}", text, METADATA_MAX_AGE)

    def set(self, key: str, record: RepoRecord, now: float) -> None:
        if record.state is RepoState.UNKNOWN:
            return
        max_age = FOUND_MAX_AGE if record.state is RepoState.FOUND else GONE_MAX_AGE
        text = json.dumps(
            {"record": record.to_json(), "fetched_at": now, "max_age": max_age},
            separators=(",", ":"),
        )
        self.store.set_text(repo_cache_key(key), text, max_age)

    def close(self) -> None:
        self.store.close()
