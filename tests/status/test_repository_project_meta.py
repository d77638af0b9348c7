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


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"info": None}, "project API: no 'info' object"),
        ([], "project API: no 'info' object"),
        ({"info": {"project_urls": ["https://github.com/o/r"]}}, "malformed"),
        ({"info": {"project_urls": "https://github.com/o/r"}}, "malformed"),
        ({"info": {"home_page": 7}}, "malformed"),
    ],
)
async def test_a_malformed_answer_is_an_error_never_no_repository(
    http: httpx.AsyncClient, answer: object, error: str
) -> None:
    # Read as "lists no repository", a project with a recent release was judged active.
    with FakeForge(projects={"broken": answer}) as forge:  # type: ignore[dict-item]
        broken = await fetch_project_metadata(http, f"{forge.url}/pypi", "broken", timeout=10)
    assert broken.error is not None and error in broken.error, broken


async def test_null_urls_are_an_answer_that_lists_none(http: httpx.AsyncClient) -> None:
    # PyPI's shape for a project that gives neither.
    with FakeForge(projects={"bare": {"info": {"project_urls": None, "home_page": None}}}) as forge:
        bare = await fetch_project_metadata(http, f"{forge.url}/pypi", "bare", timeout=10)
    assert bare.error is None and bare.project_urls == {} and bare.home_page is None
