"""End to end: pull-capable client, code actions, configuration changes, UTF-16, outages."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest_lsp
from lsp_e2e_support import (
    SERVER_COMMAND,
    WAIT_TIMEOUT,
    hover_text,
    initialize,
    make_recording_client,
    open_document,
    published,
    pull_capabilities,
    pull_report,
    push_capabilities,
    wait_until,
)
from lsp_fixtures import apply_edits
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer
from lsp.lsp_settings import parse_lsp_settings
from sbom_enrich.status.compose import open_status_client

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
#: The default index, when settings fall back to it, is a closed local port: never PyPI.
CLOSED_DEFAULT_INDEX = ClientServerConfig(
    server_command=SERVER_COMMAND,
    client_factory=make_recording_client,
    server_env={**os.environ, "SBOM_ENRICH_INDEX_URL": "http://127.0.0.1:9/simple/"},
)


@pytest_lsp.fixture(config=CONFIG)
async def pull_client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    await initialize(
        lsp_client,
        pull_capabilities(),
        {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache")},
    )
    yield
    await lsp_client.shutdown_session()


async def warm_the_cache(index_url: str, cache_dir: Path, names: list[str]) -> None:
    """Look ``names`` up as the server would, so that its disk cache answers them."""
    options = {"indexUrl": index_url, "cacheDir": str(cache_dir)}
    async with open_status_client(parse_lsp_settings(options, env={}).settings.client) as status:
        records = [record async for record in status.lookup_many(names)]
    assert len(records) == len(names) and not any(record.error for record in records)


@pytest_lsp.fixture(config=CONFIG)
async def pull_only_client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    # Pulls but cannot be told to pull again (no workspace.diagnostics.refreshSupport), like
    # Neovim 0.11: pull would leave an opened file bare until the user edits it.
    capabilities = pull_capabilities()
    capabilities.workspace = None
    result = await initialize(
        lsp_client,
        capabilities,
        {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache")},
    )
    lsp_client.initialize_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    # Invalid severity word: one showMessage warning, defaults used.
    await initialize(
        lsp_client,
        push_capabilities(),
        {
            "indexUrl": index_server.url,
            "cacheDir": str(tmp_path / "cache"),
            "severity": {"archived": "loud"},
        },
    )
    yield
    await lsp_client.shutdown_session()


async def pull_when_refreshed(
    client: LanguageClient,
    uri: str,
    complete: Callable[[list[types.Diagnostic]], bool],
    *,
    after: int = -1,
    timeout: float = WAIT_TIMEOUT,
) -> list[types.Diagnostic]:
    """Pull as VS Code does, each time the server asks for a refresh (and once at first unless
    ``after`` is the refresh count already seen); the first report that is ``complete``.

    The server publishes as lookups answer: the first refresh may come before the last answer.
    """
    seen, pulls = after, 0
    items: list[types.Diagnostic] = []
    deadline = time.monotonic() + timeout
    while True:
        if client.diagnostic_refresh_count != seen:
            seen = client.diagnostic_refresh_count  # read before pulling: none is missed
            items, pulls = await pull_report(client, uri), pulls + 1
            if complete(items):
                return items
        if time.monotonic() > deadline:
            codes = [(str(d.code), d.severity) for d in items]
            raise AssertionError(
                f"no complete report within {timeout} s: {pulls} pulls, the last {codes}"
            )
        await asyncio.sleep(0.02)


async def test_pull_client_gets_reports_and_refresh_never_pushes(
    pull_client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_document(pull_client, tmp_path / "requirements.txt", "pycrypto\nevil-pkg\n")
    # Both answers: the first refresh can come while the other lookup is still in flight.
    items = await pull_when_refreshed(pull_client, uri, lambda items: len(items) >= 2)
    assert sorted(str(d.code) for d in items) == [
        "sbom-enrich/archived",
        "sbom-enrich/quarantined",
    ]
    # A pull can see both answers before their refresh is sent: it comes all the same.
    await wait_until(lambda: pull_client.diagnostic_refresh_count > 0)
    assert published(pull_client) == []  # never both: no pushed diagnostics for a pull client


async def test_a_settings_change_asks_a_pull_client_to_pull_again(
    pull_client: LanguageClient, tmp_path: Path, index_server: IndexServer
) -> None:
    # Issue 15 (VS Code): a severity or ignore change showed only at the next pull; with every
    # answer cached no lookup completes, so nothing else would send the refresh. The answers
    # are in the disk cache before the file opens: no lookup is made, so no lookup's refresh
    # can arrive late and stand in for the one the settings change must send.
    await warm_the_cache(index_server.url, tmp_path / "cache", ["pycrypto", "evil-pkg"])
    uri = open_document(pull_client, tmp_path / "requirements.txt", "pycrypto\nevil-pkg\n")
    assert len(await pull_when_refreshed(pull_client, uri, lambda items: len(items) == 2)) == 2
    before = pull_client.diagnostic_refresh_count
    pull_client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={
                "sbomEnrich": {
                    "indexUrl": index_server.url,
                    "cacheDir": str(tmp_path / "cache"),
                    "severity": {"archived": "error"},
                    "ignore": ["Evil_Pkg"],
                }
            }
        )
    )
    items = await pull_when_refreshed(pull_client, uri, lambda items: len(items) == 1, after=before)
    assert [(str(d.code), d.severity) for d in items] == [
        ("sbom-enrich/archived", types.DiagnosticSeverity.Error)
    ]
    assert published(pull_client) == []


async def test_client_that_cannot_be_refreshed_gets_pushed_diagnostics(
    pull_only_client: LanguageClient, tmp_path: Path
) -> None:
    result = pull_only_client.initialize_result  # type: ignore[attr-defined]
    assert result.capabilities.diagnostic_provider is None  # so it never pulls
    uri = open_document(pull_only_client, tmp_path / "requirements.txt", "pycrypto\nevil-pkg\n")
    await wait_until(lambda: len(pull_only_client.diagnostics.get(uri, [])) == 2)
    assert sorted(str(d.code) for d in pull_only_client.diagnostics[uri]) == [
        "sbom-enrich/archived",
        "sbom-enrich/quarantined",
    ]
    assert pull_only_client.diagnostic_refresh_count == 0


async def test_invalid_setting_warns_once_and_uses_the_default(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_document(client, tmp_path / "requirements.txt", "pycrypto\n")
    await wait_until(lambda: client.diagnostics.get(uri))
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    warnings = [m for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1 and "severity.archived" in warnings[0].message


async def test_configuration_change_applies_severity_and_ignore(
    client: LanguageClient, tmp_path: Path, index_server: IndexServer
) -> None:
    uri = open_document(client, tmp_path / "requirements.txt", "pycrypto\nevil-pkg\n")
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) == 2)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={
                "sbomEnrich": {
                    "indexUrl": index_server.url,
                    "cacheDir": str(tmp_path / "cache"),
                    "severity": {"archived": "error"},
                    "ignore": ["Evil_Pkg"],
                }
            }
        )
    )
    await wait_until(
        lambda: (
            [(str(d.code), d.severity) for d in client.diagnostics[uri]]
            == [("sbom-enrich/archived", types.DiagnosticSeverity.Error)]
        )
    )


async def test_a_yanked_pin_gets_pin_to_latest_from_the_server(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_document(client, tmp_path / "requirements.txt", "nose==1.3.6\n")
    await wait_until(
        lambda: "sbom-enrich/yanked" in {str(d.code) for d in client.diagnostics.get(uri, [])}
    )
    [yanked] = [d for d in client.diagnostics[uri] if d.code == "sbom-enrich/yanked"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=yanked.range,
            context=types.CodeActionContext(diagnostics=[yanked]),
        )
    )
    by_title = {a.title: a for a in actions or [] if isinstance(a, types.CodeAction)}
    pin = by_title["Pin nose to 1.3.7 (latest not yanked)"]
    assert pin.is_preferred and list(pin.diagnostics or ()) == [yanked]
    assert pin.edit is not None and pin.edit.changes is not None
    [edit] = pin.edit.changes[uri]
    assert (edit.range, edit.new_text) == (yanked.range, "1.3.7")
    assert "Ignore nose (add '# sbom-enrich: ignore[nose]')" in by_title


async def test_code_actions_replace_and_ignore(client: LanguageClient, tmp_path: Path) -> None:
    text = 'pycrypto[x]==2.6.1 ; python_version < "3.12"\n'
    uri = open_document(client, tmp_path / "requirements.txt", text)
    await wait_until(lambda: client.diagnostics.get(uri))
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=0, character=2), end=types.Position(line=0, character=2)
            ),
            context=types.CodeActionContext(diagnostics=list(client.diagnostics[uri])),
        )
    )
    assert actions is not None
    by_title = {a.title: a for a in actions if isinstance(a, types.CodeAction)}
    assert "Replace pycrypto with pycryptodome" in by_title
    assert "Ignore pycrypto (add '# sbom-enrich: ignore[pycrypto]')" in by_title
    replace = by_title["Replace pycrypto with pycryptodome"]
    assert replace.kind == types.CodeActionKind.QuickFix
    assert replace.diagnostics and replace.diagnostics[0].code == "sbom-enrich/archived"
    assert replace.edit is not None and replace.edit.changes is not None
    after = apply_edits(text, replace.edit.changes[uri], "utf-16")
    assert after == 'pycryptodome[x] ; python_version < "3.12"\n'


async def test_pyproject_ranges_are_utf16(client: LanguageClient, tmp_path: Path) -> None:
    text = (
        '[project]\nname = "x"\ndependencies = ["requests ; python_version > \'é𝄞\'", "evil-pkg"]\n'
    )
    uri = open_document(client, tmp_path / "pyproject.toml", text)
    await wait_until(lambda: client.diagnostics.get(uri))
    (diagnostic,) = client.diagnostics[uri]
    line = text.splitlines()[2]
    utf16 = len(line[: line.index("evil-pkg")].encode("utf-16-le")) // 2
    assert (diagnostic.range.start.line, diagnostic.range.start.character) == (2, utf16)
    assert diagnostic.range.end.character == utf16 + 8


@pytest_lsp.fixture(config=CONFIG)
async def outage_client(lsp_client: LanguageClient, tmp_path: Path):
    # Nothing listens on port 9 of 127.0.0.1: every lookup fails on the network.
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": "http://127.0.0.1:9/simple/", "cacheDir": str(tmp_path / "cache")},
    )
    yield
    await lsp_client.shutdown_session()


async def test_network_failure_is_logged_once_not_per_line(
    outage_client: LanguageClient, tmp_path: Path
) -> None:
    """Logged once, and shown once for the file (not per line): "could not tell" must never
    look like "fine", and the file was published with no diagnostic at all."""
    names = "".join(f"project-{i}\n" for i in range(10))
    uri = open_document(outage_client, tmp_path / "requirements.txt", names)
    # Every lookup has failed (each hover says so), not only the first: a message per line
    # would come with the later ones.
    for line in range(10):
        deadline = time.monotonic() + WAIT_TIMEOUT
        while "Lookup failed:" not in (text := await hover_text(outage_client, uri, line)):
            assert time.monotonic() < deadline, text
            await asyncio.sleep(0.02)
    await wait_until(lambda: len(published(outage_client)) >= 2)
    failures = [m for m in outage_client.log_messages if "cannot get project status" in m.message]
    assert len(failures) == 1

    def marked() -> bool:
        shown = list(outage_client.diagnostics.get(uri, []))
        return len(shown) == 1 and "10 lookups failed" in shown[0].message

    await wait_until(marked)
    [marker] = outage_client.diagnostics[uri]
    assert marker.code == "sbom-enrich/not-checked"
    assert marker.severity == types.DiagnosticSeverity.Warning
    assert marker.range.start.line == marker.range.end.line == 0
    assert marker.message.startswith(
        "sbom-enrich could not check this file: 10 lookups failed (project-0, project-1, "
        "project-2 and 7 more): "
    )


@pytest_lsp.fixture(config=CLOSED_DEFAULT_INDEX)
async def eglot_like_client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache")},
    )
    yield
    await lsp_client.shutdown_session()


async def test_a_partial_configuration_change_keeps_the_initialization_options(
    eglot_like_client: LanguageClient, tmp_path: Path
) -> None:
    # Issue 15: Eglot sends eglot-workspace-configuration as it is, here one severity. The
    # server replaced all its settings with it, lost indexUrl and asked the default index.
    client = eglot_like_client
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"sbomEnrich": {"severity": {"archived": "error"}}}
        )
    )
    uri = open_document(client, tmp_path / "requirements.txt", "pycrypto\nnose\n")
    await wait_until(
        lambda: (
            sorted((str(d.code), d.severity) for d in client.diagnostics.get(uri, []))
            == [
                ("sbom-enrich/archived", types.DiagnosticSeverity.Error),
                ("sbom-enrich/deprecated", types.DiagnosticSeverity.Warning),
            ]
        )
    )
