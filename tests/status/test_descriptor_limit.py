"""A low descriptor limit (``ulimit -n``) costs speed, never lookups, and is never "index down".

Each case runs in a process of its own whose RLIMIT_NOFILE is lowered before it starts, against
Python's ``http.server`` (a new connection per request: the most descriptors a run can use).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import realservers

resource = pytest.importorskip("resource")

PROJECTS = 300
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> object:
    root = tmp_path_factory.mktemp("fd-index")
    statuses = realservers.write_tree(root, realservers.project_names(PROJECTS))
    with realservers.running("http.server", root) as url:
        yield url, statuses


def _limited(soft: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _run(argv: list[str], soft: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=240,
        preexec_fn=lambda: _limited(soft),  # noqa: PLW1509 (no threads in the child yet)
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("workers", ["1", "auto"])
def test_the_default_flags_fit_their_connections_to_ulimit_64(
    index: tuple[str, dict[str, str]], workers: str, tmp_path: Path
) -> None:
    """128 connections wanted, 64 descriptors: 700 of 1,000 lookups were lost to EMFILE and
    the breaker said the index "seems down"."""
    url, statuses = index
    argv = [sys.executable, "-m", "sbom_enrich", "-v", "status", "--json", "--no-cache"]
    argv += ["--workers", workers, "--index-url", url, "--fail-on", "none", *statuses]
    done = _run(argv, 64, tmp_path)
    records = json.loads(done.stdout)
    assert Counter(r["lookup_error"] for r in records if r["lookup_error"]) == Counter()
    assert {r["project"]: r["status"] for r in records} == statuses
    assert done.returncode == 0, done.stderr
    assert "seems down" not in done.stderr
    assert "the descriptor limit (ulimit -n) leaves no more" in done.stderr


# Past the up-front budget: descriptors taken by something else after the transport was made
# (here: no budget at all, as if it had been misjudged). A connect that finds none waits for one
# of our own connections to close; with none of ours open, the lookup fails with the reason.
_WAITS_FOR_DESCRIPTORS = textwrap.dedent(
    """
    import asyncio, json, logging, os, resource, sys
    from collections import Counter
    from sbom_enrich.status._http import plain
    from sbom_enrich.status._http.client import build_http_client
    from sbom_enrich.status.client import StatusClient
    from sbom_enrich.status.settings import ClientSettings

    plain.descriptor_budget = lambda: None
    url, spare, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    warnings = []
    logging.getLogger().addHandler(logging.Handler())
    logging.getLogger().handlers[-1].emit = lambda record: warnings.append(record.getMessage())

    async def main():
        settings = ClientSettings(index_url=url, use_cache=False, retries=0)
        async with build_http_client(settings) as http:
            client = StatusClient(http=http, cache=None, settings=settings)
            await client.lookup(names.pop())  # what the first lookup imports, imported
            in_use = len(os.listdir("/proc/self/fd")) - 1  # (less the listing's own)
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + spare, hard))
            return [r async for r in client.lookup_many(names)]

    records = asyncio.run(main())
    print(json.dumps({
        "errors": Counter(r.error for r in records if r.error),
        "answered": sum(1 for r in records if not r.error),
        "down": [w for w in warnings if "seems down" in w],
    }))
    """
)


@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
@pytest.mark.parametrize(("spare", "all_answered"), [(6, True), (0, False)])
def test_a_connect_without_a_descriptor_waits_for_ours_or_says_why(
    index: tuple[str, dict[str, str]], spare: int, all_answered: bool, tmp_path: Path
) -> None:
    url, statuses = index
    names = list(statuses)[:121]
    argv = [sys.executable, "-c", _WAITS_FOR_DESCRIPTORS, url, str(spare), *names]
    done = _run(argv, 4096, tmp_path)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["down"] == []  # this machine's limit, never the index's outage
    if all_answered:
        assert outcome == {"errors": {}, "answered": len(names) - 1, "down": []}
    else:
        assert outcome["answered"] == 0
        assert list(outcome["errors"]) == [
            "OutOfDescriptors: no file descriptor left for a connection "
            "(Too many open files; see ulimit -n)"
        ]


@pytest.mark.parametrize("workers", ["1", "auto"])
def test_a_limit_too_low_for_the_run_itself_is_one_line_and_exit_2(
    index: tuple[str, dict[str, str]], workers: str, tmp_path: Path
) -> None:
    """Six descriptors do not even open the cache: one line, not "internal error (a bug)"."""
    url, statuses = index
    argv = [sys.executable, "-m", "sbom_enrich", "status", "--json", "--workers", workers]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--index-url", url, *statuses]
    done = _run(argv, 6, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "sbom-enrich: error: too many open files: the descriptor limit (ulimit -n) is too "
        "low for this run; raise it\n"
    )
