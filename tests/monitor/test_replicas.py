"""Several monitors on one database: each transition recorded once, each notice sent once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest
from pgserver import PostgresServer
from receivers import HttpReceiver

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, release
from sbom_enrich.monitor.model import UsageRef
from sbom_enrich.monitor.store import open_store
from sbom_enrich.monitor.transitions import judge_record
from sbom_enrich.status.model import ProjectStatus, StatusRecord

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)
NAMES = [f"pkg{i:03d}" for i in range(60)]


def _records(status: ProjectStatus) -> list[tuple[str, StatusRecord]]:
    return [("", StatusRecord(n, status, "http://i/simple/", NOW)) for n in NAMES]


def test_concurrent_passes_record_each_transition_once(db_url: str) -> None:
    """Two stores (two connections) judge the same answers at once, many times over."""
    setup = open_store(db_url)
    judge = judge_record({(n, ""): [UsageRef("p", "/f", None)] for n in NAMES}, lambda _: [], NOW)
    setup.apply(_records(ProjectStatus.ACTIVE), judge, ["webhook:x"])
    stores = [open_store(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def replica(store: object) -> None:
        try:
            for status in (ProjectStatus.ARCHIVED, ProjectStatus.ACTIVE) * 3:
                barrier.wait()
                store.apply(_records(status), judge, ["webhook:x"])  # type: ignore[attr-defined]
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=replica, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kinds = Counter(t.kind for t in setup.transitions(limit=10_000))
    assert kinds == {"archived": 3 * len(NAMES), "reactivated": 3 * len(NAMES)}
    assert setup.backlog() == 6 * len(NAMES)
    for store in (setup, *stores):
        store.close()


def test_two_monitors_on_one_postgresql_send_each_notice_once(
    postgres_server: PostgresServer,
    make_index_server: Callable[..., IndexServer],
    hook: HttpReceiver,
    tmp_path: Path,
    cli: Callable[..., Run],
) -> None:
    db = postgres_server.create_database("replicas")
    index = make_index_server([ProjectSpec(n, files=release(n, "1.0")) for n in NAMES])
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(f"{n}==1.0\n" for n in NAMES))
    env = {"SBOM_ENRICH_DB": db, "SBOM_ENRICH_INDEX_URL": index.url}
    assert cli("monitor", "add", "--project", "shop", str(requirements), env=env).code == 0
    assert cli("monitor", "run", "--webhook", hook.url, env=env).code == 0
    for name in NAMES:
        index.set_status(name, "archived")
    # The pass that finds the transitions cannot deliver (503): all 60 notices wait, then are
    # made due at once, so both replicas below find a full outbox and deliver side by side.
    hook.status = 503
    assert cli("monitor", "run", "--webhook", hook.url, env=env).code == 3
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE outbox SET next_attempt_at = 0")
    hook.status = 200
    hook.delay = 0.05  # long enough for the two replicas' deliveries to overlap

    def replica(k: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "sbom_enrich", "monitor", "run", "--webhook", hook.url],
            env={
                **os.environ,
                **env,
                "HOME": str(tmp_path),
                "SBOM_ENRICH_CACHE_DIR": str(tmp_path / f"cache{k}"),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    replicas = [replica(k) for k in range(2)]
    outputs = [r.communicate(timeout=300)[1] for r in replicas]
    assert [r.returncode for r in replicas] == [0, 0], outputs
    delivered = [int(m[1]) for out in outputs for m in re.finditer(r"(\d+) notices delivered", out)]
    events = Counter(e["event_id"] for e in hook.events())
    assert len(events) == len(NAMES)
    assert set(events.values()) == {1}  # never twice
    assert sum(delivered) == len(NAMES)
    # At most one replica runs a pass at a time (advisory lock); a pass finds nothing new.
    assert "0 transitions" in "".join(outputs)
    # A third pass later changes nothing and sends nothing.
    hook.received.clear()
    assert cli("monitor", "run", "--webhook", hook.url, env=env).code == 0
    assert hook.received == []


@pytest.fixture
def sqlite_and_postgres() -> None:
    """Marker fixture: test_concurrent_passes... runs on both through ``db_url``."""
