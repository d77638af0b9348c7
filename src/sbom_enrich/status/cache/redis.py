"""A RecordStore in Redis, so service replicas behind a load balancer share index answers.

Best effort like :class:`~sbom_enrich.status.cache.disk.StatusCache`: when Redis fails, one
warning is logged, every call acts as a miss for ``retry_after`` seconds without touching the
network, then the next call tries again; when Redis answers again, one line says so. Calls are
synchronous (like diskcache) with short socket timeouts, so an unreachable Redis costs at most
one ``call_timeout`` per ``retry_after`` window.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..urls import redact_url
from .disk import CacheEntry, decode_found, decode_or_miss, encode_entry, is_not_found

logger = logging.getLogger(__name__)

#: Every key this tool writes starts with this, so a shared Redis can hold other data.
KEY_PREFIX = "sbom-enrich:"
#: Other sources' entries (repository records), apart from the index's status records.
TEXT_PREFIX = KEY_PREFIX + "text:"
#: Entries outlive their freshness (they are revalidated with their ETag, and serve
#: ``--offline``), but not forever: Redis memory is bounded.
DEFAULT_TTL = 7 * 24 * 3600
DEFAULT_CALL_TIMEOUT = 0.25
DEFAULT_RETRY_AFTER = 10.0
SCHEMES = ("redis", "rediss", "unix")
#: Keys per MGET: one round trip each, and no single reply large enough to stall Redis.
MGET_KEYS = 500


def is_redis_url(url: str) -> bool:
    """True for ``redis://``, ``rediss://`` (TLS) and ``unix://`` (socket) URLs."""
    return urlsplit(url).scheme in SCHEMES


class _RedisConnection:
    """One Redis client with the best-effort rules: a failure logs one warning, then every
    call is a miss for ``retry_after`` seconds without touching the network."""

    def __init__(
        self,
        url: str,
        *,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = redact_url(url)
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._degraded = False
        # No client-side retries: a miss is cheaper than a stalled request.
        self._redis: Any = redis.Redis.from_url(
            url,
            socket_timeout=call_timeout,
            socket_connect_timeout=call_timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    # -- health -------------------------------------------------------------------------

    def _available(self) -> bool:
        return self._clock() >= self._down_until

    def _fail(self, action: str, error: BaseException) -> None:
        self._down_until = self._clock() + self._retry_after
        if not self._degraded:
            logger.warning(
                "Redis cache at %s unusable (%s failed: %s); continuing without a cache, "
                "trying again every %g s",
                self.url,
                action,
                error,
                self._retry_after,
            )
        self._degraded = True

    def _succeeded(self) -> None:
        if self._degraded:
            logger.warning("Redis cache at %s is back", self.url)
            self._degraded = False

    @property
    def usable(self) -> bool:
        if not self._available():
            return False
        try:
            self._redis.ping()
        except self._errors as error:
            self._fail("ping", error)
            return False
        self._succeeded()
        return True

    def close(self) -> None:
        try:
            self._redis.close()
        except self._errors as error:
            logger.debug("closing the Redis connection failed: %s", error)


class RedisRecordStore(_RedisConnection):
    """Status records as JSON text under ``sbom-enrich:<cache key>``, each with a TTL.

    ``not_found_ttl``: seconds a not-found answer is kept instead of ``ttl`` (a front end that
    looks up names strangers send sets it short, so random names do not fill Redis).
    """

    def __init__(
        self,
        url: str,
        *,
        ttl: int = DEFAULT_TTL,
        not_found_ttl: float | None = None,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(url, call_timeout=call_timeout, retry_after=retry_after, clock=clock)
        self._ttl = ttl
        self._not_found_ttl = ttl if not_found_ttl is None else max(1, math.ceil(not_found_ttl))

    # -- records ------------------------------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        if not self._available():
            return None
        try:
            raw = self._redis.get(KEY_PREFIX + key)
        except self._errors as error:
            self._fail("read", error)
            return None
        self._succeeded()
        return decode_or_miss(key, raw)

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        """One MGET per :data:`MGET_KEYS` keys instead of a round trip per key."""
        if not self._available() or not keys:
            return {}
        unique = list(dict.fromkeys(keys))
        found: dict[str, str | bytes] = {}
        try:
            for start in range(0, len(unique), MGET_KEYS):
                chunk = unique[start : start + MGET_KEYS]
                values = self._redis.mget([KEY_PREFIX + key for key in chunk])
                found.update(
                    (key, raw) for key, raw in zip(chunk, values, strict=True) if raw is not None
                )
        except self._errors as error:
            self._fail("read", error)
            return {}
        self._succeeded()
        return decode_found(found)

    def set(self, key: str, entry: CacheEntry) -> None:
        if not self._available():
            return
        try:
            ttl = self._not_found_ttl if is_not_found(entry) else self._ttl
            self._redis.set(KEY_PREFIX + key, encode_entry(entry), ex=ttl)
        except self._errors as error:
            self._fail("write", error)
            return
        self._succeeded()

    def _keys(self) -> list[bytes]:
        # Other sources' text lives under their own prefix (TEXT_PREFIX): not status records.
        keys = self._redis.scan_iter(match=KEY_PREFIX + "*", count=1000)
        return [key for key in keys if not key.startswith(TEXT_PREFIX.encode())]

    def info(self) -> dict[str, Any]:
        details: dict[str, Any] = {"backend": "redis", "url": self.url, "usable": False}
        if not self._available():
            return details
        try:
            keys = self._keys()
            now = time.time()
            fresh = 0
            for start in range(0, len(keys), MGET_KEYS):
                values = self._redis.mget(keys[start : start + MGET_KEYS])
                fresh += sum(1 for raw in values if _is_fresh(raw, now))
        except self._errors as error:
            self._fail("read", error)
            return details
        self._succeeded()
        details.update(usable=True, entries=len(keys), fresh=fresh)
        return details

    def clear(self) -> int:
        """Delete this tool's keys only (never FLUSHDB: the Redis may be shared)."""
        if not self._available():
            return 0
        try:
            keys = self._keys()
            for start in range(0, len(keys), 500):
                self._redis.delete(*keys[start : start + 500])
        except self._errors as error:
            self._fail("clear", error)
            return 0
        self._succeeded()
        return len(keys)


class RedisTextStore(_RedisConnection):
    """Another source's entries (the repository source's JSON text) under
    ``sbom-enrich:text:<key>``: the text interface of the disk cache (``get_text``,
    ``set_text``), each entry with a TTL (``expire``, at most ``max_ttl``) so Redis memory stays
    bounded. What an entry means, and whether it is still readable, is the caller's to judge.
    """

    def __init__(
        self,
        url: str,
        *,
        max_ttl: int = DEFAULT_TTL,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(url, call_timeout=call_timeout, retry_after=retry_after, clock=clock)
        self._max_ttl = max_ttl

    def get_text(self, key: str) -> str | bytes | None:
        if not self._available():
            return None
        try:
            raw: bytes | None = self._redis.get(TEXT_PREFIX + key)
        except self._errors as error:
            self._fail("read", error)
            return None
        self._succeeded()
        return raw

    def set_text(self, key: str, text: str, expire: float | None = None) -> None:
        if not self._available():
            return
        ttl = self._max_ttl if expire is None else max(1, min(self._max_ttl, math.ceil(expire)))
        try:
            self._redis.set(TEXT_PREFIX + key, text, ex=ttl)
        except self._errors as error:
            self._fail("write", error)
            return
        self._succeeded()

    def flush(self) -> None:
        """Writes are not gathered (each is one round trip): nothing to commit."""


def _is_fresh(raw: bytes | None, now: float) -> bool:
    entry = decode_or_miss("<info>", raw)
    return entry is not None and entry.is_fresh(now)
