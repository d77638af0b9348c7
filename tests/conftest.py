"""Shared fixtures: a real package index on 127.0.0.1 (tests/indexserver.py).

`index_server` serves these projects (`indexserver.default_projects()`) at API version 1.4,
`Cache-Control: max-age=600`, no latency, no auth:

- `requests`: active; 2.31.0, 2.32.0 (yanked: "Yanked due to conflicts with CVE-2024-35195
  mitigation"), 2.32.3.
- `pycrypto`: archived, no reason (like PyPI); 2.6.1, sdist only.
- `nose`: deprecated, reason "Unmaintained since 2015; use pytest"; 1.3.6 (yanked, no reason),
  1.3.7.
- `evil-pkg`: quarantined, reason "Reported as malware"; `files: []`, `versions: []` (the spec
  lists 0.0.1, which is never served).
- `old-api`: archived in the spec, but its page says API version 1.0, so it carries no status,
  no `versions`, no sizes or upload times: a client must say `unknown`; 1.0.
- `zope.interface`: active; 7.2; canonical path /simple/zope-interface/ (other spellings 301).
- `silent-pkg`: API 1.4 but no `project-status` key at all; 1.0.
- `future-pkg`: status "retired" (a value no client knows yet); 1.0.
- `string-status`: archived, as a bare string (`"project-status": "archived"`); 1.0.
- `meta-status`: deprecated, reason "Use requests", in `meta` (the spec erratum form); 1.0.

Any other name answers 404. Every release has a wheel and an sdist unless noted; file hashes
are derived from the filename. `make_index_server(projects=None, **options)` starts a custom
server (None: the projects above); options are `IndexServer`'s (api_version, latency, max_age,
html_only, etag, auth, retry_after). Every server is stopped at teardown.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Run
from indexserver import IndexServer, MakeIndexServer, ProjectSpec, default_projects
from sbom_enrich.cli import main


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collecting starts no server: a module-level server runs (and holds a port and a thread)
    even for a run that selects none of its tests."""
    if IndexServer.starts:
        raise pytest.UsageError(
            f"{IndexServer.starts} index server(s) started while collecting tests: start them "
            "in a fixture"
        )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests marked ``both_loops`` run twice: on asyncio's own event loop and on uvloop's
    (what the CLI runs its lookups on when it is installed: docs/connections.md); the rest
    on asyncio's only."""
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop
    }
    if item.get_closest_marker("both_loops") is not None:
        try:
            import uvloop
        except ImportError:  # (Windows: not a dependency there)
            pass
        else:
            factories["uvloop"] = uvloop.new_event_loop
    return factories


@pytest.fixture
def index_server() -> Iterator[IndexServer]:
    with IndexServer(default_projects()) as server:
        yield server


@pytest.fixture
def make_index_server() -> Iterator[MakeIndexServer]:
    servers: list[IndexServer] = []

    def make(projects: Iterable[ProjectSpec] | None = None, **options: Any) -> IndexServer:
        server = IndexServer(default_projects() if projects is None else projects, **options)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory that is the current directory."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], index_server: IndexServer
) -> Callable[..., Run]:
    """Run ``sbom-enrich ARGV`` in-process; the test index is the default index (env twin)."""

    def run(*argv: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> Run:
        out = io.BytesIO()
        base = {
            "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
            "HOME": str(tmp_path),
            "SBOM_ENRICH_INDEX_URL": index_server.url,
        }
        merged = {k: v for k, v in {**base, **(env or {})}.items() if v is not None}
        code = main(list(argv), env=merged, stdin=io.BytesIO(stdin), stdout=out)
        return Run(code, out.getvalue(), capsys.readouterr().err)

    return run


@pytest.fixture
def check(cli: Callable[..., Run]) -> Callable[..., Run]:
    """``sbom-enrich check ARGV`` through :func:`cli`."""

    def run(*argv: str, **kwargs: object) -> Run:
        return cli("check", *argv, **kwargs)

    return run
