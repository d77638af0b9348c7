"""A database an earlier release wrote keeps its baselines after index URLs got one spelling.

Since ``normalize_index_url`` lower-cases scheme and host and drops a default port, an index
stored as ``HTTP://127.0.0.1:80/simple/`` is ``http://127.0.0.1/simple/``: without re-keying,
its baselines were orphaned, ``status`` said ``not-checked`` and the next run recorded "new
baselines", swallowing any change of status since the last pass with no notice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from receivers import HttpReceiver
from test_store_access import without_write_access

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor.store import open_store
from sbom_enrich.status.model import ProjectStatus, StatusRecord, format_rfc3339, utc_now

PRIVATE_OLD = "https://Private.Example:443/simple/"
PRIVATE = "https://private.example/simple/"


def _raw(db_url: str, statements: Sequence[tuple[str, tuple[object, ...]]]) -> None:
    """Rows written straight to the database, as an earlier release wrote them."""
    if db_url.startswith("sqlite:///"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        for sql, params in statements:
            connection.execute(sql, params)
        connection.commit()
        connection.close()
        return
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as pg:
        for sql, params in statements:
            pg.execute(sql.replace("?", "%s"), params)


def _baseline(
    name: str, index: str, status: ProjectStatus, age: timedelta
) -> tuple[str, tuple[object, ...]]:
    answered = utc_now() - age
    record = StatusRecord(name, status, index, answered)
    return (
        "INSERT INTO baselines (name, index_url, status, record, first_seen_at, "
        "last_checked_at) VALUES (?, ?, ?, ?, ?, ?)",
        (name, index, status.value, json.dumps(record.to_json()), format_rfc3339(answered),
         answered.isoformat()),
    )  # fmt: skip


def make_old_spelling_database(db_url: str, index_url: str) -> str:
    """A schema-2 database whose keys are spelled the old way: alpha is used (a purl's
    ``repository_url``) from the configured index written ``HTTP://…``, and was archived
    there; beta is on a private index stored under two spellings, the old one answered last."""
    open_store(db_url).close()
    shouting = index_url.replace("http://", "HTTP://")
    now = format_rfc3339(utc_now())
    _raw(
        db_url,
        [
            ("UPDATE schema_version SET version = 2", ()),
            ("INSERT INTO projects (name, created_at) VALUES ('shop', ?)", (now,)),
            (
                "INSERT INTO sources (project_id, path, kind, added_at) "
                "VALUES (1, '/srv/shop/sbom.json', 'sbom', ?)",
                (now,),
            ),
            *[
                (
                    "INSERT INTO source_names (source_id, name, display, version, index_url) "
                    "VALUES (1, ?, ?, '1.0', ?)",
                    (name, name, index),
                )
                for name, index in (("alpha", shouting), ("beta", PRIVATE_OLD), ("beta", PRIVATE))
            ],
            _baseline("alpha", shouting, ProjectStatus.ARCHIVED, timedelta(hours=2)),
            _baseline("beta", PRIVATE, ProjectStatus.ACTIVE, timedelta(hours=3)),
            _baseline("beta", PRIVATE_OLD, ProjectStatus.QUARANTINED, timedelta(hours=1)),
            (
                "INSERT INTO transitions (event_id, name, kind, old_status, new_status, "
                "seen_at, notice, index_url) VALUES ('ev-1', 'beta', 'quarantined', 'active', "
                "'quarantined', ?, '{}', ?)",
                (now, PRIVATE_OLD),
            ),
        ],
    )
    return shouting


def test_old_spellings_are_rekeyed_and_a_change_since_the_last_pass_is_notified(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    db_url: str,
) -> None:
    make_old_spelling_database(db_url, index_server.url)

    status = monitor("status", "--json")  # can write: brings the database up to date
    assert status.code == 0, status.stderr
    shown = {(i["name"], i["index"]): i["status"] for i in json.loads(status.stdout)["adverse"]}
    assert shown[("alpha", None)] == "archived"  # was "not-checked": the baseline orphaned
    assert shown[("beta", PRIVATE)] == "other-index"  # not allowed here: never asked

    store = open_store(db_url, create=False)
    baselines = store.baselines()
    assert set(baselines) == {("alpha", index_server.url), ("beta", PRIVATE)}
    assert baselines[("beta", PRIVATE)].status is ProjectStatus.QUARANTINED  # the newer one
    assert [t.index_url for t in store.transitions()] == [PRIVATE]
    (source,) = store.sources()
    assert sorted((u.name, u.index) for u in source.usages) == [
        ("alpha", index_server.url),
        ("beta", PRIVATE),  # once, not once per spelling
    ]
    store.close()

    # alpha is active on the index now: the old baseline is judged against, so reactivated.
    ran = monitor("run", "--webhook", hook.url)
    assert ran.code == 3, ran.stderr  # beta could not be checked: never "all fine"
    assert "1 transitions, 0 new baselines" in ran.stderr
    assert [(e["name"], e["kind"]) for e in hook.events()] == [("alpha", "reactivated")]


def test_a_read_only_database_with_old_spellings_is_not_written_and_says_so(
    tmp_path: Path, index_server: IndexServer
) -> None:
    path = tmp_path / "old" / "monitor.db"
    path.parent.mkdir()
    make_old_spelling_database(f"sqlite:///{path}", index_server.url)
    before = path.read_bytes()
    path.chmod(0o444)
    status = without_write_access("monitor", "status", "--db", f"sqlite:///{path}")
    assert status.code == 3, status.stderr
    assert status.stderr == (
        f"sbom-enrich: the monitor database {path} was made by an earlier release and cannot "
        "be written here: run a monitor command that can write it, once\n"
    )
    assert path.read_bytes() == before
