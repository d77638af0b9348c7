"""Head-to-head, cold cache: `uv audit --frozen` (PEP 792 status via uv.lock) vs sbom-enrich.

Rerun (uv 0.13.9 in a throwaway venv under the git-ignored .bench/, never committed):

    python3 -m venv .bench/uvenv
    .bench/uvenv/bin/pip download --no-deps uv==0.13.9 -d .bench/dl
    .bench/uvenv/bin/pip install --no-deps --no-index .bench/dl/uv-0.13.9-*.whl
    .venv/bin/python bench/bench_vs_uv.py [--components 1000] [--latency 0.05] [--repeat 3]

Both tools see the same synthetic index (tests/indexserver.py, `synthetic_projects(N)`, a fresh
index process per run on one fixed port) and the same name/version pairs: the CycloneDX SBOM
comes from bench_enrich.make_sbom and the uv.lock is generated from that SBOM. What uv 0.13.9
does (from its -v logs and source, crates/uv-audit/src/service/project_status.rs):

- `uv audit --frozen` reads uv.lock without resolving and needs no Python interpreter;
- it POSTs every (name, version) to `<service-url>/v1/querybatch` (OSV); a stub on 127.0.0.1
  here answers "no vulns" at once;
- it GETs `<registry>/<name>/` for each lock package, the registry being the `source = {
  registry = ... }` URL in uv.lock (not `--default-index`, passed anyway), with its default
  concurrency (UV_CONCURRENT_DOWNLOADS, 50) where sbom-enrich uses 128; a failed page fetch is
  dropped silently, so the index's request count is checked, not assumed;
- a minimal lock is enough: registry packages need no sdist/wheels entries in --frozen mode.

Two more uv rows (skip them with --frozen-only) run `uv audit` as a user types it, without
--frozen, against an index that also serves wheels' core metadata (PEP 658): "lock up to date"
starts from a full uv.lock made by `uv lock` before timing (uv finds an interpreter and checks
the lock, then audits); "no lock" has to lock first, fetching every project page and every
pinned wheel's metadata before it audits (about twice the requests). Quarantined projects
serve no files, so no resolver can lock them: those two rows audit the other packages only.

uv runs with HTTP(S)_PROXY/ALL_PROXY pointing at a closed local port and NO_PROXY=127.0.0.1,
so anything other than 127.0.0.1 fails instead of reaching the internet. Timed: wall time of
the whole process (and its CPU time), fresh cache directory each run, best of --repeat; both
tools at their defaults (the issue's target), then both at each --matched concurrency.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_enrich import (  # noqa: E402
    Index,
    add_executable_option,
    chosen_executable,
    free_port,
    make_sbom,
    run_cli,
)
from indexserver import canonical, synthetic_projects  # noqa: E402
from sbom_enrich.status.settings import DEFAULT_CONCURRENCY as DEFAULT_ENRICH_CONCURRENCY  # noqa: E402

DEFAULT_UV = ROOT / ".bench" / "uvenv" / "bin" / "uv"
# Anything not on 127.0.0.1 goes to a closed port: no internet, even by accident.
NO_INTERNET = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
#: uv's UV_CONCURRENT_DOWNLOADS default.
UV_DEFAULT_CONCURRENCY = 50
#: The index serves wheels' core metadata (PEP 658) so that uv can lock against it.
INDEX_ARGS = ("--core-metadata",)
#: `uv audit` without --frozen: it first checks uv.lock against pyproject.toml and locks anew
#: when it is missing or stale (one more request per package, for its core metadata).
LOCKED = "uv audit, lock up to date"
LOCKS_FIRST = "uv audit, no lock (locks first)"
UV_PROJECTS = {LOCKED: "project-locked", LOCKS_FIRST: "project-unlocked"}
FOUND = re.compile(r"Found (.+?) and (.+?) in (\d+) packages")


class OsvStub:
    """OSV `POST /v1/querybatch` on 127.0.0.1 answering "no vulnerabilities" for every query."""

    def __init__(self) -> None:
        self.requests = 0
        self.queries = 0
        self.other: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.rstrip("/").endswith("/v1/querybatch"):
                    queries = json.loads(body or b"{}").get("queries", [])
                    stub.requests += 1
                    stub.queries += len(queries)
                    self.reply(200, {"results": [{} for _ in queries]})
                else:
                    stub.other.append(f"POST {self.path}")
                    self.reply(404, {})

            def do_GET(self) -> None:  # noqa: N802
                stub.other.append(f"GET {self.path}")
                self.reply(404, {})

            def reply(self, status: int, data: object) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.requests, self.queries, self.other = 0, 0, []

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sbom_pairs(sbom: Path) -> list[tuple[str, str]]:
    """(canonical name, version) of every component, as the SBOM lists them."""
    components = json.loads(sbom.read_text())["components"]
    return sorted((canonical(c["name"]), c["version"]) for c in components)


def make_project(pairs: list[tuple[str, str]], registry: str, directory: Path) -> None:
    """A virtual uv project whose uv.lock pins ``pairs`` as registry packages of ``registry``."""
    directory.mkdir(parents=True, exist_ok=True)
    requirements = "".join(f'    "{name}=={version}",\n' for name, version in pairs)
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "bench-vs-uv"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = [\n{requirements}]\n"
    )
    lines = [
        "version = 1",
        "revision = 3",
        'requires-python = ">=3.10"',
        "",
        "[[package]]",
        'name = "bench-vs-uv"',
        'version = "0.1.0"',
        'source = { virtual = "." }',
        "dependencies = [",
        *(f'    {{ name = "{name}" }},' for name, _ in pairs),
        "]",
    ]
    for name, version in pairs:
        lines += [
            "",
            "[[package]]",
            f'name = "{name}"',
            f'version = "{version}"',
            f'source = {{ registry = "{registry}" }}',
        ]
    (directory / "uv.lock").write_text("\n".join(lines) + "\n")


def uv_env(extra_env: dict[str, str]) -> dict[str, str]:
    """uv's environment: no user configuration, no Python downloads, nothing but 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(NO_INTERNET, UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", **extra_env)
    return env


def run_uv(
    uv: Path,
    project: Path,
    index_url: str,
    osv_url: str,
    cache: Path,
    extra_env: dict[str, str],
    frozen: bool = True,
) -> tuple[float, int, str]:
    """(seconds, exit code, stderr) of one cold `uv audit` (`--frozen` unless told otherwise)."""
    command = [
        str(uv),
        "audit",
        *(["--frozen"] if frozen else []),
        "--preview-features",
        "audit-command",
        "--default-index",
        index_url,
        "--service-url",
        osv_url,
        "--cache-dir",
        str(cache),
        "--no-progress",
        "--color",
        "never",
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=project,
        env=uv_env(extra_env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return time.perf_counter() - started, done.returncode, done.stderr


def lock_project(uv: Path, project: Path, index_url: str, cache: Path) -> None:
    """Resolve ``project`` into a full uv.lock (untimed set-up for the "lock up to date" row)."""
    (project / "uv.lock").unlink(missing_ok=True)
    command = [str(uv), "lock", "--default-index", index_url, "--cache-dir", str(cache)]
    command += ["--no-progress", "--color", "never"]
    subprocess.run(
        command,
        cwd=project,
        env=uv_env({}),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def run_enrich(
    sbom: Path,
    work: Path,
    index_url: str,
    cache: Path,
    extra_env: dict[str, str],
    executable: Path,
) -> tuple[float, int]:
    """(seconds, exit code) of one cold `sbom-enrich enrich` (bench_enrich.run_cli)."""
    saved = {key: os.environ.get(key) for key in extra_env}
    os.environ.update(extra_env)
    try:
        seconds, _rss, code = run_cli(sbom, work / "out.json", index_url, cache, executable)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return seconds, code


def child_cpu() -> float:
    """CPU seconds (user + system) of the children waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_up(executable: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of `sbom-enrich --version`, best of 5: the fixed cost of a run."""
    runs = []
    for _ in range(5):
        cpu = child_cpu()
        started = time.perf_counter()
        subprocess.run([str(executable), "--version"], capture_output=True, check=True)
        runs.append((time.perf_counter() - started, child_cpu() - cpu))
    return min(runs)


def latency_floor(n: int, concurrency: int, latency: float) -> float:
    """Seconds n requests need at this concurrency when each waits ``latency``, CPU free."""
    return -(-n // concurrency) * latency


def explain_limit(
    n: int, latency: float, limit: float, ours_cpu: float, start_up: tuple[float, float]
) -> None:
    """Print what the target leaves for the HTTP work, so a miss can be read, not guessed."""
    wall, cpu = start_up
    print(f"# what the limit of {limit:.3f} s leaves")
    for who, c in (("uv default", UV_DEFAULT_CONCURRENCY), ("ours", DEFAULT_ENRICH_CONCURRENCY)):
        print(
            f"latency floor, {who} concurrency {c}: "
            f"{latency_floor(n, c, latency):.3f} s ({-(-n // c)} rounds of {latency * 1000:.0f} ms)"
        )
    print(f"sbom-enrich start-up (--version): {wall:.3f} s wall, {cpu:.3f} s CPU")
    floor = wall + latency_floor(n, DEFAULT_ENRICH_CONCURRENCY, latency)
    print(f"sbom-enrich floor at its concurrency (start-up + latency floor): {floor:.3f} s")
    per_component = (ours_cpu - cpu) / n * 1000
    budget = (limit - wall) / n * 1000
    print(
        f"sbom-enrich CPU beyond start-up: {per_component:.2f} ms per component on one core; "
        f"the limit allows {budget:.2f} ms"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def describe(stats: dict[str, object]) -> str:
    by_project = stats["by_project"]
    assert isinstance(by_project, dict)
    accepts = stats["accepts"]
    assert isinstance(accepts, list)
    accept = Counter(accepts).most_common(1)[0][0] if accepts else "-"
    return (
        f"requests {stats['requests']:>5}  pages {stats['full_responses']:>5}  "
        f"metadata {stats['metadata']:>5}  "
        f"projects {len(by_project):>5}  404 {stats['not_found']}  301 {stats['redirects']}  "
        f"connections {stats['connections']:>4}  bytes {stats['bytes_sent']:>9}  "
        f"index CPU {stats['cpu_seconds']} s\n    Accept: {accept}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="cold runs per tool (best of)")
    parser.add_argument("--uv", type=Path, default=DEFAULT_UV, help="uv 0.13 binary")
    parser.add_argument("--target", type=float, default=0.8, help="sbom-enrich <= target x uv")
    parser.add_argument(
        "--matched",
        type=int,
        action="append",
        help="also run both tools at this concurrency (repeatable; default: our default, 128)",
    )
    parser.add_argument(
        "--frozen-only",
        action="store_true",
        help="skip the two `uv audit` rows without --frozen (lock up to date; locks first)",
    )
    add_executable_option(parser)
    args = parser.parse_args()
    executable = chosen_executable(args)
    args.matched = args.matched or [DEFAULT_ENRICH_CONCURRENCY]
    if not args.uv.exists():
        print(f"no uv binary at {args.uv}; see this script's docstring", file=sys.stderr)
        return 2
    version = subprocess.run(
        [str(args.uv), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    n, port = args.components, free_port()
    projects = synthetic_projects(n)
    expected_adverse = sum(p.status != "active" for p in projects)
    # A quarantined project serves no files, so no resolver can lock it (as on PyPI): the
    # projects uv has to lock leave those out.
    quarantined = {canonical(p.name) for p in projects if p.status == "quarantined"}
    work = Path(tempfile.mkdtemp(prefix="bench-vs-uv-"))
    osv = OsvStub()
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    try:
        sbom = work / "sbom.json"
        make_sbom(n, sbom)
        pairs = sbom_pairs(sbom)
        registry = f"http://127.0.0.1:{port}/simple/"
        make_project(pairs, registry, work / "project")
        lockable = [pair for pair in pairs if pair[0] not in quarantined]
        if not args.frozen_only:
            make_project(lockable, registry, work / "project-locked")
            make_project(lockable, registry, work / "project-unlocked")
            index = Index(n, args.latency, 600, work / "stats-lock.json", port, INDEX_ARGS)
            try:
                lock_project(args.uv, work / "project-locked", index.url, work / "cache-lock")
            finally:
                index.stop()
        print(
            f"# {n} distinct PyPI components ({len(pairs)} lock packages), index latency "
            f"{args.latency * 1000:.0f} ms, cold cache, best of {args.repeat}; {version}; "
            f"{expected_adverse} projects are not active; {os.cpu_count()} CPUs"
        )
        runs: list[tuple[str, str, dict[str, str]]] = [
            ("uv", "uv audit --frozen (default)", {}),
            ("ours", "sbom-enrich enrich (default)", {}),
        ]
        if not args.frozen_only:
            runs += [("uv", LOCKED, {}), ("uv", LOCKS_FIRST, {})]
        for c in args.matched:
            runs.append(("uv", f"uv audit, concurrency {c}", {"UV_CONCURRENT_DOWNLOADS": str(c)}))
            if c != DEFAULT_ENRICH_CONCURRENCY:
                env = {"SBOM_ENRICH_CONCURRENCY": str(c)}
                runs.append(("ours", f"sbom-enrich, concurrency {c}", env))
        for tool, label, extra_env in runs:
            times: list[tuple[float, float]] = []
            for attempt in range(args.repeat):
                stats_file = work / f"stats-{len(best)}-{attempt}.json"
                index = Index(n, args.latency, 600, stats_file, port, INDEX_ARGS)
                assert index.url == registry, (index.url, registry)
                cache = work / f"cache-{len(best)}-{attempt}"
                osv.reset()
                before = load()
                cpu = child_cpu()  # the index is reaped after this run, so it is not counted
                try:
                    if tool == "uv":
                        project = work / UV_PROJECTS.get(label, "project")
                        if label == LOCKS_FIRST:
                            (project / "uv.lock").unlink(missing_ok=True)
                        seconds, code, stderr = run_uv(
                            args.uv,
                            project,
                            index.url,
                            osv.url,
                            cache,
                            extra_env,
                            frozen=label not in UV_PROJECTS,
                        )
                        found = FOUND.search(stderr)
                        result = found[0] if found else stderr.strip()[-300:]
                        result += f"  (OSV: {osv.requests} POST, {osv.queries} queries"
                        result += f"{', other: ' + ' '.join(osv.other) if osv.other else ''})"
                    else:
                        seconds, code = run_enrich(
                            sbom, work, index.url, cache, extra_env, executable
                        )
                        result = ""
                    cpu = child_cpu() - cpu
                finally:
                    stats = index.stop()
                times.append((seconds, cpu))
                print(
                    f"{label:<34} run {attempt + 1}  {seconds:6.3f} s  CPU {cpu:5.2f} s  "
                    f"exit {code}  [{before}]"
                )
                print(f"    {describe(stats)}")
                if result:
                    print(f"    {result}")
                by_project = stats["by_project"]
                assert isinstance(by_project, dict)
                expected = len(lockable) if label in UV_PROJECTS else n
                if len(by_project) != expected:
                    print(f"    WARNING: {len(by_project)} of {expected} project pages asked for")
            best[label], best_cpu[label] = min(times)
        print(f"# best of {args.repeat}  [{load()}]")
        for label, seconds in best.items():
            print(f"{label:<34} {seconds:6.3f} s")
        uv_best, ours = best["uv audit --frozen (default)"], best["sbom-enrich enrich (default)"]
        ratio = ours / uv_best
        verdict = "holds" if ratio <= args.target else "MISSED"
        print(
            f"issue target, defaults: sbom-enrich / uv audit = {ratio:.2f}; "
            f"<= {args.target}: {verdict} (limit {args.target * uv_best:.3f} s)"
        )
        for label in UV_PROJECTS:
            if label in best:
                print(f"{label}: sbom-enrich / it = {ours / best[label]:.2f}")
        for c in args.matched:
            uv_c = best[f"uv audit, concurrency {c}"]
            ours_c = (
                ours if c == DEFAULT_ENRICH_CONCURRENCY else best[f"sbom-enrich, concurrency {c}"]
            )
            print(f"same concurrency {c}: sbom-enrich / uv audit = {ours_c / uv_c:.2f}")
        explain_limit(
            n,
            args.latency,
            limit=args.target * uv_best,
            ours_cpu=best_cpu["sbom-enrich enrich (default)"],
            start_up=start_up(executable),
        )
    finally:
        osv.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
