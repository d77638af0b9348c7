"""A lookup that raises (a bug) is shown as a failed lookup: the file is marked not checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from lsp_e2e_support import wait_until
from lsprotocol import types
from pygls.workspace import Workspace

from indexserver import IndexServer, default_projects
from lsp.server import SbomEnrichServer
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.compose import open_status_client
from sbom_enrich.status.model import StatusRecord
from sbom_enrich.status.settings import ClientSettings


async def test_a_lookup_that_raises_marks_the_file_not_checked_never_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A lookup that raised (Retry-After "²" did, until the client read it as HTTP does) left
    # its name without an answer: the file was published with no diagnostics at all, "could
    # not tell" shown as fine, and the hover said "in progress" for ever. A refused
    # connection, by contrast, marks the file not checked: a crash must look the same.
    real_lookup = StatusClient.lookup

    async def crashing(self: StatusClient, name: str, index_url: str | None = None) -> StatusRecord:
        if name == "nose":
            raise RuntimeError("a bug in the lookup")
        return await real_lookup(self, name, index_url)

    monkeypatch.setattr(StatusClient, "lookup", crashing)
    with IndexServer(default_projects()) as index:
        settings = ClientSettings(index_url=index.url, cache_dir=tmp_path / "cache", retries=0)
        server = SbomEnrichServer(client_factory=lambda _: open_status_client(settings))
        published: list[types.PublishDiagnosticsParams] = []
        logged: list[types.LogMessageParams] = []
        monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
        monkeypatch.setattr(server, "window_log_message", logged.append)
        server.protocol._workspace = Workspace(None)  # what initialize would set up
        uri = (tmp_path / "requirements.txt").as_uri()
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="pycrypto\nnose\n")
        )
        try:
            with caplog.at_level(logging.ERROR, logger="lsp"):
                await server.refresh(uri)
                await wait_until(
                    lambda: (
                        bool(published)
                        and [str(d.code) for d in published[-1].diagnostics]
                        == ["sbom-enrich/not-checked", "sbom-enrich/archived"]
                    )
                )
        finally:
            await server.close_status_client()
    marker = published[-1].diagnostics[0]
    assert "1 lookup failed (nose): internal error (see the log)" in marker.message, marker
    assert [m.message for m in logged if "cannot get project status" in m.message] == [
        f"sbom-enrich: cannot get project status from {index.url}: internal error (see the log)"
    ]
    # The bug itself is in the log, with its traceback, once.
    crashes = [r for r in caplog.records if r.exc_info and "nose" in r.getMessage()]
    assert len(crashes) == 1 and "RuntimeError" in caplog.text


async def test_a_crash_in_the_shared_lookup_task_is_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The status client runs each lookup in a task its callers share, and logs what that
    task raises (nobody may be waiting for it); the server logged the same traceback again
    when lookup() re-raised it to it. Once is enough, naming the project."""
    real = StatusClient._lookup_uncoalesced

    async def crashing(self: StatusClient, index: str, key_name: str, entry: object) -> object:
        if key_name == "nose":
            raise RuntimeError("a bug in the shared lookup")
        return await real(self, index, key_name, entry)  # type: ignore[arg-type]

    monkeypatch.setattr(StatusClient, "_lookup_uncoalesced", crashing)
    with IndexServer(default_projects()) as index:
        settings = ClientSettings(index_url=index.url, cache_dir=tmp_path / "cache", retries=0)
        server = SbomEnrichServer(client_factory=lambda _: open_status_client(settings))
        published: list[types.PublishDiagnosticsParams] = []
        monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
        monkeypatch.setattr(server, "window_log_message", lambda _: None)
        server.protocol._workspace = Workspace(None)
        uri = (tmp_path / "requirements.txt").as_uri()
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="pycrypto\nnose\n")
        )
        try:
            with caplog.at_level(logging.ERROR):
                await server.refresh(uri)
                await wait_until(
                    lambda: (
                        bool(published)
                        and [str(d.code) for d in published[-1].diagnostics]
                        == ["sbom-enrich/not-checked", "sbom-enrich/archived"]
                    )
                )
        finally:
            await server.close_status_client()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1, [(r.name, r.getMessage()) for r in tracebacks]
    assert "nose" in tracebacks[0].getMessage()
    assert "a bug in the shared lookup" in caplog.text
