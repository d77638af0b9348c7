"""--workers: a large cold run's lookups in forked processes give what one process gives.

The CLI runs as a process of its own here: pytest's process has the test index's threads,
and the CLI (rightly) never forks a process that has other threads.
"""

from __future__ import annotations

import json
import logging
import os
import re
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


TRAFFIC = re.compile(r"^(workers: )?(\d+) requests, (\d+) bytes downloaded, (\d+) not modified$")


def traffic(stderr: str) -> list[tuple[str, int, int, int]]:
    """Each ``-v`` line counting what was asked: (whose, requests, bytes, not modified)."""
    lines = (TRAFFIC.match(line.rsplit(": INFO: ", 1)[-1]) for line in stderr.splitlines())
    return [(m[1] or "", int(m[2]), int(m[3]), int(m[4])) for m in lines if m]


@pytest.mark.timeout(120)
def test_v_counts_the_requests_in_one_process_as_it_does_in_workers(
    make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """`-v` says how many requests a run made and what they downloaded, in one process
    (that line had gone missing) as with worker processes, and a warm run says none."""
    index = make_index_server(synthetic_projects(MANY))
    base = ["-v", "status", "--json", "--index-url", index.url, "--fail-on", "none"]

    def run(workers: str, cache: str) -> list[tuple[str, int, int, int]]:
        argv = [*base, "--cache-dir", str(tmp_path / cache), "--workers", workers]
        code, _, err = finish(start([*argv, *names(MANY)], tmp_path), tmp_path)
        assert code == 0, err
        return traffic(err)

    one = run("1", "c1")
    sent = index.stats.bytes_sent
    assert one == [("", MANY, sent, 0)]
    two = run("2", "c2")
    # The workers asked everything; the run's own pass, nothing.
    assert two == [("workers: ", MANY, sent, 0), ("", 0, 0, 0)]
    assert run("1", "c1") == [("", 0, 0, 0)]  # warm: every answer from the cache


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
@pytest.mark.parametrize("kind", ["backlog5", "http.server", "waitress", "devpi"])
def test_two_workers_are_polite_to_small_real_servers(kind: str, tmp_path: Path) -> None:
    """Each worker's connections start few and grow on prompt answers: together they must
    not overflow a listen queue of five (stdlib server, one connection per request), a
    connection cap (waitress) nor a mirror fetching each page from its upstream (devpi),
    with default flags."""
    if kind == "waitress":
        pytest.importorskip(kind)
    if kind == "devpi":
        pytest.importorskip("devpi_server")
    wanted = realservers.project_names(WORKERS_THRESHOLD + 100)
    statuses = realservers.write_tree(tmp_path / "tree", wanted)
    with realservers.running(kind, tmp_path / "tree") as url:
        argv = ["-v", "status", "--json", "--index-url", url, "--cache-dir", str(tmp_path / "c")]
        argv += ["--workers", "2", "--fail-on", "none", *wanted]
        code, out, err = finish(start(argv, tmp_path), tmp_path)
    if kind == "devpi":
        # Its pages are Simple API 1.0 without PEP 792 markers: every lookup completes, and
        # the verdict says nothing could be checked rather than passing.
        assert code == 3, err
        assert "cannot express project status" in err
        statuses = dict.fromkeys(statuses, "unknown")
    else:
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

    from sbom_enrich._collector import YOUNG_COLLECTION
    from sbom_enrich.cli import main

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
