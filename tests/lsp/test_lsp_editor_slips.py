"""What an editor (or a document) may send that the server got wrong: characters
str.splitlines breaks on and the protocol does not (FF, U+0085, U+2028), where ranges, quick
fixes and incremental edits must stay on the lines the editor shows; new text under a version
number already seen."""

from __future__ import annotations

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

from indexserver import IndexServer
from lsp.lines import lsp_lines

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    options = {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 20}
    await initialize(lsp_client, push_capabilities(), options)
    yield
    await lsp_client.shutdown_session()


def shown(client: LanguageClient, uri: str) -> dict[str, types.Range]:
    return {str(d.code): d.range for d in client.diagnostics.get(uri, [])}


def at(line: int, start: int, end: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=start),
        end=types.Position(line=line, character=end),
    )


@pytest.mark.parametrize("brk", ["\u2028", "\x0c", "\x85", "\x1e"])
async def test_ranges_and_the_quick_fix_are_on_the_editors_lines(
    client: LanguageClient, tmp_path: Path, brk: str
) -> None:
    """The archived diagnostic covered "py" of "pycrypto" (a column against the wrong line's
    text), and its quick fix wrote "pycryptodomecrypto==2.6.1"."""
    text = f"# comment{brk}x\npycrypto==2.6.1  # archived\n"
    uri = open_document(client, tmp_path / "requirements.txt", text)
    await wait_until(lambda: "sbom-enrich/archived" in shown(client, uri))
    assert shown(client, uri)["sbom-enrich/archived"] == at(1, 0, 8)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=at(1, 0, 8),
            context=types.CodeActionContext(diagnostics=client.diagnostics[uri]),
        )
    )
    replace = next(a for a in actions or [] if isinstance(a, types.CodeAction) and a.edit)
    assert replace.edit is not None and replace.edit.changes is not None
    edits = replace.edit.changes[uri]
    # Line 1 rewritten, the pin dropped (versions of one project say nothing of another's).
    line = "pycrypto==2.6.1  # archived"
    assert list(edits) == [
        types.TextEdit(range=at(1, 0, len(line)), new_text="pycryptodome  # archived")
    ], edits


async def test_an_incremental_edit_lands_on_the_line_the_editor_means(
    client: LanguageClient, tmp_path: Path
) -> None:
    """pygls applied edit ranges to str.splitlines' lines: replacing line 2's "requests" with
    "evil-pkg" edited line 1 ("nose") instead, and the server's text left the editor's."""
    uri = open_document(client, tmp_path / "requirements.txt", "# a\u2028b\nnose\nrequests\n")
    await wait_until(lambda: "sbom-enrich/deprecated" in shown(client, uri))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(range=at(2, 0, 8), text="evil-pkg")
            ],
        )
    )
    await wait_until(lambda: "sbom-enrich/quarantined" in shown(client, uri))
    assert shown(client, uri) == {
        "sbom-enrich/not-found": at(0, 4, 5),  # "b": pip reads it, after the U+2028
        "sbom-enrich/deprecated": at(1, 0, 4),
        "sbom-enrich/quarantined": at(2, 0, 8),
    }


def test_lsp_lines_split_only_where_the_protocol_does() -> None:
    assert lsp_lines("a\u2028b\r\nc\x0cd\re\n") == ("a\u2028b\r\n", "c\x0cd\r", "e\n")
    assert lsp_lines("a\nb") == ("a\n", "b")
    assert lsp_lines("") == ()


def codes_by_line(client: LanguageClient, uri: str) -> dict[int, str]:
    return {d.range.start.line: str(d.code) for d in client.diagnostics.get(uri, [])}


async def test_new_text_under_the_same_version_is_analysed_again(
    client: LanguageClient, tmp_path: Path
) -> None:
    """The analysis was kept whenever the version matched: the old "nose" diagnostic stayed
    on line 0 and the quarantined evil-pkg, now on line 2, got nothing (the client breaks
    the protocol, but a quarantined dependency must never be shown as fine)."""
    uri = open_document(client, tmp_path / "requirements.txt", "nose\n")
    await wait_until(lambda: codes_by_line(client, uri) == {0: "sbom-enrich/deprecated"})
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=1),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(text="# deps\n\nevil-pkg\n")
            ],
        )
    )
    await wait_until(lambda: codes_by_line(client, uri) == {2: "sbom-enrich/quarantined"})


def test_an_open_documents_lines_are_split_once_per_text() -> None:
    """pygls split the whole text again on every access to ``lines`` (each incremental edit
    does one): the split is kept until the text changes."""
    from pygls.workspace import Workspace

    from lsp.lines import use_lsp_lines

    workspace = Workspace(None)
    use_lsp_lines(workspace)
    uri = "file:///x/requirements.txt"
    workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="a\u2028b\nc\n")
    )
    document = workspace.get_text_document(uri)
    assert document.lines == ("a\u2028b\n", "c\n") and document.lines is document.lines
    first = document.lines
    document.apply_change(types.TextDocumentContentChangePartial(range=at(1, 0, 1), text="d"))
    assert document.lines == ("a\u2028b\n", "d\n") and document.lines is not first


@pytest.mark.parametrize("text", ["nose\nrequests\n" * 500, "a\u2028b\nc\x0c\n" * 500])
def test_the_same_text_is_split_once_whatever_string_holds_it(text: str) -> None:
    """The same text as another string (a didOpen again, a full-text didChange repeating it,
    a second document) was split again: 34 ms for a 2.8 MB document. The split is kept by
    text, so both documents hold the very same lines."""
    from pygls.workspace import Workspace

    from lsp.lines import use_lsp_lines

    again = "".join(list(text))
    assert again == text and again is not text
    assert lsp_lines(again) is lsp_lines(text)
    workspace = Workspace(None)
    use_lsp_lines(workspace)
    for name, source in (("a", text), ("b", again)):
        workspace.put_text_document(
            types.TextDocumentItem(
                uri=f"file:///x/{name}/requirements.txt", language_id="pip", version=1, text=source
            )
        )
    first = workspace.get_text_document("file:///x/a/requirements.txt")
    second = workspace.get_text_document("file:///x/b/requirements.txt")
    assert first.source is not second.source and first.lines is second.lines
