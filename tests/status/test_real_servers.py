"""Default flags complete every lookup against small real servers nobody here wrote.

Python's http.server (listen backlog 5, one connection per request), the same as a
ThreadingHTTPServer with 50 ms per page, pypiserver, waitress (100-connection cap, 4
threads), proxpi (a caching proxy in front of http.server) and devpi-server (a mirror index,
in front of http.server): with 128 connects at once,
dropped SYNs and unaccepted connections used to time lookups out (issue 14). Counted in
failed lookups, never in seconds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import realservers
from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.settings import ClientSettings

PROJECTS = 300

#: The adaptive connections on both event loops the CLI may run (uvloop's clock has a
#: millisecond resolution: tests/conftest.py, docs/connections.md).
pytestmark = pytest.mark.both_loops


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("static-index")
    return root, realservers.write_tree(root, realservers.project_names(PROJECTS))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", realservers.KINDS)
async def test_default_flags_complete_every_lookup(
    kind: str, tree: tuple[Path, dict[str, str]]
) -> None:
    if kind in ("pypiserver", "waitress", "proxpi"):
        pytest.importorskip(kind)
    if kind == "devpi":
        pytest.importorskip("devpi_server")
    root, statuses = tree
    with realservers.running(kind, root) as url:
        settings = ClientSettings(index_url=url, use_cache=False)  # default flags otherwise
        async with build_http_client(settings) as http:
            client = StatusClient(http=http, cache=None, settings=settings)
            records = [r async for r in client.lookup_many(list(statuses))]
    failed = Counter(r.error for r in records if r.error)
    assert not failed, failed
    assert len(records) == PROJECTS
    got = {r.name: r.status.value for r in records}
    if kind == "pypiserver":  # its pages carry no API version: it cannot express status
        assert set(got.values()) == {ProjectStatus.UNKNOWN.value}
    elif kind in ("proxpi", "devpi"):
        # Both re-render the upstream's pages at Simple API 1.0 and drop the PEP 792
        # markers: they cannot express status, so nothing is "active" (least of all the
        # quarantined ones behind them).
        assert {r.api_version for r in records} == {"1.0"}
        assert set(got.values()) == {ProjectStatus.UNKNOWN.value}
    else:
        assert got == statuses
