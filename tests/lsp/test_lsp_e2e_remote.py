"""End to end: packages installed from a URL or a remote repository in the editor.

`check` asks their names on the index (a quarantine fails the gate; other statuses may be a
namesake's and are shown); the editor must say no less for the same file.
"""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from lsp_e2e_support import (
    SERVER_COMMAND,
    answered,
    initialize,
    make_recording_client,
    open_document,
    push_capabilities,
    wait_until,
    warm_the_cache,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer

#: Every name the documents below ask, answered from the disk cache at once: the first
#: publish after opening a document holds all of its diagnostics.
NAMES = ("evil-pkg", "nose", "pycrypto", "requests")
Severity = types.DiagnosticSeverity


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
)
async def client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    await warm_the_cache(index_server.url, tmp_path / "cache", NAMES)
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 50},
    )
    yield
    await lsp_client.shutdown_session()


def covered(text: str, diagnostic: types.Diagnostic) -> str:
    """The text a diagnostic covers (one line)."""
    start, end = diagnostic.range.start, diagnostic.range.end
    return text.splitlines()[start.line][start.character : end.character]


def by_name(client: LanguageClient, uri: str, text: str) -> dict[str, types.Diagnostic]:
    """The document's diagnostics by the text they cover (the last one of each)."""
    return {covered(text, d): d for d in client.diagnostics.get(uri, [])}


async def hover_at(client: LanguageClient, uri: str, line: int, character: int) -> str:
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


REQUIREMENTS = """\
evil-pkg @ https://files.example/evil_pkg-0.0.1-py3-none-any.whl
nose @ git+https://git.example/corp/nose@v1
vendored @ file:///opt/wheels/vendored-1.0-py3-none-any.whl
pycrypto==2.6.1
"""


async def test_a_direct_reference_to_a_remote_file_is_asked_by_name(
    client: LanguageClient, tmp_path: Path
) -> None:
    """`evil-pkg @ https://…` was skipped without a word while `check` failed the same file
    on the quarantine of that name. Now: the quarantine as usual; nose's deprecation (maybe
    a namesake's: a private nose from git) as Information, never a struck-through warning;
    a file on this disk still unchecked, and its hover says so."""
    uri = open_document(client, tmp_path / "requirements.txt", REQUIREMENTS)
    await wait_until(lambda: "pycrypto" in by_name(client, uri, REQUIREMENTS))
    await answered(client)
    found = by_name(client, uri, REQUIREMENTS)
    assert sorted(found) == ["evil-pkg", "nose", "pycrypto"]
    evil = found["evil-pkg"]
    assert (evil.code, evil.severity) == ("sbom-enrich/quarantined", Severity.Error)
    assert "the index's status of the name evil-pkg, which this file installs from a URL" in (
        evil.message
    )
    nose = found["nose"]
    assert (nose.code, nose.severity, nose.tags) == (
        "sbom-enrich/deprecated", Severity.Information, None,
    )  # fmt: skip
    assert "installs from a git repository: the index's project of that name may be" in (
        nose.message
    )
    assert found["pycrypto"].severity is Severity.Warning  # from the index: as configured
    text = await hover_at(client, uri, 0, 2)
    assert text.startswith(
        "**evil-pkg** is installed from a URL; the index's status of this name: **quarantined**"
    )
    assert "a file or folder on this disk" in await hover_at(client, uri, 2, 2)


async def test_a_lock_entry_from_git_or_a_url_is_asked_by_name_without_version_facts(
    client: LanguageClient, tmp_path: Path, index_server: IndexServer
) -> None:
    """A uv.lock's git and URL entries were skipped in the editor: evil-pkg's quarantine was
    not shown. nose 1.3.6 is yanked on the index, but this nose comes from git: the index's
    yank is about another file, so neither a diagnostic nor the hover says it."""
    text = (
        'version = 1\n\n[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n'
        'source = { url = "https://files.example/evil_pkg-0.0.1-py3-none-any.whl" }\n'
        '\n[[package]]\nname = "nose"\nversion = "1.3.6"\n'
        'source = { git = "https://git.example/corp/nose?rev=v1#abc" }\n'
        '\n[[package]]\nname = "pycrypto"\nversion = "2.6.1"\n'
        f'source = {{ registry = "{index_server.url}" }}\n'
    )
    uri = open_document(client, tmp_path / "uv.lock", text)
    await wait_until(lambda: "pycrypto" in by_name(client, uri, text))
    await answered(client)
    found = by_name(client, uri, text)
    assert {name: (str(d.code), d.severity) for name, d in found.items()} == {
        "evil-pkg": ("sbom-enrich/quarantined", Severity.Error),
        "nose": ("sbom-enrich/deprecated", Severity.Information),
        "pycrypto": ("sbom-enrich/archived", Severity.Warning),
    }
    line = text.splitlines().index('name = "nose"')
    hover = await hover_at(client, uri, line, 9)
    assert hover.startswith("**nose** is installed from a git repository; the index's status")
    assert "yanked" not in hover


async def test_what_a_dependency_pulls_in_from_a_url_is_blamed_only_when_quarantined(
    client: LanguageClient, tmp_path: Path, index_server: IndexServer
) -> None:
    """The lock beside a pyproject.toml: requests pulls in evil-pkg from a URL (its name
    quarantined) and pycrypto from git (its name archived, maybe a namesake's). The editor
    ignored both; `check` on the lock fails on the first and shows the second. The direct
    `nose @ git+…` in [project] gets its Information too."""
    registry = f'source = {{ registry = "{index_server.url}" }}'
    (tmp_path / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\n'
        'source = { editable = "." }\n'
        'dependencies = [{ name = "requests" }, { name = "nose" }]\n'
        f'\n[[package]]\nname = "requests"\nversion = "2.32.3"\n{registry}\n'
        'dependencies = [{ name = "evil-pkg" }, { name = "pycrypto" }]\n'
        '\n[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n'
        'source = { url = "https://files.example/evil_pkg-0.0.1-py3-none-any.whl" }\n'
        '\n[[package]]\nname = "pycrypto"\nversion = "2.6.1"\n'
        'source = { git = "https://git.example/corp/pycrypto?rev=v1#abc" }\n'
        '\n[[package]]\nname = "nose"\nversion = "1.3.7"\n'
        'source = { git = "https://git.example/corp/nose?rev=v1#abc" }\n'
    )
    text = (
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = [\n  "requests",\n'
        '  "nose @ git+https://git.example/corp/nose@v1",\n]\n'
    )
    uri = open_document(client, tmp_path / "pyproject.toml", text)
    await wait_until(lambda: uri in client.diagnostics)  # every answer cached: one publish
    await answered(client)
    codes = sorted((covered(text, d), str(d.code), d.severity) for d in client.diagnostics[uri])
    assert codes == [
        ("nose", "sbom-enrich/deprecated", Severity.Information),
        ("requests", "sbom-enrich/pulls-in-quarantined", Severity.Error),
    ]


async def test_an_include_tells_of_a_quarantined_name_installed_from_a_url(
    client: LanguageClient, tmp_path: Path
) -> None:
    """`-r remote.txt`: its `evil-pkg @ https://…` was not counted on the include line; now
    its quarantine is, and nose's status (maybe a namesake's) is not told there."""
    (tmp_path / "remote.txt").write_text(REQUIREMENTS)
    text = "-r remote.txt\nrequests\n"
    uri = open_document(client, tmp_path / "requirements.txt", text)
    await wait_until(lambda: "remote.txt" in by_name(client, uri, text))
    await answered(client)
    messages = sorted(d.message for d in client.diagnostics[uri])
    assert messages == [
        "remote.txt: 1 of 3 packages archived: pycrypto",
        "remote.txt: 1 of 3 packages quarantined: evil-pkg",
    ]
