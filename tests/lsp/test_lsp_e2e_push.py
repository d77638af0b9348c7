"""End to end: the real server subprocess, a push-only client, and the local test index."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsp_e2e_support import (
    SERVER_COMMAND,
    answered,
    by_code,
    initialize,
    make_recording_client,
    open_document,
    published,
    push_capabilities,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer

#: The longest debounce the setting takes (ms): an edit is held by it unless the server stalls
#: for 10 s between two messages (with 100 ms, one stall of a loaded machine between reading
#: two didChanges published the first). No test waits it out: a save ends it.
HELD = 10_000


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
)
async def client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": HELD},
    )
    yield
    await lsp_client.shutdown_session()


REQUIREMENTS = """\
# a comment
requests==2.32.0
pycrypto>=2.6 ; python_version < "3.12"
nose==1.3.6
evil-pkg
no-such-project-xyz
old-api==1.0
requests==9.9.9
not a requirement!
"""


async def test_open_publishes_status_diagnostics_on_the_names(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_document(client, tmp_path / "requirements.txt", REQUIREMENTS)
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) >= 8)
    found = client.diagnostics[uri]
    codes = sorted(str(d.code) for d in found)
    assert codes == sorted(
        [
            "sbom-enrich/yanked",
            "sbom-enrich/archived",
            "sbom-enrich/deprecated",
            "sbom-enrich/yanked",
            "sbom-enrich/quarantined",
            "sbom-enrich/not-found",
            "sbom-enrich/version-missing",
            "sbom-enrich/invalid-requirement",
        ]
    )
    codes_map = by_code(found)
    archived = codes_map["sbom-enrich/archived"]
    assert archived.range == types.Range(
        start=types.Position(line=2, character=0), end=types.Position(line=2, character=8)
    )
    assert archived.severity == types.DiagnosticSeverity.Warning
    assert list(archived.tags or []) == [types.DiagnosticTag.Deprecated]
    assert archived.source == "sbom-enrich"
    assert archived.code_description is not None
    assert archived.code_description.href.endswith("/pycrypto/")
    assert "no further releases" in archived.message
    quarantined = codes_map["sbom-enrich/quarantined"]
    assert quarantined.severity == types.DiagnosticSeverity.Error
    assert quarantined.range.start.line == 4 and quarantined.range.end.character == 8
    missing = codes_map["sbom-enrich/version-missing"]
    assert (missing.range.start.line, missing.range.start.character) == (7, 10)
    assert missing.range.end.character == 15
    yanked = [d for d in found if d.code == "sbom-enrich/yanked" and d.range.start.line == 1]
    assert len(yanked) == 1 and "CVE-2024-35195" in yanked[0].message
    assert (yanked[0].range.start.character, yanked[0].range.end.character) == (10, 16)
    # old-api's index cannot express status: unknown has no diagnostic by default.
    assert not any(d.range.start.line == 6 and "old-api" in d.message for d in found)


def change(uri: str, version: int, text: str) -> types.DidChangeTextDocumentParams:
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
    )


async def test_edit_is_debounced_and_close_clears(client: LanguageClient, tmp_path: Path) -> None:
    uri = open_document(client, tmp_path / "requirements-dev.txt", "requests\n")
    await wait_until(lambda: uri in client.diagnostics)
    assert list(client.diagnostics[uri]) == []
    client.text_document_did_change(change(uri, 2, "nose\n"))
    client.text_document_did_change(change(uri, 3, "# x\npycrypto\n"))
    await answered(client)
    # Both edits are waiting out the debounce: neither version has been published.
    assert {p.version for p in published(client) if p.uri == uri} <= {1}
    # A save is checked at once: the latest version; version 2 was superseded, never published.
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await wait_until(
        lambda: [str(d.code) for d in client.diagnostics[uri]] == ["sbom-enrich/archived"]
    )
    assert client.diagnostics[uri][0].range.start.line == 1
    # With a short debounce, an edit is published once it has run out, with no save.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"sbomEnrich": {"debounceMs": 50}})
    )
    await answered(client)
    client.text_document_did_change(change(uri, 4, "# x\nevil-pkg\n"))
    await wait_until(
        lambda: [str(d.code) for d in client.diagnostics[uri]] == ["sbom-enrich/quarantined"]
    )
    versions = [p.version for p in published(client) if p.uri == uri]
    assert 2 not in versions and 3 in versions and versions[-1] == 4
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await wait_until(lambda: list(client.diagnostics[uri]) == [])


@pytest.mark.parametrize("name", ["pycrypto"])
async def test_hover_shows_status_meaning_and_alternatives(
    client: LanguageClient, tmp_path: Path, name: str
) -> None:
    uri = open_document(client, tmp_path / "requirements.txt", f"{name}==2.6.1\n")
    await wait_until(lambda: client.diagnostics.get(uri))
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=3),
        )
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "**archived**" in text
    assert "no further releases" in text
    assert "pycryptodome" in text
    assert "Latest version: 2.6.1" in text
    assert hover.range == types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=0, character=8)
    )


async def test_requests_about_documents_that_are_not_open_get_no_answer_and_no_error(
    client: LanguageClient, tmp_path: Path
) -> None:
    # An editor may ask about a buffer it has just closed, or a file that is gone.
    gone = (tmp_path / "gone" / "requirements.txt").as_uri()
    on_disk = tmp_path / "requirements.txt"
    on_disk.write_text("pycrypto\n")  # the server answers from the editor's text, not the disk
    for uri in (gone, on_disk.as_uri()):
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=2),
            )
        )
        assert hover is None
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=types.Position(line=0, character=0),
                    end=types.Position(line=0, character=0),
                ),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert not actions


async def test_a_change_to_a_document_never_opened_is_ignored_without_an_error(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = (tmp_path / "requirements.txt").as_uri()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="pycrypto\n")],
        )
    )
    # The server is still there and answers; no error reached the user.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=2),
        )
    )
    assert hover is None
    assert not [m for m in client.messages if m.type == types.MessageType.Error]
