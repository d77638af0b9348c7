"""Monitor fixtures: a store per backend (SQLite file, a real PostgreSQL server), receivers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pgserver import PostgresServer, find_bindir
from receivers import HttpReceiver

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, release
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


def monitored_projects() -> list[ProjectSpec]:
    """What the test index serves at the start; tests change statuses between passes."""
    return [
        ProjectSpec("alpha", files=[*release("alpha", "1.0"), *release("alpha", "1.1")]),
        ProjectSpec("beta", files=release("beta", "2.0")),
        ProjectSpec("gamma", files=release("gamma", "3.0")),
        ProjectSpec("mal", files=release("mal", "0.1")),
        ProjectSpec("doomed", files=release("doomed", "1.0")),
    ]


#: A requirements file using every project above, plus "ghost", which the index lacks.
REQUIREMENTS = "alpha==1.0\nbeta==2.0\ngamma\nmal==0.1\ndoomed==1.0\nghost==1.0\n"


@pytest.fixture
def index_server() -> Iterator[IndexServer]:
    """Overrides the suite's index: the monitor's projects, changed by each test."""
    with IndexServer(monitored_projects()) as server:
        yield server


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    yield receiver
    receiver.close()  # every request is over: none can answer into a later test
    assert receiver.errors == [], "requests the receiver failed to handle"


@pytest.fixture
def requirements_file(tmp_path: Path) -> Path:
    path = tmp_path / "app" / "requirements.txt"
    path.parent.mkdir()
    path.write_text(REQUIREMENTS)
    return path


@pytest.fixture
def monitor(cli: Callable[..., Run], db_url: str) -> Callable[..., Run]:
    """``sbom-enrich monitor ARGV`` in-process against the test index and ``db_url``."""

    def run(*argv: str, env: dict[str, str] | None = None) -> Run:
        return cli("monitor", *argv, env={"SBOM_ENRICH_DB": db_url, **(env or {})})

    return run
