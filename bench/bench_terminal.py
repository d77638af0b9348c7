"""What the progress line and colour cost: start-up, and a run on a terminal against a pipe.

Runs the real CLI (``python -m sbom_enrich``) against the project's test index on 127.0.0.1:
``--version`` (start-up alone), then ``status`` for N synthetic projects with stderr on a
pseudo-terminal (progress line and colour on) and on a pipe (both off), alternating, best of
``--repeat``. Prints milliseconds; compare the two rows of a run, not runs across machines.
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import IndexServer, synthetic_projects  # noqa: E402


def timed(argv: list[str], env: dict[str, str], *, terminal: bool) -> float:
    """Wall seconds of one CLI run; stderr on a pseudo-terminal when ``terminal``."""
    command = [sys.executable, "-m", "sbom_enrich", *argv]
    started = time.perf_counter()
    if not terminal:
        subprocess.run(command, env=env, capture_output=True, check=False)
        return time.perf_counter() - started
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL
    )
    os.close(follower)
    while True:
        try:
            if not os.read(leader, 65536):
                break
        except OSError:
            break
    os.close(leader)
    process.wait()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with IndexServer(synthetic_projects(args.projects), latency=args.latency) as index:
        names = [p.name for p in synthetic_projects(args.projects)]
        rows: dict[str, list[float]] = {"--version": [], "terminal": [], "pipe": []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as cache:
                env = {
                    **os.environ,
                    "SBOM_ENRICH_INDEX_URL": index.url,
                    "SBOM_ENRICH_NO_CACHE": "1",
                    "SBOM_ENRICH_CACHE_DIR": cache,
                    "TERM": "xterm",
                }
                rows["--version"].append(timed(["--version"], env, terminal=False))
                for how in ("terminal", "pipe"):
                    argv = ["status", *names, "--fail-on", "none"]
                    rows[how].append(timed(argv, env, terminal=how == "terminal"))
    print(f"{args.projects} projects, {args.latency * 1000:.0f} ms latency, best of {args.repeat}")
    for name, seconds in rows.items():
        label = "start-up (--version)" if name == "--version" else f"status, stderr on a {name}"
        print(
            f"{label:<28} best {min(seconds) * 1000:7.1f} ms  "
            f"median {statistics.median(seconds) * 1000:7.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
