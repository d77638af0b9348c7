"""The shared status client: asks a PEP 691/792 index about projects, concurrently and cached.

Failures are values, not exceptions: a lookup that cannot be completed returns a record with
status ``unknown`` and ``error`` set. The only exceptions this module raises are programming
errors. The client never builds its own HTTP client or cache: both are injected
(:func:`sbom_enrich.status.compose.open_status_client` builds one for the front ends).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import sys
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, TypeVar, Union

import msgspec

from ..errors import PageError
from .answer_values import DELTA_SECONDS_CAP, decimal, seconds_until
from .cache.disk import CacheEntry, RecordStore, cache_key, usable_etag
from .model import (
    ProjectStatus,
    StatusRecord,
    all_canonical_project_names,
    canonical,
    is_project_name,
    utc_now,
)
from .settings import ClientSettings
from .untrusted import MAX_ERROR_LENGTH, MAX_URL_LENGTH, clean_text, without_credentials
from .urls import normalize_index_url, project_page_url, redact_url, split_credentials

if TYPE_CHECKING:
    import asyncio

    import httpx

    from ._http.direct import Answer, IndexGetter

# httpx (and the transports under it) are imported where a lookup first goes to the network:
# a run answered wholly from the cache never loads them (~0.1 s of a warm `check`). Nor
# asyncio (and ssl under it, ~20 ms of every start): an offline run reads the cache without
# an event loop (lookup_records_offline), and what runs on one imports it there.

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 600.0
#: A 404 is kept briefly: the name can be registered at any moment (revival hijack).
NOT_FOUND_MAX_AGE = 120.0
MAX_RETRY_AFTER = 60.0
#: Longest an answer is kept fresh, whatever its ``max-age`` says: a day (PyPI sends 600 s).
MAX_FRESHNESS = 86_400.0
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Redirect hops followed per lookup (PyPI needs at most one: a non-canonical name).
MAX_REDIRECTS = 3
#: After this many attempts in a row fail in a way that says the index is down (refused,
#: unreachable, 5xx after retries, or timeouts while nothing at all answers), further lookups
#: are sent once without retries for BREAKER_COOLDOWN s: a dead index costs one attempt per
#: lookup, not its retries, and no lookup is failed without being asked.
BREAKER_THRESHOLD = 8
BREAKER_COOLDOWN = 30.0
#: A timeout counts toward the breaker only when the index answered nothing for this long.
BREAKER_QUIET = 10.0


T = TypeVar("T")

#: The injected HTTP client, or what builds it on the first lookup that needs the network.
HTTPClientSource = Union["httpx.AsyncClient", Callable[[], "httpx.AsyncClient"]]


def scrub(text: str) -> str:
    """An error message fit to show: ``user:password@`` removed from any URL in it, and
    cleaned (exception texts quote what the index sent: header values, URLs, page text)."""
    return clean_text(without_credentials(text), MAX_ERROR_LENGTH)


def certificate_problem(error: BaseException) -> str | None:
    """A one-line message when ``error`` is a TLS certificate the client refused, else None.

    httpx raises ``ConnectError`` for a refused certificate as for a refused connection; the
    ``ssl.SSLCertVerificationError`` it wraps tells the two apart.
    """
    import ssl  # loaded already by whatever raised a TLS error

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            why = current.verify_message or current.reason or "verify failed"
            return (
                f"certificate problem: the index's TLS certificate was refused ({why}); "
                "if the index uses a private CA, point SSL_CERT_FILE at it"
            )
        current = current.__cause__ or current.__context__
    return None


class _IndexHealth(msgspec.Struct, eq=False):
    consecutive_failures: int = 0
    open_until: float = 0.0
    last_error: str = ""
    last_answer: float | None = None  # time.monotonic() of the last answer of any kind


class _Deadline:
    """A lookup's deadline; time spent queued for a connection pushes it back.

    The transport reports the wait (:data:`QUEUED_EXTENSION`): a lookup's timeout counts from
    when it has a connection, so a small index we send few connections to at a time does not
    time out lookups still in our queue. (Python 3.10 has no movable timeout: there, queued
    time counts.)
    """

    def __init__(self, when: float) -> None:
        self.when = when
        self._scope: Any = None

    def extend(self, seconds: float) -> None:
        self.when += seconds
        if self._scope is not None:
            self._scope.reschedule(self.when)

    async def run(self, awaitable: Awaitable[T]) -> T:
        import asyncio

        if sys.version_info >= (3, 11):
            async with asyncio.timeout_at(self.when) as scope:
                self._scope = scope
                try:
                    return await awaitable
                finally:
                    self._scope = None
        # Python 3.10: not wait_for, which can lose the caller's cancellation (_deadline.py).
        from .._deadline import within  # pragma: no cover

        loop = asyncio.get_running_loop()  # pragma: no cover
        return await within(awaitable, max(0.0, self.when - loop.time()))


class _RedirectRefused(Exception):
    """A redirect the client will not follow; the message says why (safe to print)."""


def _parsed_origin(url: str) -> tuple[str, str, int | None] | None:
    """The origin of an allowed index, or None when httpx cannot parse it (no redirect may
    lead there; its own lookups fail one by one)."""
    import httpx

    try:
        return _origin(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):
        return None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


class _IndexText(msgspec.Struct, frozen=True, eq=False):
    """What each lookup on one index writes out, worked out once per index (not per lookup)."""

    shown: str  # redacted and cleaned: the records' index_url
    cache_prefix: str  # the cache key of a name is this + the name
    page_root: str | None  # project pages are this + name + "/" (None: no shortcut)
    # The index URL's user and password: never in a repr (see __repr__).
    credentials: tuple[str, str] | None

    def __repr__(self) -> str:
        # The index URL's user and password: never in a repr (a log line, a traceback's locals).
        return f"_IndexText(shown={self.shown!r}, cache_prefix={self.cache_prefix!r}, ...)"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # msgspec gives every Struct one listing every field: rich's tracebacks would show it.
        return [("shown", self.shown), ("cache_prefix", self.cache_prefix)]

    @classmethod
    def of(cls, index: str) -> _IndexText:
        root, credentials = split_credentials(normalize_index_url(index))
        # A query or fragment (a purl's index) is cut by redaction: no appending to it.
        simple = "?" not in index and "#" not in index
        return cls(
            shown=clean_text(redact_url(index), MAX_URL_LENGTH),
            cache_prefix=cache_key(redact_url(index), ""),
            page_root=root if simple else None,
            credentials=credentials,
        )

    def page_url(self, index: str, key_name: str) -> tuple[str, tuple[str, str] | None]:
        """(the project page's URL without credentials, the credentials) as
        ``split_credentials(project_page_url(index, key_name))`` gives them."""
        if self.page_root is None:
            return split_credentials(project_page_url(index, key_name))
        return f"{self.page_root}{key_name}/", self.credentials


class _Outcome(msgspec.Struct, frozen=True, eq=False):
    record: StatusRecord
    entry: CacheEntry | None


#: Set on an exception whose traceback the client has logged (one its shared lookup task
#: raised, logged there because no caller may be left to receive it).
_LOGGED_HERE = "_sbom_enrich_traceback_logged"


def traceback_logged(error: BaseException) -> bool:
    """Whether the client has logged ``error`` with its traceback already: one that
    :meth:`StatusClient.lookup` raises from the shared lookup task (a bug) has been, naming
    the project and index, so a caller that gets it need not log it again."""
    return getattr(error, _LOGGED_HERE, False) is True


def flight_key(index: str, key_name: str) -> str:
    """The key of the one lookup of ``key_name`` (canonical) on ``index`` (normalized, the URL
    asked) that runs at a time: every caller that wants it then joins it."""
    return f"{index}|{key_name}"


class _Started:
    """The flights of one kind a block started itself: each asked its source once. One the
    block joined (another block's, or its own already under way) asked nothing more."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def note(self, key: str, started: bool) -> None:
        if started:
            self._keys.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


class SharedLookups:
    """Which lookups made inside :func:`noting_shared_lookups` the block started itself: only
    those made the index (or, for the maintenance survey, a forge) do work for it. Every other
    answer came from the cache, joined a lookup of the same project (or repository) already
    under way, or needed no request at all (an invalid name, an index that is not allowed, a
    project with no repository on a configured forge)."""

    def __init__(self) -> None:
        #: Index lookups (:class:`StatusClient`), by :func:`flight_key`.
        self.index = _Started()
        #: Forge lookups (``status.repository.source.RepositorySource``), by repository.
        self.forges = _Started()

    def asked_the_index(self, index: str, key_name: str) -> bool:
        """Whether the block itself started the lookup of ``key_name`` on ``index`` (as
        :func:`flight_key` takes them)."""
        return flight_key(index, key_name) in self.index

    def asked_the_forges(self) -> int:
        """How many repository lookups the block started itself: the forge requests made for
        it (a repository the cache answered, one another caller's lookup was already asking
        about, and a project with no repository on a configured forge asked none)."""
        return len(self.forges)


#: The :class:`SharedLookups` of the block running now, if any (a context variable: each
#: request of the service notes its own, tasks it starts included).
_SHARED: contextvars.ContextVar[SharedLookups | None] = contextvars.ContextVar(
    "sbom_enrich_shared_lookups", default=None
)


def shared_lookups_now() -> SharedLookups | None:
    """The :class:`SharedLookups` noting the lookups made now (None: nobody is noting)."""
    return _SHARED.get()


@contextlib.contextmanager
def noting_shared_lookups() -> Iterator[SharedLookups]:
    """Note which lookups made in the block (and in the tasks it starts) joined a lookup
    already under way instead of asking the index or a forge (the service's rate limit charges
    them as cache answers)."""
    noted = SharedLookups()
    token = _SHARED.set(noted)
    try:
        yield noted
    finally:
        _SHARED.reset(token)


class StatusClient:
    """Looks up project status on one index (plus purl-named allowed indexes)."""

    def __init__(
        self,
        *,
        http: HTTPClientSource,
        cache: RecordStore | None,
        settings: ClientSettings,
        clock: Callable[[], float] = time.time,
        cancel_orphans: bool = False,
    ) -> None:
        """``cancel_orphans``: a lookup whose every caller stopped waiting before its answer
        is cancelled (the service: a request that times out or whose client leaves ends its
        lookups). Off, it runs on and fills the cache (the language server: a name whose edit
        was superseded is typed again a moment later)."""
        # An httpx client is never callable: anything callable here builds one when needed.
        self._http: httpx.AsyncClient | None = None if callable(http) else http
        self._make_http: Callable[[], httpx.AsyncClient] | None = http if callable(http) else None
        self._cache = cache
        self._settings = settings
        self._clock = clock
        self._index_url = normalize_index_url(settings.index_url)
        self._allowed = {normalize_index_url(self._index_url)} | {
            normalize_index_url(url) for url in settings.allowed_indexes
        }
        # Where a redirect may lead: only to an index we were allowed to ask in the first place
        # (worked out at the first redirect: httpx parses the URLs).
        self._allowed_origins: set[tuple[str, str, int | None]] | None = None
        self._getter: IndexGetter | None = None
        self._index_texts: dict[str, _IndexText] = {}
        self._semaphore: asyncio.Semaphore | None = None  # made with the first fetch
        self._inflight: dict[str, asyncio.Task[StatusRecord]] = {}
        self._cancel_orphans = cancel_orphans
        #: Callers awaiting each flight of ``_inflight`` (kept with ``cancel_orphans`` only).
        self._waiters: dict[str, int] = {}
        self._health: dict[str, _IndexHealth] = {}
        self.requests = 0
        self.bytes_downloaded = 0
        self.not_modified = 0

    @property
    def http(self) -> httpx.AsyncClient:
        """The injected HTTP client (other sources of the same run share it), built now if
        it was injected as a builder and nothing has needed it yet."""
        if self._http is None:
            assert self._make_http is not None
            self._http = self._make_http()
        return self._http

    @property
    def http_built(self) -> bool:
        """Whether the HTTP client exists yet (a run answered from the cache builds none)."""
        return self._http is not None

    @property
    def cache(self) -> RecordStore | None:
        """The record store this client reads and writes (none with ``--no-cache``)."""
        return self._cache

    @property
    def index_url(self) -> str:
        """The configured index, credentials removed (safe to print)."""
        return redact_url(self._index_url)

    @property
    def settings(self) -> ClientSettings:
        return self._settings

    def is_allowed_index(self, url: str) -> bool:
        return normalize_index_url(url) in self._allowed

    def allow_index(self, url: str) -> None:
        """Also allow ``url`` (and redirects within its origin) from now on.

        For a front end that learns the indexes to trust while it runs: the language server
        allows an index once a lock file the user opened names it, as ``check`` does up front.
        """
        index = normalize_index_url(url)
        if index not in self._allowed:
            self._allowed.add(index)
            self._allowed_origins = None  # worked out again at the next redirect

    # -- cache-only answers -------------------------------------------------------------

    def cached(self, name: str, index_url: str | None = None) -> StatusRecord | None:
        """The cached answer, fresh or stale (``record.stale`` says); never the network."""
        index = normalize_index_url(index_url or self._index_url)
        entry = self._cache_get(index, canonical(name))
        if entry is None:
            return None
        return self._from_entry(entry)

    def cached_many(
        self, names: Iterable[str], index_url: str | None = None
    ) -> dict[str, StatusRecord]:
        """:meth:`cached` for many names in one batch read: canonical name -> record."""
        index = normalize_index_url(index_url or self._index_url)
        entries = self._cache_get_many(index, {canonical(name) for name in names})
        return {key_name: self._from_entry(entry) for key_name, entry in entries.items()}

    def _from_entry(self, entry: CacheEntry, now: float | None = None) -> StatusRecord:
        """The record of ``entry``, marked stale or fresh at ``now`` (default: the clock)."""
        record = entry.record
        stale = not entry.is_fresh(self._clock() if now is None else now)
        if record.from_cache and record.stale is stale:
            return record  # as decoded (records are frozen: sharing one is safe)
        return record.as_cached(stale=stale)

    def _cache_get(self, index: str, key_name: str) -> CacheEntry | None:
        if self._cache is None:
            return None
        entry = self._cache.get(cache_key(redact_url(index), key_name))
        if entry is None or not _answers_for(entry, self._index_text(index).shown, key_name):
            return None
        return entry

    def _cache_get_many(self, index: str, key_names: Iterable[str]) -> dict[str, CacheEntry]:
        """The store's entries for ``key_names`` on ``index`` in one batch read, by name."""
        key_names = list(key_names)
        read = self._cache_read(index, key_names)
        return {
            name: entry for name, entry in zip(key_names, read, strict=True) if entry is not None
        }

    def _cache_read(self, index: str, key_names: list[str]) -> list[CacheEntry | None]:
        """The store's entry for each of ``key_names`` on ``index`` (None: none it may use),
        in one batch read, in their order."""
        if self._cache is None:
            return [None] * len(key_names)
        prefix = cache_key(redact_url(index), "")
        keys = [prefix + key_name for key_name in key_names]
        found = self._cache.get_many(keys)
        shown = self._index_text(index).shown
        read: list[CacheEntry | None] = []
        for key_name, entry in zip(key_names, map(found.get, keys), strict=True):
            # _answers_for's test written out (a warm run: ten thousand); it says why not.
            if entry is not None and not (
                (entry.record.name == key_name and entry.record.index_url == shown)
                or _answers_for(entry, shown, key_name)
            ):
                entry = None
            read.append(entry)
        return read

    # -- lookups ------------------------------------------------------------------------

    async def lookup(self, name: str, index_url: str | None = None) -> StatusRecord:
        """One project's status; never raises for index, network or cache trouble."""
        index = normalize_index_url(index_url or self._index_url)
        key_name = canonical(name)
        if not is_project_name(name):
            return self._invalid_name(key_name, index)
        if not self.is_allowed_index(index):
            return self._not_allowed(key_name, index)
        import asyncio

        # The fetch runs in a task of its own that no caller owns: a caller that gives up
        # (a request timeout, a superseded edit) must not cancel it for everyone else.
        key = flight_key(index, key_name)
        task = self._flight(index, key_name)
        try:
            return await asyncio.shield(task)
        finally:
            self._leave(key, task)

    def _invalid_name(self, key_name: str, index: str) -> StatusRecord:
        # Checked before anything else: a name with "/", "?", "#", CR/LF or NUL must never
        # become part of a request path (path injection, or an httpx.InvalidURL traceback).
        return self._unknown(key_name, index, "not a valid project name; nothing was asked")

    def _not_allowed(self, key_name: str, index: str) -> StatusRecord:
        return self._unknown(
            key_name,
            index,
            f"index {redact_url(index)} is not allowed (add it to the allowed indexes)",
        )

    def _flight(
        self, index: str, key_name: str, cached: CacheEntry | None = None, *, read: bool = False
    ) -> asyncio.Task[StatusRecord]:
        """The one task fetching this project from this index, started if none is running.

        ``read``: the caller has just read the cache and found ``cached`` (None or stale), so
        the task need not read it again.
        """
        import asyncio

        key = flight_key(index, key_name)
        task = self._inflight.get(key)
        started = task is None
        if task is None:
            if not read:
                cached = self._cache_get(index, key_name)
            task = asyncio.ensure_future(self._lookup_uncoalesced(index, key_name, cached))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done, index, key_name))
        if self._cancel_orphans:
            self._waiters[key] = self._waiters.get(key, 0) + 1
        shared = _SHARED.get()
        if shared is not None:
            shared.index.note(key, started)
        return task

    def _leave(self, key: str, task: asyncio.Task[StatusRecord]) -> None:
        """A caller of :meth:`_flight` stopped waiting for ``task`` (answered or not); with
        ``cancel_orphans``, the last one to leave before the answer cancels it."""
        if not self._cancel_orphans or self._inflight.get(key) is not task:
            return  # answered and forgotten (or cancelled) already: nothing to give up
        left = self._waiters.get(key, 1) - 1
        if left > 0:
            self._waiters[key] = left
            return
        self._waiters.pop(key, None)
        if not task.done():
            # Unlisted first: a caller arriving now starts a fresh lookup, never joins one
            # being cancelled (its answer would be the CancelledError). Nothing is cached:
            # the entry is written only once the answer is in.
            del self._inflight[key]
            task.cancel()

    @property
    def in_flight(self) -> int:
        """Lookups running now (each distinct project on each index once)."""
        return len(self._inflight)

    def _forget(
        self, key: str, done: asyncio.Task[StatusRecord], index: str, key_name: str
    ) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
            self._waiters.pop(key, None)
        error = None if done.cancelled() else done.exception()
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
            # Too few descriptors for the run itself (a lazy import, the cache): the caller
            # says so in one line; a traceback would call it a bug.
            logger.debug("status lookup failed: %s", error)
        elif error is not None:
            # Logged here: every caller may have given up (then nobody else sees it). Those
            # still waiting get it raised, marked (traceback_logged) so as not to log it twice.
            logger.error(
                "status lookup of %s on %s failed unexpectedly",
                key_name,
                redact_url(index),
                exc_info=error,
            )
            with contextlib.suppress(AttributeError):  # an exception class with __slots__
                setattr(error, _LOGGED_HERE, True)

    async def aclose(self) -> None:
        """Cancel lookups nobody is waiting for any more (the HTTP client is the caller's)."""
        pending = list(self._inflight.values())
        if not pending:
            return
        import asyncio

        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def lookup_many(
        self, names: Iterable[str], index_url: str | None = None
    ) -> AsyncIterator[StatusRecord]:
        """Each distinct project once (by canonical name), yielded as its answer arrives.

        Fresh cached answers come first, at once, without creating tasks: a warm run of ten
        thousand names costs only cache reads.
        """
        index = normalize_index_url(index_url or self._index_url)
        answered, to_fetch = self._cache_pass(names, index)
        for record in answered:
            yield record
        if not to_fetch:
            return
        if not self.is_allowed_index(index):
            for key_name, _ in to_fetch:
                yield self._not_allowed(key_name, index)
            return
        import asyncio

        # The shared flight tasks themselves, no wrapper task or shield per name (~30 µs
        # each): as_completed never cancels them, so a caller that stops iterating leaves
        # them running for the other callers, as lookup() does (with cancel_orphans, only
        # those another caller still awaits).
        flights = [self._flight(index, name, entry, read=True) for name, entry in to_fetch]
        try:
            for next_done in asyncio.as_completed(flights):
                yield await next_done
        finally:
            if self._cancel_orphans:  # a caller that stops early leaves the rest
                for (name, _), task in zip(to_fetch, flights, strict=True):
                    self._leave(flight_key(index, name), task)

    def offline_lookup_many(
        self, names: Iterable[str], index_url: str | None = None
    ) -> list[StatusRecord]:
        """:meth:`lookup_many` of an offline client, without an event loop: the same records,
        every one from the cache or ``unknown`` without it (offline asks no index)."""
        if not self._settings.offline:
            raise ValueError("offline_lookup_many needs offline settings")
        index = normalize_index_url(index_url or self._index_url)
        answered, to_fetch = self._cache_pass(names, index)
        allowed = self.is_allowed_index(index)
        for key_name, entry in to_fetch:
            record = self._without_network(index, key_name, entry) if allowed else None
            answered.append(record or self._not_allowed(key_name, index))
        return answered

    def _cache_pass(
        self, names: Iterable[str], index: str
    ) -> tuple[list[StatusRecord], list[tuple[str, CacheEntry | None]]]:
        """(what :meth:`lookup_many` answers at once, in its order: invalid names, then the
        cached answers it may give (fresh, or any offline); the other valid names, each with
        its entry (stale, or None) for the lookup that fetches it)."""
        allowed = self.is_allowed_index(index)
        answered: list[StatusRecord] = []
        names = names if isinstance(names, list) else list(names)
        valid: list[str]
        if all_canonical_project_names(names):
            valid = list(dict.fromkeys(names))  # each its own key: only repeats to drop
        else:
            valid = []
            seen: set[str] = set()
            for name in names:
                key_name = canonical(name)
                if key_name in seen:
                    continue
                seen.add(key_name)
                if not is_project_name(name):
                    answered.append(self._invalid_name(key_name, index))
                    continue
                valid.append(key_name)
        # One batch read for every name (a warm run of ten thousand names: a few SQL queries
        # or MGETs, not ten thousand reads).
        entries = self._cache_read(index, valid) if allowed else [None] * len(valid)
        to_fetch: list[tuple[str, CacheEntry | None]] = []
        now = self._clock()
        offline = self._settings.offline
        for key_name, entry in zip(valid, entries, strict=True):
            if entry is None:
                to_fetch.append((key_name, None))
                continue
            # _from_entry written out (a warm run: ten thousand): stale or fresh by the same
            # clock reading (CacheEntry.is_fresh's rule).
            stale = not max(0.0, now - entry.fetched_at) < entry.max_age
            if stale and not offline:
                to_fetch.append((key_name, entry))
                continue
            record = entry.record
            if not (record.from_cache and record.stale is stale):
                record = record.as_cached(stale=stale)
            answered.append(record)
        return answered, to_fetch

    def _without_network(
        self, index: str, key_name: str, entry: CacheEntry | None
    ) -> StatusRecord | None:
        """The answer that needs no request: ``entry`` while it may be used (fresh, or any
        offline), else offline ``unknown``; None when the index must be asked."""
        if entry is not None and (self._settings.offline or entry.is_fresh(self._clock())):
            return self._from_entry(entry)
        if self._settings.offline:
            return self._unknown(key_name, index, "offline and not in the cache")
        return None

    async def _lookup_uncoalesced(
        self, index: str, key_name: str, entry: CacheEntry | None
    ) -> StatusRecord:
        answer = self._without_network(index, key_name, entry)
        if answer is not None:
            return answer
        outcome = await self._fetch(index, key_name, entry)
        if outcome.entry is not None and self._cache is not None:
            self._cache.set(self._index_text(index).cache_prefix + key_name, outcome.entry)
        return outcome.record

    def _unknown(self, key_name: str, index: str, error: str) -> StatusRecord:
        return StatusRecord(
            name=key_name,
            status=ProjectStatus.UNKNOWN,
            index_url=clean_text(redact_url(index), MAX_URL_LENGTH),  # a purl's: any text
            checked_at=utc_now(),
            error=scrub(error),
        )

    def _index_text(self, index: str) -> _IndexText:
        """:class:`_IndexText` of an index lookups went out to (an allowed one: few)."""
        found = self._index_texts.get(index)
        if found is None:
            found = self._index_texts[index] = _IndexText.of(index)
        return found

    # -- the network --------------------------------------------------------------------

    def _breaker_open(self, index: str) -> str | None:
        health = self._health.get(index)
        if health and health.open_until > time.monotonic():
            return health.last_error
        return None

    def _nothing_answers(self, index: str) -> bool:
        """Whether the index has answered nothing at all for a while (or ever)."""
        health = self._health.get(index)
        last = health.last_answer if health is not None else None
        return last is None or time.monotonic() - last > BREAKER_QUIET

    def _note_failure(self, index: str, error: str, outage: bool) -> None:
        """Count a failed lookup toward the breaker when it says the index is down."""
        if not outage:
            return
        health = self._health.setdefault(index, _IndexHealth())
        health.consecutive_failures += 1
        health.last_error = error
        if health.consecutive_failures >= BREAKER_THRESHOLD:
            if health.open_until <= time.monotonic():
                logger.warning(
                    "index %s seems down (%s); further lookups are tried once, not retried, "
                    "for %g s",
                    redact_url(index),
                    scrub(error),
                    BREAKER_COOLDOWN,
                )
            health.open_until = time.monotonic() + BREAKER_COOLDOWN

    def _note_success(self, index: str) -> None:
        health = self._health.setdefault(index, _IndexHealth())
        health.consecutive_failures = 0
        health.open_until = 0.0
        health.last_answer = time.monotonic()

    async def _fetch(self, index: str, key_name: str, entry: CacheEntry | None) -> _Outcome:
        """GET the page with retries; the timeout runs from when the lookup first gets a slot.

        Counting from the first slot (not from the call) keeps a large cold run from timing
        out in the queue; the breaker keeps a dead index from costing one timeout per wave.
        """
        import asyncio

        import httpx

        from ._http.limits import AnswerRefused
        from ._http.plain import OutOfDescriptors

        url, credentials = self._index_text(index).page_url(index, key_name)
        etag = entry.etag if entry is not None and entry.etag else None
        loop = asyncio.get_running_loop()
        timeout = self._settings.timeout
        deadline: _Deadline | None = None
        attempt = 0
        while True:
            error: str
            outage = False  # whether this failure says the index is down (for the breaker)
            delay: float | None = None
            if self._semaphore is None:
                self._semaphore = asyncio.Semaphore(self._settings.concurrency)
            async with self._semaphore:
                if deadline is None:
                    deadline = _Deadline(loop.time() + timeout)
                try:
                    # The whole exchange, body included, runs inside the lookup's deadline: a
                    # page that drips forever ends with the timeout, as a silent one does.
                    answer = await deadline.run(
                        self._get_following_redirects(url, etag, credentials, deadline.extend)
                    )
                except asyncio.TimeoutError:
                    error = f"timed out after {timeout:g} s"
                    self._note_failure(index, error, self._nothing_answers(index))
                    return self._failed(key_name, index, error)
                except (_RedirectRefused, AnswerRefused) as refused:
                    self._note_success(index)  # the index answers; its answer is refused
                    return self._failed(key_name, index, str(refused))
                except httpx.TransportError as exc:
                    if (untrusted := certificate_problem(exc)) is not None:
                        # No retry: the certificate will be as untrusted a second later. Nor
                        # the breaker: a refused handshake is fast, there is no wait to save.
                        return self._failed(key_name, index, untrusted)
                    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    # Refused or unreachable is an outage; a timeout only when nothing answers
                    # (a busy server times out too, and that is load we cause). Running out of
                    # file descriptors is this machine's limit, never the index's outage.
                    outage = not isinstance(exc, OutOfDescriptors) and (
                        isinstance(exc, httpx.ConnectError) or self._nothing_answers(index)
                    )
                except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                    # Not worth a retry: a body that does not decode as labelled (DecodingError),
                    # a header httpx cannot use. UnicodeError is a ValueError.
                    self._note_success(index)
                    return self._failed(key_name, index, f"bad answer: {type(exc).__name__}")
                else:
                    self.requests += 1
                    self.bytes_downloaded += len(answer.body)
                    status_code = answer.status_code
                    if status_code in (200, 304, 404):
                        self._note_success(index)
                        return self._outcome(index, key_name, entry, answer)
                    # No page URL: the record names the index, and one line can then tell of
                    # every lookup the same status failed (formats/text.py groups them).
                    error = f"HTTP {status_code} from the index"
                    if status_code not in RETRY_STATUSES:
                        self._note_success(index)  # the index answers: not a network failure
                        return self._failed(key_name, index, error)
                    outage = status_code >= 500  # 429 is "slow down", not "down"
                    delay = retry_after_seconds(answer.headers.get("Retry-After"))
            self._note_failure(index, error, outage)  # each failed attempt: runs trip it
            # An open breaker never fails a lookup unasked: it is sent, but not retried.
            if attempt >= self._settings.retries or self._breaker_open(index) is not None:
                return self._failed(key_name, index, error)
            if delay is None:
                import random  # with the first retry

                delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
            if loop.time() + delay >= deadline.when:
                return self._failed(key_name, index, f"{error} (no time left to retry)")
            logger.debug("retrying %s in %.2f s after %s", redact_url(url), delay, scrub(error))
            attempt += 1
            await asyncio.sleep(delay)

    async def _get_following_redirects(
        self,
        url: str,
        etag: str | None,
        credentials: tuple[str, str] | None,
        on_queued: Callable[[float], None] | None = None,
    ) -> Answer:
        """GET ``url``, following at most :data:`MAX_REDIRECTS` hops, each to an allowed index.

        httpx would follow up to 20 hops anywhere and credit the answer to the configured
        index: pypiserver redirects a name it lacks to pypi.org, so a private name missing from
        the private index came out with a public project's status.
        """
        import httpx

        getter = self._index_getter()
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            answer = await getter.get(current, etag, credentials, on_queued)
            if answer.status_code not in (301, 302, 303, 307, 308):
                return answer
            location = answer.headers.get("Location", "").strip()
            if not location:
                raise _RedirectRefused(f"HTTP {answer.status_code} without a Location")
            here = httpx.URL(current)
            try:
                target = here.join(location)
            except (httpx.InvalidURL, ValueError):
                raise _RedirectRefused("redirect to an invalid Location") from None
            if here.scheme == "https" and target.scheme != "https":
                raise _RedirectRefused("redirect from https to http refused")
            if _origin(target) not in self._redirect_origins():
                where = redact_url(f"{target.scheme}://{target.netloc.decode('ascii', 'replace')}")
                raise _RedirectRefused(f"redirect to another origin refused ({where})")
            current = str(target)
        raise _RedirectRefused(f"more than {MAX_REDIRECTS} redirects")

    def _index_getter(self) -> IndexGetter:
        """What sends this client's index GETs (made once per HTTP client): the client's own
        headers (User-Agent, Accept-Encoding) with ``Accept`` on top, and its timeouts."""
        http = self.http
        if self._getter is None or self._getter.http is not http:
            from ._http.direct import IndexGetter
            from .simple_api import ACCEPT_HEADER

            headers = http.headers.copy()
            headers.update({"Accept": ACCEPT_HEADER})
            self._getter = IndexGetter(
                http, headers, http.timeout.as_dict(), self._settings.max_page_bytes
            )
        return self._getter

    def _redirect_origins(self) -> set[tuple[str, str, int | None]]:
        if self._allowed_origins is None:
            self._allowed_origins = {
                origin for url in self._allowed if (origin := _parsed_origin(url)) is not None
            }
        return self._allowed_origins

    def _failed(self, key_name: str, index: str, error: str) -> _Outcome:
        return _Outcome(self._unknown(key_name, index, error), None)

    def _outcome(
        self,
        index: str,
        key_name: str,
        entry: CacheEntry | None,
        answer: Answer,
    ) -> _Outcome:
        fetched_at = self._clock()
        checked_at = utc_now()
        max_age, storable = freshness(answer.headers.get("Cache-Control"))
        shown_index = self._index_text(index).shown
        if answer.status_code == 304 and entry is not None:
            self.not_modified += 1
            record = msgspec.structs.replace(
                entry.record, checked_at=checked_at, from_cache=True, stale=False
            )
            etag = usable_etag(answer.headers.get("ETag")) or entry.etag
            return _Outcome(record, CacheEntry(record, etag, fetched_at, max_age))
        if answer.status_code == 404:
            record = StatusRecord(
                name=key_name,
                status=ProjectStatus.NOT_FOUND,
                index_url=shown_index,
                checked_at=checked_at,
            )
            cached = CacheEntry(record, None, fetched_at, min(max_age, NOT_FOUND_MAX_AGE))
            return _Outcome(record, cached if storable else None)
        if answer.status_code == 304:
            # 304 without anything cached to reuse: the index is confused; report, don't cache.
            return self._failed(key_name, index, "index sent 304 to a plain GET")
        # Imported with the first page to read: a warm run answered from the cache never
        # parses one (the module and html.parser under it cost ~5 ms of every start).
        from .simple_api import parse_page, to_record

        try:
            page = parse_page(
                answer.body,
                answer.headers.get("Content-Type", ""),
                framed_by_close=answer.framed_by_close,
            )
        except PageError as error:
            return self._failed(key_name, index, str(error))
        record = to_record(page, name=key_name, index_url=shown_index, checked_at=checked_at)
        if record.error is not None:
            return _Outcome(record, None)
        etag = usable_etag(answer.headers.get("ETag"))
        return _Outcome(record, CacheEntry(record, etag, fetched_at, max_age) if storable else None)


def _answers_for(entry: CacheEntry, shown_index: str, key_name: str) -> bool:
    """Whether ``entry``, read under the cache key of ``key_name`` on the index whose records
    say ``shown_index``, is that project's answer from that index, as the client stores one.

    A store is input we did not write (a restored CI cache, a shared Redis): a row whose
    record names another project or index is a miss, never an answer for what it names
    (one row would otherwise override another project's quarantine).
    """
    record = entry.record
    if record.name == key_name and record.index_url == shown_index:
        return True
    logger.warning(
        "cache entry for %s names %s on %s: ignored",
        key_name,
        clean_text(record.name, 200),
        clean_text(record.index_url, MAX_URL_LENGTH),
    )
    return False


async def lookup_records(
    client: StatusClient,
    wanted: Mapping[str, Collection[str]],
    *,
    on_answer: Callable[[StatusRecord, int, int], None] | None = None,
    known: Mapping[tuple[str, str], StatusRecord] | None = None,
) -> dict[tuple[str, str], StatusRecord]:
    """``{index: {canonical names}}`` → ``{(index, name): record}``, all indexes at once.

    ``on_answer(record, done, total)`` is called as each record arrives (a progress line).
    ``known``: records already at hand for some of them (the CLI's lookup processes got them),
    taken as they are and counted as done; only the rest are looked up.
    """
    import asyncio

    records = _known_records(wanted, known)
    total = sum(len(names) for names in wanted.values())

    async def one_index(index: str, names: Collection[str]) -> None:
        if known:
            names = [name for name in names if (index, name) not in known]
        async for record in client.lookup_many(sorted(names), index):
            records[(index, record.name)] = record
            if on_answer is not None:
                on_answer(record, len(records), total)

    await asyncio.gather(*(one_index(index, names) for index, names in wanted.items()))
    return records


def lookup_records_offline(
    client: StatusClient,
    wanted: Mapping[str, Collection[str]],
    *,
    on_answer: Callable[[StatusRecord, int, int], None] | None = None,
    known: Mapping[tuple[str, str], StatusRecord] | None = None,
) -> dict[tuple[str, str], StatusRecord]:
    """:func:`lookup_records` with an offline ``client``, without an event loop (nor the
    import of asyncio): every record is a cache read or ``unknown``, one index after another."""
    records = _known_records(wanted, known)
    total = sum(len(names) for names in wanted.values())
    for index, names in wanted.items():
        if known:
            names = [name for name in names if (index, name) not in known]
        for record in client.offline_lookup_many(sorted(names), index):
            records[(index, record.name)] = record
            if on_answer is not None:
                on_answer(record, len(records), total)
    return records


def _known_records(
    wanted: Mapping[str, Collection[str]], known: Mapping[tuple[str, str], StatusRecord] | None
) -> dict[tuple[str, str], StatusRecord]:
    """The records ``known`` holds for what ``wanted`` asks, to start a lookup's result."""
    records: dict[tuple[str, str], StatusRecord] = {}
    if known:
        for index, names in wanted.items():
            records.update((key, known[key]) for name in names if (key := (index, name)) in known)
    return records


def freshness(cache_control: str | None) -> tuple[float, bool]:
    """(seconds fresh, may store) from a ``Cache-Control`` header; 600 s when absent.

    A ``max-age`` is HTTP's delta-seconds (:func:`answer_values.decimal`). Any other value
    makes the answer stale at once, as RFC 9111 section 4.2.1 encourages (kept, and revalidated
    by its ETag next time); one past :data:`MAX_FRESHNESS` is that: an index cannot pin its
    answer for years (401 digits raised OverflowError: exit 5 for the run).
    """
    if not cache_control:
        return DEFAULT_MAX_AGE, True
    max_age = DEFAULT_MAX_AGE
    storable = True
    for directive in cache_control.lower().split(","):
        directive = directive.strip()
        if directive == "no-store":
            storable = False
        elif directive == "no-cache":
            max_age = 0.0
        elif directive.startswith("max-age="):
            seconds = decimal(directive[8:].strip('"'), DELTA_SECONDS_CAP)
            max_age = 0.0 if seconds is None else min(float(seconds), MAX_FRESHNESS)
    return max_age, storable


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta or HTTP date), capped; else None.

    ``now``: epoch seconds (default: the time now). A value that is neither (``"²"``, a date
    past any calendar) is None, as if not sent: the usual backoff applies.
    """
    if not value:
        return None
    seconds = seconds_until(value, time.time() if now is None else now)
    if seconds is None:
        return None
    return min(seconds, MAX_RETRY_AFTER)
