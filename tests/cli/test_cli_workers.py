"""--workers: a large cold run's lookups in forked processes give what one process gives.

The CLI runs as a process of its own here: pytest's process has the test index's threads,
and the CLI (rightly) never forks a process that has other threads.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

import realservers
from hostile_pages import HOSTILE_NAMES, HostilePageServer
from indexserver import IndexServer, synthetic_projects
from sbom_enrich.cli import lookup_workers
from sbom_enrich.cli.lookup_workers import (
    MAX_AUTO_WORKERS,
    WORKER_ENDED,
    WORKERS_THRESHOLD,
    _LogRelay,
    _PipeLogHandler,
    _started_at_most,
    _to_start,
    auto_workers,
    cgroup_cpus,
    parse_workers,
)
from sbom_enrich.status.cache.disk import CacheEntry, StatusCache, cache_key
from sbom_enrich.status.model import ProjectStatus, StatusRecord, canonical
from sbom_enrich.status.settings import ClientSettings

SRC = Path(__file__).resolve().parents[2] / "src"
MANY = WORKERS_THRESHOLD + 40
CHECKED_AT = "sbom-enrich:pypi:checked-at"


def names(count: int) -> list[str]:
    return [canonical(spec.name) for spec in synthetic_projects(count)]


def sbom(purls: list[str]) -> bytes:
    components = [{"type": "library", "name": "x", "purl": purl} for purl in purls]
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**document, "components": components}).encode()


def start(argv: list[str], tmp_path: Path, stdin: bytes = b"") -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(
        PYTHONPATH=str(SRC),
        HOME=str(tmp_path),
        SBOM_ENRICH_ALTERNATIVES="",
        NO_PROXY="127.0.0.1",
    )
    env.pop("SBOM_ENRICH_LOOKUP_WORKERS", None)
    (tmp_path / "stdin").write_bytes(stdin)
    # Files, not pipes: nobody reads a pipe while the run is watched.
    with (
        open(tmp_path / "stdin", "rb") as given,
        open(tmp_path / "stdout", "wb") as out,
        open(tmp_path / "stderr", "wb") as err,
    ):
        return subprocess.Popen(
            [sys.executable, "-m", "sbom_enrich", *argv],
            stdin=given,
            stdout=out,
            stderr=err,
            env=env,
            cwd=tmp_path,
        )


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def finish(
    process: subprocess.Popen[bytes],
    tmp_path: Path,
    while_running: Callable[[], None] | None = None,
) -> tuple[int, bytes, str]:
    """Exit code, stdout, stderr; ``while_running`` is called every few ms until it ends."""
    while process.poll() is None:
        if while_running is not None:
            while_running()
        time.sleep(0.005)
    return process.returncode, (tmp_path / "stdout").read_bytes(), (tmp_path / "stderr").read_text()


def enrich(
    index: str, cache: Path, tmp_path: Path, stdin: bytes, *argv: str
) -> tuple[int, dict[str, object], str]:
    args = ["-v", "enrich", "-", "--index-url", index, "--cache-dir", str(cache), *argv]
    code, out, err = finish(start([*args, "--fail-on", "none"], tmp_path, stdin), tmp_path)
    return code, json.loads(out), err


def answers(document: dict[str, object]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each component's purl and its enrichment properties, the time of asking left out."""
    shown = []
    for component in document["components"]:  # type: ignore[attr-defined]
        properties = [
            (p["name"], p["value"]) for p in component["properties"] if p["name"] != CHECKED_AT
        ]
        shown.append((component["purl"], properties))
    return shown


@pytest.mark.timeout(120)
def test_two_workers_give_the_records_one_process_gives_hostile_pages_included(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    index = make_index_server(synthetic_projects(MANY))
    with HostilePageServer() as hostile:
        purls = [f"pkg:pypi/{name}@0.1.0" for name in names(MANY)]
        purls += [f"pkg:pypi/{n}@1.0?repository_url={hostile.url}" for n in HOSTILE_NAMES]
        stdin = sbom(purls)
        allow = ("--allow-index", hostile.url)
        one = enrich(index.url, tmp_path / "c1", tmp_path, stdin, *allow, "--workers", "1")
        two = enrich(index.url, tmp_path / "c2", tmp_path, stdin, *allow, "--workers", "2")
    assert "worker processes" not in one[2]
    assert f"{MANY + len(HOSTILE_NAMES)} lookups in 2 worker processes" in two[2], two[2]
    assert one[0] == two[0] == 3  # the hostile pages are failed lookups, nothing worse
    assert "Traceback" not in one[2] + two[2]
    assert answers(one[1]) == answers(two[1])
    errors = [v for _, props in answers(two[1]) for k, v in props if k.endswith("lookup-error")]
    assert len(errors) == len(HOSTILE_NAMES)


@pytest.mark.timeout(120)
def test_a_killed_worker_leaves_its_unanswered_names_unknown_and_the_run_completes(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    index = make_index_server(synthetic_projects(MANY), latency=0.05)
    wanted = names(MANY)
    # 4 in flight at 50 ms: ~3 s of lookups, time enough to kill one worker mid-run.
    argv = ["status", "--json", "--index-url", index.url, "--cache-dir", str(tmp_path / "c")]
    argv += ["--workers", "2", "--concurrency", "4", "--fail-on", "none", *wanted]
    process = start(argv, tmp_path)
    killed: list[int] = []

    def kill_one_worker() -> None:
        workers = children(process.pid)
        if not killed and len(workers) == 2 and index.stats.requests >= 20:
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    code, out, err = finish(process, tmp_path, kill_one_worker)
    assert killed, "no worker was seen"
    assert code == 3, err
    assert "Traceback" not in err
    assert f"{WORKER_ENDED} (killed by signal 9)" in err
    records = json.loads(out)
    assert sorted(r["project"] for r in records) == sorted(wanted)  # none dropped
    lost = [r for r in records if r["lookup_error"]]
    assert lost and all(r["status"] == "unknown" for r in lost)
    assert {r["lookup_error"] for r in lost} == {f"{WORKER_ENDED} (killed by signal 9)"}
    assert len(lost) < MANY  # the other worker's answers, and the dead one's sent ones, kept


@pytest.mark.timeout(120)
def test_small_and_warm_runs_start_no_worker_and_workers_fill_the_cache(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    index = make_index_server(synthetic_projects(MANY), latency=0.05)
    cache = tmp_path / "c"
    base = ["status", "--json", "--index-url", index.url, "--cache-dir", str(cache)]
    base += ["--workers", "2", "--concurrency", "8", "--fail-on", "none"]
    seen: set[int] = set()

    def run(wanted: list[str]) -> list[dict[str, object]]:
        process = start([*base, *wanted], tmp_path)
        code, out, err = finish(process, tmp_path, lambda: seen.update(children(process.pid)))
        assert code == 0, err
        return list(json.loads(out))

    small = names(MANY)[: WORKERS_THRESHOLD - 1]  # 199 at 8 x 50 ms: over a second
    run(small)
    assert seen == set()
    asked = index.stats.requests
    cold = run(names(MANY))  # 41 new names: still below the threshold
    assert seen == set()
    assert index.stats.requests == asked + MANY - len(small)
    assert sum(r["from_cache"] for r in cold) == len(small)

    # A cold cache elsewhere: the whole run needs the network, and two workers answer it.
    base[base.index(str(cache))] = str(tmp_path / "c2")
    asked = index.stats.requests
    first = run(names(MANY))
    assert len(seen) == 2
    assert index.stats.requests == asked + MANY
    assert not any(r["from_cache"] for r in first)
    # What the workers wrote, the next run reads: nothing asked, no worker started.
    seen.clear()
    again = run(names(MANY))
    assert seen == set()
    assert index.stats.requests == asked + MANY
    assert all(r["from_cache"] for r in again)
    assert [r["status"] for r in again] == [r["status"] for r in first]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["backlog5", "http.server", "waitress"])
def test_two_workers_are_polite_to_small_real_servers(kind: str, tmp_path: Path) -> None:
    """Each worker's connections start few and grow on prompt answers: together they must
    not overflow a listen queue of five (stdlib server, one connection per request) nor a
    connection cap (waitress), with default flags."""
    if kind == "waitress":
        pytest.importorskip(kind)
    wanted = realservers.project_names(WORKERS_THRESHOLD + 100)
    statuses = realservers.write_tree(tmp_path / "tree", wanted)
    with realservers.running(kind, tmp_path / "tree") as url:
        argv = ["-v", "status", "--json", "--index-url", url, "--cache-dir", str(tmp_path / "c")]
        argv += ["--workers", "2", "--fail-on", "none", *wanted]
        code, out, err = finish(start(argv, tmp_path), tmp_path)
    assert code == 0, err
    assert "lookups in 2 worker processes" in err
    records = json.loads(out)
    assert [r["lookup_error"] for r in records if r["lookup_error"]] == []
    assert {r["project"]: r["status"] for r in records} == statuses


def test_workers_default_to_auto_and_one_keeps_a_single_process() -> None:
    from sbom_enrich.cli.options import RUN_OPTIONS

    option = next(option for option in RUN_OPTIONS if option.flag == "--workers")
    assert option.env == "SBOM_ENRICH_LOOKUP_WORKERS"
    assert option.default() is None  # auto


def test_workers_flag_values() -> None:
    assert parse_workers("--workers", "auto") is None
    assert parse_workers("--workers", " 3 ") == 3
    for bad in ("0", "65", "two", "-1"):
        with pytest.raises(ValueError, match="--workers"):
            parse_workers("--workers", bad)


def test_auto_is_the_usable_cpus_at_most_four_and_one_on_a_busy_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lookup_workers, "cgroup_cpus", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    assert auto_workers() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(32)))
    assert auto_workers() == MAX_AUTO_WORKERS
    monkeypatch.setattr(lookup_workers, "cgroup_cpus", lambda: 3)  # a container's quota
    assert auto_workers() == 3
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 1.0, 1.0))  # its CPUs all busy
    assert auto_workers() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {5})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert auto_workers() == 1


def test_a_cgroup_quota_in_cpus(tmp_path: Path) -> None:
    quota = tmp_path / "cpu.max"
    for text, cpus in (("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000", 2)):
        quota.write_text(text)
        assert cgroup_cpus(str(quota)) == cpus
    quota.write_text("garbage")
    assert cgroup_cpus(str(quota)) is None
    assert cgroup_cpus(str(tmp_path / "absent")) is None


def test_one_line_per_index_problem_however_many_workers_saw_it() -> None:
    sent: list[tuple[object, ...]] = []
    name = "sbom_enrich.status.client"
    for error in ("ConnectError: refused", "ConnectError: reset"):  # two workers' words
        record = logging.LogRecord(
            name, logging.WARNING, __file__, 1, "index %s seems down (%s)", ("I", error), None
        )
        _PipeLogHandler(sent.append).emit(record)
    shown: list[str] = []
    collect = logging.Handler()
    collect.emit = lambda record: shown.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    logger.addHandler(collect)
    try:
        relay = _LogRelay()
        for message in sent:
            relay.emit(*message[1:])  # type: ignore[arg-type]
    finally:
        logger.removeHandler(collect)
    assert shown == ["index I seems down (ConnectError: refused)"]


class _CountingStore:
    """A record store that counts reads and keeps writes."""

    def __init__(self, entries: dict[str, object]) -> None:
        self.entries = entries
        self.reads: list[str] = []
        self.written: dict[str, object] = {}

    def get(self, key: str) -> object:
        self.reads.append(key)
        return self.entries.get(key)

    def get_many(self, keys: list[str]) -> dict[str, object]:
        self.reads += keys
        return {key: self.entries[key] for key in keys if key in self.entries}

    def set(self, key: str, entry: object) -> None:
        self.written[key] = entry


def test_workers_do_not_read_again_what_the_parent_read_before_the_fork() -> None:
    """The parent's cache check notes its reads, misses included; a worker answers those from
    the note (no database opened, or created, before its first request), reads only the
    rest, and writes through."""
    from sbom_enrich.cli.lookup_workers import _ReadBefore, _ReadLog

    parent = _CountingStore({"stale": "old entry"})
    log = _ReadLog(parent)  # type: ignore[arg-type]
    assert log.get_many(["stale", "absent"]) == {"stale": "old entry"}
    assert log.read == {"stale": "old entry", "absent": None}

    worker = _CountingStore({"stale": "newer", "absent": "written meanwhile", "other": "x"})
    view = _ReadBefore(worker, log.read)  # type: ignore[arg-type]
    assert view.get_many(["stale", "absent", "other"]) == {"stale": "old entry", "other": "x"}
    assert view.get("absent") is None
    assert worker.reads == ["other"]
    view.set("absent", "answer")  # type: ignore[arg-type]
    assert worker.written == {"absent": "answer"}

    cold = _ReadBefore(worker, None)  # type: ignore[arg-type]  # no cache when the parent looked
    assert cold.get_many(["stale", "other"]) == {}
    assert cold.get("other") is None
    assert worker.reads == ["other"]


def test_a_cold_run_in_workers_fills_a_cache_that_did_not_exist(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """No cache directory when the parent looked: the workers read nothing, write everything
    (the database is created while their first requests are out), and the next run asks
    nothing."""
    index = make_index_server(synthetic_projects(MANY))
    cache = tmp_path / "cold" / "cache"
    argv = ["status", "--json", "--index-url", index.url, "--cache-dir", str(cache)]
    argv += ["--workers", "2", "--fail-on", "none", *names(MANY)]
    code, _, err = finish(start(argv, tmp_path), tmp_path)
    assert code == 0, err
    asked = index.stats.requests
    assert asked == MANY
    code, out, err = finish(start(argv, tmp_path), tmp_path)
    assert code == 0, err
    assert index.stats.requests == asked
    assert all(record["from_cache"] for record in json.loads(out))


def test_the_cli_process_tunes_its_garbage_collection_a_caller_of_main_keeps_its_own(
    tmp_path: Path,
) -> None:
    """sbom-enrich run as a program freezes its imports, collects young objects less often
    and skips the interpreter's last collections; a program calling main() keeps its own."""
    import gc

    from sbom_enrich.cli import main
    from sbom_enrich.cli.runtime import YOUNG_COLLECTION

    before = (gc.get_threshold(), gc.get_freeze_count())
    assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before

    script = (
        "import gc, sys\n"
        "from sbom_enrich.cli import main\n"
        "code = main()\n"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", script, "cache", "info", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{YOUNG_COLLECTION} True"


def test_a_warm_run_tells_fresh_from_cold_in_one_batch_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = "http://index.invalid/simple/"
    wanted = [f"project-{i}" for i in range(WORKERS_THRESHOLD + 5)]
    store = StatusCache(tmp_path / "c")
    for name in wanted:
        record = StatusRecord(
            name, ProjectStatus.ARCHIVED, index, datetime(2026, 1, 1, tzinfo=timezone.utc)
        )
        store.set(cache_key(index, name), CacheEntry(record, None, time.time(), 600.0))
    store.close()
    single = 0
    original = StatusCache.get

    def counting(self: StatusCache, key: str) -> CacheEntry | None:
        nonlocal single
        single += 1
        return original(self, key)

    monkeypatch.setattr(StatusCache, "get", counting)
    settings = ClientSettings(index_url=index, cache_dir=tmp_path / "c")
    found = lookup_workers.lookup_in_workers(settings, {index: set(wanted)}, workers=2)
    assert sorted(name for _, name in found) == sorted(wanted)  # all fresh: no worker
    assert all(r.status is ProjectStatus.ARCHIVED and r.from_cache for r in found.values())
    assert single == 0  # one batch read for the run, not a read per name


def test_workers_revalidate_stale_entries_with_what_the_parent_read(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """Stale entries read by the parent's check reach the workers: each name is asked with
    its ETag and the index's 304 answers it, no page sent again."""
    index = make_index_server(synthetic_projects(MANY), max_age=0)  # stale at once
    argv = ["status", "--json", "--index-url", index.url, "--cache-dir", str(tmp_path / "c")]
    argv += ["--workers", "2", "--fail-on", "none", *names(MANY)]
    code, first, err = finish(start(argv, tmp_path), tmp_path)
    assert code == 0, err
    assert index.stats.full_responses == MANY
    code, again, err = finish(start(["-v", *argv], tmp_path), tmp_path)
    assert code == 0, err
    assert "lookups in 2 worker processes" in err
    assert index.stats.conditional == index.stats.not_modified == MANY
    assert index.stats.full_responses == MANY
    statuses = [(r["project"], r["status"]) for r in json.loads(first)]
    assert [(r["project"], r["status"]) for r in json.loads(again)] == statuses


def live_children(pid: int) -> set[int]:
    """:func:`children` that have not exited (a worker the parent has not reaped yet is a
    zombie until the parent ends)."""
    alive = set()
    for child in children(pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(child)
    return alive


@pytest.mark.timeout(180)
@pytest.mark.parametrize("then", ["answered", "killed"])
def test_names_a_slow_worker_has_not_started_go_to_the_worker_that_ran_dry(
    make_index_server: Callable[..., IndexServer], tmp_path: Path, then: str
) -> None:
    """Two slots a worker (--concurrency 4): the first worker's first two names are held by
    the index, its next two wait behind them. The other worker does every other name; then,
    instead of ending while those two are still waiting, it asks them (the first worker gives
    back what it has not started). Each name is asked once. Killed afterwards, the first
    worker leaves only its own held names unknown."""
    index = make_index_server(synthetic_projects(MANY))
    wanted = sorted(names(MANY))  # the order the parent hands them out in
    held, waiting_behind = wanted[:2], wanted[2:4]
    index.hold(*held)
    argv = ["-v", "status", "--json", "--index-url", index.url, "--cache-dir", str(tmp_path / "c")]
    argv += ["--workers", "2", "--concurrency", "4", "--fail-on", "none", *wanted]
    process = start(argv, tmp_path)
    deadline = time.monotonic() + 120  # a bound for a hung run, not a measurement
    while time.monotonic() < deadline:
        asked = set(index.stats.by_project)
        workers = live_children(process.pid)
        if asked >= set(wanted) or (len(workers) < 2 and asked >= set(held)):
            break  # every name asked, or a worker gone with names still unasked
        time.sleep(0.01)
    assert set(index.stats.by_project) == set(wanted), "names left waiting behind held ones"
    if then == "answered":
        index.release_held()
    else:  # the first one forked, the one holding (the other may have ended by now)
        os.kill(min(live_children(process.pid)), signal.SIGKILL)
    code, out, err = finish(process, tmp_path)
    records = {r["project"]: r for r in json.loads(out)}
    assert sorted(records) == wanted  # none lost
    assert set(index.stats.by_project.values()) == {1}  # none asked twice
    assert "2 names given back for another's free slots" in err, err
    assert "Traceback" not in err
    for name in waiting_behind:
        assert records[name]["status"] == "active" and not records[name]["lookup_error"]
    if then == "answered":
        assert code == 0, err
        assert not any(r["lookup_error"] for r in records.values())
    else:
        assert code == 3, err
        lost = {name for name, r in records.items() if r["lookup_error"]}
        assert lost == set(held)
        killed = f"{WORKER_ENDED} (killed by signal 9)"
        assert {records[name]["lookup_error"] for name in held} == {killed}


class _SimulatedWorker:
    """A worker process as :class:`_Dispatch` sees it, run by hand: it starts at most
    ``_started_at_most(share)`` names (when :func:`_to_start` says), gives back only names it
    has not started, answers late (in batches)."""

    def __init__(self, share: int) -> None:
        self.share = share
        self.inbox: list[tuple[object, ...]] = []  # the parent's messages, not read yet
        self.outbox: list[tuple[str, list[tuple[str, str]]]] = []  # to the parent, not read yet
        self.waiting: list[tuple[str, str]] = []
        self.started: list[tuple[str, str]] = []
        self.unreported: list[tuple[str, str]] = []
        self.ended = False

    def send(self, message: tuple[object, ...]) -> None:  # the parent's end of the pipe
        self.inbox.append(message)

    def top_up(self) -> None:
        count = _to_start(self.share, len(self.started), len(self.waiting))
        self.started += self.waiting[:count]
        del self.waiting[:count]

    def read_one(self, where: dict[tuple[str, str], str]) -> None:
        message = self.inbox.pop(0)
        if message[0] == "names":
            assert not self.ended, "names after the end"
            for key in message[1]:  # type: ignore[attr-defined]
                assert where[key] == "parent", f"{key} sent from {where[key]}"
                where[key] = f"worker {id(self)}"
            self.waiting += message[1]  # type: ignore[arg-type]
            self.top_up()
        elif message[0] == "give back":
            count = min(message[1], len(self.waiting))  # type: ignore[type-var]
            given = [self.waiting.pop() for _ in range(count)]
            self.outbox += [("records", self.unreported), ("returned", given)]
            self.unreported = []
        else:
            assert message == ("end",)
            assert not self.waiting, "told the end while holding names it has not started"
            self.ended = True

    def answer_some(self, count: int) -> None:
        answered, self.started = self.started[:count], self.started[count:]
        self.unreported += answered
        self.top_up()
        if not self.started and not self.waiting and not self.ended:  # dry: sent at once
            self.report()

    def report(self) -> None:
        if self.unreported:
            self.outbox.append(("records", self.unreported))
            self.unreported = []


@pytest.mark.parametrize("seed", range(40))
def test_dispatch_never_loses_or_doubles_a_name_whatever_the_order_of_events(seed: int) -> None:
    """Random interleavings of names sent, answers (reported late), give-backs crossing
    answers, and a worker killed now and then: each name is answered once or, with a killed
    worker, left to it (then unknown); a name given back was never started; every worker
    left is told the end, and only once nothing can come to it any more."""
    import random

    from sbom_enrich.cli.lookup_workers import _Dispatch, _Worker

    rng = random.Random(seed)
    need = [("i", f"n{number:03}") for number in range(rng.randint(1, 120))]
    where = dict.fromkeys(need, "parent")
    simulated = [_SimulatedWorker(rng.randint(1, 20)) for _ in range(rng.randint(2, 4))]
    workers: list[_Worker] = []
    dispatch = _Dispatch(need, workers)
    by_sim: dict[int, _Worker] = {}
    for sim in simulated:
        worker = _Worker(None, sim, sim.share)
        by_sim[id(sim)] = worker
        dispatch.add(worker)
    dispatch.settle()
    answered: list[tuple[str, str]] = []
    killed: list[_Worker] = []
    for _ in range(20_000):
        live = [sim for sim in simulated if not by_sim[id(sim)].gone]
        if all(sim.ended and not sim.started and not sim.waiting for sim in live) and not any(
            sim.inbox or sim.outbox or sim.unreported for sim in live
        ):
            break
        sim = rng.choice(live)
        worker = by_sim[id(sim)]
        event = rng.random()
        if event < 0.3 and sim.inbox:
            sim.read_one(where)
        elif event < 0.55 and sim.started:
            sim.answer_some(rng.randint(1, len(sim.started)))
        elif event < 0.7:
            sim.report()
        elif event < 0.995 and sim.outbox:
            kind, keys = sim.outbox.pop(0)
            for key in keys:
                assert where[key] == f"worker {id(sim)}"
            if kind == "records":
                answered += keys
                where.update(dict.fromkeys(keys, "answered"))
                dispatch.answered(worker, len(keys))
            else:
                where.update(dict.fromkeys(keys, "parent"))
                dispatch.given_back(worker, keys)
        elif event >= 0.995 and len(live) > 1:
            killed.append(worker)
            dispatch.gone(worker)
    else:
        raise AssertionError("the run never ended")
    assert len(answered) == len(set(answered))  # none twice
    lost = [key for worker in killed for key in worker.shard if where[key] != "answered"]
    assert sorted(answered + lost + list(dispatch.queue)) == need  # none dropped
    assert not dispatch.queue or not [w for w in workers if not w.gone]
    shards = [key for worker in workers for key in worker.shard]
    assert len(shards) == len(set(shards))  # in one worker's hands at most


def test_a_worker_with_free_slots_gets_names_another_has_not_started() -> None:
    """Two workers of two slots: each gets four names, two of them waiting. The second
    answers its four; the first answers none. It is asked for two back, and they go to the
    second; the end comes once nobody can hold a name not started."""
    from sbom_enrich.cli.lookup_workers import _Dispatch, _Worker

    need = [("i", f"n{number}") for number in range(8)]
    first, second = _SimulatedWorker(2), _SimulatedWorker(2)
    workers: list[_Worker] = []
    dispatch = _Dispatch(need, workers)
    one, two = _Worker(None, first, 2), _Worker(None, second, 2)
    dispatch.add(one)
    dispatch.add(two)
    dispatch.settle()
    assert first.inbox == [("names", need[:4])] and second.inbox == [("names", need[4:])]
    dispatch.answered(two, 2)
    assert first.inbox[1:] == []  # two has no free slot yet (four out, two answered)
    dispatch.answered(two, 2)
    assert first.inbox[1:] == [("give back", 2)]
    dispatch.answered(two, 0)
    assert first.inbox[2:] == []  # one question at a time
    dispatch.given_back(one, [need[3], need[2]])
    assert second.inbox[1:] == [("names", [need[3], need[2]]), ("end",)]
    assert first.inbox[2:] == [("end",)]
    assert list(one.shard) == need[:2] and list(two.shard) == [*need[4:], need[3], need[2]]


def test_a_worker_holds_names_not_started_only_with_more_than_its_slots_out() -> None:
    """What the parent counts on to know who may hold names to give back: after a top-up,
    names still waiting in a worker mean more than its slots are out."""
    for share in (1, 2, 7, 8, 64, 100):
        slots = _started_at_most(share)
        for started in range(slots + 1):
            for waiting in range(3 * slots):
                count = _to_start(share, started, waiting)
                assert 0 <= count <= min(waiting, slots - started)
                assert count == waiting or started + waiting > slots
    assert _to_start(64, 79, 30) == 0  # one slot free of 80: wait for a few
    assert _to_start(64, 72, 30) == 8
    assert _to_start(64, 79, 1) == 1  # the last name waiting goes at once
