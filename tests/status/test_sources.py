"""The status-source interface: the Simple API source against the real test index."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from indexserver import IndexServer
from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.settings import ClientSettings
from sbom_enrich.status.sources import SimpleApiSource, StatusSource


@pytest.fixture
async def source(index_server: IndexServer, tmp_path: Path) -> AsyncIterator[SimpleApiSource]:
    settings = ClientSettings(index_url=index_server.url, use_cache=False)
    async with build_http_client(settings, netrc_file=tmp_path / "no-netrc") as http:
        yield SimpleApiSource(StatusClient(http=http, cache=None, settings=settings))


async def test_query_answers_one_project(source: SimpleApiSource) -> None:
    record = await source.query("pycrypto")
    assert record.status is ProjectStatus.ARCHIVED


async def test_query_all_answers_each_distinct_project_once(
    source: SimpleApiSource, index_server: IndexServer
) -> None:
    names = ["requests", "Requests", "nose", "evil-pkg", "no-such-project"]
    records = {record.name: record async for record in source.query_all(names)}
    assert {name: r.status for name, r in records.items()} == {
        "requests": ProjectStatus.ACTIVE,
        "nose": ProjectStatus.DEPRECATED,
        "evil-pkg": ProjectStatus.QUARANTINED,
        "no-such-project": ProjectStatus.NOT_FOUND,
    }


class _Doubling(StatusSource[int, int]):
    """A source with only ``query``: the default ``query_all`` must ask each subject."""

    name = "doubling"

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.last_answered = asyncio.Event()

    async def query(self, subject: int) -> int:
        self.asked.append(subject)
        if subject == 3:  # the last subject answers first; the others wait for it
            self.last_answered.set()
        else:
            await self.last_answered.wait()
        return subject * 2


async def test_default_query_all_yields_every_answer_as_it_arrives() -> None:
    source = _Doubling()
    answers = [answer async for answer in source.query_all([1, 2, 3])]
    assert sorted(answers) == [2, 4, 6]
    assert answers[0] == 6  # as they arrive, not in the order asked
    assert sorted(source.asked) == [1, 2, 3]
