"""Large cold runs on more than one CPU core: the network lookups spread over forked processes.

A cold run of 1,000 names needs ~1.2-1.4 s of CPU (page parsing, httpx, h11, asyncio, TLS) in
one Python thread, which is what keeps it behind ``uv audit``, whose work spreads over every
core. So when at least :data:`WORKERS_THRESHOLD` names need the network (not fresh in the
cache; ``--offline`` never), the CLI looks them up in worker processes, each with its own
event loop, HTTP client and status client, built by ``status.compose`` from the same
``ClientSettings`` (so the timeout, the page limits, the redirect and allowed-index rules
hold as they are in one process) with ``--concurrency`` divided between them, and the same
cache directory (diskcache: SQLite transactions, safe for
several processes). The parent hands the names out as the workers answer (a fixed split
left one worker with both of the bench's 2 MB pages while the other sat idle); the records
come back over the same pipe in small batches (the progress line counts them as they
arrive) and the parent merges them in a fixed order. The names answered by the cache,
invalid names and refused indexes stay with the parent's ordinary pass.

Processes are forked before the parent starts an event loop or a thread (a fork copies the
imports: a worker starts in ~1 ms instead of the ~0.3 s a fresh interpreter costs); when the
process has other threads (sbom-enrich's ``main()`` called inside a program that has them),
forking is not safe and the run stays in one process.

What is serial is kept short (docs/connections.md has the timeline): a worker does not read
again the cache entries the parent read for its check (nor opens, or creates, the database
before its first request: it opens it while the first answers are on their way); the
objects alive at the fork are frozen out of the workers' garbage collections; a worker
commits its cache writes before its last answers, and the parent goes on as soon as it has
them, while the workers close their connections and end.

Fail closed: the names of a worker that dies or is killed that it had not answered come out
``unknown`` with the lookup error :data:`WORKER_ENDED` (exit 3), never dropped; Ctrl-C in the
parent stops the workers (they ignore SIGINT themselves, so the parent alone decides). A
worker's log lines go to the parent, which prints each distinct problem once (two workers
that both find the index down give one "seems down" line).

``auto`` by default: on the shared 2-core machine two processes were 10-20% faster in most
sessions while the load left a core idle, ~20% slower at load 2.2 (so auto stays single when
the load average fills the CPUs); a 1,000-name run costs a few hundredths of a second more
CPU than in one process (docs/connections.md, "More than one core").
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from .._collector import frozen_for_fork, thaw_after_fork
from ..status.model import ProjectStatus, StatusRecord, is_project_name, utc_now
from ..status.settings import ClientSettings
from ..status.untrusted import MAX_URL_LENGTH, clean_text
from ..status.urls import redact_url
from .event_loop import load_event_loop, run_on_loop
from .interrupts import interrupts_held
from .options import MAX_AUTO_WORKERS, WORKERS_THRESHOLD, parse_workers

if TYPE_CHECKING:
    from ..status.cache.disk import CacheEntry, RecordStore

__all__ = [
    "MAX_AUTO_WORKERS",
    "WORKERS_THRESHOLD",
    "WORKER_ENDED",
    "auto_workers",
    "cgroup_cpus",
    "lookup_in_workers",
    "parse_workers",
]

logger = logging.getLogger(__name__)

#: A worker sends what it has at most this long after it arrived (the progress line).
BATCH_SECONDS = 0.05
WORKER_ENDED = "lookup worker ended unexpectedly"
#: A worker opens its cache this long after it started: its first requests (and TLS handshakes)
#: are out by then, their answers (at least a round trip) not yet in.
WARM_UP_AFTER = 0.02

OnAnswer = Callable[[StatusRecord, int, int], None]
Key = tuple[str, str]  # (normalized index URL, canonical name)
#: What the parent read from the cache before the fork, by cache key: the stale entry, or None
#: for a miss. None for the whole map: there was no cache yet, every read is a miss.
ReadBefore = dict[str, "CacheEntry | None"] | None


def auto_workers() -> int:
    """One process per CPU this process may use, at most :data:`MAX_AUTO_WORKERS`; one when
    the machine is busy already.

    Usable CPUs: its affinity, bounded by a cgroup CPU quota (a CI container limited to 2 CPUs
    of a 64-core host). Busy: the 1-minute load average fills them, so a second process finds
    no idle core and only adds its own overhead (~0.15 s of CPU a 1,000-name run) — measured
    on the shared 2-core machine: at load 2.2 two processes were ~20% slower than one over
    HTTP/1.1, at load 1.2-2.0 mostly 10-20% faster (docs/connections.md).
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        usable = os.cpu_count() or 1
    quota = cgroup_cpus()
    if quota is not None:
        usable = min(usable, quota)
    try:
        busy = os.getloadavg()[0] >= usable
    except (AttributeError, OSError):
        busy = False
    return 1 if busy else max(1, min(usable, MAX_AUTO_WORKERS))


def cgroup_cpus(path: str = "/sys/fs/cgroup/cpu.max") -> int | None:
    """CPUs a cgroup v2 quota allows this process (rounded up), None without a quota."""
    try:
        with open(path, encoding="ascii") as quota_file:
            quota, period = quota_file.read().split()[:2]
        if quota == "max":
            return None
        return max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        return None


def lookup_in_workers(
    settings: ClientSettings,
    wanted: Mapping[str, Collection[str]],
    workers: int | None,
    on_answer: OnAnswer | None = None,
    event_loop: str = "auto",
) -> dict[Key, StatusRecord]:
    """Records for what ``wanted`` (``{index: {canonical names}}``) needs, got in worker
    processes when enough of it needs the network, plus the fresh cached ones read on the way;
    ``{}`` when the run stays in one process. The caller's ordinary pass (``lookup_records``
    with ``known=``) does the rest.

    Call it before any event loop or thread exists; ``workers`` None means auto;
    ``event_loop`` the workers' loop (event_loop.py).
    """
    count = auto_workers() if workers is None else workers
    total = sum(len(names) for names in wanted.values())
    if count <= 1 or settings.offline or total < WORKERS_THRESHOLD:
        return {}
    fresh, need, read = _split_by_cache(settings, wanted)
    if len(need) < WORKERS_THRESHOLD:
        return fresh
    if threading.active_count() > 1:
        logger.debug("other threads are running: the lookups stay in this process")
        return fresh
    count = min(count, settings.concurrency, len(need))
    # Imported here, before the fork: each worker then starts with the HTTP stack loaded
    # (and, for an https index, the CA bundle: ~25 ms of CPU a process).
    from ..status.compose import import_http_stack

    import_http_stack(tls=any(index.startswith("https:") for index, _ in need))
    load_event_loop(event_loop)  # uvloop too, once
    with contextlib.suppress(ImportError):
        import ctypes  # noqa: F401 - for _end_with_the_parent, once instead of in each worker
    logger.info("%d lookups in %d worker processes", len(need), count)
    got = _run_workers(settings, count, need, read, on_answer, len(fresh), total, event_loop)
    # A fixed order, whatever the order the workers answered in.
    return {**fresh, **{key: got[key] for key in need}}


def _split_by_cache(
    settings: ClientSettings, wanted: Mapping[str, Collection[str]]
) -> tuple[dict[Key, StatusRecord], list[Key], ReadBefore]:
    """(fresh cached records, the names that need the network, what was read for those),
    read in one batch per index with the parent's cache closed again before any fork (an
    SQLite connection must not cross one)."""
    from ..status.client import StatusClient
    from ..status.compose import build_cache

    # No cache directory yet: nothing to read, and no database to create only to close it.
    store = build_cache(settings) if settings.resolved_cache_dir.is_dir() else None
    log = _ReadLog(store) if store is not None else None
    client = StatusClient(http=_no_network, cache=log, settings=settings)
    fresh: dict[Key, StatusRecord] = {}
    need: list[Key] = []
    try:
        for index in sorted(wanted):
            if not client.is_allowed_index(index):
                continue  # refused without a request: the parent's pass says why
            # Invalid names likewise.
            names = [name for name in sorted(wanted[index]) if is_project_name(name)]
            cached = client.cached_many(names, index) if log is not None else {}
            for name in names:
                record = cached.get(name)
                if record is not None and not record.stale:
                    fresh[(index, name)] = record
                else:
                    need.append((index, name))
    finally:
        if store is not None:
            store.close()
    return fresh, need, None if log is None else log.read


class _StoreView:
    """A record store seen through: every call goes to ``inner``, unless a subclass says."""

    def __init__(self, inner: RecordStore) -> None:
        self.inner = inner

    @property
    def usable(self) -> bool:
        return self.inner.usable

    def get(self, key: str) -> CacheEntry | None:
        return self.inner.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        return self.inner.get_many(keys)

    def set(self, key: str, entry: CacheEntry) -> None:
        self.inner.set(key, entry)

    def info(self) -> dict[str, Any]:
        return self.inner.info()

    def clear(self) -> int:
        return self.inner.clear()

    def close(self) -> None:
        self.inner.close()


class _ReadLog(_StoreView):
    """The parent's cache check: notes what it read, so that the workers need not read the
    same entries again."""

    def __init__(self, inner: RecordStore) -> None:
        super().__init__(inner)
        self.read: dict[str, CacheEntry | None] = {}

    def get(self, key: str) -> CacheEntry | None:
        self.read[key] = entry = self.inner.get(key)
        return entry

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        found = self.inner.get_many(keys)
        self.read.update((key, found.get(key)) for key in keys)
        return found


class _ReadBefore(_StoreView):
    """A worker's record store: what the parent read just before the fork is answered from
    that, the rest read; everything written through.

    A cold worker then asks the index at once: reading the cache first cost each worker
    ~15 ms of CPU and, with no cache yet, the creation of the database (both workers at
    once, one waiting for the other's lock) before its first request. The database is
    opened at the first write instead, while the first answers are on their way. An entry
    another process writes meanwhile is not seen: the name is asked, as it would have been
    a moment earlier.
    """

    def __init__(self, inner: RecordStore, read: ReadBefore) -> None:
        super().__init__(inner)
        self._read = read

    def get(self, key: str) -> CacheEntry | None:
        read = self._read
        if read is None:
            return None
        return read[key] if key in read else self.inner.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        read = self._read
        if read is None:
            return {}
        found = {key: entry for key in keys if (entry := read.get(key)) is not None}
        unread = [key for key in keys if key not in read]
        if unread:
            found.update(self.inner.get_many(unread))
        return found

    def flush(self) -> None:
        """Commit the writes gathered so far (the disk store batches them)."""
        flush = getattr(self.inner, "flush", None)
        if flush is not None:
            flush()


def _no_network() -> Any:
    raise RuntimeError("reading the cache never needs the network")


@dataclass
class _Worker:
    process: Any
    channel: Any  # both ways: names to it, records and log lines from it
    shard: list[Key]  # the names sent to it so far
    share: int  # its part of --concurrency
    fed: bool = False  # told there are no more names
    gone: bool = False
    finished: bool = False  # every name answered, its cache writes committed
    crashed: str | None = None
    stats: tuple[int, ...] = field(default_factory=tuple)


def _run_workers(
    settings: ClientSettings,
    count: int,
    need: list[Key],
    read: ReadBefore,
    on_answer: OnAnswer | None,
    done_before: int,
    total: int,
    event_loop: str,
) -> dict[Key, StatusRecord]:
    """Fork ``count`` workers and hand them ``need`` as they go: each gets twice its share of
    the concurrency at first, then as many names as it sent answers back. A fixed split left
    one worker with both 2 MB pages of the bench (60% more bytes) and the other idle.

    Returns as soon as every name is answered: a worker's last message comes after its
    cache writes are committed, and what it does after that (closing its connections,
    exiting, ~25-50 ms) overlaps the parent's own work. ``multiprocessing`` reaps it at exit.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    concurrency = settings.concurrency
    workers: list[_Worker] = []
    got: dict[Key, StatusRecord] = {}
    relay = _LogRelay()
    queue = deque(need)

    def take(key: Key, record: StatusRecord) -> None:
        got[key] = record
        if on_answer is not None:
            on_answer(record, done_before + len(got), total)

    def feed(worker: _Worker, how_many: int) -> None:
        names = [queue.popleft() for _ in range(min(how_many, len(queue)))]
        if names:
            worker.shard += names
            worker.channel.send(("names", names))
        if not queue and not worker.fed:
            worker.fed = True
            worker.channel.send(("end",))

    thaw = frozen_for_fork()  # what is alive now, for the run: not copied, not walked
    try:
        # A worker ignores SIGINT once it runs (the parent stops it), but starts with this
        # process's handler: forked with SIGINT only noted, a Ctrl-C sent to the process
        # group cannot end one with a traceback before then; here it is raised after.
        with interrupts_held():
            for number in range(count):
                share = concurrency // count + (number < concurrency % count)
                channel, theirs = context.Pipe()
                process = context.Process(
                    target=_worker_main,
                    args=(
                        msgspec.structs.replace(settings, concurrency=share),
                        theirs,
                        os.getpid(),
                        read,
                        event_loop,
                    ),
                    name=f"sbom-enrich lookups {number + 1}",
                    daemon=True,
                )
                process.start()
                # Closed at once, so the next worker does not inherit it: this end then sees
                # end-of-file as soon as this worker is gone, however it went.
                theirs.close()
                worker = _Worker(process, channel, [], share)
                workers.append(worker)
                with contextlib.suppress(OSError):  # gone already: its end-of-file says so
                    feed(worker, 2 * share)
        thaw_after_fork(thaw)
        if read is None and settings.use_cache:
            _create_cache(settings)
        listening = {worker.channel: worker for worker in workers}
        while listening:
            for ready in wait(list(listening)):
                worker = listening[ready]
                try:
                    message = worker.channel.recv()
                except (EOFError, OSError):
                    del listening[ready]
                    worker.gone = True
                    # What it was never sent goes to the others; with none left, nowhere.
                    alive = [w for w in workers if not w.gone]
                    for other in alive:
                        with contextlib.suppress(OSError):
                            feed(other, other.share)
                    continue
                kind = message[0]
                if kind == "records":
                    for key, record in message[1]:
                        take(key, record)
                    with contextlib.suppress(OSError):  # it may be gone: EOF says so next
                        feed(worker, len(message[1]))
                elif kind == "log":
                    relay.emit(*message[1:])
                elif kind == "finished":
                    for key, record in message[1]:
                        take(key, record)
                    worker.finished, worker.stats = True, message[2]
                    del listening[ready]
                elif kind == "crashed":
                    worker.crashed = message[1]
    except BaseException:
        # Ctrl-C (the workers ignore SIGINT) or anything else: no worker outlives the run.
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
        raise
    finally:
        thaw_after_fork(thaw)
        for worker in workers:
            if not worker.finished:
                worker.process.join()
            worker.channel.close()
    for worker in workers:
        _fill_in(worker, got, take)
    if queue:  # every worker died before these were handed out
        _fill_in(_Worker(workers[-1].process, None, list(queue), 0), got, take)
    from .runtime import log_traffic

    # (requests, bytes downloaded, not modified) of each worker that finished
    finished = [worker.stats for worker in workers if worker.stats]
    requests, downloaded, not_modified = (sum(stats[at] for stats in finished) for at in range(3))
    log_traffic(requests, downloaded, not_modified, where="workers: ")
    return got


def _create_cache(settings: ClientSettings) -> None:
    """Create the cache database while the workers send their first requests: they then open
    one that exists (:data:`WARM_UP_AFTER` after they start) instead of both creating it at
    once, one waiting on the other's lock with its event loop."""
    from ..status.compose import build_cache

    store = build_cache(settings)
    if store is not None:
        store.usable  # noqa: B018 - opening it creates it
        store.close()


def _fill_in(
    worker: _Worker, got: Mapping[Key, StatusRecord], take: Callable[[Key, StatusRecord], None]
) -> None:
    """``unknown`` with :data:`WORKER_ENDED` for each name a worker left unanswered."""
    missing = [key for key in worker.shard if key not in got]
    if worker.finished and not missing:
        return
    code = worker.process.exitcode
    why = (
        f"an error in the worker: {worker.crashed}"
        if worker.crashed
        else f"killed by signal {-code}"
        if code is not None and code < 0
        else f"exit status {code}"
    )
    error = f"{WORKER_ENDED} ({why})"
    if missing:
        logger.warning("%s; its %d unanswered lookups are unknown", error, len(missing))
    for index, name in missing:
        take(
            (index, name),
            StatusRecord(
                name=name,
                status=ProjectStatus.UNKNOWN,
                index_url=clean_text(redact_url(index), MAX_URL_LENGTH),
                checked_at=utc_now(),
                error=error,
            ),
        )


def _by_index(shard: list[Key]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for index, name in shard:
        grouped.setdefault(index, []).append(name)
    return grouped


class _LogRelay:
    """Prints the workers' log lines in the parent, each distinct problem once.

    A problem is the message's template and its first argument: the breaker's "index X seems
    down (...)" is one line per index however many workers saw it, whatever each one's error.
    """

    def __init__(self) -> None:
        self._seen: set[tuple[str, int, str]] = set()

    def emit(self, name: str, level: int, problem: str, text: str) -> None:
        if (name, level, problem) in self._seen:
            return
        self._seen.add((name, level, problem))
        logging.getLogger(name).log(level, "%s", text)


class _PipeLogHandler(logging.Handler):
    """In a worker: each log record goes to the parent as (logger, level, problem, text)."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        first = args[0] if isinstance(args, tuple) and args else ""
        problem = f"{record.msg}|{first}"
        with contextlib.suppress(Exception):  # the parent is gone: nobody to tell
            self._send(("log", record.name, record.levelno, problem, record.getMessage()))


def _end_with_the_parent(parent: int) -> None:
    """Linux: SIGTERM when the parent dies, however it died (SIGKILL included), so no worker
    goes on asking the index for a run that is over; elsewhere a worker ends at its next send."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _worker_main(
    settings: ClientSettings,
    channel: Any,
    parent: int,
    read: ReadBefore = None,
    event_loop: str = "auto",
) -> None:
    """A worker process: look up the names the parent sends, send the records back, and the
    last ones with its counts once its cache writes are committed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (terminate)
    from .._collector import collect_less

    _end_with_the_parent(parent)
    collect_less()  # a process of our own, for one short run
    package = logging.getLogger("sbom_enrich")
    package.handlers[:] = [_PipeLogHandler(channel.send)]
    try:
        run_on_loop(_worker_lookups(settings, channel, read), event_loop)
    except BaseException as error:  # noqa: BLE001 - anything: the parent says what it cost
        with contextlib.suppress(Exception):
            channel.send(("crashed", clean_text(f"{type(error).__name__}: {error}", 200)))
    finally:
        channel.close()


async def _worker_lookups(settings: ClientSettings, channel: Any, read: ReadBefore) -> None:
    import asyncio  # in the worker, on its loop: the module's import stays without it

    from ..status.compose import open_status_client

    loop = asyncio.get_running_loop()
    batch: list[tuple[Key, StatusRecord]] = []
    running: set[asyncio.Future[None]] = set()
    no_more = asyncio.Event()
    unanswered = 0
    stores: list[_ReadBefore] = []

    def flush() -> None:
        if batch:
            channel.send(("records", batch[:]))
            batch.clear()

    async def flush_now_and_then() -> None:
        while True:
            await asyncio.sleep(BATCH_SECONDS)
            flush()

    def view(store: RecordStore) -> RecordStore:
        stores.append(_ReadBefore(store, read))
        return stores[-1]

    async with open_status_client(settings, wrap_store=view) as client:

        async def one_index(index: str, names: list[str]) -> None:
            nonlocal unanswered
            async for record in client.lookup_many(names, index):
                batch.append(((index, record.name), record))
                unanswered -= 1
                if not unanswered and not no_more.is_set():
                    flush()  # run dry: the parent sends more names as soon as it hears

        def on_message() -> None:
            nonlocal unanswered
            try:
                message = channel.recv()
            except (EOFError, OSError):
                message = ("end",)
            if message[0] != "names":
                loop.remove_reader(channel.fileno())
                no_more.set()
                return
            unanswered += len(message[1])
            for index, names in _by_index(message[1]).items():
                task = asyncio.ensure_future(one_index(index, names))
                running.add(task)
                task.add_done_callback(running.discard)

        loop.add_reader(channel.fileno(), on_message)
        flusher = asyncio.ensure_future(flush_now_and_then())
        # Open the store (import diskcache, ~15 ms) once the first requests are out, while
        # their answers are on their way, rather than when the first answer is to be kept.
        loop.call_later(WARM_UP_AFTER, lambda: [store.usable for store in stores])
        try:
            await no_more.wait()
            while running:
                await asyncio.gather(*running)
        finally:
            flusher.cancel()
        # Committed before the parent hears the last answers: it goes on without waiting
        # for this process to close its connections and end.
        for store in stores:
            store.flush()
        stats = (client.requests, client.bytes_downloaded, client.not_modified)
        channel.send(("finished", batch[:], stats))
