"""CPU per request of HTTP stacks: the same N GETs of project pages, one fresh process per run.

The cold `enrich` run is bound by the CPU its HTTP stack spends per request; this isolates that
cost from everything else sbom-enrich does. Each run fetches every synthetic project's page
once from the test index (its own process, injected latency) and prints wall time, CPU time
(imports included and shown apart) and bytes.

Stacks: `status-client` is the whole lookup (`StatusClient.lookup_many`: fetch, parse, record,
disk cache in a fresh directory), to show what it adds over the bare GETs; `httpx` is the
project's own HTTP client (`sbom_enrich.status._http.client.build_http_client`: one
AsyncClient; plain-http requests go over its PlainHTTPTransport, asyncio + h11);
`httpx-httpcore` is an AsyncClient over the sharded httpcore pools that the client keeps for
proxies (and that served https, and plain http before PlainHTTPTransport); `httpx-aiohttp` is an
AsyncClient over the httpx-aiohttp transport; `aiohttp` is a bare aiohttp ClientSession. The
last two are not project dependencies; to compare them, use a throwaway venv (git-ignored .bench/):

    python3 -m venv .bench/stacks && .bench/stacks/bin/pip install -q -e . aiohttp httpx-aiohttp
    .bench/stacks/bin/python bench/bench_http_stacks.py [--requests 1000] [--latency 0.05]

Stacks whose packages are missing are reported and skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_enrich import PORT, Index  # noqa: E402
from indexserver import canonical, synthetic_projects  # noqa: E402

STACKS = {
    "status-client": ["httpx"],
    "httpx": ["httpx"],
    "httpx-httpcore": ["httpx"],
    "httpx-aiohttp": ["httpx_aiohttp", "aiohttp"],
    "aiohttp": ["aiohttp"],
}

# Runs in a fresh interpreter: argv = stack, concurrency, index URL, names file.
CHILD = r"""
import asyncio, json, resource, sys, time

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

stack, concurrency, url, names_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
names = open(names_file).read().split()
ACCEPT = "application/vnd.pypi.simple.v1+json"
started, cpu_started = time.perf_counter(), cpu()
if stack in ("httpx", "status-client", "httpx-httpcore"):
    import tempfile
    from pathlib import Path
    from sbom_enrich.status.settings import ClientSettings
    import httpx
    from sbom_enrich.status._http.client import (
        CONNECTIONS_PER_POOL,
        ShardedTransport,
        build_http_client,
    )
    from sbom_enrich.status.client import StatusClient
    from sbom_enrich.status.compose import build_cache
elif stack == "httpx-aiohttp":
    import aiohttp, httpx
    from httpx_aiohttp import AiohttpTransport
else:
    import aiohttp
imported, cpu_imported = time.perf_counter(), cpu()

async def with_httpx(client):
    gate = asyncio.Semaphore(concurrency)
    async def one(name):
        async with gate:
            response = await client.get(f"{url}{name}/", headers={"Accept": ACCEPT})
            return len(response.content)
    async with client:
        return sum(await asyncio.gather(*(one(name) for name in names)))

async def with_aiohttp():
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(name):
            async with gate, session.get(f"{url}{name}/", headers={"Accept": ACCEPT}) as response:
                return len(await response.read())
        return sum(await asyncio.gather(*(one(name) for name in names)))

async def with_status_client(settings):
    cache = build_cache(settings)
    async with build_http_client(settings) as http:
        client = StatusClient(http=http, cache=cache, settings=settings)
        found = [record async for record in client.lookup_many(names)]
    cache.close()
    return client.bytes_downloaded if len(found) == len(names) else 0

if stack == "status-client":
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-stacks-cache-"))
    settings = ClientSettings(index_url=url, concurrency=concurrency, cache_dir=cache_dir)
    work = with_status_client(settings)
elif stack == "httpx":
    settings = ClientSettings(index_url=url, concurrency=concurrency)
    work = with_httpx(build_http_client(settings))
elif stack == "httpx-httpcore":
    limits = httpx.Limits(max_connections=CONNECTIONS_PER_POOL)
    shards = -(-concurrency // CONNECTIONS_PER_POOL)
    def pools():
        return [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
    work = with_httpx(httpx.AsyncClient(transport=ShardedTransport(pools)))
elif stack == "httpx-aiohttp":
    def session():
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
    work = with_httpx(httpx.AsyncClient(transport=AiohttpTransport(client=session)))
else:
    work = with_aiohttp()
size = asyncio.run(work)
print(json.dumps({
    "import_seconds": imported - started, "import_cpu": cpu_imported - cpu_started,
    "seconds": time.perf_counter() - imported, "cpu": cpu() - cpu_imported, "bytes": size,
}))
if stack == "status-client":  # after the measurement: the cache is not what is measured
    import shutil
    shutil.rmtree(cache_dir, ignore_errors=True)
"""


def run(stack: str, concurrency: int, url: str, names: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, stack, str(concurrency), url, str(names)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{stack} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stack (best of)")
    parser.add_argument(
        "--concurrency", type=int, action="append", help="repeatable; default: 64 and 128"
    )
    args = parser.parse_args()
    concurrencies = args.concurrency or [64, 128]
    available = [
        stack
        for stack, modules in STACKS.items()
        if all(importlib.util.find_spec(module) for module in modules)
    ]
    for stack in STACKS.keys() - set(available):
        print(f"# {stack}: not installed here, skipped (see this script's docstring)")
    n = args.requests
    with tempfile.TemporaryDirectory(prefix="bench-stacks-") as work:
        names = Path(work) / "names.txt"
        names.write_text("\n".join(canonical(p.name) for p in synthetic_projects(n)))
        print(
            f"# {n} GETs of distinct project pages, index latency {args.latency * 1000:.0f} ms, "
            f"best of {args.repeat} by wall time; CPU excludes imports"
        )
        for concurrency in concurrencies:
            for stack in available:
                results = []
                for attempt in range(args.repeat):
                    stats = Path(work) / f"stats-{stack}-{concurrency}-{attempt}.json"
                    index = Index(n, args.latency, 600, stats, PORT)
                    try:
                        results.append(run(stack, concurrency, index.url, names))
                    finally:
                        index.stop()
                best = min(results, key=lambda r: r["seconds"])
                print(
                    f"{stack:<14} concurrency {concurrency:>4}  {best['seconds']:6.3f} s  "
                    f"CPU {best['cpu']:5.3f} s = {best['cpu'] / n * 1000:5.2f} ms/request  "
                    f"imports {best['import_seconds']:5.3f} s  bytes {int(best['bytes'])}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
