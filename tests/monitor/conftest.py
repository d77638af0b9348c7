"""Monitor fixtures: a store per backend (SQLite file, a real PostgreSQL server), receivers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PostgresServer, find_bindir

from sbom_enrich.monitor.store import SqlStore, open_store

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; each test gets its own database in it."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's initdb is not installed (scripts/ensure-postgresql installs it)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[test]')")
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception as error:  # noqa: BLE001 - any failure to start means: skip, saying why
        server.stop()
        pytest.skip(f"could not start PostgreSQL from {bindir}: {error}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database(f"monitor_{next(_databases)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against both implementations of the storage interface."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"monitor_{next(_databases)}")


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    opened = open_store(db_url)
    yield opened
    opened.close()
