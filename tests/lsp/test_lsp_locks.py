"""End to end: lock files in the editor, and what a pyproject's dependencies pull in."""

from __future__ import annotations

from pathlib import Path

import msgspec
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

from indexserver import IndexServer, MakeIndexServer, ProjectSpec, release


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
)
async def client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 50},
    )
    (tmp_path / "index.url").write_text(index_server.url)
    yield
    await lsp_client.shutdown_session()


PYPROJECT = (
    '[project]\nname = "app"\nversion = "0.1"\ndependencies = [\n  "requests",\n  "nose",\n]\n'
)


def write_lock(folder: Path) -> str:
    index = (folder / "index.url").read_text()
    text = f"""\
version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1"
source = {{ editable = "." }}
dependencies = [{{ name = "requests" }}, {{ name = "nose" }}]

[[package]]
name = "requests"
version = "2.32.3"
source = {{ registry = "{index}" }}
dependencies = [{{ name = "zope-interface" }}]

[[package]]
name = "zope-interface"
version = "7.2"
source = {{ registry = "{index}" }}
dependencies = [{{ name = "pycrypto" }}]

[[package]]
name = "pycrypto"
version = "2.6.1"
source = {{ registry = "{index}" }}

[[package]]
name = "nose"
version = "1.3.7"
source = {{ registry = "{index}" }}
dependencies = [{{ name = "evil-pkg" }}]

[[package]]
name = "evil-pkg"
version = "0.0.1"
source = {{ registry = "{index}" }}
"""
    (folder / "uv.lock").write_text(text)
    return text


async def test_the_direct_dependency_that_pulls_in_an_archived_package_is_marked(
    client: LanguageClient, tmp_path: Path
) -> None:
    write_lock(tmp_path)
    uri = open_document(client, tmp_path / "pyproject.toml", PYPROJECT)

    def pulls_in() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(uri, []) if "pulls-in" in str(d.code)]

    await wait_until(lambda: len(pulls_in()) >= 2)
    by_code = {str(d.code): d for d in pulls_in()}
    archived = by_code["sbom-enrich/pulls-in-archived"]
    assert archived.message == (
        "requests pulls in pycrypto, which is archived "
        "(requests → zope-interface → pycrypto, per uv.lock)"
    )
    assert archived.range == types.Range(
        start=types.Position(line=4, character=3), end=types.Position(line=4, character=11)
    )
    quarantined = by_code["sbom-enrich/pulls-in-quarantined"]
    assert quarantined.message.startswith("nose pulls in evil-pkg, which is quarantined")
    assert quarantined.range.start.line == 5
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=5),
        )
    )
    assert hover is not None
    contents = hover.contents
    assert isinstance(contents, types.MarkupContent)
    assert "Pulls in, per uv.lock:" in contents.value
    assert "**archived**: requests → zope-interface → pycrypto" in contents.value


async def test_a_uv_lock_opened_in_the_editor_gets_diagnostics_on_its_names(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = write_lock(tmp_path)
    uri = open_document(client, tmp_path / "uv.lock", text)
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) >= 3)
    codes = sorted(str(d.code) for d in client.diagnostics[uri])
    assert codes == [
        "sbom-enrich/archived", "sbom-enrich/deprecated", "sbom-enrich/quarantined",
    ]  # fmt: skip
    archived = next(d for d in client.diagnostics[uri] if "archived" in str(d.code))
    line = text.splitlines()[archived.range.start.line]
    assert line[archived.range.start.character : archived.range.end.character] == "pycrypto"
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=archived.range,
            context=types.CodeActionContext(diagnostics=[archived]),
        )
    )
    assert not actions  # a lock file is the tool's to write


async def test_a_package_locked_from_another_index_is_asked_there(
    client: LanguageClient, tmp_path: Path, make_index_server: MakeIndexServer
) -> None:
    # The configured index has "evil-pkg" quarantined; this lock takes it from a private
    # index where it is archived. As `check` does, the editor asks the index the lock names:
    # the configured index's answer would be about another project of the same name.
    # It lists the locked 0.0.1 (else the lock's version is, rightly, shown as not listed).
    evil = ProjectSpec(
        "evil-pkg", status="archived", reason="moved", files=release("evil-pkg", "0.0.1")
    )
    private = make_index_server([evil])
    head = 'name = "evil-pkg"\nversion = "0.0.1"\nsource = { registry = "'
    text = write_lock(tmp_path).replace(head, head + private.url + '" }\n# was: "')
    uri = open_document(client, tmp_path / "uv.lock", text)
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) >= 4)
    by_name = sorted(
        (text.splitlines()[d.range.start.line][d.range.start.character : d.range.end.character],
         str(d.code))
        for d in client.diagnostics[uri]
    )  # fmt: skip
    assert by_name == [
        ("evil-pkg", "sbom-enrich/archived"),  # the private index's answer
        # and the configured index's quarantine of the name, as `check` fails on it
        ("evil-pkg", "sbom-enrich/quarantined"),
        ("nose", "sbom-enrich/deprecated"),
        ("pycrypto", "sbom-enrich/archived"),
    ]
    evil = next(d for d in client.diagnostics[uri] if str(d.code) == "sbom-enrich/archived"
                and "evil-pkg" in d.message)  # fmt: skip
    assert "moved" in evil.message
    assert private.stats.by_project["evil-pkg"] >= 1


async def test_a_lock_index_the_editor_may_not_ask_is_left_unchecked_and_says_so(
    client: LanguageClient, tmp_path: Path
) -> None:
    # An index with a query is never asked (it would hit the index root for every name);
    # the package is left unchecked, never shown as fine, and the hover says why.
    head = 'name = "evil-pkg"\nversion = "0.0.1"\nsource = { registry = "'
    query = head + 'https://corp.example/simple/?token=s3cret" }\n# was: "'
    text = write_lock(tmp_path).replace(head, query)
    uri = open_document(client, tmp_path / "uv.lock", text)
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) >= 3)
    codes = sorted(str(d.code) for d in client.diagnostics[uri])
    # evil-pkg's own status is not shown; the configured index's quarantine of its name is.
    assert codes == ["sbom-enrich/archived", "sbom-enrich/deprecated", "sbom-enrich/quarantined"]
    line = next(i for i, t in enumerate(text.splitlines()) if t == 'name = "evil-pkg"')
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=9),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "which the editor does not ask" in hover.contents.value
    assert "corp.example" in hover.contents.value
    # ... and that the configured index quarantines its name (the diagnostic beside it).
    index = (tmp_path / "index.url").read_text()
    assert f"**Quarantined on {index}** (the configured index): Reported as malware" in (
        hover.contents.value
    )


def test_which_lock_indexes_the_editor_asks() -> None:
    from dataclasses import replace

    from lsp.diagnostics import locked_elsewhere, lookup_key, split_key
    from lsp.lsp_settings import LspSettings
    from sbom_enrich.manifests import parse_lock_text
    from sbom_enrich.status.settings import ClientSettings

    lock = parse_lock_text(
        "uv.lock",
        '[[package]]\nname = "a"\nversion = "1"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        '\n[[package]]\nname = "b"\nversion = "1"\n'
        'source = { registry = "https://corp.example/simple" }\n'
        '\n[[package]]\nname = "c"\nversion = "1"\n'
        'source = { registry = "https://corp.example/simple?x=1" }\n',
    )
    a, b, c = lock.requirements
    settings = LspSettings(client=ClientSettings(index_url="https://pypi.org/simple/"))
    assert locked_elsewhere(a, settings) is None  # trailing slash aside, the same index
    assert lookup_key(a, settings) == "a"
    assert locked_elsewhere(b, settings) is None  # asked there
    assert split_key(lookup_key(b, settings)) == ("b", "https://corp.example/simple/")
    assert locked_elsewhere(c, settings) is not None  # a query: never asked
    # An allowed index with credentials is asked with them (as `check` routes it).
    allowing = replace(
        settings,
        client=msgspec.structs.replace(
            settings.client, allowed_indexes=("https://u:p@corp.example/simple/",)
        ),
    )
    assert split_key(lookup_key(b, allowing)) == ("b", "https://u:p@corp.example/simple/")
    # The setting off: only indexUrl is asked; b is left unchecked.
    off = replace(settings, lock_indexes=False)
    assert locked_elsewhere(b, off) == "https://corp.example/simple/"
    assert locked_elsewhere(a, off) is None


def test_a_lock_that_is_a_device_or_a_fifo_is_not_read(tmp_path: Path) -> None:
    import os

    from lsp.locks import LockReader
    from sbom_enrich.manifests import parse_manifest

    text = '[project]\nname = "app"\nversion = "1"\ndependencies = ["requests"]\n'
    (tmp_path / "pyproject.toml").write_text(text)
    manifest = parse_manifest("pyproject.toml", text)
    assert manifest is not None
    # A lock beside the pyproject that never ends (/dev/zero) would run the editor's server
    # out of memory; one that never opens (a FIFO) would hang it. Neither is read.
    (tmp_path / "uv.lock").symlink_to("/dev/zero")
    assert LockReader().beside(str(tmp_path / "pyproject.toml"), manifest) is None
    (tmp_path / "uv.lock").unlink()
    os.mkfifo(tmp_path / "uv.lock")
    assert LockReader().beside(str(tmp_path / "pyproject.toml"), manifest) is None


def test_one_dependency_pulling_in_many_adverse_packages_gets_a_bounded_count(
    tmp_path: Path,
) -> None:
    from lsp_fixtures import record

    from lsp.locks import MAX_PULLED_IN_DIAGNOSTICS, LockReader, pulled_in_diagnostics
    from lsp.lsp_settings import LspSettings
    from sbom_enrich.manifests import parse_manifest
    from sbom_enrich.status.model import ProjectStatus

    # A hostile lock: "hub" pulls in 500 packages, every one archived (one quarantined).
    names = [f"dep{i:03d}" for i in range(500)]
    deps = ", ".join(f'{{ name = "{n}" }}' for n in names)
    registry = 'source = { registry = "https://pypi.org/simple" }'
    packages = "".join(f'\n[[package]]\nname = "{n}"\nversion = "1"\n{registry}\n' for n in names)
    (tmp_path / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\n'
        'source = { editable = "." }\ndependencies = [{ name = "hub" }]\n\n'
        '[[package]]\nname = "hub"\nversion = "1"\n'
        f'source = {{ registry = "https://pypi.org/simple" }}\ndependencies = [{deps}]\n' + packages
    )
    text = '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["hub"]\n'
    manifest = parse_manifest(str(tmp_path / "pyproject.toml"), text)
    assert manifest is not None
    lock = LockReader().beside(str(tmp_path / "pyproject.toml"), manifest)
    assert lock is not None
    records = {n: record(n, ProjectStatus.ARCHIVED) for n in names}
    records["dep499"] = record("dep499", ProjectStatus.QUARANTINED)
    records["hub"] = record("hub", ProjectStatus.ACTIVE)
    found = pulled_in_diagnostics(
        manifest, lock, records, LspSettings(), text.splitlines(), "utf-16"
    )
    assert len(found) == MAX_PULLED_IN_DIAGNOSTICS + 1
    more = found[-1]
    assert more.code == "sbom-enrich/pulls-in-more"
    assert "490 more" in more.message
    # The quarantined one among the rest makes the count as severe as it is.
    assert more.severity == types.DiagnosticSeverity.Error


def lock_routing(folder: Path, private_url: str, *names: str) -> str:
    """:func:`write_lock`'s uv.lock with ``names`` locked from ``private_url``."""
    text = write_lock(folder)
    for name in names:
        head = f'name = "{name}"\nversion = "'
        start = text.index(head)
        registry = text.index("source = { registry = ", start)
        end = text.index("}", registry)
        text = text[:registry] + f'source = {{ registry = "{private_url}" }}' + text[end + 1 :]
    (folder / "uv.lock").write_text(text)
    return text


def spans(text: str, diagnostics: list[types.Diagnostic]) -> list[tuple[str, str]]:
    lines = text.splitlines()
    return sorted(
        (lines[d.range.start.line][d.range.start.character : d.range.end.character], str(d.code))
        for d in diagnostics
    )


async def test_a_lock_that_sends_a_quarantined_name_to_its_own_index_is_still_flagged(
    client: LanguageClient, tmp_path: Path, make_index_server: MakeIndexServer
) -> None:
    # A hostile lock: its own index says "evil-pkg" (quarantined on the configured index) and
    # "pycrypto" (archived there) are active. `check` fails on evil-pkg's quarantine; the
    # editor shows it on the lock entry at a quarantine's severity, and nothing for pycrypto:
    # a namesake's archived status is no business of this lock.
    private = make_index_server(
        [
            ProjectSpec("evil-pkg", files=release("evil-pkg", "0.0.1")),
            ProjectSpec("pycrypto", files=release("pycrypto", "2.6.1")),
        ]
    )
    text = lock_routing(tmp_path, private.url, "evil-pkg", "pycrypto")
    uri = open_document(client, tmp_path / "uv.lock", text)
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) >= 2)
    await wait_until(lambda: private.stats.by_project.get("pycrypto", 0) >= 1)
    assert spans(text, client.diagnostics[uri]) == [
        ("evil-pkg", "sbom-enrich/quarantined"),
        ("nose", "sbom-enrich/deprecated"),
    ]
    [evil] = [d for d in client.diagnostics[uri] if "evil-pkg" in d.message]
    assert evil.severity == types.DiagnosticSeverity.Error  # a quarantine's, as on any name
    assert "Reported as malware" in evil.message
    index = (tmp_path / "index.url").read_text()
    assert f"the status on {index}, the configured index" in evil.message
    assert "installs from another index" in evil.message
    assert private.stats.by_project["evil-pkg"] >= 1  # the lock's index is still asked
    line = next(i for i, t in enumerate(text.splitlines()) if t == 'name = "evil-pkg"')
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=9),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**active**" in hover.contents.value  # the lock's index's answer, as before
    assert f"**Quarantined on {index}** (the configured index): Reported as malware" in (
        hover.contents.value
    )

    # Beside a pyproject.toml: the direct dependency that pulls it in is blamed too.
    pyproject = open_document(client, tmp_path / "pyproject.toml", PYPROJECT)

    def pulls_in() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(pyproject, []) if "pulls-in" in str(d.code)]

    await wait_until(lambda: len(pulls_in()) >= 1)
    [blamed] = pulls_in()
    assert str(blamed.code) == "sbom-enrich/pulls-in-quarantined"
    assert blamed.message == (
        f"nose pulls in evil-pkg, which is quarantined on {index}, installed from another "
        "index (nose → evil-pkg, per uv.lock)"
    )


async def test_with_lock_indexes_off_a_quarantined_name_is_still_flagged(
    client: LanguageClient, tmp_path: Path, make_index_server: MakeIndexServer
) -> None:
    # lockIndexes off: the lock's index is not asked (evil-pkg unchecked, its hover says so),
    # but its name is, on the configured index, as `check --no-lock-indexes` asks it.
    private = make_index_server([ProjectSpec("evil-pkg", files=release("evil-pkg", "0.0.1"))])
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={
                "sbomEnrich": {
                    "indexUrl": (tmp_path / "index.url").read_text(),
                    "cacheDir": str(tmp_path / "cache"),
                    "debounceMs": 50,
                    "lockIndexes": False,
                }
            }
        )
    )
    text = lock_routing(tmp_path, private.url, "evil-pkg")
    uri = open_document(client, tmp_path / "uv.lock", text)
    await wait_until(lambda: len(client.diagnostics.get(uri, [])) >= 3)
    assert spans(text, client.diagnostics[uri]) == [
        ("evil-pkg", "sbom-enrich/quarantined"),
        ("nose", "sbom-enrich/deprecated"),
        ("pycrypto", "sbom-enrich/archived"),
    ]
    assert private.stats.by_project.get("evil-pkg", 0) == 0


def test_which_names_the_editor_also_asks_on_the_configured_index() -> None:
    from dataclasses import replace

    from lsp.diagnostics import lookup_keys, namesake_key
    from lsp.lsp_settings import LspSettings
    from sbom_enrich.manifests import parse_lock_text
    from sbom_enrich.status.settings import ClientSettings

    lock = parse_lock_text(
        "uv.lock",
        '[[package]]\nname = "a"\nversion = "1"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        '\n[[package]]\nname = "B"\nversion = "1"\n'
        'source = { registry = "https://corp.example/simple" }\n',
    )
    a, b = lock.requirements
    settings = LspSettings(client=ClientSettings(index_url="https://pypi.org/simple/"))
    assert namesake_key(a, settings) is None  # the configured index: asked once
    assert namesake_key(b, settings) == "b"
    assert lookup_keys(b, settings) == ("b https://corp.example/simple/", "b")
    # Lock indexes off: the lock's index is not asked, the name still is.
    assert lookup_keys(b, replace(settings, lock_indexes=False)) == ("b",)
    # An --allow-index index is the user's: its names are not asked twice.
    allowing = replace(
        settings,
        client=msgspec.structs.replace(
            settings.client, allowed_indexes=("https://corp.example/simple/",)
        ),
    )
    assert namesake_key(b, allowing) is None
    assert namesake_key(b, replace(settings, ignore=frozenset({"b"}))) is None
