"""Benchmark `sbom-enrich serve` under slow-header clients: how long they stay, /healthz meanwhile.

Run: .venv/bin/python bench/bench_slow_clients.py [--clients 500] [--header-timeout 10]

Starts `sbom-enrich serve` on 127.0.0.1 (no index needed: only /healthz is asked), opens
--clients connections that send a request line and then one header byte every 0.5 s, and
meanwhile asks /healthz once every 0.2 s from a well-behaved client. Prints how many slow
connections the server closed, when the last one was closed, and the /healthz latencies. For
comparison, the same attack against uvicorn's plain h11 protocol (what serve ran before
--header-timeout) with --baseline: its connections stay until the bench gives up.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from listening import ProcessOutput  # noqa: E402

#: The bench gives up on connections still open after this many seconds.
MAX_SECONDS = 60.0


def start_service(header_timeout: float, cache: str) -> tuple[subprocess.Popen[bytes], int]:
    """``sbom-enrich serve`` on a port it takes itself (port 0: it logs which), and the port."""
    command = [sys.executable, "-m", "sbom_enrich", "serve", "--port", "0"]
    command += ["--header-timeout", str(header_timeout), "--cache-dir", cache]
    # Its stderr is read to the end (the port is in it), so a chatty server never blocks.
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        port = ProcessOutput(process, process.stderr).port(30)
    except AssertionError as error:
        process.kill()
        raise SystemExit(f"the service did not start: {error}") from None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:  # noqa: PERF203 - not up yet
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the service did not start")


def attack(port: int, clients: int) -> tuple[int, float, list[float]]:
    """(connections the server closed, seconds until the last was closed, /healthz latencies)."""
    connections = []
    for _ in range(clients):
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
        connection.setblocking(False)
        connections.append(connection)
    started = time.monotonic()
    still_open = set(connections)
    closed, last_closed = 0, 0.0
    latencies: list[float] = []
    next_drip = next_probe = started
    with httpx.Client(timeout=30) as http:
        while still_open and time.monotonic() - started < MAX_SECONDS:
            readable, _, _ = select.select(list(still_open), [], [], 0.05)
            for connection in readable:
                try:
                    data = connection.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    still_open.discard(connection)
                    closed += 1
                    last_closed = time.monotonic() - started
            now = time.monotonic()
            if now >= next_drip:
                next_drip = now + 0.5
                for connection in list(still_open):
                    try:
                        connection.send(b"a")
                    except OSError:  # noqa: PERF203 - the server closed it
                        still_open.discard(connection)
                        closed += 1
                        last_closed = time.monotonic() - started
            if now >= next_probe:
                next_probe = now + 0.2
                before = time.perf_counter()
                http.get(f"http://127.0.0.1:{port}/healthz")
                latencies.append(time.perf_counter() - before)
    for connection in connections:
        connection.close()
    return closed, last_closed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="a header timeout longer than the bench (what uvicorn alone does)",
    )
    args = parser.parse_args()
    timeout = 3600.0 if args.baseline else args.header_timeout
    with tempfile.TemporaryDirectory() as cache:
        process, port = start_service(timeout, cache)
        try:
            closed, last, latencies = attack(port, args.clients)
        finally:
            process.terminate()
            process.wait(30)
    latencies.sort()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"slow clients: {args.clients}, header timeout: {timeout:g} s")
    print(f"closed by the server: {closed} of {args.clients}; last closed after {last:.1f} s")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"/healthz meanwhile: {len(latencies)} requests, "
            f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
