"""50 concurrent enrich requests of the corpus SBOMs: each answer equals the CLI's, each project
is looked up once across all of them."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import httpx
from servicekit import MakeIndexServer, MakeService

from indexserver import IndexServer
from sbom_enrich.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "sboms"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sbom.cdx.json"
#: Times of our own making (checked-at): they differ between any two runs.
CHECKED_AT = re.compile(rb"(?s)(sbom-enrich:pypi:checked-at.{1,60}?)\d{4}-\d\d-\d\dT[0-9:.]+Z")
REQUESTS = 50


def normalized(document: bytes) -> bytes:
    return CHECKED_AT.sub(rb"\1<time>", document)


def media_type(path: Path) -> str:
    return f"application/vnd.cyclonedx+{path.suffix.lstrip('.')}"


def cli_enrich(path: Path, index_url: str, cache: Path) -> tuple[int, bytes]:
    out = io.BytesIO()
    env = {"SBOM_ENRICH_CACHE_DIR": str(cache), "HOME": str(cache)}
    code = main(
        ["enrich", str(path), "--index-url", index_url, "--fail-on", "none"],
        env=env,
        stdout=out,
    )
    return code, out.getvalue()


async def post_all(url: str, documents: list[Path]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        return await asyncio.gather(
            *(
                http.post(
                    "/v1/enrich?fail_on=none",
                    content=path.read_bytes(),
                    headers={"Content-Type": media_type(path)},
                )
                for path in documents
            )
        )


def test_fifty_concurrent_enrichments_match_the_cli_and_share_lookups(
    make_service: MakeService,
    make_index_server: MakeIndexServer,
    tmp_path: Path,
) -> None:
    corpus = sorted(DATA.glob("*.json")) + sorted(DATA.glob("*.xml")) + [EXAMPLE]
    documents = [corpus[i % len(corpus)] for i in range(REQUESTS)]
    reference_index = make_index_server(latency=0.0)
    expected = {
        path: cli_enrich(path, reference_index.url, tmp_path / "cli-cache") for path in corpus
    }
    assert sum(1 for code, _ in expected.values() if code == 0) >= 8

    index: IndexServer = make_index_server(latency=0.05)  # lookups overlap between requests
    # 50 requests ask ~770 names. The rate limit (a unit a request, and one a name the index
    # is asked for on the request's account) is not what this test is about.
    service = make_service(index.url, rate_limit=10_000)
    responses = asyncio.run(post_all(service.url, documents))

    for path, response in zip(documents, responses, strict=True):
        code, output = expected[path]
        if code == 2:  # spec < 1.3: the CLI refuses it, so must the service
            assert response.status_code == 422, (path.name, response.text)
            continue
        assert response.status_code == 200, (path.name, response.text)
        assert response.headers["X-Sbom-Enrich-Exit-Code"] == str(code)
        output = output.replace(reference_index.url.encode(), index.url.encode())
        assert normalized(response.content) == normalized(output), path.name
    looked_up = index.stats.by_project
    assert looked_up, "the corpus has PyPI components"
    assert set(looked_up) == set(reference_index.stats.by_project)
    assert max(looked_up.values()) == 1, looked_up.most_common(3)
