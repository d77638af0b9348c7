"""End-to-end test helpers: the real server under pytest-lsp, pointed at the test index."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from lsp.lsp_settings import parse_lsp_settings
from sbom_enrich.status.compose import open_status_client

SERVER_COMMAND = [sys.executable, "-m", "lsp"]

#: Every publishDiagnostics received, in order, per client (uri, version, diagnostics).
PUBLISHED: dict[int, list[types.PublishDiagnosticsParams]] = {}


def published(client: LanguageClient) -> list[types.PublishDiagnosticsParams]:
    return PUBLISHED.setdefault(id(client), [])


def _record_publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    published(client).append(params)
    client.diagnostics[params.uri] = params.diagnostics


def make_recording_client() -> LanguageClient:
    """pytest-lsp's test client, also keeping every publishDiagnostics (not just the last)."""
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_publish
    register_lsp_features(client, features)
    return client


def push_capabilities(encodings: list[str] | None = None) -> types.ClientCapabilities:
    """A client that only takes pushed diagnostics (like Neovim 0.7)."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings)
        if encodings
        else None,
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                version_support=True, tag_support=None
            ),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        ),
    )


def pull_capabilities() -> types.ClientCapabilities:
    """A client that pulls diagnostics and supports refresh (like VS Code)."""
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            diagnostic=types.DiagnosticClientCapabilities(dynamic_registration=False),
        ),
        workspace=types.WorkspaceClientCapabilities(
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
        ),
    )


async def initialize(
    client: LanguageClient,
    capabilities: types.ClientCapabilities,
    options: dict[str, Any] | None,
) -> types.InitializeResult:
    return await client.initialize_session(
        types.InitializeParams(capabilities=capabilities, initialization_options=options)
    )


def open_document(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="requirements", version=version, text=text
            )
        )
    )
    return uri


#: Seconds a wait gives up after: generous for a loaded 2-core machine, where starting the
#: server's status client and a few lookups took over 10 s. It ends a hung test; it measures
#: nothing.
WAIT_TIMEOUT = 60.0


async def wait_until(
    condition: Callable[[], object], timeout: float = WAIT_TIMEOUT, interval: float = 0.02
) -> None:
    """Poll ``condition`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def by_code(diagnostics: Any) -> dict[str, types.Diagnostic]:
    return {str(d.code): d for d in diagnostics}


async def answered(client: LanguageClient) -> None:
    """Returns once the server has handled every message sent before this call: it handles
    them in order, and a hover on a document that is not open is answered at once (analysing
    nothing, publishing nothing)."""
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri="file:///not/open/requirements.txt"),
            position=types.Position(line=0, character=0),
        )
    )
    assert hover is None


async def hover_text(client: LanguageClient, uri: str, line: int) -> str:
    """The server's hover text at the start of ``line`` (just inside its first name)."""
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=1),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


def retriggered(error: JsonRpcException) -> bool:
    """Whether an error answer to a diagnostic pull asks the editor to pull again: LSP's
    ServerCancelled, unless its DiagnosticServerCancellationData says ``retriggerRequest:
    false`` (what VS Code's client and Neovim 0.11 check)."""
    data = error.data if isinstance(error.data, dict) else {}
    return (
        error.code == types.LSPErrorCodes.ServerCancelled
        and data.get("retriggerRequest") is not False
    )


async def pull_report(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """Pull one document's diagnostics as VS Code and Neovim 0.11 do: an answer of
    ServerCancelled with retriggerRequest is pulled again at once (the server answers so
    while its status client is still being built)."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        try:
            report = await client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
        except JsonRpcException as error:
            if not retriggered(error) or time.monotonic() > deadline:
                raise
            continue
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        return list(report.items)


async def warm_the_cache(
    index_url: str, cache_dir: Path, names: tuple[str, ...] = ("pycrypto", "evil-pkg")
) -> None:
    """Look ``names`` up as the server would, so that its disk cache answers them: a server
    with its client answers a pull of them completely (no refresh to follow), and needs no
    HTTP client to publish them."""
    options = {"indexUrl": index_url, "cacheDir": str(cache_dir)}
    async with open_status_client(parse_lsp_settings(options, env={}).settings.client) as status:
        records = [record async for record in status.lookup_many(list(names))]
    assert len(records) == len(names) and not any(record.error for record in records)
