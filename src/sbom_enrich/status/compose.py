"""The one place that builds an HTTP client, a record store and a status client together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .cache.disk import DISKCACHE_DB, RecordStore, StatusCache
from .client import StatusClient
from .maintenance import StalePolicy
from .settings import ClientSettings

if TYPE_CHECKING:
    import httpx

    from .repository.cache import RepoCache
    from .repository.settings import RepositorySettings
    from .repository.survey import MaintenanceSurvey

logger = logging.getLogger(__name__)

# httpx, the transports and the repository source are imported when first needed: a run
# answered wholly from the cache never loads them (~0.1 s of a warm `check`).

__all__ = [
    "build_cache",
    "build_record_store",
    "import_http_stack",
    "open_maintenance_survey",
    "open_offline_client",
    "open_status_client",
]


def build_cache(settings: ClientSettings) -> StatusCache | None:
    """The disk cache the settings ask for, or none with ``--no-cache``."""
    if not settings.use_cache:
        return None
    return StatusCache(settings.resolved_cache_dir)


def build_record_store(
    settings: ClientSettings, cache_url: str | None = None, *, not_found_ttl: float | None = None
) -> RecordStore | None:
    """Redis when ``cache_url`` names one (the service's replicas share it), else the disk cache;
    ``not_found_ttl`` bounds how long either keeps a not-found answer (default: like others)."""
    if not settings.use_cache:
        return None
    if cache_url:
        # Imported here: only the service with a Redis URL needs the redis package.
        from .cache.redis import RedisRecordStore

        return RedisRecordStore(cache_url, not_found_ttl=not_found_ttl)
    directory = settings.resolved_cache_dir
    if settings.offline and never_written(directory):
        # A mistyped --cache-dir, a CI cache not restored: said once, and no empty cache is
        # created there (an offline run writes nothing).
        logger.warning(
            "offline, and no cache in %s (nothing was looked up with it): every project "
            "reads unknown",
            directory,
        )
        return None
    return StatusCache(directory, not_found_ttl=not_found_ttl)


def never_written(directory: Path) -> bool:
    """No disk cache was ever made in ``directory`` (its database file is not there)."""
    return not (directory / DISKCACHE_DB).is_file()


def import_http_stack(*, tls: bool = False) -> None:
    """Import httpx, the transports and the page parser now, and with ``tls`` make the index
    SSL context (the CLI does before it forks lookup processes, so that each starts with them
    loaded instead of importing them and loading the CA bundle again)."""
    from . import simple_api  # noqa: F401
    from ._http import client

    if tls:
        client.prepare_index_tls()


@asynccontextmanager
async def open_status_client(
    settings: ClientSettings,
    *,
    cache_url: str | None = None,
    not_found_ttl: float | None = None,
    wrap_store: Callable[[RecordStore], RecordStore] | None = None,
    cancel_orphans: bool = False,
) -> AsyncIterator[StatusClient]:
    """A ready client with its own HTTP client and record store, all closed on exit.

    The HTTP client is built on the first lookup that needs the network: a run answered
    wholly from the cache never imports httpx nor loads a CA bundle. ``wrap_store`` wraps
    the record store the client reads through (the monitor's always-revalidate view);
    ``cancel_orphans`` is :class:`StatusClient`'s.
    """
    store = build_record_store(settings, cache_url, not_found_ttl=not_found_ttl)
    seen = wrap_store(store) if store is not None and wrap_store is not None else store

    def build() -> httpx.AsyncClient:
        from ._http.client import build_http_client

        return build_http_client(settings)

    client = StatusClient(http=build, cache=seen, settings=settings, cancel_orphans=cancel_orphans)
    try:
        try:
            yield client
        finally:
            await client.aclose()
            if client.http_built:
                await client.http.aclose()
    finally:
        if store is not None:
            store.close()


@contextmanager
def open_offline_client(settings: ClientSettings) -> Iterator[StatusClient]:
    """For ``offline`` settings: a client with its record store (closed on exit) and no HTTP
    client at all, for :func:`~sbom_enrich.status.client.lookup_records_offline` outside any
    event loop."""
    if not settings.offline:
        raise ValueError("open_offline_client needs offline settings")
    store = build_record_store(settings)
    try:
        yield StatusClient(http=_no_http_offline, cache=store, settings=settings)
    finally:
        if store is not None:
            store.close()


def _no_http_offline() -> httpx.AsyncClient:
    raise RuntimeError("an offline client asked for an HTTP client")


@asynccontextmanager
async def open_maintenance_survey(
    client: StatusClient,
    settings: RepositorySettings,
    policy: StalePolicy,
    *,
    cache_url: str | None = None,
    cancel_orphans: bool = False,
) -> AsyncIterator[MaintenanceSurvey]:
    """The repository source beside ``client``: its HTTP client, its store (the cache root's
    ``repositories``, or the Redis at ``cache_url`` that service replicas share), offline;
    ``cancel_orphans`` is :class:`~.repository.source.RepositorySource`'s."""
    from .repository.cache import RepoCache
    from .repository.source import RepositorySource
    from .repository.survey import MaintenanceSurvey

    client_settings = client.settings
    cache: RepoCache | None = None
    repositories = RepoCache.directory_beside(client_settings.resolved_cache_dir)
    if cache_url and client_settings.use_cache:
        cache = RepoCache.in_redis(cache_url)
    elif client_settings.use_cache and not (
        client_settings.offline and never_written(repositories)
    ):
        cache = RepoCache.beside(client_settings.resolved_cache_dir)
    settings = replace(settings, offline=settings.offline or client_settings.offline)
    source = RepositorySource(
        http=client.http, settings=settings, cache=cache, cancel_orphans=cancel_orphans
    )
    try:
        yield MaintenanceSurvey(client.http, client, source, settings, policy)
    finally:
        await source.aclose()
        if cache is not None:
            cache.close()
