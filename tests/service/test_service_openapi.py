"""schemathesis against the service's own OpenAPI document: answers match the contract."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection
from servicekit import RunningService, service_settings

from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer, default_projects
from listening import reserve_port
from sbom_enrich.service.openapi import openapi_document
from sbom_enrich.status.repository import RepositorySettings

#: The schema (which lists the allowed indexes) is built at import from the same settings as
#: the service, so the index's address is chosen here; the index itself starts only when the
#: module's tests run (collection starts no server). The port is held until then: picked free
#: and let go, it could be anyone's by the time (minutes, in a whole run) the index starts.
_held = [reserve_port()]
INDEX_PORT = int(_held[0].getsockname()[1])
SETTINGS = service_settings(f"http://127.0.0.1:{INDEX_PORT}/simple/", cache_dir=None, timeout=5.0)
schema = schemathesis.openapi.from_dict(openapi_document(SETTINGS))


@pytest.fixture(scope="module", params=["plain", "maintenance"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """The service as it starts by default, and with --maintenance (its answers then carry
    the `maintenance` field the contract describes)."""
    settings = replace(
        SETTINGS,
        client=msgspec.structs.replace(SETTINGS.client, cache_dir=tmp_path_factory.mktemp("c")),
    )
    repos = {"psf/requests": FakeRepo(), "pycrypto/pycrypto": FakeRepo(archived=True)}
    projects = {
        name: {"info": {"project_urls": {"Source": f"https://github.com/{path}"}}}
        for path in repos
        for name in [path.split("/")[1]]
    }
    with (
        IndexServer(default_projects(), port=INDEX_PORT) as index,
        FakeForge(github=repos, projects=projects) as forge,
    ):
        assert index.url == SETTINGS.client.index_url
        _held.pop().close()  # the index listens there now
        if request.param == "maintenance":
            settings = replace(
                settings,
                repository=RepositorySettings(
                    github_api_url=f"{forge.url}/github",
                    project_api_url=f"{forge.url}/pypi",
                    github_token="ghp_contract",
                ),
            )
        running = RunningService(settings).start()
        yield running
        running.stop()
        _held.append(reserve_port(INDEX_PORT))  # held again before the index lets it go


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(
    case: schemathesis.Case, service: RunningService
) -> None:
    excluded = []
    if case.operation.path == "/v1/enrich":
        # SBOMs are read leniently, like `sbom-enrich enrich` without --validate: a document
        # outside the schema's narrow shape is still enriched losslessly, so "rejects
        # schema-violating data" does not hold there by design. Every other check applies.
        excluded.append(negative_data_rejection)
    case.call_and_validate(base_url=service.url, excluded_checks=excluded)
