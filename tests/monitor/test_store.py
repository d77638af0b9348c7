"""The storage interface against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sbom_enrich.monitor.model import (
    Judgement,
    NoticeDraft,
    PassStats,
    Source,
    Usage,
    UsageRef,
    WatchKey,
)
from sbom_enrich.monitor.store import SqlStore, StoreError, StoreUnavailableError, open_store
from sbom_enrich.status.model import ProjectStatus, StatusRecord, format_rfc3339

NOW = datetime(2026, 12, 6, 7, 0, tzinfo=timezone.utc)


def record(
    name: str, status: ProjectStatus = ProjectStatus.ACTIVE, checked_at: datetime = NOW
) -> StatusRecord:
    return StatusRecord(
        name=name, status=status, index_url="http://i/simple/", checked_at=checked_at
    )


def source(project: str, path: str, *names: str) -> Source:
    usages = tuple(
        Usage(n.split("==")[0], n.split("==")[0], (n.split("==") + [None])[1]) for n in names
    )
    return Source(project, path, "requirements", usages)


def test_inventory_add_replace_remove(store: SqlStore) -> None:
    store.replace_source(source("shop", "/a/requirements.txt", "requests==2.31.0", "nose"))
    store.replace_source(source("blog", "/b/requirements.txt", "requests==2.32.3"))
    # Re-adding a file replaces what it used.
    store.replace_source(source("shop", "/a/requirements.txt", "requests==2.32.0"))
    assert store.watched() == {
        "requests": [
            UsageRef("blog", "/b/requirements.txt", "2.32.3"),
            UsageRef("shop", "/a/requirements.txt", "2.32.0"),
        ]
    }
    assert [(s.project, s.path) for s in store.sources()] == [
        ("blog", "/b/requirements.txt"),
        ("shop", "/a/requirements.txt"),
    ]
    assert store.remove_sources("shop", ["/a/requirements.txt", "/nope"]) == 1
    assert store.remove_sources("blog", None) == 1
    assert store.remove_sources("ghost", None) == 0
    assert store.watched() == {}
    assert store.sources() == []


def draft(name: str, event_id: str) -> NoticeDraft:
    return NoticeDraft(event_id, name, "archived", "active", "archived", None, None, NOW, {"x": 1})


def test_apply_keeps_baselines_and_queues_each_transition_per_target(store: SqlStore) -> None:
    def first(key: WatchKey, before: StatusRecord | None, new: StatusRecord) -> Judgement:
        assert before is None
        return Judgement(new, changed=True)

    assert store.apply([("", record("a")), ("", record("b"))], first, ["webhook:1"]) == []
    assert set(store.baselines()) == {("a", ""), ("b", "")}

    def archive(key: WatchKey, before: StatusRecord | None, new: StatusRecord) -> Judgement:
        assert before is not None and before.status is ProjectStatus.ACTIVE
        return Judgement(new, changed=True, drafts=(draft(key[0], f"ev-{key[0]}"),))

    stored = store.apply(
        [("", record("a", ProjectStatus.ARCHIVED))], archive, ["webhook:1", "slack:2"]
    )
    assert [t.event_id for t in stored] == ["ev-a"]
    assert store.baselines()[("a", "")].status is ProjectStatus.ARCHIVED
    assert store.backlog() == 2
    assert [t.name for t in store.transitions("a")] == ["a"]
    assert store.transitions("b") == []

    claimed = store.claim_due(["webhook:1"], now=NOW.timestamp() + 10**9)
    assert [(i.event_id, i.target, i.notice) for i in claimed] == [("ev-a", "webhook:1", {"x": 1})]
    # Claimed items are not handed out again while the claim lasts.
    assert store.claim_due(["webhook:1"], now=NOW.timestamp() + 10**9) == []
    store.mark_failed(claimed[0].id, "HTTP 500", next_attempt_at=0)
    again = store.claim_due(["webhook:1"], now=NOW.timestamp() + 10**9)
    assert [i.attempts for i in again] == [1]
    store.mark_delivered(again[0].id)
    assert store.backlog() == 1  # the Slack copy is still waiting


def test_a_failed_judgement_keeps_the_old_baseline(store: SqlStore) -> None:
    store.apply([("", record("a"))], lambda n, b, r: Judgement(r, changed=True), [])
    store.apply(
        [("", record("a", ProjectStatus.UNKNOWN))],
        lambda n, b, r: Judgement(None, changed=False),
        [],
    )
    assert store.baselines()[("a", "")].status is ProjectStatus.ACTIVE


def test_unusable_urls_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="expected sqlite:///path or postgresql"):
        open_store("mysql://x/y")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open the monitor database"):
        open_store(f"sqlite:///{blocker}/monitor.db")


def test_postgresql_refusal_is_one_line(postgres_server: object) -> None:
    with pytest.raises(StoreUnavailableError, match="does not answer"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


WRITER = """
import sys
from sbom_enrich.monitor.model import Source, Usage
from sbom_enrich.monitor.store import open_store
store = open_store(sys.argv[1])
for i in range(100):
    store.replace_source(Source(sys.argv[2], f"/f{i}", "requirements", (Usage(f"n{i}", f"n{i}"),)))
"""


def test_several_processes_write_one_sqlite_file(sqlite_url: str) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, sqlite_url, f"p{k}"]) for k in range(3)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    store = open_store(sqlite_url)
    assert len(store.sources()) == 300
    store.close()


def test_postgresql_reconnects_after_the_server_drops_the_connection(postgres_url: str) -> None:
    import psycopg

    store = open_store(postgres_url)
    store.replace_source(source("shop", "/a", "alpha"))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    # The call that meets the dead connection fails with one line; the next one reconnects.
    with pytest.raises(StoreError, match="monitor database"):
        store.watched()
    assert list(store.watched()) == ["alpha"]
    with store.pass_lock() as granted:
        assert granted
    store.close()


def test_postgresql_pass_lock_is_one_replica_at_a_time(postgres_url: str) -> None:
    first, second = open_store(postgres_url), open_store(postgres_url)
    with first.pass_lock() as granted:
        assert granted
        with second.pass_lock() as also:
            assert not also
    with second.pass_lock() as now:
        assert now
    first.close()
    second.close()


def test_the_answers_the_last_pass_did_not_renew(store: SqlStore) -> None:
    started = NOW.replace(microsecond=500_000)
    answers = [
        ("", record("renewed", checked_at=started + timedelta(seconds=1))),
        ("", record("failed-since", checked_at=started - timedelta(seconds=1))),
        ("", record("same-second", checked_at=started - timedelta(microseconds=1))),
    ]
    store.apply(answers, lambda key, before, after: Judgement(after, before is None), [])
    with store._tx(write=True) as cur:
        # An earlier release kept answer times to the second: one written in the second the
        # pass started in is that pass's own.
        cur.execute("UPDATE baselines SET last_checked_at = ? WHERE name = 'renewed'",
                    (format_rfc3339(started),))  # fmt: skip
    assert store.unchecked_by_last_pass() == set()  # no pass recorded yet
    store.record_pass(PassStats(started, started + timedelta(seconds=2), 3, 1, 0, 3, 0, 0))
    assert store.unchecked_by_last_pass() == {("failed-since", ""), ("same-second", "")}
