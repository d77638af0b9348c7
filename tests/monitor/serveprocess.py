"""``sbom-enrich monitor serve`` as the real process users run, and ways to wait on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from listening import ProcessOutput


def eventually(check: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    """Poll ``check`` until true (a server still starting counts as not yet)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def metric(base: str, name: str) -> float | None:
    """The value of one sample of ``/metrics`` (``name`` with its labels), None when absent."""
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


@contextmanager
def monitor_serve(
    tmp_path: Path, env: Mapping[str, str], *flags: str, stderr_into: list[str] | None = None
) -> Iterator[str]:
    """Runs ``monitor serve FLAGS`` with ``env`` until /healthz answers; yields its base URL.

    At the end it is stopped as an operator stops it (SIGTERM), and must shut down cleanly;
    what it wrote to stderr is appended to ``stderr_into``.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", "monitor", "serve", "--port", "0", *flags],
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    output = ProcessOutput(process, process.stderr)
    try:
        base = f"http://127.0.0.1:{output.port()}"
        eventually(lambda: httpx.get(f"{base}/healthz").status_code == 200, "the server")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stderr = output.text()
    if stderr_into is not None:
        stderr_into.append(stderr.decode(errors="replace"))
    # uvicorn shuts down gracefully (the schedule is cancelled in the lifespan), then
    # re-raises the signal, as `sbom-enrich serve` does.
    assert process.returncode == -signal.SIGTERM, stderr.decode(errors="replace")
    assert b"Application shutdown complete" in stderr
    assert b"Traceback" not in stderr
