"""Benchmark `sbom-enrich serve`: requests/s and p50/p99 latency of POST /v1/enrich, warm cache.

Run: .venv/bin/python bench/bench_serve.py [--components 100] [--workers 2] [--requests 600]
     [--concurrency 8]

Starts the project's test index (tests/indexserver.py) in its own process with synthetic
projects, then `sbom-enrich serve --workers N` on 127.0.0.1 with one cache directory shared by
the workers, warms the cache, and sends a bounded number of enrich requests (a CycloneDX 1.6 JSON
SBOM of distinct PyPI components) from this process with a fixed number in flight. Everything
runs on this machine: the load generator competes with the workers for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import synthetic_projects  # noqa: E402
from listening import ProcessOutput  # noqa: E402

#: Hard bounds: the load stops after this many seconds whatever --requests says.
MAX_SECONDS = 120.0


def make_sbom(count: int) -> bytes:
    components = []
    for spec in synthetic_projects(count):
        versions = spec.versions or sorted({f.filename.split("-")[1] for f in spec.files}) or ["1"]
        components.append(
            {
                "type": "library",
                "bom-ref": f"{spec.name}=={versions[0]}",
                "name": spec.name,
                "version": versions[0],
                "purl": f"pkg:pypi/{spec.name}@{versions[0]}",
            }
        )
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "bench", "bom-ref": "root"}},
        "components": components,
    }
    return json.dumps(document, indent=2).encode()


def start_index(count: int, stats: Path) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        str(ROOT / "tests" / "indexserver.py"),
        "--synthetic",
        str(count),
        "--latency",
        "0.05",
        "--stats-file",
        str(stats),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def start_service(index_url: str, workers: int, cache: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``sbom-enrich serve`` on a port it takes itself (port 0: it logs which), and its URL."""
    command = [
        sys.executable,
        "-m",
        "sbom_enrich",
        "serve",
        "--port",
        "0",
        "--workers",
        str(workers),
        "--index-url",
        index_url,
        "--cache-dir",
        str(cache),
        "--fail-on",
        "none",
        "--rate-limit",
        "0",  # one load generator is one client: measure throughput, not the limiter
    ]
    env = {**os.environ, "SBOM_ENRICH_ALTERNATIVES": ""}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{ProcessOutput(process, process.stderr).port(30)}"
    except AssertionError as error:
        process.kill()
        raise SystemExit(f"the service did not start: {error}") from None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if healthy(f"{url}/healthz"):
            return process, url
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the service did not start")


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def load(url: str, body: bytes, requests: int, concurrency: int) -> tuple[list[float], float]:
    """Latencies of ``requests`` POSTs with ``concurrency`` in flight, and the wall time."""
    latencies: list[float] = []
    queue = iter(range(requests))
    deadline = time.monotonic() + MAX_SECONDS
    headers = {"Content-Type": "application/vnd.cyclonedx+json"}
    limits = httpx.Limits(max_connections=concurrency)

    async def worker(http: httpx.AsyncClient) -> None:
        for _ in queue:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            response = await http.post("/v1/enrich", content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.headers["X-Sbom-Enrich-Exit-Code"] != "0":
                raise SystemExit(f"unexpected answer {response.status_code}: {response.text[:200]}")

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    body = make_sbom(args.components)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as work_dir:
        work = Path(work_dir)
        index, index_url = start_index(args.components, work / "index.json")
        service, url = start_service(index_url, args.workers, work / "cache")
        try:
            # Warm: the first request fills the shared cache; then each worker opens it.
            asyncio.run(load(url, body, 4 * args.workers, args.workers))
            latencies, wall = asyncio.run(load(url, body, args.requests, args.concurrency))
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(60)
            index.send_signal(signal.SIGTERM)
            index.wait(30)
        stats = json.loads((work / "index.json").read_text())
    print(
        f"POST /v1/enrich, {args.components} components, warm cache, {args.workers} workers, "
        f"{args.concurrency} in flight, {len(latencies)} requests"
    )
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"  {len(latencies) / wall:7.1f} requests/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:6.1f} ms"
    )
    print(
        f"  index requests in total (warm-up included): {stats['requests']} "
        f"(distinct projects: {len(stats['by_project'])})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
