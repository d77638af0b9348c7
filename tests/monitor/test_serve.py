"""``monitor serve`` as a real process: scheduled passes, the HTTP API, Prometheus metrics."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import HttpReceiver
from serveprocess import eventually, metric, monitor_serve

from cli_runner import Run
from indexserver import IndexServer
from listening import ProcessOutput


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


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
    env = {
        "SBOM_ENRICH_DB": db_url,
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_WEBHOOK": hook.url,
        "SBOM_ENRICH_MONITOR_INTERVAL": "0.5",
    }
    with monitor_serve(tmp_path, env) as base:
        yield base


def test_serve_runs_passes_and_shows_inventory_history_and_metrics(
    served: str, index_server: IndexServer, hook: HttpReceiver
) -> None:
    eventually(
        lambda: metric(served, "sbom_enrich_monitor_last_pass_timestamp_seconds") is not None,
        "a first pass",
    )
    assert metric(served, "sbom_enrich_monitor_watched_names") == 6
    assert metric(served, 'sbom_enrich_monitor_names{status="active"}') == 5
    assert metric(served, 'sbom_enrich_monitor_names{status="not-found"}') == 1
    assert metric(served, "sbom_enrich_monitor_notification_backlog") == 0
    assert metric(served, "sbom_enrich_monitor_last_pass_duration_seconds") is not None

    index_server.set_status("gamma", "archived", "read-only now")
    eventually(lambda: len(hook.received) == 1, "the notice")
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
    eventually(
        lambda: (metric(served, 'sbom_enrich_monitor_names{status="archived"}') or 0) == 1,
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
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", "monitor", "serve", "--port", "0",
         "--token-file", str(tokens)],
        env={**os.environ, "HOME": str(tmp_path), "SBOM_ENRICH_DB": db_url,
             "SBOM_ENRICH_INDEX_URL": index_server.url,
             "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    output = ProcessOutput(process, process.stderr)
    try:
        base = f"http://127.0.0.1:{output.port()}"
        eventually(lambda: httpx.get(f"{base}/healthz").status_code == 200, "the server")
        assert httpx.get(f"{base}/v1/monitor/projects").status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * 32}
        assert httpx.get(f"{base}/v1/monitor/projects", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer " + "t" * 32}
        assert httpx.get(f"{base}/v1/monitor/projects", headers=right).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_creates_the_database_it_is_pointed_at(
    backend: str,
    request: pytest.FixtureRequest,
    cli: Callable[..., Run],
    index_server: IndexServer,
    tmp_path: Path,
) -> None:
    """Documented: `serve` (a deployment starts before anything is registered) creates the
    database, where `list`/`status`/`history`/`remove`/`run` refuse a missing one (exit 2)."""
    if backend == "sqlite":
        where = tmp_path / "fresh" / "monitor.db"  # neither the file nor its directory exist
        url = f"sqlite:///{where}"
    else:
        url = request.getfixturevalue("postgres_url")  # a database without the monitor's tables
    assert cli("monitor", "list", "--db", url).code == 2  # nothing there yet
    env = {"SBOM_ENRICH_DB": url, "SBOM_ENRICH_INDEX_URL": index_server.url}
    with monitor_serve(tmp_path, env, "--interval", "3600") as base:
        assert httpx.get(f"{base}/v1/monitor/projects").json() == []
        assert metric(base, "sbom_enrich_monitor_watched_names") == 0
    if backend == "sqlite":
        assert where.is_file()
    listed = cli("monitor", "list", "--json", "--db", url)
    assert listed.code == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    # ... and it is a monitor database that the next commands use as such.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("alpha==1.0\n")
    assert cli("monitor", "add", "--project", "shop", str(requirements), "--db", url).code == 0
    status = cli("monitor", "status", "--json", "--db", url)
    assert status.code == 0, status.stderr
    assert json.loads(status.stdout)["watched"] == 1


def test_serve_counts_names_from_a_refused_index_as_a_failed_pass_as_run_does(
    monitor: Callable[..., Run], index_server: IndexServer, db_url: str, tmp_path: Path
) -> None:
    """A purl naming an index no --allow-index allows is not asked: `monitor run` exits 3
    for it, but `serve` neither logged it nor counted the pass as failed (/metrics, /healthz
    said all was well while part of the inventory was never checked)."""
    private = "https://private.example/simple/"
    components = [
        {"type": "library", "name": "alpha", "purl": "pkg:pypi/alpha@1.0"},
        {"type": "library", "name": "beta", "purl": f"pkg:pypi/beta@2.0?repository_url={private}"},
    ]
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    assert monitor("add", "--project", "shop", str(path)).code == 0
    env = {"SBOM_ENRICH_INDEX_URL": index_server.url}
    ran = monitor("run", env=env)
    assert ran.code == 3
    (line,) = [x for x in ran.stderr.splitlines() if "not allowed" in x]
    logged: list[str] = []
    served = {**env, "SBOM_ENRICH_DB": db_url, "SBOM_ENRICH_MONITOR_INTERVAL": "0.5"}
    with monitor_serve(tmp_path, served, stderr_into=logged) as base:
        eventually(lambda: (metric(base, "sbom_enrich_monitor_passes_total") or 0) >= 2, "passes")
        scraped = httpx.get(f"{base}/metrics").text  # both counters from one scrape
        counters = dict(x.rsplit(" ", 1) for x in scraped.splitlines() if "_passes_total " in x)
        passes = float(counters["sbom_enrich_monitor_passes_total"])
        failed = float(counters["sbom_enrich_monitor_failed_passes_total"])
        assert failed == passes >= 2  # every pass left a name unchecked
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json()["last_pass_failed"] is True
    assert line.removeprefix("sbom-enrich: monitor: ") in logged[0]  # the same line, in the log
