"""A database made by the first release (one baseline per name) still opens, and keeps its facts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from receivers import HttpReceiver

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor.store import open_store
from sbom_enrich.status.model import ProjectStatus, StatusRecord, format_rfc3339, utc_now

V1_SCHEMA = (Path(__file__).resolve().parents[1] / "data" / "monitor" / "schema-v1.sql").read_text()


def _v1_statements(serial: str) -> list[str]:
    lines = [line for line in V1_SCHEMA.splitlines() if not line.startswith("--")]
    text = "\n".join(lines).replace("{serial}", serial)
    return [statement for statement in text.split(";") if statement.strip()]


def _fill_v1(execute: Callable[[str, tuple[object, ...]], None], index_url: str) -> None:
    """What the first release wrote for: shop's requirements use alpha 1.0; alpha was archived."""
    now = format_rfc3339(utc_now())
    record = StatusRecord("alpha", ProjectStatus.ARCHIVED, index_url, utc_now())
    execute("INSERT INTO projects (name, created_at) VALUES (?, ?)", ("shop", now))
    execute(
        "INSERT INTO sources (project_id, path, kind, added_at) VALUES (1, ?, ?, ?)",
        ("/srv/shop/requirements.txt", "requirements", now),
    )
    execute(
        "INSERT INTO source_names (source_id, name, display, version, index_url) "
        "VALUES (1, ?, ?, ?, '')",
        ("alpha", "alpha", "1.0"),
    )
    execute(
        "INSERT INTO names (name, status, record, first_seen_at, last_checked_at) "
        "VALUES (?, ?, ?, ?, ?)",
        ("alpha", "archived", json.dumps(record.to_json()), now, now),
    )
    execute(
        "INSERT INTO transitions (event_id, name, kind, old_status, new_status, version, reason, "
        "seen_at, notice) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
        ("ev-1", "alpha", "archived", "active", "archived", now, json.dumps({"kind": "archived"})),
    )


def make_v1_database(db_url: str, index_url: str) -> None:
    if db_url.startswith("sqlite:///"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        for statement in _v1_statements("INTEGER"):
            connection.execute(statement)
        _fill_v1(lambda sql, params: connection.execute(sql, params), index_url)
        connection.commit()
        connection.close()
        return
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as connection:
        for statement in _v1_statements("SERIAL"):
            connection.execute(statement)
        _fill_v1(lambda sql, p: connection.execute(sql.replace("?", "%s"), p), index_url)


def test_a_first_release_database_opens_and_keeps_its_baselines(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    db_url: str,
) -> None:
    make_v1_database(db_url, index_server.url)
    # A command that only reads opens it (and brings it to the current schema, once).
    status = monitor("status", "--json")
    assert status.code == 0, status.stderr
    (item,) = json.loads(status.stdout)["adverse"]
    assert (item["name"], item["status"], item["index"]) == ("alpha", "archived", None)
    store = open_store(db_url, create=False)
    assert store.baselines()[("alpha", "")].status is ProjectStatus.ARCHIVED
    (old,) = store.transitions()
    assert (old.event_id, old.index_url, old.signal) == ("ev-1", "", "index")
    store.close()
    again = open_store(db_url, create=False)  # opening again migrates nothing twice
    again.close()
    # The old baseline is judged against: alpha is active on the index now, so reactivated.
    ran = monitor("run", "--webhook", hook.url)
    assert ran.code == 0, ran.stderr
    assert [(e["name"], e["kind"]) for e in hook.events()] == [("alpha", "reactivated")]
