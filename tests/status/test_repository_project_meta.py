"""The JSON project API's answers: whatever it sends costs that project's metadata, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fakeforge import FakeForge
from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.repository.project_meta import fetch_project_metadata
from sbom_enrich.status.settings import ClientSettings

SOURCE = {"info": {"project_urls": {"Source": "https://github.com/o/fine"}}}


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(ClientSettings(), netrc_file=tmp_path / "no-netrc") as client:
        yield client


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,  # past the recursion limit: RecursionError, exit 5
        b'{"info": ' * 100_000 + b"{}" + b"}" * 100_000,
        b"{not json",
        b"1" * 5000,  # an integer past Python's 4,300 digits
    ],
    ids=["deep-arrays", "deep-objects", "not-json", "long-integer"],
)
async def test_a_body_that_is_not_json_is_that_projects_error(
    http: httpx.AsyncClient, body: bytes
) -> None:
    with FakeForge(projects={"fine": SOURCE}) as forge:
        forge.raw["/pypi/broken/json"] = (200, body)
        api = f"{forge.url}/pypi"
        broken = await fetch_project_metadata(http, api, "broken", timeout=10)
        fine = await fetch_project_metadata(http, api, "fine", timeout=10)
    assert broken.error == "project API: not JSON"
    assert fine.error is None and fine.project_urls == {"Source": "https://github.com/o/fine"}
