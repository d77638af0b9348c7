"""A status client that cannot be built: told once, every open file marked not checked (push),
every pull RequestFailed (pull), and all of it gone once a settings change lets it build."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsp_e2e_support import (
    SERVER_COMMAND,
    answered,
    by_code,
    hover_text,
    initialize,
    make_recording_client,
    open_document,
    published,
    pull_capabilities,
    pull_report,
    push_capabilities,
    wait_until,
    warm_the_cache,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer
from lsp.diagnostics import NOT_CHECKED, build_failure_reason, not_checked_diagnostic
from lsp.hover import hover_markdown
from lsp.lsp_settings import parse_lsp_settings
from lsp.server import RequestFailed, SbomEnrichServer
from sbom_enrich.manifests import parse_manifest
from sbom_enrich.status.settings import ClientSettings

#: A NO_PROXY entry httpx cannot parse. The HTTP client is built lazily, except with the
#: ``maintenance`` setting, whose survey is opened with it: then the status client cannot be
#: built at all (httpx.InvalidURL), a real way for the build to fail.
BROKEN_PROXY_ENV = {"NO_PROXY": "http://[::1", "no_proxy": "http://[::1"}
TEXT = "pycrypto\nevil-pkg\nnot a requirement!\n"
CHECKED = {"sbom-enrich/archived", "sbom-enrich/quarantined", "sbom-enrich/invalid-requirement"}


@asynccontextmanager
async def broken_server(
    index: IndexServer, tmp_path: Path, capabilities: types.ClientCapabilities
) -> AsyncIterator[LanguageClient]:
    """The real server, whose HTTP client (so, with ``maintenance``, status client) cannot be
    built; its disk cache holds the answers for TEXT, so it needs no HTTP client without it."""
    await warm_the_cache(index.url, tmp_path / "cache")
    config = ClientServerConfig(
        server_command=SERVER_COMMAND,
        client_factory=make_recording_client,
        server_env={**os.environ, **BROKEN_PROXY_ENV},
    )
    client = await config.start()
    try:
        options = {"indexUrl": index.url, "cacheDir": str(tmp_path / "cache"), "maintenance": True}
        await initialize(client, capabilities, options)
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


def errors_shown(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


def codes(client: LanguageClient, uri: str) -> set[str]:
    return {str(d.code) for d in client.diagnostics.get(uri, [])}


def fix_settings(client: LanguageClient) -> None:
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"sbomEnrich": {"maintenance": False}})
    )


async def test_a_push_client_is_told_once_and_each_file_is_marked_not_checked(
    index_server: IndexServer, tmp_path: Path
) -> None:
    # Was: the build's error went to the server's log only; nothing was published, and
    # Neovim, Emacs and Vim showed every file clean.
    async with broken_server(index_server, tmp_path, push_capabilities()) as client:
        first = open_document(client, tmp_path / "requirements.txt", TEXT)
        second = open_document(client, tmp_path / "dev" / "requirements.txt", "evil-pkg\n")
        await wait_until(lambda: NOT_CHECKED in codes(client, first))
        await wait_until(lambda: NOT_CHECKED in codes(client, second))
        found = by_code(client.diagnostics[first])
        # The file's own problems are still shown; nothing says a dependency is fine.
        assert set(found) == {NOT_CHECKED, "sbom-enrich/invalid-requirement"}
        marker = found[NOT_CHECKED]
        assert marker.severity == types.DiagnosticSeverity.Warning
        assert marker.range == types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=8)
        )
        assert marker.message.startswith("sbom-enrich could not check this file: InvalidURL:")
        assert "not checked: InvalidURL" in await hover_text(client, first, 1)
        # Told once, though every open and the start each tried to build it.
        [shown] = errors_shown(client)
        assert shown.startswith("sbom-enrich could not start its status client")
        assert "InvalidURL" in shown and "\n" not in shown
        logged = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
        assert len(logged) == 1 and index_server.url in logged[0]

        fix_settings(client)
        await wait_until(lambda: codes(client, first) == CHECKED)
        await wait_until(lambda: codes(client, second) == {"sbom-enrich/quarantined"})
        assert "quarantined" in await hover_text(client, second, 0)
        assert len(errors_shown(client)) == 1


async def test_a_push_client_keeps_the_marker_while_a_settings_change_does_not_fix_it(
    index_server: IndexServer, tmp_path: Path
) -> None:
    async with broken_server(index_server, tmp_path, push_capabilities()) as client:
        uri = open_document(client, tmp_path / "requirements.txt", TEXT)
        await wait_until(lambda: NOT_CHECKED in codes(client, uri))
        before = len(published(client))
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"sbomEnrich": {"debounceMs": 10}})
        )
        # Tried again, still failing: told again (the user acted), the file still marked.
        await wait_until(lambda: len(errors_shown(client)) == 2)
        await wait_until(lambda: len(published(client)) > before)
        await answered(client)
        assert all(NOT_CHECKED in {str(d.code) for d in p.diagnostics} for p in published(client))


async def test_an_invalid_index_url_is_not_checked_rather_than_asked_of_pypi(
    index_server: IndexServer, tmp_path: Path
) -> None:
    # Was: a warning, then PyPI asked in its place (a private project's names sent there, its
    # answers shown as the configured index's; here, with no internet, every lookup failed
    # and the file showed clean).
    config = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
    client = await config.start()
    try:
        bad = {"indexUrl": "ftp://user:secret@mirror.example/simple", "cacheDir": str(tmp_path)}
        await initialize(client, push_capabilities(), bad)
        uri = open_document(client, tmp_path / "requirements.txt", TEXT)
        await wait_until(lambda: NOT_CHECKED in codes(client, uri))
        marker = by_code(client.diagnostics[uri])[NOT_CHECKED]
        assert "SettingsError: indexUrl: expected an http(s) URL" in marker.message
        [shown] = errors_shown(client)
        assert "indexUrl" in shown and "secret" not in shown
        assert not any("pypi.org" in m.message for m in client.log_messages)

        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"indexUrl": index_server.url})
        )
        await wait_until(lambda: codes(client, uri) == CHECKED)
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_pull_client_gets_request_failed_on_every_pull_until_fixed(
    index_server: IndexServer, tmp_path: Path
) -> None:
    async with broken_server(index_server, tmp_path, pull_capabilities()) as client:
        uri = open_document(client, tmp_path / "requirements.txt", TEXT)
        for _ in range(2):  # was: the second pull answered, the half-built client kept
            with pytest.raises(JsonRpcException) as failed:
                await pull_report(client, uri)
            assert failed.value.code == types.LSPErrorCodes.RequestFailed
            assert "could not start its status client: InvalidURL" in str(failed.value)
        assert len(errors_shown(client)) == 1
        assert not published(client)  # never both: a pull client gets no pushes

        fix_settings(client)
        await wait_until(lambda: client.diagnostic_refresh_count >= 1)
        assert {str(d.code) for d in await pull_report(client, uri)} == CHECKED


# -- in process ----------------------------------------------------------------------------------


class Recorder:
    """What the server would send the editor."""

    def __init__(self, server: SbomEnrichServer) -> None:
        self.shown: list[str] = []
        self.logged: list[str] = []
        server.window_show_message = lambda p: self.shown.append(p.message)  # type: ignore[method-assign]
        server.window_log_message = lambda p: self.logged.append(p.message)  # type: ignore[method-assign]


async def test_a_half_built_client_is_closed_and_built_again_next_time(tmp_path: Path) -> None:
    entered, exited = 0, 0

    @asynccontextmanager
    async def counted(settings: ClientSettings) -> AsyncIterator[Any]:
        nonlocal entered, exited
        entered += 1
        try:
            yield object()
        finally:
            exited += 1

    async def failing_survey(*_: object) -> None:
        raise OSError("no\nroom \x1b[31mhere")

    server = SbomEnrichServer(client_factory=counted, env={})
    sent = Recorder(server)
    server.settings = parse_lsp_settings({"maintenance": True}, env={}).settings
    server.open_survey = failing_survey  # type: ignore[method-assign]
    for _ in range(2):
        with pytest.raises(OSError):
            await server.status_client()
    assert (entered, exited) == (2, 2)
    assert server.build_failure == "OSError: no room here"
    assert sent.shown == [
        "sbom-enrich could not start its status client, so no file is checked: "
        "OSError: no room here"
    ]
    assert len(sent.logged) == 1
    # The same failure in a pull: RequestFailed with the sanitised reason, not told again.
    with pytest.raises(RequestFailed, match="could not start its status client: OSError: no room"):
        await server.ready_status_client(5.0)
    assert len(sent.shown) == 1


def test_the_reason_is_one_sanitised_bounded_line() -> None:
    assert build_failure_reason(ValueError("a\r\nb\x1b]8;;x\x07c\u202e")) == "ValueError: a bc"
    assert build_failure_reason(RuntimeError()) == "RuntimeError"
    assert len(build_failure_reason(OSError("x" * 5000))) < 320


def test_the_marker_spans_the_first_line_in_the_client_encoding() -> None:
    lines = ("\U0001f600pkg\n", "other\n")
    assert not_checked_diagnostic("why", lines, "utf-16").range.end.character == 5
    assert not_checked_diagnostic("why", lines, "utf-8").range.end.character == 7
    assert not_checked_diagnostic("why", (), "utf-16").range.end.character == 0


def test_hover_says_not_checked_instead_of_in_progress() -> None:
    manifest = parse_manifest("requirements.txt", "evil-pkg\n")
    assert manifest is not None
    [requirement] = manifest.requirements
    text = hover_markdown(requirement, None, not_checked="OSError: *boom*")
    assert "not checked: OSError: \\*boom\\*" in text and "in progress" not in text
    assert "in progress" in hover_markdown(requirement, None)
