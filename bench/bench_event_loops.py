"""CPU per connection on asyncio's event loop and uvloop's, against a real nginx, in-process.

Run (nginx from scripts/ensure-nginx; uvloop installed):

    .venv/bin/python bench/bench_event_loops.py [--connections 300] [--rounds 6]

Each connection connects (over https: with TLS session resumption, as the transport does),
sends one GET with ``Connection: close``, reads the answer to its end and is closed by the
server: what a new connection costs the loop and its TLS layer, without our HTTP code. The
loops alternate in each round; the numbers are this process's CPU (user + system) per
connection, best and median of the rounds (docs/connections.md, "The event loop").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import ssl
import statistics
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import nginx_index  # noqa: E402
from sbom_enrich.status._http.tls import OriginSessions  # noqa: E402


class _Reader(asyncio.Protocol):
    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _connections(url: str, count: int, context: ssl.SSLContext | None) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    loop = asyncio.get_running_loop()
    tls = OriginSessions(context, host) if context is not None else None
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {host}\r\n"
        "Accept: application/vnd.pypi.simple.v1+json\r\nConnection: close\r\n\r\n"
    ).encode()
    for _ in range(count):
        done: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda done=done: _Reader(done),  # type: ignore[misc]
            host,
            port,
            ssl=tls,  # type: ignore[arg-type]  # an OriginSessions stands in
            server_hostname=host if tls is not None else None,
        )
        transport.write(request)
        await done


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    why_not = nginx_index.available()
    if why_not:
        print(why_not, file=sys.stderr)
        return 2
    import uvloop

    runners: dict[str, Callable[[Coroutine[Any, Any, None]], None]] = {
        "asyncio": asyncio.run,
        "uvloop": uvloop.run,
    }
    work = Path(tempfile.mkdtemp(prefix="bench-loops-"))
    os.chmod(work, 0o755)  # nginx's workers run as another user
    projects = nginx_index.heavy_tail_projects(5)
    nginx_index.write_tree(projects, work / "root")
    certs = nginx_index.make_certificates(work)
    context = ssl.create_default_context(cafile=str(certs[2]))
    context.set_alpn_protocols(["http/1.1"])
    nginx = nginx_index.Nginx(work / "root", work / "run", certs, 0.0)
    page = f"{projects[0].name}/"
    transports = {
        "http": (nginx.url("h1") + page, None),
        "https": (nginx.url("h2") + page, context),
    }
    spent: dict[tuple[str, str], list[float]] = {
        (scheme, loop): [] for scheme in transports for loop in runners
    }
    try:
        for number in range(args.rounds):
            order = list(runners) if number % 2 == 0 else list(runners)[::-1]
            for scheme, (url, tls) in transports.items():
                for loop in order:
                    before = _cpu()
                    runners[loop](_connections(url, args.connections, tls))
                    spent[scheme, loop].append((_cpu() - before) / args.connections * 1000)
    finally:
        counts = nginx.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"# {args.connections} connections a run, {args.rounds} rounds, CPU per connection")
    print(f"# nginx: {counts.connections} connections, {counts.resumed} resumed a TLS session")
    for (scheme, loop), values in spent.items():
        print(
            f"{scheme:<5} {loop:<8} best {min(values):.3f} ms, "
            f"median {statistics.median(values):.3f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
