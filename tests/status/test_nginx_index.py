"""A real nginx (Debian's, echo module) serving a static PEP 691/503/792 tree by Accept.

Over plain HTTP/1.1 and over TLS (the server offers h2; index pages go over HTTP/1.1 with
TLS): every lookup answered, every status as the tree says, no failed lookup.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import nginx_index
from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import canonical
from sbom_enrich.status.settings import ClientSettings

PROJECTS = 200

why_not = nginx_index.available()
pytestmark = pytest.mark.skipif(why_not is not None, reason=why_not or "")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[nginx_index.Nginx, dict]]:
    work = tmp_path_factory.mktemp("nginx")
    base = Path(tmp_path_factory.getbasetemp()).parent  # pytest-of-<user>/
    for directory in (work, *work.parents):  # nginx's workers run as another user
        os.chmod(directory, os.stat(directory).st_mode | 0o005)
        if directory == base:
            break
    projects = nginx_index.heavy_tail_projects(PROJECTS, seed=3)
    nginx_index.write_tree(projects, work / "root")
    server = nginx_index.Nginx(
        work / "root", work / "run", nginx_index.make_certificates(work), 0.01
    )
    yield server, {canonical(p.name): p.status for p in projects}
    server.stop()


@pytest.mark.parametrize("transport", ["h1", "h2"])
async def test_every_lookup_answered_over_both_transports(
    served: tuple[nginx_index.Nginx, dict[str, str]],
    transport: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, statuses = served
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca))
    before = server.counts()
    settings = ClientSettings(index_url=server.url(transport), use_cache=False)
    async with build_http_client(settings) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        records = [r async for r in client.lookup_many(list(statuses))]
    assert [r.error for r in records if r.error] == []
    assert {r.name: r.status.value for r in records} == statuses
    after = server.counts()
    # At least one request each (a page stalled under load is asked again), all HTTP/1.1, all 200.
    assert after.requests - before.requests >= PROJECTS
    assert after.by_protocol == {"HTTP/1.1": after.requests}
    assert after.by_status == {"200": after.requests}
