"""The one place that builds an HTTP client, a record store and a status client together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from ._http.client import build_http_client
from .cache.disk import RecordStore, StatusCache
from .client import StatusClient
from .maintenance import StalePolicy
from .repository.cache import RepoCache
from .repository.settings import RepositorySettings
from .repository.source import RepositorySource
from .repository.survey import MaintenanceSurvey
from .settings import ClientSettings

__all__ = [
    "build_cache",
    "build_record_store",
    "open_maintenance_survey",
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
    return StatusCache(settings.resolved_cache_dir, not_found_ttl=not_found_ttl)


@asynccontextmanager
async def open_status_client(
    settings: ClientSettings, *, cache_url: str | None = None, not_found_ttl: float | None = None
) -> AsyncIterator[StatusClient]:
    """A ready client with its own HTTP client and record store, all closed on exit."""
    store = build_record_store(settings, cache_url, not_found_ttl=not_found_ttl)
    try:
        async with build_http_client(settings) as http:
            client = StatusClient(http=http, cache=store, settings=settings)
            try:
                yield client
            finally:
                await client.aclose()
    finally:
        if store is not None:
            store.close()


@asynccontextmanager
async def open_maintenance_survey(
    client: StatusClient,
    settings: RepositorySettings,
    policy: StalePolicy,
    *,
    cache_url: str | None = None,
) -> AsyncIterator[MaintenanceSurvey]:
    """The repository source beside ``client``: its HTTP client, its store (the cache root's
    ``repositories``, or the Redis at ``cache_url`` that service replicas share), offline."""
    client_settings = client.settings
    cache: RepoCache | None = None
    if client_settings.use_cache:
        cache = (
            RepoCache.in_redis(cache_url)
            if cache_url
            else RepoCache.beside(client_settings.resolved_cache_dir)
        )
    settings = replace(settings, offline=settings.offline or client_settings.offline)
    source = RepositorySource(http=client.http, settings=settings, cache=cache)
    try:
        yield MaintenanceSurvey(client.http, client, source, settings, policy)
    finally:
        await source.aclose()
        if cache is not None:
            cache.close()
