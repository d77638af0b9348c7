"""Bench instrument: when each lookup worker answered, for `bench_paired.py --timeline`.

Runs the CLI (``python -c "import worker_timeline; worker_timeline.main()" enrich ...``) with
two hooks put in from outside the product code: every lookup's completion time goes to a file
of its process (``$BENCH_TIMELINE.<pid>``, one monotonic timestamp a line, flushed at once so a
worker ended by its parent has written it all), and the moment the parent has every worker's
records goes to ``$BENCH_TIMELINE.parent``. CLOCK_MONOTONIC is one clock for all processes of
the machine, so :func:`summary` can set the workers' last answers against each other.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    out = os.environ["BENCH_TIMELINE"]
    from sbom_enrich.cli import lookup_workers
    from sbom_enrich.status.client import StatusClient

    opened: dict[int, Any] = {}

    def note(suffix: str) -> None:
        pid = os.getpid()
        stream = opened.get(pid)
        if stream is None:
            stream = opened[pid] = open(f"{out}.{suffix}", "a", encoding="ascii")  # noqa: SIM115
        stream.write(f"{time.monotonic():.6f}\n")
        stream.flush()

    lookup = StatusClient._lookup_uncoalesced

    async def timed(self: StatusClient, index: str, key_name: str, entry: Any) -> Any:
        record = await lookup(self, index, key_name, entry)
        note(str(os.getpid()))
        return record

    run_workers = lookup_workers._run_workers

    def traced(*args: Any, **kwargs: Any) -> Any:
        got = run_workers(*args, **kwargs)
        note("parent")
        return got

    StatusClient._lookup_uncoalesced = timed  # type: ignore[method-assign]
    lookup_workers._run_workers = traced  # type: ignore[attr-defined]
    from sbom_enrich.cli import main as cli_main

    sys.argv[0] = "sbom-enrich"
    return cli_main()


def summary(out: str) -> dict[str, float] | None:
    """gap: between the workers' last answers; parent: last answer -> the parent has them all;
    parallel: first answer -> last answer, in seconds. None when the run used no workers."""
    base = Path(out)
    parent_file = base.with_name(base.name + ".parent")
    workers = [
        [float(line) for line in path.read_text().split()]
        for path in base.parent.glob(base.name + ".*")
        if path != parent_file
    ]
    workers = [times for times in workers if times]
    if len(workers) < 2 or not parent_file.exists():
        return None
    lasts = [max(times) for times in workers]
    firsts = [min(times) for times in workers]
    parent = float(parent_file.read_text().split()[0])
    return {
        "gap": max(lasts) - min(lasts),
        "parent": parent - max(lasts),
        "parallel": max(lasts) - min(firsts),
        "answers": float(sum(len(times) for times in workers)),
    }


if __name__ == "__main__":
    raise SystemExit(main())
