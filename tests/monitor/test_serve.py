"""``monitor serve`` as a real process: scheduled passes, the HTTP API, Prometheus metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import HttpReceiver, free_port

from cli_runner import Run
from indexserver import IndexServer


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _eventually(check: Callable[[], bool], what: str, limit: float = 60.0) -> None:
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


@pytest.fixture
def served(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
    db_url: str,
    tmp_path: Path,
) -> Iterator[str]:
    assert monitor("add", "--project", "shop", str(requirements_file)).code == 0
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", "monitor", "serve", "--port", str(port)],
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "SBOM_ENRICH_DB": db_url,
            "SBOM_ENRICH_INDEX_URL": index_server.url,
            "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
            "SBOM_ENRICH_WEBHOOK": hook.url,
            "SBOM_ENRICH_MONITOR_INTERVAL": "0.5",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _eventually(lambda: httpx.get(f"{base}/healthz").status_code == 200, "the server")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        # uvicorn shuts down gracefully (the schedule is cancelled in the lifespan), then
        # re-raises the signal, as `sbom-enrich serve` does.
        assert process.returncode == -signal.SIGTERM
        assert b"Application shutdown complete" in stderr
        assert b"Traceback" not in stderr


def _metric(base: str, name: str) -> float | None:
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_serve_runs_passes_and_shows_inventory_history_and_metrics(
    served: str, index_server: IndexServer, hook: HttpReceiver
) -> None:
    _eventually(
        lambda: _metric(served, "sbom_enrich_monitor_last_pass_timestamp_seconds") is not None,
        "a first pass",
    )
    assert _metric(served, "sbom_enrich_monitor_watched_names") == 6
    assert _metric(served, 'sbom_enrich_monitor_names{status="active"}') == 5
    assert _metric(served, 'sbom_enrich_monitor_names{status="not-found"}') == 1
    assert _metric(served, "sbom_enrich_monitor_notification_backlog") == 0
    assert _metric(served, "sbom_enrich_monitor_last_pass_duration_seconds") is not None

    index_server.set_status("gamma", "archived", "read-only now")
    _eventually(lambda: len(hook.received) == 1, "the notice")
    (event,) = hook.events()
    assert (event["name"], event["kind"]) == ("gamma", "archived")

    history = httpx.get(f"{served}/v1/monitor/history", params={"name": "Gamma"}).json()
    assert [(h["kind"], h["event_id"]) for h in history] == [("archived", event["event_id"])]
    status = httpx.get(f"{served}/v1/monitor/status").json()
    assert {(a["name"], a["status"]) for a in status["adverse"]} == {
        ("gamma", "archived"),
        ("ghost", "not-found"),
    }
    projects = httpx.get(f"{served}/v1/monitor/projects").json()
    assert [p["project"] for p in projects] == ["shop"]
    _eventually(
        lambda: (_metric(served, 'sbom_enrich_monitor_names{status="archived"}') or 0) == 1,
        "the metrics to follow",
    )
    time.sleep(1.2)  # two more passes at 0.5 s: still one notice
    assert len(hook.received) == 1


async def test_between_passes_due_retries_are_sent(tmp_path: Path) -> None:
    """The schedule itself: one pass per interval, delivery retries every tick in between."""
    from sbom_enrich.monitor.app import MonitorService
    from sbom_enrich.monitor.notify import DeliveryResult
    from sbom_enrich.monitor.run import PassResult
    from sbom_enrich.monitor.store import open_store

    calls: list[str] = []

    async def run() -> tuple[PassResult, DeliveryResult]:
        calls.append("pass")
        return PassResult(), DeliveryResult()

    async def deliver() -> DeliveryResult:
        calls.append("deliver")
        if calls.count("deliver") == 3:
            raise asyncio.CancelledError  # ends the schedule
        return DeliveryResult()

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    service = MonitorService(store, interval=3600, run=run, deliver=deliver, retry_every=0.01)
    with pytest.raises(asyncio.CancelledError):
        await service.schedule()
    store.close()
    assert calls == ["pass", "deliver", "deliver", "deliver"]
    assert service.passes == 1


async def test_a_failing_pass_costs_that_pass_not_the_schedule(tmp_path: Path) -> None:
    from sbom_enrich.monitor.app import MonitorService
    from sbom_enrich.monitor.notify import DeliveryResult
    from sbom_enrich.monitor.run import PassResult
    from sbom_enrich.monitor.store import open_store

    passes: list[int] = []

    async def run() -> tuple[PassResult, DeliveryResult]:
        passes.append(1)
        if len(passes) == 1:
            raise RuntimeError("a bug")
        if len(passes) == 3:
            raise asyncio.CancelledError  # ends the schedule
        return PassResult(), DeliveryResult()

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    service = MonitorService(store, interval=0.01, run=run)
    with pytest.raises(asyncio.CancelledError):
        await service.schedule()
    store.close()
    assert len(passes) == 3
    assert (service.passes, service.failed_passes) == (1, 1)


async def test_healthz_says_when_no_pass_finished_for_three_intervals(tmp_path: Path) -> None:
    from sbom_enrich.monitor.app import STALE_GRACE, MonitorService, create_monitor_app
    from sbom_enrich.monitor.model import PassStats
    from sbom_enrich.monitor.store import open_store
    from sbom_enrich.status.model import utc_now

    async def never() -> Any:
        raise AssertionError("no schedule in this test")

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    service = MonitorService(store, interval=10, run=never)
    app = create_monitor_app(service, schedule=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        assert (await client.get("/healthz")).status_code == 200  # just started
        service.started -= 3 * 10 + STALE_GRACE + 1
        stuck = await client.get("/healthz")
        assert stuck.status_code == 503 and stuck.json()["status"] == "no pass lately"
        store.record_pass(PassStats(utc_now(), utc_now(), 1, 0, 0, 1, 1, 0))
        assert (await client.get("/healthz")).json()["status"] == "ok"
    store.close()


def test_serve_with_a_token_file_answers_only_with_a_token(
    db_url: str, tmp_path: Path, index_server: IndexServer
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# ops\n" + "t" * 32 + "\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", "monitor", "serve", "--port", str(port),
         "--token-file", str(tokens)],
        env={**os.environ, "HOME": str(tmp_path), "SBOM_ENRICH_DB": db_url,
             "SBOM_ENRICH_INDEX_URL": index_server.url,
             "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _eventually(lambda: httpx.get(f"{base}/healthz").status_code == 200, "the server")
        assert httpx.get(f"{base}/v1/monitor/projects").status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * 32}
        assert httpx.get(f"{base}/v1/monitor/projects", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer " + "t" * 32}
        assert httpx.get(f"{base}/v1/monitor/projects", headers=right).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
