"""The repository source: asks forges whether a repository is archived, active or gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from ..._deadline import within
from ..answer_values import load_json
from ..client import shared_lookups_now
from ..sources import StatusSource
from ..urls import is_loopback
from .cache import RepoCache
from .forges import (
    gone,
    graphql_query,
    graphql_url,
    parse_graphql,
    rate_limit_reset,
    read_repository,
    rest_url,
    unknown,
)
from .model import RepoRecord
from .settings import RepositorySettings
from .urls import Forge, ForgeEndpoint, ForgeTable, RepoRef

__all__ = ["RepositorySource"]

logger = logging.getLogger(__name__)

#: Largest forge answer read; a GraphQL answer for 100 repositories is about 30 kB.
MAX_BODY = 4 * 2**20
MAX_REDIRECTS = 3
RETRIES = 3
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_TOKEN_ENV = {
    Forge.GITHUB: "GITHUB_TOKEN",
    Forge.GITLAB: "GITLAB_TOKEN",
    Forge.GITEA: "GITEA_TOKEN",
}

Results = dict[str, RepoRecord]


class _Refused(Exception):
    """An answer the source will not use; the message is safe to print."""


#: After this many network failures in a row, a forge is taken as down for BREAKER_COOLDOWN
#: seconds: its remaining lookups fail at once instead of each waiting out its retries.
BREAKER_THRESHOLD = 8
BREAKER_COOLDOWN = 30.0


@dataclass
class _RateGate:
    """Per API origin: until when the forge said to wait, and the note saying so; and the
    breaker (consecutive network failures, open until when)."""

    blocked_until: float = 0.0
    note: str = ""
    failures: int = 0
    open_until: float = 0.0
    last_error: str = ""


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"


def sends_token(endpoint: ForgeEndpoint, url: httpx.URL) -> bool:
    """A token travels only over https, or plain http to this machine (a local test server)."""
    return bool(endpoint.token) and (url.scheme == "https" or is_loopback(url.host))


def _auth_headers(endpoint: ForgeEndpoint, url: httpx.URL) -> dict[str, str]:
    if not endpoint.token or not sends_token(endpoint, url):
        return {}
    if endpoint.forge is Forge.GITLAB:
        return {"PRIVATE-TOKEN": endpoint.token}
    if endpoint.forge is Forge.GITEA:
        return {"Authorization": f"token {endpoint.token}"}
    return {"Authorization": f"Bearer {endpoint.token}"}


class RepositorySource(StatusSource[RepoRef, RepoRecord]):
    """Repository state from GitHub, GitLab and Gitea/Forgejo APIs.

    Shares the status client's rules, not its code (its requests are index pages, these are
    API calls with tokens): identical questions coalesce into one request, a semaphore bounds
    concurrency, each lookup has a deadline (``timeout``), 5xx and network errors are retried
    with jittered backoff, and a rate limit from the response headers stops every request to
    that forge until the reset — or fails the lookups fast when the reset is past their
    deadline, with a note. Redirects are followed only within the API's own origin and never
    from https to http, so a token never leaves for another host. Failed lookups are
    ``unknown`` records, never exceptions, and are never cached.

    ``cancel_orphans`` (the service): a caller that stops waiting (its request timed out, its
    client left) leaves its lookups, and a forge call whose every repository nobody awaits any
    more is cancelled, as the status client does with index lookups: it would hold a slot of
    ``concurrency`` (and a forge connection) from everyone else until the forge answered.
    """

    name = "repository"

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        settings: RepositorySettings,
        cache: RepoCache | None,
        clock: Callable[[], float] = time.time,
        cancel_orphans: bool = False,
    ) -> None:
        self._http = http
        self._settings = settings
        self._cache = cache
        self._clock = clock
        self._forges = settings.forge_table()
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._inflight: dict[str, asyncio.Future[RepoRecord]] = {}
        #: Each forge call running, with the future of each repository it answers.
        self._tasks: dict[asyncio.Task[Results], dict[str, asyncio.Future[RepoRecord]]] = {}
        #: The forge call answering each repository in flight.
        self._task_of: dict[str, asyncio.Task[Results]] = {}
        self._cancel_orphans = cancel_orphans
        #: With ``cancel_orphans``: how many callers await each repository in flight.
        self._waiters: dict[str, int] = {}
        self._gates: dict[str, _RateGate] = {}
        self._graphql_unavailable: set[str] = set()
        self._notes: dict[str, None] = {}
        self.requests = 0
        self.graphql_requests = 0

    @property
    def in_flight(self) -> int:
        """Forge calls running now (a GitHub GraphQL call asks up to 100 repositories)."""
        return len(self._tasks)

    @property
    def cache(self) -> RepoCache | None:
        """The store of repository records (the survey keeps project metadata there too)."""
        return self._cache

    @property
    def forges(self) -> ForgeTable:
        return self._forges

    @property
    def notes(self) -> tuple[str, ...]:
        """One-line notes for the user (no token, rate limited, GraphQL unavailable)."""
        return tuple(self._notes)

    def _note(self, text: str) -> None:
        if text not in self._notes:
            self._notes[text] = None
            logger.info("%s", text)

    async def query(self, subject: RepoRef) -> RepoRecord:
        # Closed at once, not when collected: it leaves the lookup it awaited then.
        async with contextlib.aclosing(self.query_all([subject])) as records:
            async for record in records:
                return record
        raise AssertionError("query_all yields one record per distinct repository")

    async def query_all(self, subjects: Iterable[RepoRef]) -> AsyncGenerator[RepoRecord, None]:
        """Each distinct repository once, as answers arrive; GitHub ones 100 per GraphQL call."""
        unique: dict[str, RepoRef] = {}
        for ref in subjects:
            unique.setdefault(ref.key, ref)
        now = self._clock()
        waiting: dict[str, asyncio.Future[RepoRecord]] = {}
        batches: dict[str, tuple[ForgeEndpoint, list[RepoRef]]] = {}
        loop = asyncio.get_running_loop()
        shared = shared_lookups_now()
        for key, ref in unique.items():
            cached = self._cache.get(key, now) if self._cache is not None else None
            if cached is not None:
                yield cached
                continue
            if self._settings.offline:
                yield unknown(ref, "offline and not in the cache")
                continue
            future = self._inflight.get(key)
            started = future is None
            if future is None:
                endpoint = self._forges.endpoint(ref)
                if endpoint is None:
                    yield unknown(ref, f"{ref.host} is not a configured forge")
                    continue
                future = loop.create_future()
                self._inflight[key] = future
                if self._batchable(endpoint):
                    batches.setdefault(endpoint.api_url, (endpoint, []))[1].append(ref)
                else:
                    self._start(self._rest_many(endpoint, [ref]), [ref])
            if shared is not None:  # the service: a joined lookup costs its caller nothing
                shared.forges.note(key, started)
            waiting[key] = future
        for endpoint, refs in batches.values():
            size = max(1, self._settings.github_batch)
            for start in range(0, len(refs), size):
                chunk = refs[start : start + size]
                self._start(self._github_batch(endpoint, chunk), chunk)
        if self._cancel_orphans:
            for key in waiting:
                self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            for next_done in asyncio.as_completed(waiting.values()):
                yield await next_done
        finally:
            if self._cancel_orphans:  # answered, or given up (cancelled, stopped early)
                self._leave(waiting)

    def _batchable(self, endpoint: ForgeEndpoint) -> bool:
        # GitHub's GraphQL API needs a token; without one REST is the only way.
        return (
            endpoint.forge is Forge.GITHUB
            and sends_token(endpoint, httpx.URL(endpoint.api_url))
            and endpoint.api_url not in self._graphql_unavailable
        )

    def _start(self, work: Coroutine[Any, Any, Results], refs: Sequence[RepoRef]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks[task] = {ref.key: self._inflight[ref.key] for ref in refs}
        self._task_of.update((ref.key, task) for ref in refs)
        task.add_done_callback(lambda done: self._settle(done, refs))

    def _leave(self, keys: Iterable[str]) -> None:
        """The caller awaiting ``keys`` stops waiting: each forge call whose repositories
        nobody awaits any more is cancelled (its repositories unlisted first, so a caller
        arriving now starts a fresh call rather than join one being cancelled)."""
        ending: set[asyncio.Task[Results]] = set()
        for key in keys:
            left = self._waiters.get(key, 1) - 1
            if left > 0:
                self._waiters[key] = left
                continue
            self._waiters.pop(key, None)
            task = self._task_of.get(key)
            if task is not None and not task.done():
                ending.add(task)
        for task in ending:
            futures = self._tasks.get(task, {})
            if any(self._waiters.get(key) for key in futures):
                continue  # a repository of the same call is still awaited by someone
            for key, future in futures.items():
                if self._inflight.get(key) is future:
                    del self._inflight[key]
                if self._task_of.get(key) is task:
                    del self._task_of[key]
            task.cancel()

    def _settle(self, done: asyncio.Task[Results], refs: Sequence[RepoRef]) -> None:
        futures = self._tasks.pop(done, {})
        results: Results = {}
        if done.cancelled():
            error = "the lookup was cancelled"
        elif done.exception() is not None:
            logger.error("repository lookup failed unexpectedly", exc_info=done.exception())
            error = "internal error (see the log)"
        else:
            results = done.result()
            error = "no answer for this repository"
        now = self._clock()
        for ref in refs:
            record = results.get(ref.key) or unknown(ref, error)
            if self._cache is not None:
                self._cache.set(ref.key, record, now)  # never an unknown one
            future = futures.get(ref.key)
            # Only this call's own: after a cancel, a newer call may be listed for the key.
            if future is not None and self._inflight.get(ref.key) is future:
                del self._inflight[ref.key]
            if self._task_of.get(ref.key) is done:
                del self._task_of[ref.key]
            if future is not None and not future.done():
                future.set_result(record)

    async def aclose(self) -> None:
        """Cancel lookups still running (the HTTP client and the cache are the caller's)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- one forge call per repository ---------------------------------------------------

    async def _rest_many(self, endpoint: ForgeEndpoint, refs: Sequence[RepoRef]) -> Results:
        answers = await asyncio.gather(*(self._rest_one(endpoint, ref) for ref in refs))
        return {record_ref.key: record for record_ref, record in zip(refs, answers, strict=True)}

    async def _rest_one(self, endpoint: ForgeEndpoint, ref: RepoRef) -> RepoRecord:
        if endpoint.forge is Forge.GITHUB and not endpoint.token:
            self._note(
                "GITHUB_TOKEN is not set: GitHub repositories are asked one per request "
                "through the REST API, which allows 60 requests an hour without a token"
            )
        try:
            async with self._semaphore:
                return await within(self._rest_answer(endpoint, ref), self._settings.timeout)
        except asyncio.TimeoutError:
            return unknown(ref, f"no answer from {_origin(endpoint.api_url)} in time")

    async def _rest_answer(self, endpoint: ForgeEndpoint, ref: RepoRef) -> RepoRecord:
        try:
            status, body = await self._send(endpoint, "GET", rest_url(endpoint.api_url, ref))
        except _Refused as refused:
            return unknown(ref, str(refused))
        if status == 404 or status == 410:
            return gone(ref)
        if status != 200:
            return unknown(ref, f"HTTP {status} from {_origin(endpoint.api_url)}")
        try:
            data = load_json(body)
        except ValueError:
            return unknown(ref, "the forge sent a body that is not JSON")
        return read_repository(ref, data)

    # -- GitHub: up to 100 repositories per GraphQL request ------------------------------

    async def _github_batch(self, endpoint: ForgeEndpoint, refs: Sequence[RepoRef]) -> Results:
        try:
            async with self._semaphore:
                records = await within(self._graphql(endpoint, refs), self._settings.timeout)
        except asyncio.TimeoutError:
            records = None
        if records is None:
            records = {}
        missing = [ref for ref in refs if ref.key not in records]
        if missing:
            records.update(await self._rest_many(endpoint, missing))
        return records

    async def _graphql(self, endpoint: ForgeEndpoint, refs: Sequence[RepoRef]) -> Results | None:
        """The batch's records, or None when GraphQL gave no usable answer (REST follows)."""
        query, variables = graphql_query(refs)
        url = graphql_url(endpoint.api_url)
        try:
            status, body = await self._send(
                endpoint, "POST", url, json_body={"query": query, "variables": variables}
            )
        except _Refused as refused:
            logger.debug("GraphQL refused: %s", refused)
            return None
        self.graphql_requests += 1
        if status in (401, 404, 405):
            # No GraphQL here (an old GitHub Enterprise, a proxy) or the token cannot use it.
            self._graphql_unavailable.add(endpoint.api_url)
            self._note(
                f"GitHub GraphQL at {_origin(url)} answered HTTP {status}: "
                "asking its REST API one repository per request"
            )
            return None
        if status != 200:
            return None
        try:
            answer = load_json(body)
        except ValueError:
            return None
        return parse_graphql(refs, answer)

    # -- HTTP: rate limits, retries, same-origin redirects --------------------------------

    async def _send(
        self,
        endpoint: ForgeEndpoint,
        method: str,
        url: str,
        *,
        json_body: object | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) after rate-limit waits and retries; raises _Refused with a note."""
        origin = _origin(endpoint.api_url)
        gate = self._gates.setdefault(origin, _RateGate())
        error = ""
        for attempt in range(RETRIES + 1):
            if gate.open_until > time.monotonic():
                raise _Refused(f"{origin} keeps failing ({gate.last_error}); not asked")
            wait = gate.blocked_until - self._clock()
            if wait > 0:
                if wait > self._settings.timeout:
                    # Waiting would outlast the lookup: fail now, never hang.
                    raise _Refused(gate.note)
                await asyncio.sleep(wait)
            try:
                status, headers, body = await self._exchange(endpoint, method, url, json_body)
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__} from {origin}"
                self._note_network_failure(gate, origin, error)
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise _Refused(f"bad answer from {origin}: {type(exc).__name__}") from None
            else:
                self.requests += 1
                gate.failures = 0
                limited_for = rate_limit_reset(headers, self._clock())
                rate_limited = status == 429 or (status == 403 and limited_for is not None)
                if limited_for is not None and (rate_limited or status == 200):
                    # A 200 that used the last request of the window blocks the next ones too.
                    self._block(gate, endpoint, origin, limited_for)
                if rate_limited:
                    error = gate.note or f"rate limited by {origin}"
                    continue
                if status in RETRY_STATUSES:
                    error = f"HTTP {status} from {origin}"
                else:
                    return status, body
            if attempt < RETRIES:
                await asyncio.sleep(random.uniform(0, min(4.0, 0.25 * 2**attempt)))
        raise _Refused(error)

    def _note_network_failure(self, gate: _RateGate, origin: str, error: str) -> None:
        gate.failures += 1
        gate.last_error = error
        if gate.failures >= BREAKER_THRESHOLD and gate.open_until <= time.monotonic():
            gate.open_until = time.monotonic() + BREAKER_COOLDOWN
            self._note(
                f"{origin} keeps failing ({error}): its lookups fail at once for "
                f"{BREAKER_COOLDOWN:g} s"
            )

    def _block(self, gate: _RateGate, endpoint: ForgeEndpoint, origin: str, seconds: float) -> None:
        until = self._clock() + seconds
        gate.blocked_until = max(gate.blocked_until, until)
        when = datetime.fromtimestamp(gate.blocked_until, timezone.utc).strftime("%H:%M:%S UTC")
        hint = "" if endpoint.token else f"; set {_TOKEN_ENV[endpoint.forge]} for a higher limit"
        gate.note = f"rate limited by {origin} until {when}{hint}"
        self._note(gate.note)

    async def _exchange(
        self, endpoint: ForgeEndpoint, method: str, url: str, json_body: object | None
    ) -> tuple[int, httpx.Headers, bytes]:
        current = httpx.URL(url)
        # The same origin for every hop (redirects elsewhere are refused), so one check holds.
        headers = {"Accept": "application/json", **_auth_headers(endpoint, current)}
        if endpoint.token and not sends_token(endpoint, current):
            self._note(
                f"{_TOKEN_ENV[endpoint.forge]} is not sent to {_origin(url)}: plain http "
                "beyond this machine would show it to the network (use https)"
            )
        allowed = _origin(endpoint.api_url)
        for _hop in range(MAX_REDIRECTS + 1):
            request = self._http.build_request(method, current, headers=headers, json=json_body)
            response = await self._http.send(request, stream=True, follow_redirects=False)
            try:
                if response.status_code in (301, 302, 307, 308):
                    location = response.headers.get("Location", "").strip()
                    try:
                        target = current.join(location)
                    except (httpx.InvalidURL, ValueError):
                        raise _Refused("the forge redirected to an invalid Location") from None
                    if not location or _origin(str(target)) != allowed:
                        # A token must never follow a redirect to another host.
                        raise _Refused("the forge redirected to another origin; not followed")
                    current = target
                    continue
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise _Refused(f"answer from {allowed} larger than {MAX_BODY} bytes")
                return response.status_code, response.headers, bytes(body)
            finally:
                await response.aclose()
        raise _Refused(f"more than {MAX_REDIRECTS} redirects from {allowed}")
