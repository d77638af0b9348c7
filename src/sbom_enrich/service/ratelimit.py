"""Per-client rate limits: a token bucket per caller, paid in requests and in index lookups."""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .access import CLIENT_KEY, OPEN_PATHS, TOKEN_CALLER

#: Callers remembered at once; the least recently seen is forgotten first (it then starts
#: again with a full bucket), so a flood of addresses cannot grow the process without bound.
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    level: float
    updated: float


class RateLimiter:
    """One token bucket per caller: ``per_minute`` units a minute, holding at most that many.

    A request is let in while its caller's bucket holds at least one unit, and costs one; the
    names it asks about cost one each as well (:meth:`charge`), refunded for every one the
    request did not make the index do (:meth:`refund`: the cache answered, it joined a lookup
    already under way, or it asked nothing): what is limited is the work a caller makes the
    index (and, with maintenance, the forges) do.
    One big request may take the bucket below zero; the caller then waits until it is refilled
    (``Retry-After``), so one batch of 1,000 names costs 1,000 units, not one request.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.per_minute = per_minute
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, client: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(float(self.per_minute), now)
            if len(self._buckets) > self._max_clients:
                self._forget_an_address()
        else:
            self._buckets.move_to_end(client)
            refill = (now - bucket.updated) * self._per_second
            bucket.level = min(float(self.per_minute), bucket.level + refill)
            bucket.updated = now
        return bucket

    def _forget_an_address(self) -> None:
        """Forget the least recently seen address. A token's bucket is kept: tokens are few,
        and a flood of addresses (401s are limited by address too) would otherwise wipe a
        token's debt after a cold batch, and with it the limit."""
        for client in self._buckets:
            if not client.startswith(TOKEN_CALLER):
                del self._buckets[client]
                return

    def admit(self, client: str) -> float | None:
        """Take one unit and return None; or, when the bucket is empty, the seconds to wait."""
        bucket = self._bucket(client)
        if bucket.level >= 1.0:
            bucket.level -= 1.0
            return None
        return (1.0 - bucket.level) / self._per_second

    def charge(self, client: str, units: int, *, refusable: bool = True) -> float | None:
        """Take ``units`` more (names about to be looked up) and return None: the bucket may
        go below zero, for one request at a time. When another request of this caller has
        already taken it below zero, take nothing and return the seconds to wait.

        Requests are let in by their headers and charged once their body is read: a caller
        that sent the headers of twenty batches first, then their bodies, had all twenty let
        in, and one bucket of 20 units paid for 2,000 lookups. ``refusable=False``: a second
        charge of a request already charged once, never refused.
        """
        if units <= 0:
            return None
        bucket = self._bucket(client)
        if refusable and bucket.level < 0.0:
            return -bucket.level / self._per_second
        bucket.level -= units
        return None

    def refund(self, client: str, units: int) -> None:
        """Give back ``units`` charged for names the index was not asked about (the cache
        answered them, or they joined a lookup already under way)."""
        if units > 0:
            bucket = self._bucket(client)
            bucket.level = min(float(self.per_minute), bucket.level + units)


def client_key(scope: Scope) -> str:
    """The caller: its token (set by BearerAuth) or else its address (uvicorn has applied
    ``X-Forwarded-For`` from trusted proxies already)."""
    state = scope.setdefault("state", {})
    key = state.get(CLIENT_KEY)
    if key is None:
        client = scope.get("client")
        key = state[CLIENT_KEY] = f"address {_network(client[0]) if client else 'unknown'}"
    return str(key)


def _network(address: str) -> str:
    """An IPv6 caller is its /64: one host is handed a whole /64, and a bucket per address
    let it make as many callers (each with a full bucket) as it liked."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # a Unix socket path, a test client's name
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


class RateLimit:
    """ASGI middleware: ``429`` with ``Retry-After`` while the caller's bucket is empty."""

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter, open_paths: Collection[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self.limiter = limiter
        self._open = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.admit(client_key(scope))
        if wait is None:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        message = (
            f"rate limit of {self.limiter.per_minute} requests and lookups a minute reached: "
            f"try again in {seconds} s"
        )
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(seconds).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
