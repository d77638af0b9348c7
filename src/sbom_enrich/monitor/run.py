"""One monitoring pass: re-ask every watched name, record what changed, queue the notices."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from ..status.cache.disk import CacheEntry, RecordStore
from ..status.client import StatusClient
from ..status.model import ProjectStatus, StatusRecord, utc_now
from ..status.settings import ClientSettings
from ..status.urls import normalize_index_url
from .model import Judgement, PassStats, Transition, UsageRef
from .store import MonitorStore
from .transitions import Alternatives, judge_record

__all__ = ["PassResult", "RevalidatingStore", "open_monitor_client", "run_pass"]

logger = logging.getLogger(__name__)


class RevalidatingStore:
    """A record store whose every entry reads as stale, so each lookup revalidates.

    A pass must ask the index every time (``If-None-Match``: a ``304`` costs no page): an
    answer still fresh by ``max-age`` may already be out of date, and a quarantine can come
    and go within a day. Entries are written through unchanged, so ``check`` and the language
    server sharing the cache keep their usual freshness.
    """

    def __init__(self, inner: RecordStore) -> None:
        self._inner = inner

    @property
    def usable(self) -> bool:
        return self._inner.usable

    def get(self, key: str) -> CacheEntry | None:
        entry = self._inner.get(key)
        return None if entry is None else replace(entry, max_age=0.0)

    def set(self, key: str, entry: CacheEntry) -> None:
        self._inner.set(key, entry)

    def info(self) -> dict[str, Any]:
        return self._inner.info()

    def clear(self) -> int:
        return self._inner.clear()

    def close(self) -> None:
        self._inner.close()


@asynccontextmanager
async def open_monitor_client(
    settings: ClientSettings, *, cache_url: str | None = None
) -> AsyncIterator[StatusClient]:
    """Like ``status.open_status_client``, with the cache wrapped in :class:`RevalidatingStore`.

    Without a cache (``--no-cache``) there is no ETag to send: every pass downloads every page.
    """
    from ..status._http.client import build_http_client
    from ..status.compose import build_record_store

    store = build_record_store(settings, cache_url)
    try:
        async with build_http_client(settings) as http:
            client = StatusClient(
                http=http,
                cache=RevalidatingStore(store) if store is not None else None,
                settings=settings,
            )
            try:
                yield client
            finally:
                await client.aclose()
    finally:
        if store is not None:
            store.close()


@dataclass(frozen=True)
class PassResult:
    """What a pass saw; ``skipped`` when another replica held the pass lock."""

    names: int = 0
    failed: tuple[StatusRecord, ...] = ()
    cannot_tell: tuple[StatusRecord, ...] = ()
    transitions: tuple[Transition, ...] = ()
    baselines: int = 0
    requests: int = 0
    not_modified: int = 0
    bytes_downloaded: int = 0
    duration: float = 0.0
    skipped: bool = False
    #: Why nothing was recorded although the lookups ran (one line), e.g. a wrong index URL.
    problem: str | None = None
    #: Names every file takes from another index (purl ``repository_url``): not checked.
    elsewhere: tuple[str, ...] = ()


def split_by_index(
    usages: Mapping[str, Sequence[UsageRef]], index_url: str
) -> tuple[dict[str, list[UsageRef]], tuple[str, ...]]:
    """(usages on the configured index, names every file takes from another index).

    Only the configured index is asked: the same name on a private index and on PyPI are two
    projects (dependency confusion), and a baseline per name cannot keep them apart. A name
    some file takes from the configured index is watched there, for those files only.
    """
    configured = normalize_index_url(index_url)
    here: dict[str, list[UsageRef]] = {}
    elsewhere: list[str] = []
    for name, refs in usages.items():
        mine = [r for r in refs if r.index is None or r.index == configured]
        if mine:
            here[name] = mine
        else:
            elsewhere.append(name)
    return here, tuple(sorted(elsewhere))


async def run_pass(
    store: MonitorStore,
    client: StatusClient,
    alternatives: Alternatives,
    targets: Sequence[str],
) -> PassResult:
    """Look every watched name up once; judge and record each answer; never raises for lookups."""
    with store.pass_lock() as granted:
        if not granted:
            return PassResult(skipped=True)
        return await _locked_pass(store, client, alternatives, targets)


async def _locked_pass(
    store: MonitorStore,
    client: StatusClient,
    alternatives: Alternatives,
    targets: Sequence[str],
) -> PassResult:
    started_at = utc_now()
    started = time.perf_counter()
    requests, not_modified, downloaded = (
        client.requests,
        client.not_modified,
        client.bytes_downloaded,
    )
    usages, elsewhere = split_by_index(store.watched(), client.settings.index_url)
    if not usages and not elsewhere:
        return PassResult(problem="nothing is registered: add files with 'monitor add'")
    records: list[StatusRecord] = [r async for r in client.lookup_many(sorted(usages))]
    if len(records) >= 2 and all(r.status is ProjectStatus.NOT_FOUND for r in records):
        # Every name gone at once is a wrong index URL, not news: recording it would send one
        # "disappeared" notice per name now and one "revived" per name once the URL is fixed.
        return PassResult(
            names=len(records),
            requests=client.requests - requests,
            problem=f"every one of the {len(records)} names answered 404 on "
            f"{client.index_url}: is the index URL right? Nothing was recorded",
        )
    judge = judge_record(usages, alternatives, utc_now())
    first_seen = 0

    def counting(name: str, before: StatusRecord | None, after: StatusRecord) -> Judgement:
        nonlocal first_seen
        judgement = judge(name, before, after)
        first_seen += before is None and judgement.baseline is not None
        return judgement

    transitions = store.apply(records, counting, targets)
    failed = tuple(r for r in records if r.failed)
    cannot_tell = tuple(r for r in records if r.status is ProjectStatus.UNKNOWN and not r.failed)
    result = PassResult(
        names=len(records),
        elsewhere=elsewhere,
        failed=failed,
        cannot_tell=cannot_tell,
        transitions=tuple(transitions),
        baselines=first_seen,
        requests=client.requests - requests,
        not_modified=client.not_modified - not_modified,
        bytes_downloaded=client.bytes_downloaded - downloaded,
        duration=time.perf_counter() - started,
    )
    store.record_pass(
        PassStats(
            started_at,
            utc_now(),
            result.names,
            len(failed),
            len(transitions),
            result.requests,
            result.not_modified,
            result.bytes_downloaded,
        )
    )
    return result
