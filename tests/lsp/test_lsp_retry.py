"""An index that is down when a file is opened: its diagnostics arrive once it is back."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_e2e_support import wait_until
from lsprotocol import types
from pygls.workspace import Workspace

from indexserver import IndexServer, default_projects
from listening import reserve_port
from lsp import server as server_module
from lsp.lsp_settings import LspSettings
from lsp.server import SbomEnrichServer
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.compose import open_status_client
from sbom_enrich.status.settings import ClientSettings


async def test_diagnostics_arrive_when_the_index_comes_back_without_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "FAILED_MEMO_SECONDS", 0.3)
    reservation = reserve_port()
    port: int = reservation.getsockname()[1]
    settings = ClientSettings(
        index_url=f"http://127.0.0.1:{port}/simple/", cache_dir=tmp_path / "cache", retries=0
    )
    server = SbomEnrichServer(client_factory=lambda _: open_status_client(settings))
    published: list[types.PublishDiagnosticsParams] = []
    logged: list[types.LogMessageParams] = []
    monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
    monkeypatch.setattr(server, "window_log_message", logged.append)
    server.protocol._workspace = Workspace(None)  # what initialize would set up
    uri = (tmp_path / "requirements.txt").as_uri()
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="pycrypto\n")
    )
    index = IndexServer(default_projects(), port=port)
    try:
        await server.refresh(uri)
        await wait_until(lambda: len(logged) == 1)  # the outage, said once
        # Shown once for the file, never as fine (the file was published bare).
        await wait_until(lambda: published and published[-1].diagnostics)
        assert all(
            [str(d.code) for d in p.diagnostics] in ([], ["sbom-enrich/not-checked"])
            for p in published
        )
        index.start()  # it may listen on the held port (SO_REUSEPORT) ...
        reservation.close()  # ... which is then let go
        # Nobody edits the file: the server re-checks on its own.
        await wait_until(
            lambda: [str(d.code) for d in published[-1].diagnostics] == ["sbom-enrich/archived"]
        )
        (diagnostic,) = published[-1].diagnostics
        assert diagnostic.code == "sbom-enrich/archived"
        assert len(logged) == 1
    finally:
        reservation.close()
        await server.close_status_client()
        index.stop()


async def test_a_retry_keeps_showing_the_failure_until_its_new_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With unknown shown (severity setting), the failed lookup's diagnostic must stay while the
    # retry runs: the retry deleted the answer first, and the document was published bare in
    # between (the diagnostic went away and came back every 30 s while the index was down).
    monkeypatch.setattr(server_module, "FAILED_MEMO_SECONDS", 0.1)
    reservation = reserve_port()  # never listened on: every lookup and retry fails
    port: int = reservation.getsockname()[1]
    client = ClientSettings(
        index_url=f"http://127.0.0.1:{port}/simple/", cache_dir=tmp_path / "cache", retries=0
    )
    server = SbomEnrichServer(client_factory=lambda _: open_status_client(client))
    server.settings = LspSettings(
        client=client, severity={"unknown": types.DiagnosticSeverity.Warning}
    )
    published: list[types.PublishDiagnosticsParams] = []
    monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
    monkeypatch.setattr(server, "window_log_message", lambda _: None)
    server.protocol._workspace = Workspace(None)  # what initialize would set up
    uri = (tmp_path / "requirements.txt").as_uri()
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="pycrypto\n")
    )
    lookups = 0
    real_lookup = server.lookup

    async def counted_lookup(name: str, status: StatusClient) -> None:
        nonlocal lookups
        lookups += 1
        await real_lookup(name, status)

    monkeypatch.setattr(server, "lookup", counted_lookup)
    try:
        await server.refresh(uri)
        await wait_until(lambda: lookups >= 4)  # the first lookup, then three retries
    finally:
        reservation.close()
        await server.close_status_client()
    codes = [[str(d.code) for d in params.diagnostics] for params in published]
    shown = ["sbom-enrich/not-checked", "sbom-enrich/unknown"]  # the file's mark, the line's
    first = codes.index(shown)  # the first failure shown
    assert codes[:first] == [[]] * first  # before it, nothing was known
    assert codes[first:] == [shown] * (len(codes) - first), codes
