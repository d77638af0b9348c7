"""A status client that cannot be built: told once, every open file marked not checked (push),
every pull RequestFailed (pull), and all of it gone once a settings change lets it build."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
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
from pygls.workspace import Workspace
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer
from lsp import server as server_module
from lsp.diagnostics import NOT_CHECKED, build_failure_reason, not_checked_diagnostic
from lsp.hover import hover_markdown
from lsp.lsp_settings import parse_lsp_settings
from lsp.server import RequestFailed, SbomEnrichServer
from sbom_enrich.manifests import parse_manifest
from sbom_enrich.status.compose import open_status_client
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
        # One pop-up for one mistake (there were two: the settings' warning, then the failed
        # build's error saying the same), an Error since no file is checked.
        [shown] = [message.message for message in client.messages]
        assert shown == errors_shown(client)[0]
        assert "indexUrl" in shown and "no index is asked" in shown and "secret" not in shown
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


def _push_server(
    tmp_path: Path, factory: Any, settings: ClientSettings
) -> tuple[SbomEnrichServer, list[types.PublishDiagnosticsParams], Recorder, str]:
    """A push server in process with requirements.txt (TEXT) open, recording what it sends."""
    server = SbomEnrichServer(client_factory=factory, env={})
    server.settings = replace(parse_lsp_settings({}, env={}).settings, client=settings)
    sent = Recorder(server)
    published: list[types.PublishDiagnosticsParams] = []
    server.text_document_publish_diagnostics = published.append  # type: ignore[method-assign]
    server.protocol._workspace = Workspace(None)  # what initialize would set up
    uri = (tmp_path / "requirements.txt").as_uri()
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="pip", version=1, text=TEXT)
    )
    return server, published, sent, uri


async def test_a_failed_build_is_tried_again_on_its_own_with_a_growing_wait(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache or network problem that clears brings the diagnostics back without an edit:
    the build was tried again only on an open, edit, save or settings change, and a file left
    alone stayed 'not checked' for good."""
    monkeypatch.setattr(server_module, "REBUILD_FIRST_SECONDS", 0.01)
    monkeypatch.setattr(server_module, "REBUILD_MAX_SECONDS", 0.02)
    settings = ClientSettings(index_url=index_server.url, cache_dir=tmp_path / "cache")
    tries = 0

    def factory(_: ClientSettings) -> Any:
        nonlocal tries
        tries += 1
        if tries <= 3:
            raise OSError("the cache is on a disk that is not mounted yet")
        return open_status_client(settings)

    server, published, sent, uri = _push_server(tmp_path, factory, settings)
    waits: list[float] = []
    rebuild_after = server.rebuild_after

    async def recorded(delay: float) -> None:
        waits.append(delay)
        await rebuild_after(delay)

    server.rebuild_after = recorded  # type: ignore[method-assign]
    try:
        await server.refresh(uri)  # the file is opened; the build fails
        await wait_until(lambda: published and codes_of(published[-1]) >= CHECKED)
    finally:
        await server.close_status_client()
    assert tries == 4 and waits == [0.01, 0.02, 0.02]  # doubling, up to the cap
    # Until then the file was shown not checked, never clean; told once.
    marked = [p for p in published if NOT_CHECKED in codes_of(p)]
    assert published.index(marked[-1]) < published.index(published[-1])
    assert all(NOT_CHECKED in codes_of(p) for p in published[: published.index(marked[-1]) + 1])
    assert NOT_CHECKED not in codes_of(published[-1])
    assert len(sent.shown) == 1


def codes_of(params: types.PublishDiagnosticsParams) -> set[str]:
    return {str(d.code) for d in params.diagnostics}


async def test_shutting_down_cancels_the_timed_try(tmp_path: Path) -> None:
    def factory(_: ClientSettings) -> Any:
        raise OSError("no cache")

    server, _, _, uri = _push_server(tmp_path, factory, ClientSettings())
    await server.refresh(uri)
    timer = server._rebuild
    assert timer is not None and not timer.done()
    await server.close_status_client()  # what shutdown does
    await asyncio.wait({timer})
    assert timer.cancelled() and server._rebuild is None


async def test_an_invalid_index_is_not_tried_again_on_a_timer(tmp_path: Path) -> None:
    # Only a settings change can fix it (and builds again at once).
    def factory(_: ClientSettings) -> Any:
        raise AssertionError("no client is built for a refused index")

    server, _, sent, uri = _push_server(tmp_path, factory, ClientSettings())
    server.settings = parse_lsp_settings({"indexUrl": "ftp://mirror.example/simple"}, {}).settings
    await server.refresh(uri)
    assert server.build_failure is not None and server._rebuild is None
    # Nor is the failure shown: the settings' message said it (parsed here, not applied).
    assert sent.shown == []


def test_the_same_invalid_settings_sent_again_are_not_shown_again() -> None:
    # Neovim 0.11 repeats its settings in a didChangeConfiguration at start: the invalid index
    # was shown twice. A change that leaves it invalid is shown again (the user acted).
    server = SbomEnrichServer(env={})
    sent = Recorder(server)
    bad = {"indexUrl": "ftp://mirror.example/simple"}
    for _ in range(2):
        server.apply_settings(parse_lsp_settings(bad, env={}), bad)
    assert len(sent.shown) == 1 and "invalid settings: indexUrl" in sent.shown[0]
    changed = {**bad, "debounceMs": 10}
    server.apply_settings(parse_lsp_settings(changed, env={}), changed)
    assert len(sent.shown) == 2
