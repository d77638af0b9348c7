"""A database made by the first release (one baseline per name) still opens, and keeps its facts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
from receivers import HttpReceiver
from serveprocess import monitor_serve

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor.store import open_store
from sbom_enrich.status.model import ProjectStatus, StatusRecord, format_rfc3339, utc_now

V1_SCHEMA = (Path(__file__).resolve().parents[1] / "data" / "monitor" / "schema-v1.sql").read_text()


def _v1_statements(serial: str) -> list[str]:
    lines = [line for line in V1_SCHEMA.splitlines() if not line.startswith("--")]
    text = "\n".join(lines).replace("{serial}", serial)
    return [statement for statement in text.split(";") if statement.strip()]


def _fill_v1(execute: Execute, index_url: str) -> None:
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


Execute = Callable[[str, tuple[object, ...]], None]


def make_v1_database(
    db_url: str, index_url: str, more: Callable[[Execute], None] = lambda execute: None
) -> None:
    """The first release's schema and rows (``more`` adds rows of its own)."""
    if db_url.startswith("sqlite:///"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        for statement in _v1_statements("INTEGER"):
            connection.execute(statement)

        def execute(sql: str, params: tuple[object, ...]) -> None:
            connection.execute(sql, params)

        _fill_v1(execute, index_url)
        more(execute)
        connection.commit()
        connection.close()
        return
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as connection:
        for statement in _v1_statements("SERIAL"):
            connection.execute(statement)

        def pg_execute(sql: str, params: tuple[object, ...]) -> None:
            connection.execute(sql.replace("?", "%s"), params)

        _fill_v1(pg_execute, index_url)
        more(pg_execute)


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


def test_lock_files_registered_before_lock_indexes_are_named_until_added_again(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    db_url: str,
    tmp_path: Path,
) -> None:
    """The first release stored lock files without the index each entry names: every package
    was watched on the configured index. After the migration list, status and run name those
    files, with the command that fixes them, until they are added again."""
    lock = tmp_path / "shop" / "uv.lock"
    lock.parent.mkdir()
    lock.write_text(
        f'version = 1\n\n[[package]]\nname = "alpha"\nversion = "1.0"\n'
        f'source = {{ registry = "{index_server.url.rstrip("/")}" }}\n'
    )
    pdm = tmp_path / "shop" / "pdm.lock"  # names no index per package: nothing to add again

    def v1_locks(execute: Execute) -> None:
        now = format_rfc3339(utc_now())
        for source_id, path in ((2, lock), (3, pdm)):
            execute(
                "INSERT INTO sources (project_id, path, kind, added_at) VALUES (1, ?, 'lock', ?)",
                (str(path), now),
            )
            execute(
                "INSERT INTO source_names (source_id, name, display, version, index_url) "
                "VALUES (?, 'alpha', 'alpha', '1.0', '')",
                (source_id,),
            )

    make_v1_database(db_url, index_server.url, v1_locks)
    line = (
        "sbom-enrich: monitor: 1 lock file registered before lock indexes were recorded: "
        f"re-add with `monitor add --project shop {lock}`\n"
    )

    listed = monitor("list")
    assert listed.code == 0 and listed.stderr == line
    by_file = {s["file"]: s for s in json.loads(monitor("list", "--json").stdout)}
    warning = line.removeprefix("sbom-enrich: monitor: ").strip()
    assert by_file[str(lock)]["warning"] == warning
    assert by_file[str(pdm)]["warning"] is None
    assert by_file["/srv/shop/requirements.txt"]["warning"] is None

    status = monitor("status")
    assert status.code == 0 and status.stderr == line  # named again: not only once
    status_json = monitor("status", "--json")
    assert json.loads(status_json.stdout)["warnings"] == [warning]
    assert status_json.stderr == line

    # `monitor serve` says it when it starts, and its API carries it as the JSON outputs do.
    serve_env = {"SBOM_ENRICH_DB": db_url, "SBOM_ENRICH_INDEX_URL": index_server.url}
    serve_stderr: list[str] = []
    with monitor_serve(tmp_path, serve_env, "--interval", "3600", stderr_into=serve_stderr) as base:
        assert httpx.get(f"{base}/v1/monitor/status").json()["warnings"] == [warning]
        projects = httpx.get(f"{base}/v1/monitor/projects").json()
        served = {s["file"]: s["warning"] for s in projects}
        assert served[str(lock)] == warning and served[str(pdm)] is None
    assert serve_stderr[0].count(line) == 1

    ran = monitor("run", "--webhook", hook.url)
    assert ran.code == 0, ran.stderr
    assert ran.stderr.count("registered before lock indexes were recorded") == 1
    assert line in ran.stderr

    # Added again: its entries' indexes are recorded, and nothing more is said.
    readded = monitor("add", "--project", "shop", str(lock))
    assert readded.code == 0, readded.stderr
    by_file = {s["file"]: s for s in json.loads(monitor("list", "--json").stdout)}
    assert by_file[str(lock)]["warning"] is None
    assert [n["index"] for n in by_file[str(lock)]["names"]] == [index_server.url]
    for argv in (("list",), ("status",), ("run", "--webhook", hook.url)):
        again = monitor(*argv)
        assert again.code == 0, again.stderr
        assert "registered before lock indexes" not in again.stderr
    assert json.loads(monitor("status", "--json").stdout)["warnings"] == []
