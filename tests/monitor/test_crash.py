"""Killing ``monitor run`` (SIGKILL) mid-pass loses no notice: the outbox is in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from receivers import HttpReceiver

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor.notify import WebhookTarget
from sbom_enrich.monitor.store import CLAIM_LEASE, open_store


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("moment", ["during-lookups", "during-delivery"])
def test_a_killed_pass_loses_nothing(
    moment: str,
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
    db_url: str,
    tmp_path: Path,
) -> None:
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", "--webhook", hook.url).code == 0
    for name in ("alpha", "beta", "gamma"):
        index_server.set_status(name, "archived")
    if moment == "during-lookups":
        index_server.latency = 30.0  # every lookup hangs until the kill
    else:
        hook.delay = 30.0  # the first notice is received, never acknowledged
    child = subprocess.Popen(
        [
            sys.executable, "-m", "sbom_enrich", "monitor", "run", "--db", db_url,
            "--webhook", hook.url, "--index-url", index_server.url,
            "--cache-dir", str(tmp_path / "cache"), "--concurrency", "1",
        ],
        env={**os.environ, "HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        if moment == "during-lookups":
            _wait_for(lambda: index_server.stats.requests >= 1, "a lookup in flight")
        else:
            _wait_for(lambda: len(hook.received) >= 1, "a notice in flight")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    index_server.latency = 0.0
    hook.delay = 0.0
    again = monitor("run", "--webhook", hook.url)
    assert again.code == 0, again.stderr
    names = sorted({(e["name"], e["event_id"]) for e in hook.events()})
    assert [n for n, _ in names] == ["alpha", "beta", "gamma"]  # each transition, one event id
    assert len(hook.received) == 3
    store = open_store(db_url)
    try:
        if moment == "during-lookups":
            assert store.backlog() == 0
        else:
            # The notice in flight at the kill reached the receiver but was never acknowledged:
            # it stays queued and is sent again once the dead run's claim lapses (at least
            # once; the receiver drops the repeat by its event id).
            assert store.backlog() == 1
            (item,) = store.claim_due(
                [WebhookTarget(hook.url, None).key],  # type: ignore[arg-type]
                now=time.time() + CLAIM_LEASE + 1,
            )
            assert item.event_id == hook.events()[0]["event_id"]
    finally:
        store.close()
    hook.received.clear()
    assert monitor("run", "--webhook", hook.url).code == 0
    assert hook.received == []
