"""Which names the server looks up next: the pure queue, and the server feeding the client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lsp_e2e_support import wait_until
from lsprotocol import types
from pygls.workspace import Workspace

from indexserver import IndexServer, MakeIndexServer, ProjectSpec, default_projects
from lsp.lsp_settings import LspSettings
from lsp.scheduling import (
    FLUSH_DELAY,
    MAX_FLUSH_DELAY,
    OPENED,
    PUBLISH_COST_FACTOR,
    LookupQueue,
    changed_lines,
    flush_delay,
    names_by_distance,
)
from lsp.server import SbomEnrichServer
from sbom_enrich.manifests import ParsedManifest, parse_manifest
from sbom_enrich.status.cache.disk import StatusCache
from sbom_enrich.status.compose import open_status_client
from sbom_enrich.status.settings import ClientSettings


def manifest(text: str) -> ParsedManifest:
    parsed = parse_manifest("requirements.txt", text)
    assert parsed is not None
    return parsed


def drain(queue: LookupQueue) -> list[str]:
    names = []
    while (name := queue.pop()) is not None:
        names.append(name)
    return names


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (["a\n", "b\n", "c\n"], ["a\n", "x\n", "b\n", "c\n"], (1, 1)),  # a line inserted
        (["a\n", "b\n", "c\n"], ["a\n", "bb\n", "c\n"], (1, 1)),  # typing within a line
        (["a\n", "b\n", "c\n"], ["x\n", "b\n", "y\n"], (0, 2)),  # two edits in one debounce
        (["a\n", "b\n", "c\n"], ["a\n", "c\n"], (1, 1)),  # a deletion: where it was
        (["a\n", "b\n"], ["a\n", "b\n", "c"], (2, 2)),  # appended at the end
        (["a\n", "b\n"], ["a\n", "b\n"], (2, 2)),  # no change
        ([], ["a\n", "b\n"], (0, 1)),
    ],
)
def test_changed_lines_are_those_between_the_common_head_and_tail(
    old: list[str], new: list[str], expected: tuple[int, int]
) -> None:
    assert changed_lines(old, new) == expected


def test_distance_is_from_the_changed_lines_to_the_nearest_use_of_a_name() -> None:
    text = "alpha\nbeta\ngamma\ndelta  # sbom-enrich: ignore\nAlpha\nepsilon @ file:///x/e.whl\n"
    assert names_by_distance(manifest(text), LspSettings(), (2, 2)) == {
        "alpha": 2,  # lines 0 and 4: the nearer counts
        "beta": 1,
        "gamma": 0,
    }
    assert names_by_distance(manifest(text), LspSettings(), OPENED) == {
        "alpha": 0,
        "beta": 1,
        "gamma": 2,
    }
    ignoring = LspSettings(ignore=frozenset({"beta"}))
    assert list(names_by_distance(manifest(text), ignoring, (1, 4))) == ["alpha", "gamma"]


def test_the_latest_request_comes_first_then_the_nearest_to_its_edit() -> None:
    queue = LookupQueue()
    queue.ask({"open-0": 0, "open-1": 1, "open-2": 2, "open-3": 3})
    assert queue.pop() == "open-0"
    queue.ask({"typed": 0, "open-3": 1, "open-2": 2})  # the edit, then its neighbours
    assert "open-1" in queue and "open-0" not in queue and len(queue) == 4
    assert drain(queue) == ["typed", "open-3", "open-2", "open-1"]
    assert queue.pop() is None
    queue.ask({})
    queue.ask({"a": 0})
    queue.clear()
    assert len(queue) == 0 and queue.pop() is None


def test_answers_wait_longer_while_a_backlog_makes_publishing_costly() -> None:
    cheap, costly = FLUSH_DELAY / PUBLISH_COST_FACTOR / 2, 1.0
    assert flush_delay(500, cheap) == FLUSH_DELAY  # a small document: as before
    assert flush_delay(500, 0.004) == pytest.approx(0.004 * PUBLISH_COST_FACTOR)
    assert flush_delay(500, costly) == MAX_FLUSH_DELAY
    assert flush_delay(0, costly) == FLUSH_DELAY  # the last answer of a backlog
    assert flush_delay(500, costly, edited=True) == FLUSH_DELAY  # what was just typed


# -- the server feeding its status client ------------------------------------------------------

BACKLOG = [f"backlog-{i}" for i in range(200)]


@pytest.fixture
def backlog_index(make_index_server: MakeIndexServer) -> IndexServer:
    projects = [*default_projects(), *(ProjectSpec(name) for name in BACKLOG)]
    return make_index_server(projects, latency=0.02)


@pytest.fixture
async def server(
    backlog_index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SbomEnrichServer]:
    settings = ClientSettings(
        index_url=backlog_index.url, cache_dir=tmp_path / "cache", concurrency=2
    )
    server = SbomEnrichServer(client_factory=lambda _: open_status_client(settings))
    published: list[types.PublishDiagnosticsParams] = []
    monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
    server.protocol._workspace = Workspace(None)  # what initialize would set up
    yield server
    await server.close_status_client()


def put(server: SbomEnrichServer, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="pip", version=version, text=text)
    )
    return uri


async def test_closing_a_document_drops_the_lookups_only_it_needed(
    server: SbomEnrichServer, backlog_index: IndexServer, tmp_path: Path
) -> None:
    big = put(server, tmp_path / "requirements.txt", "".join(f"{n}\n" for n in BACKLOG))
    small = put(server, tmp_path / "requirements-dev.txt", "backlog-199\npycrypto\n")
    await server.refresh(big)
    await server.refresh(small)
    server.workspace.remove_text_document(big)
    server.forget(big)
    await wait_until(lambda: server.lookups_waiting == 0)
    asked = set(backlog_index.stats.by_project)
    # The two in flight when it closed, and what the open document needs; nothing more.
    assert {"backlog-199", "pycrypto"} <= asked
    assert len(asked) == 4
    assert server.memo["pycrypto"].record.status == "archived"


async def test_a_new_status_client_starts_from_an_empty_queue_and_loses_nothing(
    server: SbomEnrichServer, backlog_index: IndexServer, tmp_path: Path
) -> None:
    big = put(server, tmp_path / "requirements.txt", "".join(f"{n}\n" for n in BACKLOG))
    await server.refresh(big)
    assert server.lookups_waiting == len(BACKLOG)
    await server.close_status_client()  # what a settings change does
    assert server.lookups_waiting == 0
    backlog_index.latency = 0.0
    await server.refresh(big)
    await wait_until(lambda: server.lookups_waiting == 0)
    assert set(BACKLOG) <= set(server.memo)


async def test_a_warm_cache_is_read_in_one_batch_when_a_big_document_opens(
    server: SbomEnrichServer,
    backlog_index: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backlog_index.latency = 0.0
    text = "".join(f"{n}\n" for n in BACKLOG)
    await server.refresh(put(server, tmp_path / "requirements.txt", text))
    await wait_until(lambda: server.lookups_waiting == 0)
    await server.close_status_client()  # the answers are in the cache directory now
    settings = ClientSettings(
        index_url=backlog_index.url, cache_dir=tmp_path / "cache", concurrency=2
    )
    fresh = SbomEnrichServer(client_factory=lambda _: open_status_client(settings))
    monkeypatch.setattr(fresh, "text_document_publish_diagnostics", lambda params: None)
    fresh.protocol._workspace = Workspace(None)
    single_reads: list[str] = []
    monkeypatch.setattr(StatusCache, "get", lambda store, key: single_reads.append(key))
    backlog_index.reset_stats()
    await fresh.refresh(put(fresh, tmp_path / "requirements.txt", text))
    assert fresh.lookups_waiting == 0 and not single_reads
    assert all(fresh.memo[name].record.from_cache for name in BACKLOG)
    assert backlog_index.stats.requests == 0
    await fresh.close_status_client()


# -- publishing the answers --------------------------------------------------------------------


@dataclass(frozen=True)
class Publish:
    moment: float
    asked: int  # lookups the index had been asked for by then
    answered: int  # answers the server had by then
    params: types.PublishDiagnosticsParams


class CostlyPublisher:
    """Records each publish; each takes 10 ms, what serializing a few thousand diagnostics costs."""

    def __init__(self, server: SbomEnrichServer, index: IndexServer) -> None:
        self.server = server
        self.index = index
        self.sent: list[Publish] = []

    def __call__(self, params: types.PublishDiagnosticsParams) -> None:
        time.sleep(0.01)
        self.sent.append(
            Publish(time.monotonic(), self.index.stats.requests, len(self.server.memo), params)
        )


@pytest.fixture
def publisher(
    server: SbomEnrichServer, backlog_index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> CostlyPublisher:
    publisher = CostlyPublisher(server, backlog_index)
    monkeypatch.setattr(server, "text_document_publish_diagnostics", publisher)
    return publisher


async def test_a_backlog_whose_publishing_is_costly_is_published_a_few_times_a_second(
    server: SbomEnrichServer, publisher: CostlyPublisher, tmp_path: Path
) -> None:
    big = put(server, tmp_path / "requirements.txt", "".join(f"{n}\n" for n in BACKLOG))
    started = time.monotonic()
    await server.refresh(big)  # 200 lookups, 2 at a time, 20 ms each: about 2 s
    await wait_until(lambda: server.lookups_waiting == 0)
    drained = time.monotonic()
    during = sum(sent.moment <= drained for sent in publisher.sent)
    # Every 30 ms (about 40 publishes a second with the cost) before; now every 0.3 s.
    assert during <= 3 + (drained - started) / 0.15, f"{during} publishes in {drained - started} s"
    # The last answers are still published.
    await wait_until(lambda: publisher.sent[-1].answered == len(BACKLOG))


async def test_a_name_typed_during_a_costly_backlog_is_published_with_its_answer(
    server: SbomEnrichServer, publisher: CostlyPublisher, backlog_index: IndexServer, tmp_path: Path
) -> None:
    text = "".join(f"{n}\n" for n in BACKLOG)
    big = put(server, tmp_path / "requirements.txt", text)
    await server.refresh(big)
    await wait_until(lambda: len(publisher.sent) >= 3)  # the backlog's answers now wait
    put(server, tmp_path / "requirements.txt", "pycrypto\n" + text, version=2)
    await server.refresh(big)  # what the debounce does after the edit

    def archived() -> list[int]:
        return [
            sent.asked
            for sent in publisher.sent
            if any(d.code == "sbom-enrich/archived" for d in sent.params.diagnostics)
        ]

    await wait_until(archived)
    position = list(backlog_index.stats.by_project).index("pycrypto") + 1
    # Published within about a wave of lookups of its own (2 at a time), not 0.3 s later
    # (about 25 more).
    assert archived()[0] - position <= 10


async def test_publishes_reuse_the_diagnostics_of_answers_that_did_not_change(
    server: SbomEnrichServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[types.PublishDiagnosticsParams] = []
    monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
    uri = put(server, tmp_path / "requirements.txt", "pycrypto\n" + "\n".join(BACKLOG[:20]))
    await server.refresh(uri)  # pycrypto is answered first, then 20 more names over 0.2 s

    def shown() -> list[types.Diagnostic]:
        return [params.diagnostics[0] for params in published if params.diagnostics]

    await wait_until(lambda: len(shown()) >= 2)
    assert all(diagnostic is shown()[0] for diagnostic in shown())
