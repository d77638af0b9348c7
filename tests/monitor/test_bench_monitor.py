"""bench/bench_monitor.py still runs, and an unchanged pass downloads no page (tiny size)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_unchanged_pass_is_all_304() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_monitor.py"), "--names", "12",
         "--latency", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {line.split("  ")[0]: line for line in done.stdout.splitlines() if "requests" in line}
    assert re.search(r"full pages\s+12\s+304\s+0\b", rows["baseline pass (cold cache)"])
    assert re.search(r"full pages\s+0\s+304\s+12\s+bytes\s+0\b", rows["unchanged pass (all 304)"])
    assert all("exit 0" in row for row in rows.values())
