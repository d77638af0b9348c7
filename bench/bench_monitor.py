"""Benchmark `sbom-enrich monitor run`: a baseline pass, then a pass where every name answers 304.

Run: .venv/bin/python bench/bench_monitor.py [--names 10000] [--latency 0.05] [--db URL]
         [--sbom-enrich PATH]

One SBOM with ``--names`` distinct PyPI components is registered under one project; the test
index (tests/indexserver.py, its own process, synthetic projects, injected latency) answers. The
first pass downloads every page (baseline, no notices); the second finds nothing changed and
must download no page at all: every lookup is an ``If-None-Match`` revalidation answered ``304``.
Each pass is the real CLI in a subprocess; printed: wall time, peak RSS, and the requests,
full pages, 304s and body bytes the index served. ``--db`` defaults to a fresh SQLite file;
give a ``postgresql://`` URL to time PostgreSQL instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_enrich import (  # noqa: E402
    PORT,
    Index,
    add_executable_option,
    chosen_executable,
    make_sbom,
)

#: The default interval of `monitor serve`: a pass must stay well within it.
INTERVAL = 15 * 60


def run_monitor(executable: Path, env: dict[str, str], *argv: str) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one CLI process.

    wait4 gives this child's own peak: RUSAGE_CHILDREN would also count the index processes
    the bench has already reaped (10,000 synthetic projects make a bigger process than ours).
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        [str(executable), "monitor", *argv], env=env, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, child.returncode


def phase(
    name: str, names: int, latency: float, work: Path, executable: Path, env: dict[str, str]
) -> None:
    index = Index(names, latency, 600, work / f"{name}.stats.json", PORT)
    try:
        env = {**env, "SBOM_ENRICH_INDEX_URL": index.url}
        seconds, rss, code = run_monitor(executable, env, "run")
    finally:
        stats = index.stop()
    print(
        f"{name:<28} {seconds:7.3f} s  peak RSS {rss:6.1f} MB  exit {code}  "
        f"requests {stats['requests']:>6}  full pages {stats['full_responses']:>6}  "
        f"304 {stats['not_modified']:>6}  bytes {stats['bytes_sent']:>10}  "
        f"({seconds / INTERVAL * 100:.2f}% of the 15 min interval)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per index answer")
    parser.add_argument("--db", help="monitor database URL (default: a fresh SQLite file)")
    add_executable_option(parser)
    args = parser.parse_args()
    executable = chosen_executable(args)
    work = Path(tempfile.mkdtemp(prefix="sbom-enrich-bench-monitor-"))
    try:
        sbom = work / "sbom.json"
        make_sbom(args.names, sbom)
        env = {
            **os.environ,
            "HOME": str(work),
            "SBOM_ENRICH_DB": args.db or f"sqlite:///{work / 'monitor.db'}",
            "SBOM_ENRICH_CACHE_DIR": str(work / "cache"),
            "SBOM_ENRICH_ALTERNATIVES": "",
        }
        seconds, rss, code = run_monitor(executable, env, "add", "--project", "bench", str(sbom))
        print(
            f"# {args.names} watched names, index latency {args.latency * 1000:.0f} ms; "
            f"monitor add took {seconds:.3f} s (peak RSS {rss:.1f} MB, exit {code})"
        )
        phase("baseline pass (cold cache)", args.names, args.latency, work, executable, env)
        phase("unchanged pass (all 304)", args.names, args.latency, work, executable, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
