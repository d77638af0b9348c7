"""A forge's absurd answers cost the repositories it was asked about, never the run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fakeforge import FakeForge, FakeRepo
from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.repository import (
    RepositorySettings,
    RepositorySource,
    parse_forge_url,
)
from sbom_enrich.status.repository.forges import parse_graphql
from sbom_enrich.status.repository.urls import Forge, RepoRef
from sbom_enrich.status.settings import ClientSettings


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(ClientSettings(), netrc_file=tmp_path / "no-netrc") as client:
        yield client


@pytest.mark.parametrize("reset_in", [1e12, 1e300])
async def test_a_rate_limit_reset_beyond_any_calendar_is_a_refusal(
    reset_in: float, http: httpx.AsyncClient
) -> None:
    # A reset 30,000 years away made the "rate limited until HH:MM:SS" note raise
    # (datetime: year out of range; 1e300 overflows): the whole run died with exit 5.
    repos = {f"owner{i}/repo{i}": FakeRepo() for i in range(3)}
    with FakeForge(github=repos) as forge:
        forge.rate_limit = 1
        forge.rate_reset_in = reset_in
        settings = RepositorySettings(github_api_url=f"{forge.url}/github", concurrency=1)
        source = RepositorySource(http=http, settings=settings, cache=None)
        refs = [parse_forge_url(f"https://github.com/{r}", source.forges) for r in repos]
        records = [r async for r in source.query_all([r for r in refs if r is not None])]
    states = sorted(r.state.value for r in records)
    assert states == ["found", "unknown", "unknown"]
    assert any("rate limited" in note for note in source.notes)


@pytest.mark.parametrize("errors", [1, 2.5, True, None, "NOT_FOUND", {"type": "NOT_FOUND"}])
def test_graphql_errors_of_the_wrong_type_cost_nothing(errors: object) -> None:
    # "errors": 1 raised TypeError: the whole batch (100 repositories) was an internal error.
    ref = RepoRef(Forge.GITHUB, "github.com", ("psf", "requests"))
    body = {"data": {"r0": {"isArchived": True}}, "errors": errors}
    records = parse_graphql([ref], body)
    assert records is not None and records[ref.key].archived is True
