"""schemathesis against the service's own OpenAPI document: answers match the contract."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection
from servicekit import RunningService, service_settings

from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer, default_projects
from sbom_enrich.service.openapi import openapi_document
from sbom_enrich.status.repository import RepositorySettings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


#: The schema (which lists the allowed indexes) is built at import from the same settings as
#: the service, so the index's address is chosen here; the index itself starts only when the
#: module's tests run (collection starts no server).
INDEX_PORT = _free_port()
SETTINGS = service_settings(f"http://127.0.0.1:{INDEX_PORT}/simple/", cache_dir=None, timeout=5.0)
schema = schemathesis.openapi.from_dict(openapi_document(SETTINGS))


@pytest.fixture(scope="module", params=["plain", "maintenance"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """The service as it starts by default, and with --maintenance (its answers then carry
    the `maintenance` field the contract describes)."""
    settings = replace(
        SETTINGS, client=replace(SETTINGS.client, cache_dir=tmp_path_factory.mktemp("c"))
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
