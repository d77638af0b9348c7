"""A database another process holds, or this one cannot write: one line, exit 3, and reading
commands still read (a lock or a file mode is the environment, never a usage error)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from serveprocess import eventually, metric, monitor_serve
from test_schema_migration import make_v1_database

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor import postgres as monitor_postgres
from sbom_enrich.monitor import sqlite as monitor_sqlite
from sbom_enrich.monitor.model import Source, Usage
from sbom_enrich.monitor.sqlite import SqliteStore
from sbom_enrich.monitor.store import StoreUnavailableError, open_store

WRITING = [
    ("add", "--project", "shop", "REQUIREMENTS"),
    ("remove", "--project", "shop"),
    ("run", "--offline"),
]
READING = [("status",), ("list",), ("history",)]


@pytest.fixture
def database(tmp_path: Path, requirements_file: Path, cli: Callable[..., Run]) -> Path:
    """A monitor database with one project registered."""
    path = tmp_path / "db" / "monitor.db"
    added = cli("monitor", "add", "--project", "shop", str(requirements_file), "--db", url(path))
    assert added.code == 0, added.stderr
    return path


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def argv_for(argv: tuple[str, ...], requirements_file: Path) -> list[str]:
    return [str(requirements_file) if a == "REQUIREMENTS" else a for a in argv]


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI waits 30 s for a lock; the behaviour at the end of the wait is the same.
    monkeypatch.setattr(monitor_sqlite, "BUSY_TIMEOUT", 0.2)


@pytest.fixture
def holder(database: Path) -> Iterator[sqlite3.Connection]:
    """A second connection, as another process's would be, taking the database's locks."""
    connection = sqlite3.connect(database, isolation_level=None)
    yield connection
    connection.close()


@pytest.mark.usefixtures("short_busy_timeout")
@pytest.mark.parametrize("argv", WRITING, ids=lambda argv: argv[0])
def test_a_write_lock_held_elsewhere_is_exit_3_naming_the_database(
    argv: tuple[str, ...],
    database: Path,
    holder: sqlite3.Connection,
    requirements_file: Path,
    cli: Callable[..., Run],
) -> None:
    holder.execute("BEGIN EXCLUSIVE")
    run = cli("monitor", *argv_for(argv, requirements_file), "--db", url(database))
    assert run.code == 3, run.stderr  # was 2, "usage error": nothing about the command was wrong
    assert run.stderr == (
        f"sbom-enrich: the monitor database {database} is locked: another process holds it "
        "(waited 0.2 s); try again when it is done\n"
    )


@pytest.mark.usefixtures("short_busy_timeout")
def test_reading_commands_do_not_wait_for_a_writer(
    database: Path, holder: sqlite3.Connection, cli: Callable[..., Run]
) -> None:
    # WAL lets readers read beside a writer; opening took the write lock, so `status` waited
    # out a pass's transaction and then failed as a usage error.
    holder.execute("BEGIN EXCLUSIVE")
    for argv in READING:
        run = cli("monitor", *argv, "--db", url(database))
        assert run.code == 0, (argv, run.stderr)
    assert b"alpha==1.0  not-checked" in cli("monitor", "status", "--db", url(database)).stdout


@pytest.mark.usefixtures("short_busy_timeout")
def test_a_database_locked_for_readers_too_is_exit_3(
    database: Path, holder: sqlite3.Connection, cli: Callable[..., Run]
) -> None:
    # Exclusive locking mode keeps every other connection out, readers included.
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("COMMIT")
    run = cli("monitor", "status", "--db", url(database))
    assert run.code == 3, run.stderr
    assert "is locked: another process holds it" in run.stderr and run.stderr.count("\n") == 1
    assert run.stdout == b""  # never "nothing adverse"


def test_a_lock_taken_after_opening_names_the_database_too(database: Path) -> None:
    store = SqliteStore(database, busy_timeout=0.1)
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        source = Source("shop", "/srv/other.txt", "requirements", (Usage("alpha", "alpha"),))
        with pytest.raises(StoreUnavailableError, match="is locked: another process holds it"):
            store.replace_source(source)
        holder.execute("ROLLBACK")
        store.replace_source(source)  # the lock gone, the same store works
    finally:
        holder.close()
        store.close()


# --- a database this process cannot write ----------------------------------------------------


def without_write_access(*argv: str) -> Run:
    """``sbom-enrich ARGV`` in a process that file modes bind: root is let through any mode
    (CAP_DAC_OVERRIDE), so as root the process runs without that capability."""
    command = [sys.executable, "-m", "sbom_enrich", *argv]
    if os.geteuid() == 0:
        drop = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
        if shutil.which("setpriv") is None or subprocess.run([*drop, "true"]).returncode:
            pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE here")
        command = [*drop, *command]
    done = subprocess.run(command, capture_output=True, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr.decode())


@pytest.fixture
def read_only_file(database: Path) -> Iterator[Path]:
    database.chmod(0o444)
    yield database
    database.chmod(0o644)


@pytest.fixture
def read_only_directory(database: Path) -> Iterator[Path]:
    database.parent.chmod(0o555)
    yield database
    database.parent.chmod(0o755)


@pytest.mark.parametrize("fixture", ["read_only_file", "read_only_directory"])
def test_a_read_only_database_is_read_by_status_and_refused_by_writers(
    fixture: str, request: pytest.FixtureRequest, requirements_file: Path
) -> None:
    database: Path = request.getfixturevalue(fixture)
    db = ["--db", url(database)]
    status = without_write_access("monitor", "status", *db)
    assert status.code == 0, status.stderr  # a directory we cannot write: exit 2 before
    assert b"alpha==1.0  not-checked" in status.stdout
    for argv in READING[1:]:
        assert without_write_access("monitor", *argv, *db).code == 0
    for argv in WRITING:
        run = without_write_access("monitor", *argv_for(argv, requirements_file), *db)
        assert run.code == 3, (argv, run.stderr)
        assert run.stderr == (
            f"sbom-enrich: the monitor database {database} is read-only (the file, its -wal or "
            "-shm file, or its directory cannot be written): this command writes to it "
            "('status', 'list' and 'history' only read)\n"
        ), argv
    assert without_write_access("monitor", "list", *db).code == 0  # nothing was changed


def test_a_read_only_database_of_an_earlier_release_says_it_needs_writing_once(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old" / "monitor.db"
    old.parent.mkdir()
    make_v1_database(url(old), "https://pypi.org/simple/")
    old.chmod(0o444)
    status = without_write_access("monitor", "status", "--db", url(old))
    assert status.code == 3, status.stderr
    assert status.stderr == (
        f"sbom-enrich: the monitor database {old} was made by an earlier release and cannot "
        "be written here: run a monitor command that can write it, once\n"
    )
    assert status.stdout == b""


# --- PostgreSQL ------------------------------------------------------------------------------


def test_a_read_only_postgresql_is_read_by_status_and_refused_by_writers(
    postgres_url: str, requirements_file: Path, cli: Callable[..., Run]
) -> None:
    """A standby, or a database set to read-only transactions: `status` failed to open it
    (its CREATE TABLE IF NOT EXISTS is a write), exit 2."""
    import psycopg
    from psycopg import sql

    db = ["--db", postgres_url]
    assert cli("monitor", "add", "--project", "shop", str(requirements_file), *db).code == 0
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                sql.Identifier(connection.info.dbname)
            )
        )
    status = cli("monitor", "status", *db)
    assert status.code == 0, status.stderr
    assert b"alpha==1.0  not-checked" in status.stdout
    for argv in WRITING:
        run = cli("monitor", *argv_for(argv, requirements_file), *db)
        assert run.code == 3, (argv, run.stderr)
        assert "is read-only (a read-only transaction" in run.stderr, argv
        assert run.stderr.count("\n") == 1
    store = open_store(postgres_url, read_only=True)
    try:
        assert [s.project for s in store.sources()] == ["shop"]
    finally:
        store.close()


@pytest.fixture
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI waits 30 s for a row lock; the behaviour at the end of the wait is the same.
    monkeypatch.setattr(monitor_postgres, "LOCK_TIMEOUT", 0.2)


@contextmanager
def rows_locked(url: str, *tables: str) -> Iterator[None]:
    """Another session (a stuck replica, a psql session) holding every row of ``tables``.

    It ends itself after 20 s idle: without a bound on our side the command under test
    would otherwise wait for ever (and then, the lock gone, succeed: the test fails).
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SET idle_in_transaction_session_timeout = '20s'")
        holder.execute("BEGIN")
        for table in tables:
            holder.execute(f"SELECT * FROM {table} FOR UPDATE")  # type: ignore[arg-type]
        yield
        if not holder.closed:
            holder.execute("ROLLBACK")


@pytest.mark.usefixtures("short_lock_timeout")
def test_a_postgresql_row_lock_held_elsewhere_is_exit_3_in_one_line(
    postgres_url: str, requirements_file: Path, cli: Callable[..., Run]
) -> None:
    """PostgreSQL had no lock_timeout: one session holding a row lock kept every other
    replica's pass (and add, remove) waiting for good."""
    db = ["--db", postgres_url]
    assert cli("monitor", "add", "--project", "shop", str(requirements_file), *db).code == 0
    assert cli("monitor", "run", *db).code == 0  # baselines, for the pass below to change
    with rows_locked(postgres_url, "projects", "sources", "baselines"):
        for argv in WRITING:
            run = cli("monitor", *argv_for(argv, requirements_file), *db)
            assert run.code == 3, (argv, run.stderr)
            assert run.stderr.startswith("sbom-enrich: the monitor database postgresql://"), argv
            assert run.stderr.endswith(
                " is locked: another session holds a lock this command needs (waited 200ms, "
                "lock_timeout); try again when it is done\n"
            ), (argv, run.stderr)
    # Offline passes write too; one with the index asks it, then waits on the same rows.
    with rows_locked(postgres_url, "baselines"):
        assert cli("monitor", "run", *db).code == 3
    assert cli("monitor", "run", *db).code == 0  # the lock gone, it works


def test_a_postgresql_row_lock_costs_serve_one_failed_pass(
    postgres_url: str,
    requirements_file: Path,
    cli: Callable[..., Run],
    index_server: IndexServer,
    tmp_path: Path,
) -> None:
    """Its pass used to wait for the lock for good (the schedule stuck, /healthz fine until
    three intervals passed). A lock_timeout of the URL's own (options) is kept."""
    db = ["--db", postgres_url]
    assert cli("monitor", "add", "--project", "shop", str(requirements_file), *db).code == 0
    assert cli("monitor", "run", *db).code == 0
    short = postgres_url + "&options=" + quote("-c lock_timeout=300ms")
    logged: list[str] = []
    with rows_locked(postgres_url, "baselines"):
        env = {"SBOM_ENRICH_DB": short, "SBOM_ENRICH_MONITOR_INTERVAL": "0.5",
               "SBOM_ENRICH_INDEX_URL": index_server.url}  # fmt: skip
        with monitor_serve(tmp_path, env, stderr_into=logged) as base:
            eventually(
                lambda: (metric(base, "sbom_enrich_monitor_failed_passes_total") or 0) >= 1,
                "a failed pass",
            )
            assert httpx.get(f"{base}/healthz").json()["last_pass_failed"] is True
    assert (
        "monitor pass failed: the monitor database postgresql://" in logged[0]
        and "is locked: another session holds a lock this command needs (waited 300ms, "
        "lock_timeout)"
        in logged[0]
    ), logged[0]


def test_a_postgresql_role_that_may_only_read_gets_one_line_naming_what_it_lacks(
    postgres_url: str, requirements_file: Path, cli: Callable[..., Run]
) -> None:
    """A SELECT-only role: 'status' reads, and a writing command failed at its first write
    with "monitor database: InsufficientPrivilege: permission denied for table projects"."""
    import psycopg
    from psycopg import sql

    db = ["--db", postgres_url]
    assert cli("monitor", "add", "--project", "shop", str(requirements_file), *db).code == 0
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute("DROP ROLE IF EXISTS auditor")  # one server for the whole session
        owner.execute("CREATE ROLE auditor LOGIN")
        owner.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO auditor").format(
                sql.Identifier(owner.info.dbname)
            )
        )
        owner.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO auditor")
    reader = ["--db", postgres_url.replace("postgresql://monitor@", "postgresql://auditor@")]
    status = cli("monitor", "status", *reader)
    assert status.code == 0, status.stderr
    lacks = {
        "add": "INSERT on table projects",
        "remove": "DELETE on table projects",
        "run": "UPDATE on table baselines",
    }
    for argv in [*WRITING[:2], ("run",)]:
        run = cli("monitor", *argv_for(argv, requirements_file), *reader)
        assert run.code == 3, (argv, run.stderr)
        assert run.stderr.startswith("sbom-enrich: the monitor database postgresql:///monitor_")
        assert (
            f"does not let role 'auditor' run this command: it lacks {lacks[argv[0]]} (grant "
            in run.stderr
        ), run.stderr
        assert run.stderr.count("\n") == 1
    assert cli("monitor", "list", "--json", *db).code == 0
