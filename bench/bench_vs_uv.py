"""Head-to-head on a real nginx, cold cache: `uv audit --frozen` vs `sbom-enrich enrich`.

Run (uv 0.13.9 from the test extra, or any uv binary with --uv; nginx and its echo module from
scripts/ensure-nginx):

    .venv/bin/python bench/bench_vs_uv.py [--components 1000] [--latency 0.05] [--repeat 3]
        [--transport h1 --transport h2]

The index is Debian's nginx serving a static PEP 691 JSON / PEP 503 HTML tree with PEP 792
status markers chosen by Accept, pages gzipped, 50 ms added per request inside nginx
(echo_sleep), page sizes with PyPI's heavy tail (tests/nginx_index.py): over plain HTTP/1.1
("h1") and over HTTP/2 with TLS from a trustme test CA ("h2", how PyPI is reached). Both
tools see the same server and the same (name, version) pairs: the CycloneDX SBOM and a uv.lock
pinning the same packages as registry packages of that index. A fresh nginx (and so fresh
connections and an empty log) and a fresh cache directory for every run; runs alternate
between the tools.

What uv 0.13.9 does (its -v logs and crates/uv-audit): `uv audit --frozen` reads uv.lock
without resolving, POSTs every (name, version) to `<service-url>/v1/querybatch` (OSV; a stub
on 127.0.0.1 answers "no vulnerabilities") and GETs `<registry>/<name>/` per package with its
default concurrency (50). It drops a failed page fetch silently, so nginx's log is checked
for one 200 per project, not assumed; sbom-enrich's failures are counted in its output.

uv runs with HTTP(S)_PROXY/ALL_PROXY at a closed local port and NO_PROXY=127.0.0.1: nothing
leaves the machine. Timed: wall time of the whole process and its CPU time (user + system,
from the kernel's child accounting). "CPU per lookup" is a run's CPU less the tool's start-up
CPU (`--version`), over the number of projects: the cold cost of one lookup.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import nginx_index  # noqa: E402
from bench_enrich import add_executable_option, as_installed, chosen_executable  # noqa: E402

# Anything not on 127.0.0.1 goes to a closed port: no internet, even by accident.
NO_INTERNET = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
UV_BESIDE_PYTHON = Path(sys.executable).parent / "uv"


def uv_env(extra_env: dict[str, str]) -> dict[str, str]:
    """uv's environment: no user configuration, no Python downloads, nothing but 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(NO_INTERNET, UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", **extra_env)
    return env


TRANSPORTS = {"h1": "HTTP/1.1", "h2": "HTTP/2 + TLS"}
LOOKUP_ERROR = "sbom-enrich:pypi:lookup-error"


class OsvStub:
    """OSV `POST /v1/querybatch` on 127.0.0.1 answering "no vulnerabilities" for every query."""

    def __init__(self) -> None:
        self.queries = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                queries = json.loads(body or b"{}").get("queries", [])
                stub.queries += len(queries)
                payload = json.dumps({"results": [{} for _ in queries]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_uv_project(pairs: list[tuple[str, str]], registry: str, directory: Path) -> None:
    """A virtual uv project whose uv.lock pins ``pairs`` as registry packages of ``registry``."""
    directory.mkdir(parents=True, exist_ok=True)
    requirements = "".join(f'    "{name}=={version}",\n' for name, version in pairs)
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "bench-vs-uv"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = [\n{requirements}]\n"
    )
    lines = ["version = 1", "revision = 3", 'requires-python = ">=3.10"', ""]
    lines += ["[[package]]", 'name = "bench-vs-uv"', 'version = "0.1.0"']
    lines += ['source = { virtual = "." }', "dependencies = ["]
    lines += [f'    {{ name = "{name}" }},' for name, _ in pairs] + ["]"]
    for name, version in pairs:
        lines += ["", "[[package]]", f'name = "{name}"', f'version = "{version}"']
        lines.append(f'source = {{ registry = "{registry}" }}')
    (directory / "uv.lock").write_text("\n".join(lines) + "\n")


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int, str]:
    """(seconds, CPU seconds, exit code, stderr) of one process."""
    cpu = child_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return time.perf_counter() - started, child_cpu() - cpu, done.returncode, done.stderr


def start_up_cpu(command: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds of ``command`` (a --version), least of 5: a run's fixed cost."""
    runs = []
    for _ in range(5):
        cpu = child_cpu()
        subprocess.run(command, capture_output=True, check=True, env=env)
        runs.append(child_cpu() - cpu)
    return min(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="cold runs per tool")
    parser.add_argument("--uv", type=Path, default=UV_BESIDE_PYTHON, help="uv 0.13 binary")
    parser.add_argument("--target", type=float, default=0.8, help="sbom-enrich <= target x uv")
    parser.add_argument(
        "--transport", action="append", choices=sorted(TRANSPORTS), help="default: both"
    )
    parser.add_argument(
        "--workers",
        action="append",
        help="sbom-enrich --workers value to time, repeatable (default: its own default); "
        "e.g. --workers 1 --workers auto times both in the same run",
    )
    add_executable_option(parser)
    args = parser.parse_args()
    executable = chosen_executable(args)
    transports = args.transport or list(TRANSPORTS)
    why_not = nginx_index.available()
    if why_not:
        print(why_not, file=sys.stderr)
        return 2
    if not args.uv.exists():
        print(f"no uv binary at {args.uv} (pip install uv, or --uv)", file=sys.stderr)
        return 2
    uv_version = subprocess.run(
        [str(args.uv), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    n = args.components
    work = Path(tempfile.mkdtemp(prefix="bench-vs-uv-"))
    os.chmod(work, 0o755)  # nginx's workers run as another user
    osv = OsvStub()
    failures = 0
    try:
        projects = nginx_index.heavy_tail_projects(n)
        tree = nginx_index.write_tree(projects, work / "root")
        sbom = work / "sbom.json"
        pairs = nginx_index.make_sbom(projects, sbom)
        certs = nginx_index.make_certificates(work)
        installed = as_installed(executable, dict(os.environ))
        ours_start = start_up_cpu([str(executable), "--version"], installed)
        uv_start = start_up_cpu([str(args.uv), "--version"])
        print(
            f"# {n} projects on nginx (echo_sleep {args.latency * 1000:.0f} ms), cold cache; "
            f"{uv_version}; {os.cpu_count()} CPUs; pages: median {tree['files_median']} files / "
            f"{tree['json_bytes_median']} B JSON, largest {tree['files_max']} files / "
            f"{tree['json_bytes_max']} B, {tree['projects_over_1000_files']} over 1000 files"
        )
        print(f"# start-up CPU: sbom-enrich {ours_start:.3f} s, uv {uv_start:.3f} s")
        summary: list[str] = []
        ours = [f"ours-{w}" for w in args.workers] if args.workers else ["ours"]
        for transport in transports:
            results: dict[str, list[tuple[float, float]]] = {t: [] for t in ("uv", *ours)}
            for attempt in range(args.repeat):
                for tool in ("uv", *ours):
                    run = work / f"run-{transport}-{tool}-{attempt}"
                    nginx = nginx_index.Nginx(work / "root", run, certs, args.latency)
                    url = nginx.url(transport)
                    base = dict(os.environ) if tool == "uv" else installed
                    env = {k: v for k, v in base.items() if not k.upper().endswith("_PROXY")}
                    env.update(NO_INTERNET, SSL_CERT_FILE=str(nginx.ca))
                    try:
                        if tool == "uv":
                            project = run / "project"
                            make_uv_project(pairs, url, project)
                            env.update(UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
                            command = [str(args.uv), "audit", "--frozen"]
                            command += ["--preview-features", "audit-command"]
                            command += ["--default-index", url, "--service-url", osv.url]
                            command += ["--cache-dir", str(run / "cache"), "--no-progress"]
                            seconds, cpu, code, stderr = timed(command, env, project)
                        else:
                            out = run / "out.json"
                            env["SBOM_ENRICH_ALTERNATIVES"] = ""
                            command = [str(executable), "enrich", str(sbom), "-o", str(out)]
                            command += ["--index-url", url, "--cache-dir", str(run / "cache")]
                            command += ["--fail-on", "none"]
                            if tool != "ours":
                                command += ["--workers", tool.removeprefix("ours-")]
                            seconds, cpu, code, stderr = timed(command, env, run)
                    finally:
                        counts = nginx.stop()
                    if tool != "uv":
                        failed = lookup_errors(run / "out.json")
                        ok = code == 0 and failed == 0
                    else:
                        failed = n - counts.by_status.get("200", 0)
                        ok = code == 0 and failed == 0 and counts.projects == n
                    failures += not ok
                    results[tool].append((seconds, cpu))
                    label = (
                        "uv audit --frozen"
                        if tool == "uv"
                        else "sbom-enrich enrich"
                        + (f" -w {tool.removeprefix('ours-')}" if tool != "ours" else "")
                    )
                    start = uv_start if tool == "uv" else ours_start
                    per_lookup = (cpu - start) / n * 1000
                    print(
                        f"{TRANSPORTS[transport]:<13} {label:<24} run {attempt + 1}  "
                        f"{seconds:6.3f} s  CPU {cpu:5.2f} s ({per_lookup:.2f} ms/lookup)  "
                        f"exit {code}  failed lookups {failed}"
                    )
                    print(f"    {counts.describe()}")
                    if not ok:
                        print(f"    NOT A CLEAN RUN: {stderr.strip()[-400:]}")
            summary += [
                verdict(transport, results, tool, n, args.target, ours_start, uv_start)
                for tool in ours
            ]
        print("# summary")
        for line in summary:
            print(line)
    finally:
        osv.close()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def lookup_errors(out: Path) -> int:
    """Components of the enriched SBOM carrying a lookup-error property (-1: no output)."""
    try:
        document = json.loads(out.read_text())
    except (OSError, ValueError):
        return -1
    return sum(
        any(p.get("name") == LOOKUP_ERROR for p in c.get("properties", []))
        for c in document.get("components", [])
    )


def verdict(
    transport: str,
    results: dict[str, list[tuple[float, float]]],
    tool: str,
    n: int,
    target: float,
    ours_start: float,
    uv_start: float,
) -> str:
    uv_times = [s for s, _ in results["uv"]]
    our_times = [s for s, _ in results[tool]]
    ratios = [o / u for o, u in zip(our_times, uv_times, strict=True)]
    best = min(our_times) / min(uv_times)
    median = statistics.median(our_times) / statistics.median(uv_times)
    cpu_ours = (statistics.median(c for _, c in results[tool]) - ours_start) / n * 1000
    cpu_uv = (statistics.median(c for _, c in results["uv"]) - uv_start) / n * 1000
    held = "holds" if median <= target else "MISSED"
    workers = f" (--workers {tool.removeprefix('ours-')})" if tool != "ours" else ""
    return (
        f"{TRANSPORTS[transport]:<13} sbom-enrich{workers} / uv: best {best:.2f}, "
        f"median {median:.2f} "
        f"(runs {', '.join(f'{r:.2f}' for r in ratios)}); <= {target}: {held}; "
        f"median {statistics.median(our_times):.3f} s vs {statistics.median(uv_times):.3f} s; "
        f"CPU per lookup {cpu_ours:.2f} ms vs uv {cpu_uv:.2f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
