"""The documented bench commands still run (tiny sizes; the numbers themselves are not checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_enrich_reports_cold_warm_and_revalidation_requests() -> None:
    out = bench("bench_enrich.py", "--components", "12", "--large", "0", "--repeat", "1")
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines() if "requests" in line}
    assert re.search(r"requests\s+12\s+full pages\s+12\b", rows["cold (run 1)"])
    assert re.search(r"requests\s+0\b", rows["warm (fresh cache)"])
    assert re.search(r"full pages\s+0\s+304\s+12\b", rows["revalidation (after max-age)"])
    assert all("exit 0" in row for row in rows.values())


def test_bench_http_stacks_fetches_every_page(tmp_path: Path) -> None:
    args = ("--requests", "12", "--repeat", "1", "--concurrency", "4")
    out = bench("bench_http_stacks.py", *args, env={**os.environ, "TMPDIR": str(tmp_path)})
    for stack in ("status-client ", "httpx "):
        (row,) = [line for line in out.splitlines() if line.startswith(stack)]
        assert "ms/request" in row
        assert int(row.rsplit("bytes", 1)[1]) > 0, row
    assert list(tmp_path.iterdir()) == []  # the status client's cache directories


def test_bench_validate_times_both_rows() -> None:
    small = str(ROOT / "tests" / "data" / "sboms" / "cdxgen-python-1.7.json")
    out = bench("bench_validate.py", "--repeat", "1", "--sbom", small)
    (row,) = [line for line in out.splitlines() if line.startswith("cdxgen-python-1.7.json")]
    assert "without --validate" in row and "with --validate" in row


def test_bench_vs_uv_runs_both_tools_on_nginx_over_both_transports() -> None:
    import shutil

    sys.path.insert(0, str(ROOT / "tests"))
    import nginx_index

    why_not = nginx_index.available()
    if why_not is not None or not (Path(sys.executable).parent / "uv").exists():
        pytest.skip(why_not or "no uv beside this Python (the test extra installs it)")
    assert shutil.which("nginx") or Path(nginx_index.NGINX).exists()
    out = bench("bench_vs_uv.py", "--components", "12", "--repeat", "1", "--latency", "0.01")
    for transport in ("HTTP/1.1", "HTTP/2 + TLS"):
        rows = [line for line in out.splitlines() if line.startswith(transport)]
        assert len(rows) == 3, out  # uv, sbom-enrich, the summary
        assert all("failed lookups 0" in row for row in rows[:2]), rows
        assert "CPU per lookup" in rows[2]


def test_bench_terminal_times_a_terminal_and_a_pipe() -> None:
    out = bench("bench_terminal.py", "--projects", "5", "--repeat", "1", "--latency", "0")
    assert re.search(r"^status, stderr on a terminal\s+best\s+[\d.]+ ms", out, re.M), out
    assert re.search(r"^status, stderr on a pipe\s+best\s+[\d.]+ ms", out, re.M), out


def test_bench_parse_page_reports_both_wheel_parsers() -> None:
    out = bench("bench_parse_page.py", "--releases", "50", "--repeat", "1")
    assert "page of 100 files" in out
    assert "split here" in out and "parse_wheel_filename" in out


def test_bench_maintenance_batches_github_and_warms_the_cache() -> None:
    out = bench("bench_maintenance.py", "--components", "240", "--latency", "0")
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines() if "requests" in line}
    cold = rows["token, GraphQL (cold)"]
    # 216 GitHub repositories: 3 GraphQL requests; 24 GitLab/Codeberg ones: REST each.
    assert re.search(r"requests\s+27\s+GraphQL\s+3\b", cold), cold
    assert re.search(r"requests\s+0\b", rows["token, GraphQL (warm cache)"])
    assert re.search(r"requests\s+240\s+GraphQL\s+0\b", rows["no token, REST (cold)"])


def test_bench_locks_parses_and_checks_a_small_lock_cold_and_warm() -> None:
    # bench/bench_locks.py measures issue 16's targets (a 2,000-package uv.lock); at 30
    # packages it runs in seconds, so a change that breaks it fails here, not in a release.
    out = bench("bench_locks.py", "--packages", "30", "--repeat", "1")
    assert re.search(r"^synthetic uv\.lock: 31 locked packages", out, re.M), out
    assert re.search(r"^  parse \+ chains \(in-process\)\s+best\s+[\d.]+ ms", out, re.M), out
    cold = re.search(
        r"^  check, cold cache \(fills it\)\s+[\d.]+ s  CPU\s+[\d.]+ s  exit (\d+)", out, re.M
    )
    warm = re.search(r"^  check, warm cache \(whole process\)\s+best.*exit (\d+)$", out, re.M)
    assert cold and warm, out
    assert cold[1] == warm[1] == "0", out
    if "no uv beside this Python" not in out:
        assert re.search(r"^  uv audit --frozen, cold cache\s+[\d.]+ s  exit 0", out, re.M), out


def test_bench_event_loops_times_both_loops_over_both_schemes() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import nginx_index

    why_not = nginx_index.available()
    if why_not is not None:
        pytest.skip(why_not)
    pytest.importorskip("uvloop")
    out = bench("bench_event_loops.py", "--connections", "3", "--rounds", "1")
    rows = [line.split()[:2] for line in out.splitlines() if "ms" in line and "#" not in line]
    assert rows == [
        ["http", "asyncio"], ["http", "uvloop"], ["https", "asyncio"], ["https", "uvloop"]
    ]  # fmt: skip
    assert "4 resumed" in out  # each https run's second and third connections


def test_bench_paired_leaves_no_work_directory_behind(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import nginx_index

    why_not = nginx_index.available()
    if why_not is not None:
        pytest.skip(why_not)
    args = ["--side", f"a={ROOT / 'src'}", "--side", f"b={ROOT / 'src'}", "--rounds", "1"]
    args += ["--components", "5", "--latency", "0", "--transport", "h1"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_paired.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "a: CPU best" in done.stdout and "b: CPU best" in done.stdout
    assert list(tmp_path.iterdir()) == []  # the tree, the certificates, each run's cache


def test_bench_paired_offline_compares_two_trees_and_their_output() -> None:
    src = str(ROOT / "src")
    out = bench("bench_paired_offline.py", "--old", src, "--new", src, "--components", "12",
                "--pairs", "1")  # fmt: skip
    rows = [line for line in out.splitlines() if "new/old median" in line]
    assert [row.split()[0] for row in rows] == ["json", "xml"]
    assert all(row.endswith("output identical") for row in rows), out
