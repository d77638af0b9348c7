"""A mistyped --db is never an empty database reporting "nothing adverse" (fail closed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run

READING = [
    ("status",),
    ("status", "--json"),
    ("history",),
    ("list",),
    ("remove", "--project", "shop"),
    ("run",),
]


@pytest.mark.parametrize("argv", READING, ids=lambda argv: "-".join(argv))
def test_a_command_that_only_reads_refuses_a_missing_sqlite_file(
    argv: tuple[str, ...], cli: Callable[..., Run], tmp_path: Path
) -> None:
    typo = tmp_path / "data" / "monitr.db"
    run = cli("monitor", *argv, "--db", f"sqlite:///{typo}")
    assert run.code == 2, run.stderr
    assert "no monitor database at" in run.stderr and run.stderr.count("\n") == 1
    assert run.stdout == b""
    assert not typo.exists() and not typo.parent.exists()


def test_a_sqlite_file_that_is_no_monitor_database_is_refused(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    run = cli("monitor", "status", "--db", f"sqlite:///{other}")
    assert run.code == 2 and "no monitor database" in run.stderr
    tables = sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("t",)]  # nothing created in it


def test_postgresql_without_the_schema_is_refused_and_left_alone(
    cli: Callable[..., Run], postgres_url: str
) -> None:
    import psycopg

    run = cli("monitor", "status", "--db", postgres_url)
    assert run.code == 2, run.stderr
    assert "no monitor database" in run.stderr and run.stderr.count("\n") == 1
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT to_regclass('projects')").fetchone() == (None,)
    missing = cli("monitor", "status", "--db", postgres_url.replace("/monitor_", "/typo_", 1))
    assert missing.code == 2, missing.stderr
    assert missing.stderr.count("\n") == 1


def test_an_unreachable_postgresql_is_its_own_exit_code_never_nothing_adverse(
    cli: Callable[..., Run], postgres_server: object, tmp_path: Path
) -> None:
    added = tmp_path / "requirements.txt"  # add reads its files before the database
    added.write_text("alpha==1.0\n")
    for argv in (("status",), ("list",), ("run",), ("add", "--project", "p", str(added))):
        run = cli("monitor", *argv, "--db", "postgresql://monitor:pw5ecret@127.0.0.1:1/monitor")
        assert run.code == 3, (argv, run.stderr)
        assert "does not answer" in run.stderr and run.stderr.count("\n") == 1
        assert "pw5ecret" not in run.stderr and run.stdout == b""
