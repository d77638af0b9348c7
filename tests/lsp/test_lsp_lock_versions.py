"""A lock file's yanked or unlisted versions in the editor: where `check` finds them, the
editor shows them, on the version value, as it shows a requirements file's pin."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    push_capabilities,
    wait_until,
)
from lsp_fixtures import lines_of, record
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, built_wheel
from lsp.diagnostics import manifest_diagnostics
from lsp.hover import hover_markdown, hover_span, requirement_at
from lsp.lsp_settings import parse_lsp_settings
from lsp.positions import UTF8, UTF16
from real_locks import PYPROJECT, STATIC_BUILD, run_tool, tool, tool_env
from sbom_enrich.manifests import parse_manifest
from sbom_enrich.manifests.spans import LINE_BREAK_RE

DEFAULTS = parse_lsp_settings(None, env={}).settings
INDEX = "https://pypi.org/simple/"
RECORDS = {
    "requests": record(
        "requests",
        "active",
        index_url=INDEX,
        versions=("2.31.0", "2.32.0", "2.32.3"),
        yanked={"2.32.0": "CVE fix"},
    ),
    "idna": record("idna", "active", index_url=INDEX, versions=("3.8",)),  # 3.7 is gone
}

REGISTRY = 'source = { registry = "https://pypi.org/simple" }'
LOCKS = {
    "uv.lock": f"""\
version = 1
requires-python = ">=3.10"

[[package]]
name = "requests"
version = "2.32.0"
{REGISTRY}
dependencies = [{{ name = "idna" }}]

[[package]]
name = "idna"
version = "3.7"
{REGISTRY}
""",
    "poetry.lock": """\
[[package]]
name = "requests"
version = "2.32.0"
description = ""

[package.dependencies]
idna = "*"

[[package]]
name = "idna"
version = "3.7"
description = ""

[metadata]
lock-version = "2.1"
""",
    "pdm.lock": """\
[metadata]
groups = ["default"]

[[package]]
name = "requests"
version = "2.32.0"
dependencies = ["idna"]

[[package]]
name = "idna"
version = "3.7"
""",
    "pylock.toml": """\
lock-version = "1.0"
created-by = "pip"

[[packages]]
name = "requests"
version = "2.32.0"
index = "https://pypi.org/simple"
sdist = { url = "https://files.example/requests-2.32.0.tar.gz", hashes = { sha256 = "00" } }

[[packages]]
name = "idna"
version = "3.7"
index = "https://pypi.org/simple"
sdist = { url = "https://files.example/idna-3.7.tar.gz", hashes = { sha256 = "00" } }
""",
    "Pipfile.lock": json.dumps(
        {
            "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]},
            "default": {
                "requests": {"index": "pypi", "version": "==2.32.0"},
                "idna": {"index": "pypi", "version": "==3.7"},
            },
        },
        indent=4,
    ),
}


def diagnose(path: str, text: str, encoding: str = UTF16) -> list[types.Diagnostic]:
    manifest = parse_manifest(path, text)
    assert manifest is not None
    return manifest_diagnostics(manifest, RECORDS, DEFAULTS, lines_of(text), encoding)


def covered(text: str, diagnostic: types.Diagnostic) -> tuple[str, str]:
    """(the whole line, the text the range covers) — UTF-16 positions on ASCII lines."""
    line = lines_of(text)[diagnostic.range.start.line].rstrip("\r\n")
    assert diagnostic.range.start.line == diagnostic.range.end.line
    return line, line[diagnostic.range.start.character : diagnostic.range.end.character]


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_a_locked_version_yanked_or_unlisted_is_shown_on_its_version_value(path: str) -> None:
    text = LOCKS[path]
    found = {str(d.code): d for d in diagnose(path, text)}
    assert set(found) == {"sbom-enrich/yanked", "sbom-enrich/version-missing"}
    yanked, missing = found["sbom-enrich/yanked"], found["sbom-enrich/version-missing"]
    written = '"version": "==' if path == "Pipfile.lock" else 'version = "'
    assert covered(text, yanked) == (covered(text, yanked)[0], "2.32.0")
    assert written + "2.32.0" in covered(text, yanked)[0]
    assert covered(text, missing)[1] == "3.7"
    assert written + "3.7" in covered(text, missing)[0]
    # As a requirements file shows the same facts: code, severity, words, link.
    pins = {str(d.code): d for d in diagnose("requirements.txt", "requests==2.32.0\nidna==3.7\n")}
    for code, diagnostic in found.items():
        assert diagnostic.severity == pins[code].severity == types.DiagnosticSeverity.Warning
        assert diagnostic.message == pins[code].message
        assert diagnostic.code_description == pins[code].code_description
    assert yanked.message == "requests 2.32.0 was yanked from the index: CVE fix"


def test_a_pipfile_lock_version_after_non_ascii_text_in_utf16_and_utf8() -> None:
    # One minified line: the range counts the client's code units, not code points.
    entry = '"requests": {"markers": "os_name == \'é𝄞\'", "version": "==2.32.0"}'
    text = (
        '{"_meta": {"sources": [{"name": "p", "url": "https://pypi.org/simple"}]}, '
        '"default": {' + entry + "}}\n"
    )
    column = text.index("2.32.0")
    (utf16,) = diagnose("Pipfile.lock", text, UTF16)
    (utf8,) = diagnose("Pipfile.lock", text, UTF8)
    # é: 1 UTF-16 unit, 2 UTF-8 bytes; 𝄞: 2 UTF-16 units (a surrogate pair), 4 UTF-8 bytes.
    assert (utf16.range.start.character, utf16.range.end.character) == (column + 1, column + 7)
    assert (utf8.range.start.character, utf8.range.end.character) == (column + 4, column + 10)
    assert utf16.code == "sbom-enrich/yanked"


NO_VERSION_VALUE = {
    # PEP 751 lets a package from an index leave out `version`: read from its files' names.
    "pylock.toml": """\
lock-version = "1.0"
created-by = "x"

[[packages]]
name = "requests"
index = "https://pypi.org/simple"
sdist = { url = "https://files.example/requests-2.32.0.tar.gz", hashes = { sha256 = "00" } }
""",
    # An escaped value: the text is not the version as read, so no span points at it.
    "uv.lock": 'version = 1\n\n[[package]]\nname = "requests"\n'
    f'version = "2\\u002e32.0"\n{REGISTRY}\n',
    # A lock of inline tables: no table to point into.
    "poetry.lock": 'package = [{ name = "requests", version = "2.32.0" }]\n[metadata]\n',
}


@pytest.mark.parametrize("path", sorted(NO_VERSION_VALUE))
def test_a_locked_version_with_no_value_to_point_at_is_shown_on_the_name(path: str) -> None:
    # The nearest honest span: the package's name. Never dropped (check reports it).
    text = NO_VERSION_VALUE[path]
    manifest = parse_manifest(path, text)
    assert manifest is not None
    (requests,) = manifest.requirements
    assert requests.pinned_version == "2.32.0" and requests.version_span is None
    found = by_code(diagnose(path, text))
    yanked = found["sbom-enrich/yanked"]
    assert covered(text, yanked)[1] == "requests"
    assert yanked.message == "requests 2.32.0 was yanked from the index: CVE fix"
    assert yanked.severity == types.DiagnosticSeverity.Warning


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_a_hover_on_a_locked_version_is_that_packages_hover(path: str) -> None:
    text = LOCKS[path]
    manifest = parse_manifest(path, text)
    assert manifest is not None
    requests = next(r for r in manifest.requirements if r.name == "requests")
    version = requests.version_span
    assert version is not None and version.line != requests.name_span.line
    for column in (version.start, version.end):  # both ends, as the name's hover
        assert requirement_at(manifest, version.line, column) is requests
        assert hover_span(requests, version.line, column) == version
    assert requirement_at(manifest, version.line, version.end + 2) is None
    assert hover_span(requests, requests.name_span.line, 3) == requests.name_span
    text = hover_markdown(requests, RECORDS["requests"])
    assert "- Pinned version 2.32.0 is **yanked**: CVE fix" in text


# -- end to end: locks written by the real tools, the real server over stdio ---------------------


@dataclass(frozen=True)
class RealLocks:
    """The index the locks were made against (changed since), and each lock by what wrote it."""

    index: IndexServer
    files: dict[str, Path]


@pytest.fixture(scope="module")
def real_locks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLocks]:
    def project(name: str, version: str, *requires: str) -> ProjectSpec:
        return ProjectSpec(name, files=[built_wheel(name, version, requires)])

    index = IndexServer(
        [project("requests", "2.32.3", "idna"), project("idna", "3.7"), project("nose", "1.3.7")],
        core_metadata=True,
    )
    with index:
        base = tmp_path_factory.mktemp("lsp-real-locks")
        env = tool_env(base / "home")
        folders = {name: base / name for name in ("uv", "pdm", "poetry", "pip")}
        for folder in folders.values():
            folder.mkdir()
        wanted = PYPROJECT.format(dependencies='"requests", "nose"')

        (folders["uv"] / "pyproject.toml").write_text(wanted + STATIC_BUILD)
        uv = [tool("uv"), "--no-progress", "--cache-dir", str(base / "uv-cache")]
        run_tool([*uv, "lock", "--default-index", index.url], folders["uv"], env)
        run_tool([*uv, "export", "--format", "pylock.toml", "-o", "pylock.toml",
                  "--default-index", index.url], folders["uv"], env)  # fmt: skip

        (folders["pdm"] / "pyproject.toml").write_text(
            wanted + f'\n[[tool.pdm.source]]\nname = "pypi"\nurl = "{index.url}"\n'
            "[tool.pdm]\ndistribution = false\n"
        )
        run_tool([tool("pdm"), "lock"], folders["pdm"], env)

        (folders["poetry"] / "pyproject.toml").write_text(
            wanted + "\n[tool.poetry]\npackage-mode = false\n"
            f'[[tool.poetry.source]]\nname = "test"\nurl = "{index.url}"\npriority = "primary"\n'
        )
        run_tool([tool("poetry"), "lock", "--no-interaction"], folders["poetry"], env)

        run_tool([sys.executable, "-m", "pip", "lock", "--isolated", "--no-cache-dir",
                  "--index-url", index.url, "-o", "pylock.toml", "requests", "nose"],
                 folders["pip"], env)  # fmt: skip

        # Then the index changes under the locks: the locked requests is yanked, the locked
        # idna removed (the index lists a later one only).
        index.add(
            ProjectSpec(
                "requests",
                files=[
                    built_wheel("requests", "2.32.3", ["idna"], yanked="broken build"),
                    built_wheel("requests", "2.32.4", ["idna"]),
                ],
            )
        )
        index.add(project("idna", "3.8"))
        yield RealLocks(
            index,
            {
                "uv lock": folders["uv"] / "uv.lock",
                "uv export": folders["uv"] / "pylock.toml",
                "pdm lock": folders["pdm"] / "pdm.lock",
                "poetry lock": folders["poetry"] / "poetry.lock",
                "pip lock": folders["pip"] / "pylock.toml",
            },
        )


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
)
async def client(lsp_client: LanguageClient, real_locks: RealLocks, tmp_path: Path):
    await initialize(
        lsp_client,
        push_capabilities(),
        {"indexUrl": real_locks.index.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 50},
    )
    yield
    await lsp_client.shutdown_session()


def table_line(lines: list[str], name: str, key: str) -> int:
    """The line of ``key`` in the package table named ``name`` (its own keys come first)."""
    start = lines.index(f'name = "{name}"')
    return next(i for i in range(start, len(lines)) if lines[i].startswith(f"{key} = "))


WRITERS = ["uv lock", "uv export", "pdm lock", "poetry lock", "pip lock"]


@pytest.mark.parametrize("writer", WRITERS)
def test_check_fails_a_real_lock_on_its_yanked_version_and_finds_the_unlisted_one(
    real_locks: RealLocks, writer: str, cli: Callable[..., Run], tmp_path: Path
) -> None:
    # What the editor must tell too (the test below): `check` on the very file.
    path = real_locks.files[writer]
    report = tmp_path / "out.json"
    run = cli("check", str(path), "--fail-on", "yanked", "--report", str(report),
              env={"SBOM_ENRICH_INDEX_URL": real_locks.index.url})  # fmt: skip
    assert run.code == 1, run.stderr
    checked = {c["name"]: c for c in json.loads(report.read_text())["components"]}
    assert checked["requests"]["yanked"] is True
    assert checked["idna"]["version_missing"] is True


@pytest.mark.parametrize("writer", WRITERS)
async def test_a_real_lock_shows_what_check_finds_on_its_version_values(
    client: LanguageClient,
    real_locks: RealLocks,
    writer: str,
) -> None:
    path = real_locks.files[writer]
    text = path.read_text()
    uri = open_document(client, path, text)
    wanted = {"sbom-enrich/yanked", "sbom-enrich/version-missing"}
    await wait_until(lambda: wanted <= {str(d.code) for d in client.diagnostics.get(uri, [])})
    found = by_code(client.diagnostics[uri])
    assert set(found) == wanted  # nose is active, the project itself is not looked up
    lines = text.splitlines()
    yanked, missing = found["sbom-enrich/yanked"], found["sbom-enrich/version-missing"]
    assert yanked.range.start.line == table_line(lines, "requests", "version")
    assert covered(text, yanked) == ('version = "2.32.3"', "2.32.3")
    assert missing.range.start.line == table_line(lines, "idna", "version")
    assert covered(text, missing) == ('version = "3.7"', "3.7")
    assert yanked.message == "requests 2.32.3 was yanked from the index: broken build"
    assert yanked.severity == missing.severity == types.DiagnosticSeverity.Warning
    # Hovering the version tells the same, and marks the version.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=yanked.range.start
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "- Pinned version 2.32.3 is **yanked**: broken build" in hover.contents.value
    assert hover.range == yanked.range


async def test_hostile_locks_get_ranges_inside_the_document_in_utf16(
    client: LanguageClient, real_locks: RealLocks, tmp_path: Path
) -> None:
    # CRLF, a multi-line string writing a fake table and a fake version before the real one;
    # a one-line Pipfile.lock with text outside the BMP before the version (the client
    # negotiated nothing: positions are UTF-16 code units).
    index = real_locks.index.url
    uv_text = (
        'version = 1\n\n[[package]]\nname = "requests"\ndescription = """\nversion = "2.32.3"\n'
        '[[package]]\nname = "idna"\nversion = "3.7"\n"""\n'
        f'version = "2.32.3"\nsource = {{ registry = "{index}" }}\n'
    ).replace("\n", "\r\n")
    prefix = '{"_meta": {"sources": [{"name": "p", "url": "' + index + '"}]}, "default": '
    prefix += '{"requests": {"markers": "os_name == \'𝄞é\'", "version": "=='
    pipfile_text = prefix + '2.32.3"}}}'
    for name, text in (("uv.lock", uv_text), ("Pipfile.lock", pipfile_text)):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        uri = open_document(client, folder / name, text)
        await wait_until(
            lambda uri=uri: "sbom-enrich/yanked" in by_code(client.diagnostics.get(uri, []))
        )
        (yanked,) = client.diagnostics[uri]
        lines = LINE_BREAK_RE.split(text)
        assert yanked.range.start.line == yanked.range.end.line < len(lines)
        line = lines[yanked.range.start.line]
        units = len(line.encode("utf-16-le")) // 2
        assert 0 <= yanked.range.start.character < yanked.range.end.character <= units
        if name == "uv.lock":
            assert yanked.range.start.line == 10  # the real key, after the string
            assert line == 'version = "2.32.3"'
            assert line[yanked.range.start.character : yanked.range.end.character] == "2.32.3"
        else:
            start = len(prefix.encode("utf-16-le")) // 2  # 𝄞: two units
            assert (yanked.range.start.character, yanked.range.end.character) == (
                start,
                start + len("2.32.3"),
            )
        # A hover at the diagnostic's UTF-16 position finds the package (converted back).
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=yanked.range.end
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "- Pinned version 2.32.3 is **yanked**: broken build" in hover.contents.value
    # The server is still answering.
    await answered(client)
