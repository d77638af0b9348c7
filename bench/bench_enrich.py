"""Benchmark `sbom-enrich enrich` end to end: cold, warm and revalidating runs, local index.

Run: .venv/bin/python bench/bench_enrich.py [--components 1000] [--large 10000] [--latency 0.05]
         [--sbom-enrich PATH]

`--sbom-enrich` picks the executable to time (default: the dev venv's). The dev venv is an
editable install with the test extras: its modules are compiled on every start when
PYTHONDONTWRITEBYTECODE is set, and httpx imports rich (pulled in by schemathesis), ~70 ms of
start-up a user's `pip install .` does not pay. To time what users run:

    python3 -m venv .bench/user && .bench/user/bin/pip install -q .
    .venv/bin/python bench/bench_enrich.py --sbom-enrich .bench/user/bin/sbom-enrich

Each phase starts the project's test index (tests/indexserver.py) in its own process with
synthetic projects and injected latency, runs the real CLI as a subprocess (so process start,
imports and cache opening count), and prints wall time, peak RSS, and the requests and bytes
the index served.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import synthetic_projects  # noqa: E402

#: The executable the benches time unless `--sbom-enrich` names another: the one installed beside
#: the Python running the bench (the dev venv under scripts/test, whatever venv otherwise).
DEV_EXECUTABLE = Path(sys.executable).parent / "sbom-enrich"


def make_sbom(count: int, path: Path) -> None:
    """A CycloneDX 1.6 JSON SBOM with ``count`` distinct PyPI components (the synthetic set)."""
    components = []
    for spec in synthetic_projects(count):
        versions = spec.versions or sorted({f.filename.split("-")[1] for f in spec.files}) or ["1"]
        version = versions[0]
        components.append(
            {
                "type": "library",
                "bom-ref": f"{spec.name}=={version}",
                "name": spec.name,
                "version": version,
                "purl": f"pkg:pypi/{spec.name}@{version}",
            }
        )
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "bench", "bom-ref": "root"}},
        "components": components,
    }
    path.write_text(json.dumps(document, indent=2))


class Index:
    """The test index in its own process (so it does not share the client's interpreter)."""

    def __init__(
        self,
        count: int,
        latency: float,
        max_age: int,
        stats: Path,
        port: int,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.stats_file = stats
        command = [
            sys.executable,
            str(ROOT / "tests" / "indexserver.py"),
            "--port",
            str(port),
            "--synthetic",
            str(count),
            "--latency",
            str(latency),
            "--max-age",
            str(max_age),
            "--stats-file",
            str(stats),
            *extra_args,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> dict[str, object]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        data: dict[str, object] = json.loads(self.stats_file.read_text())
        return data


def run_cli(
    sbom: Path, out: Path, url: str, cache: Path, executable: Path = DEV_EXECUTABLE
) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one CLI process."""
    command = [
        str(executable),
        "enrich",
        str(sbom),
        "-o",
        str(out),
        "--index-url",
        url,
        "--cache-dir",
        str(cache),
        "--fail-on",
        "none",
    ]
    env = {**os.environ, "SBOM_ENRICH_ALTERNATIVES": ""}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, stderr=subprocess.DEVNULL, env=env, check=False)
    elapsed = time.perf_counter() - started
    # ru_maxrss of children is the largest child so far; runs grow in size, so this is ours.
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return elapsed, peak, done.returncode


def add_executable_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sbom-enrich",
        type=Path,
        default=DEV_EXECUTABLE,
        help="the sbom-enrich executable to time (default: the dev venv's)",
    )


def chosen_executable(args: argparse.Namespace) -> Path:
    executable: Path = args.sbom_enrich.absolute()
    if not executable.exists():
        raise SystemExit(f"no sbom-enrich at {executable}; see this script's docstring")
    print(f"# timing {executable}")
    return executable


def free_port() -> int:
    """One port for every phase: the cache is keyed by index URL, port included."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = free_port()


def phase(
    name: str,
    sbom: Path,
    count: int,
    latency: float,
    max_age: int,
    cache: Path,
    work: Path,
    executable: Path,
) -> None:
    index = Index(count, latency, max_age, work / f"{name}.stats.json", PORT)
    try:
        seconds, rss, code = run_cli(sbom, work / f"{name}.out.json", index.url, cache, executable)
    finally:
        stats = index.stop()
    print(
        f"{name:<34} {seconds:7.3f} s  peak RSS {rss:6.1f} MB  exit {code}  "
        f"requests {stats['requests']:>6}  full pages {stats['full_responses']:>6}  "
        f"304 {stats['not_modified']:>6}  bytes {stats['bytes_sent']:>10}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000, help="0 to skip the large run")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="cold runs to take the best of")
    add_executable_option(parser)
    args = parser.parse_args()
    executable = chosen_executable(args)
    work = Path(tempfile.mkdtemp(prefix="sbom-enrich-bench-"))
    try:
        sbom = work / "sbom.json"
        make_sbom(args.components, sbom)
        n = args.components
        print(f"# {n} distinct PyPI components, index latency {args.latency * 1000:.0f} ms")
        for attempt in range(args.repeat):
            cache = work / f"cache-{attempt}"
            phase(f"cold (run {attempt + 1})", sbom, n, args.latency, 600, cache, work, executable)
        phase("warm (fresh cache)", sbom, n, args.latency, 600, work / "cache-0", work, executable)
        phase("warm again", sbom, n, args.latency, 600, work / "cache-0", work, executable)
        stale = work / "cache-stale"
        phase("cold, max-age 0", sbom, n, args.latency, 0, stale, work, executable)
        phase("revalidation (after max-age)", sbom, n, args.latency, 0, stale, work, executable)
        if args.large:
            big = work / "big.json"
            make_sbom(args.large, big)
            print(f"# {args.large} distinct PyPI components")
            cache = work / "cache-big"
            phase("cold", big, args.large, args.latency, 600, cache, work, executable)
            phase("warm", big, args.large, args.latency, 600, cache, work, executable)
            phase("warm again", big, args.large, args.latency, 600, cache, work, executable)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
