"""End to end: a name typed while a big file's lookups are still queued is answered first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_lsp
from lsp_e2e_support import (
    SERVER_COMMAND,
    initialize,
    make_recording_client,
    open_document,
    push_capabilities,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer, MakeIndexServer, ProjectSpec, default_projects

BACKLOG = [f"backlog-{i}" for i in range(300)]
CONCURRENCY = 4
#: 300 lookups, 4 at a time, 50 ms each: the backlog takes about 4 s to drain.
LATENCY = 0.05


@pytest.fixture
def slow_index(make_index_server: MakeIndexServer) -> IndexServer:
    projects = [*default_projects(), *(ProjectSpec(name) for name in BACKLOG)]
    return make_index_server(projects, latency=LATENCY)


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND,
        client_factory=make_recording_client,
        server_env={**os.environ, "SBOM_ENRICH_CONCURRENCY": str(CONCURRENCY)},
    )
)
async def client(lsp_client: LanguageClient, slow_index: IndexServer, tmp_path: Path):
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": slow_index.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 50},
    )
    yield
    await lsp_client.shutdown_session()


def insert_line(uri: str, version: int, line: int, text: str) -> types.DidChangeTextDocumentParams:
    at = types.Position(line=line, character=0)
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[
            types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)
        ],
    )


async def test_a_name_typed_during_a_cold_backlog_is_looked_up_before_the_backlog(
    client: LanguageClient, slow_index: IndexServer, tmp_path: Path
) -> None:
    uri = open_document(client, tmp_path / "requirements.txt", "".join(f"{n}\n" for n in BACKLOG))
    await wait_until(lambda: slow_index.stats.requests >= CONCURRENCY)  # the backlog is queued
    client.text_document_did_change(insert_line(uri, 2, len(BACKLOG) // 2, "evil-pkg\n"))

    def typed_name_flagged() -> bool:
        return any(d.code == "sbom-enrich/quarantined" for d in client.diagnostics.get(uri, []))

    await wait_until(typed_name_flagged)
    asked_by_then = slow_index.stats.requests
    # The index's request order, not the clock: a loaded machine slows both sides alike.
    position = list(slow_index.stats.by_project).index("evil-pkg")
    assert position < len(BACKLOG) // 4, f"evil-pkg was lookup number {position + 1}"
    assert asked_by_then < len(BACKLOG) // 2

    # Nothing was lost on the way: every name is looked up, once.
    slow_index.latency = 0.0
    await wait_until(lambda: len(slow_index.stats.by_project) == len(BACKLOG) + 1)
    assert max(slow_index.stats.by_project.values()) == 1
