"""Quick fixes: replace with an alternative (keeping extras and markers), remove, ignore."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_fixtures import apply_edits, lines_of
from lsp_fixtures import requirement as make_requirement
from lsprotocol import types
from pygls.workspace import Workspace

from indexserver import IndexServer
from lsp.code_actions import code_actions_for, ignore_edit, remove_edits, replace_edits
from lsp.lsp_settings import LspSettings
from lsp.positions import UTF16, UTF32
from lsp.server import SbomEnrichServer
from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.manifests import ParsedManifest, Requirement, Span, parse_manifest
from sbom_enrich.status.settings import ClientSettings

FORK = Alternative("pycryptodome", "Maintained fork")
STDLIB = Alternative("unittest.mock", "In the standard library", stdlib=True)
DIAGNOSTIC = types.Diagnostic(
    range=types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=0, character=1)
    ),
    message="x",
)


def parsed(text: str, path: str = "requirements.txt") -> ParsedManifest:
    manifest = parse_manifest(path, text)
    assert manifest is not None
    return manifest


def replaced(text: str, alternative: Alternative = FORK, encoding: str = UTF16) -> str:
    requirement = parsed(text).requirements[0]
    rename = replace_edits(requirement, alternative, lines_of(text), encoding)
    assert rename is not None
    return apply_edits(text, rename.edits, encoding)


def test_replace_keeps_extras_and_marker_and_drops_the_pin() -> None:
    text = 'pycrypto[x]==2.6.1 ; python_version < "3"  # why\n'
    assert replaced(text) == 'pycryptodome[x] ; python_version < "3"  # why\n'
    assert replaced("pycrypto >= 2.0, < 3\n") == "pycryptodome\n"
    assert replaced("pycrypto\n") == "pycryptodome\n"
    assert replaced("PyCrypto (>=2.0);python_version<'3'\n") == "pycryptodome;python_version<'3'\n"


def test_result_parses_as_the_new_project_with_the_same_extras_and_marker() -> None:
    text = 'pycrypto[x,y]~=2.6 ; sys_platform == "linux"\n'
    (new,) = parsed(replaced(text)).requirements
    assert new.canonical_name == "pycryptodome"
    assert new.extras == ("x", "y")
    assert new.marker == 'sys_platform == "linux"'
    assert new.specifier == ""


def test_replace_in_a_toml_string_after_non_ascii_text_utf16() -> None:
    text = 'dependencies = ["é𝄞", "pycrypto>=2 ; python_version<\'3\'"]\n'
    column = text.index("pycrypto")
    name = Span(0, column, column + 8)
    requirement = make_requirement(
        "pycrypto",
        name,
        "project.dependencies",
        specifier=">=2",
        marker="python_version < '3'",
        text_span=Span(0, column, text.index('"]')),
    )
    rename = replace_edits(requirement, FORK, lines_of(text), UTF16)
    assert rename is not None
    edits = rename.edits
    assert edits[0].range.start.character == column + 1  # é is 1 unit, 𝄞 is 2
    assert apply_edits(text, edits, UTF16) == (
        'dependencies = ["é𝄞", "pycryptodome ; python_version<\'3\'"]\n'
    )


def test_poetry_entry_gets_any_version() -> None:
    text = 'pycrypto = {version = "^2.6", extras = ["x"]}\nmock = "^4.0"  # c\n'

    def poetry(line: int, name: str, specifier: str) -> Requirement:
        return make_requirement(
            name,
            Span(line, 0, len(name)),
            "tool.poetry.dependencies",
            specifier=specifier,
            text_span=Span(line, 0, len(text.splitlines()[line])),
        )

    first = replace_edits(poetry(0, "pycrypto", "^2.6"), FORK, lines_of(text), UTF32)
    assert first is not None
    assert apply_edits(text, first.edits, UTF32).splitlines()[0] == (
        'pycryptodome = {version = "*", extras = ["x"]}'
    )
    removal = remove_edits(poetry(1, "mock", "^4.0"), lines_of(text), UTF32)
    assert removal is not None
    assert apply_edits(text, removal, UTF32) == text.splitlines(keepends=True)[0]


def test_stdlib_alternative_removes_a_line_of_its_own_only() -> None:
    text = "requests\nmock==4.0  # tests\nnose\n"
    manifest = parsed(text)
    actions = code_actions_for(
        manifest.requirements[1],
        [STDLIB],
        uri="file:///r.txt",
        lines=lines_of(text),
        encoding=UTF16,
        toml=False,
        diagnostics=[DIAGNOSTIC],
    )
    assert [a.title for a in actions] == [
        "Remove mock (use unittest.mock from the standard library)",
        "Ignore mock (add '# sbom-enrich: ignore[mock]')",
    ]
    edit = actions[0].edit
    assert edit is not None and edit.changes is not None
    assert apply_edits(text, edit.changes["file:///r.txt"], UTF16) == "requests\nnose\n"
    inline = 'deps = ["requests", "mock"]\n'
    column = inline.index("mock")
    shared = make_requirement("mock", Span(0, column, column + 4), "project.dependencies")
    assert remove_edits(shared, lines_of(inline), UTF16) is None


def test_ignore_comment_is_added_and_the_parser_then_ignores_it() -> None:
    for text in ("pycrypto==2.6.1\n", "pycrypto==2.6.1   # pinned for py2\n"):
        requirement = parsed(text).requirements[0]
        edit = ignore_edit(requirement, lines_of(text), UTF16, toml=False)
        assert edit is not None
        after = apply_edits(text, [edit], UTF16)
        assert parsed(after).requirements[0].ignored, after
    assert (
        apply_edits(
            "nose\n",
            [ignore_edit(parsed("nose\n").requirements[0], ["nose\n"], UTF16, toml=False)],
            UTF16,
        )
        == "nose  # sbom-enrich: ignore[nose]\n"
    )  # type: ignore[list-item]


def test_ignore_is_not_offered_without_a_diagnostic_or_for_continued_lines() -> None:
    text = "pycrypto \\\n  ==2.6.1\n"
    requirement = parsed(text).requirements[0]
    assert ignore_edit(requirement, lines_of(text), UTF16, toml=False) is None
    actions = code_actions_for(
        parsed("pycrypto\n").requirements[0],
        [FORK],
        uri="file:///r.txt",
        lines=["pycrypto\n"],
        encoding=UTF16,
        toml=False,
    )
    assert [(a.title, a.is_preferred) for a in actions] == [
        ("Replace pycrypto with pycryptodome", True)
    ]


def _actions(text: str, path: str, alternative: Alternative, index: int = 0) -> dict[str, str]:
    """Title -> the document after applying that action."""
    uri = "file:///" + path
    actions = code_actions_for(
        parsed(text, path).requirements[index],
        [alternative],
        uri=uri,
        lines=lines_of(text),
        encoding=UTF16,
        toml=path.endswith(".toml"),
        diagnostics=[DIAGNOSTIC],
    )
    found = {}
    for action in actions:
        assert action.edit is not None and action.edit.changes is not None
        found[action.title] = apply_edits(text, action.edit.changes[uri], UTF16)
    return found


def test_hash_continued_requirements_keep_their_continuation() -> None:
    # pip-compile --generate-hashes output: every requirement is continued by --hash lines.
    text = "mock==4.0 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n    # via x\nnose\n"
    after = _actions(text, "requirements.txt", STDLIB)
    ignored = after["Ignore mock (add '# sbom-enrich: ignore[mock]')"]
    assert ignored == text.replace("sha256:bbb\n", "sha256:bbb  # sbom-enrich: ignore[mock]\n")
    manifest = parsed(ignored)
    assert manifest.problems == ()
    assert [(r.name, r.ignored) for r in manifest.requirements] == [
        ("mock", True),
        ("nose", False),
    ]
    removed = after["Remove mock (use unittest.mock from the standard library)"]
    assert removed == "    # via x\nnose\n"
    assert parsed(removed).problems == ()


def test_toml_edits_that_would_break_the_file_are_not_offered() -> None:
    # The element's comma starts the next line: deleting the line leaves "[\n  ,"nose"]".
    leading_comma = '[project]\ndependencies = [\n  "mock"\n  ,"nose"]\n'
    after = _actions(leading_comma, "pyproject.toml", STDLIB)
    assert list(after) == ["Ignore mock (add '# sbom-enrich: ignore[mock]')"]
    # Renaming a Poetry key to one the table already has is a duplicate key.
    both = '[tool.poetry.dependencies]\npycrypto = "^2.6"\npycryptodome = "^3"\n'
    after = _actions(both, "pyproject.toml", FORK)
    assert list(after) == ["Ignore pycrypto (add '# sbom-enrich: ignore[pycrypto]')"]
    # A Poetry rename that stays valid is still offered.
    alone = '[tool.poetry.dependencies]\npycrypto = "^2.6"\n'
    assert _actions(alone, "pyproject.toml", FORK)["Replace pycrypto with pycryptodome"] == (
        '[tool.poetry.dependencies]\npycryptodome = "*"\n'
    )


def test_ignoring_one_dependency_never_silences_its_neighbours_on_the_line() -> None:
    # Issue 15: the old bare comment on this line hid the quarantined evil-pkg too.
    text = '[project]\ndependencies = ["evil-pkg", "nose"]\n'
    after = _actions(text, "pyproject.toml", FORK, index=1)[
        "Ignore nose (add '# sbom-enrich: ignore[nose]')"
    ]
    assert (
        after.splitlines()[1] == 'dependencies = ["evil-pkg", "nose"]  # sbom-enrich: ignore[nose]'
    )
    manifest = parsed(after, "pyproject.toml")
    assert [(r.name, r.ignored) for r in manifest.requirements] == [
        ("evil-pkg", False),
        ("nose", True),
    ]
    # Ignoring the other one too adds its name to the same comment.
    both = _actions(after, "pyproject.toml", FORK)[
        "Ignore evil-pkg (add '# sbom-enrich: ignore[evil-pkg]')"
    ]
    assert both.splitlines()[1].endswith("# sbom-enrich: ignore[nose, evil-pkg]")
    assert all(r.ignored for r in parsed(both, "pyproject.toml").requirements)


def test_ignore_next_to_a_bare_legacy_comment_names_the_dependency() -> None:
    text = '[project]\ndependencies = ["evil-pkg", "nose"]  # sbom-enrich: ignore\n'
    manifest = parsed(text, "pyproject.toml")
    assert not any(r.ignored for r in manifest.requirements)  # ambiguous: silences nothing
    after = _actions(text, "pyproject.toml", FORK, index=1)[
        "Ignore nose (add '# sbom-enrich: ignore[nose]')"
    ]
    assert after.splitlines()[1].endswith("# sbom-enrich: ignore[nose]")
    assert [r.ignored for r in parsed(after, "pyproject.toml").requirements] == [False, True]


def test_latest_installable_skips_yanked_pre_releases_and_bad_versions() -> None:
    from lsp_fixtures import record

    from lsp.code_actions import latest_installable

    nose = record(
        "nose",
        "active",
        versions=("1.3.6", "1.3.7", "1.4.0", "2.0.0rc1", "not-a-version"),
        yanked={"1.4.0": "broken"},
    )
    assert latest_installable(nose, "1.3.6") == "1.3.7"  # 1.4.0 is yanked, 2.0.0rc1 a pre
    assert latest_installable(nose, "2.0.0a1") == "2.0.0rc1"  # a pre-release pin may move on
    assert latest_installable(nose, "1.3.7") is None  # already the latest
    assert latest_installable(nose, "1.3.7.0") is None  # PEP 440 equal
    only_pre = record("p", "active", versions=("1.0rc1", "1.0rc2"), yanked={"1.0rc2": ""})
    assert latest_installable(only_pre, "0.9") == "1.0rc1"
    assert latest_installable(record("q", "active", versions=()), "1") is None
    assert latest_installable(record("r", "active"), "1") is None  # index lists no versions


PIN_DIAGNOSTIC = types.Diagnostic(
    range=DIAGNOSTIC.range, message="yanked", code="sbom-enrich/yanked"
)


def test_a_yanked_pin_gets_pin_to_latest_and_ignore() -> None:
    from lsp_fixtures import record

    nose = record("nose", "deprecated", versions=("1.3.6", "1.3.7"), yanked={"1.3.6": "bad"})
    for path, text, expected in [
        ("requirements.txt", "nose==1.3.6  # c\n", "nose==1.3.7  # c\n"),
        ("pyproject.toml", '[project]\ndependencies = ["nose==1.3.6"]\n', "nose==1.3.7"),
        ("pyproject.toml", '[tool.poetry.dependencies]\nnose = "1.3.6"\n', 'nose = "1.3.7"'),
    ]:
        uri = "file:///" + path
        actions = code_actions_for(
            parsed(text, path).requirements[0],
            [],
            uri=uri,
            lines=lines_of(text),
            encoding=UTF16,
            toml=path.endswith(".toml"),
            diagnostics=[PIN_DIAGNOSTIC],
            record=nose,
        )
        assert [(a.title, a.is_preferred) for a in actions] == [
            ("Pin nose to 1.3.7 (latest not yanked)", True),
            ("Ignore nose (add '# sbom-enrich: ignore[nose]')", None),
        ]
        edit = actions[0].edit
        assert edit is not None and edit.changes is not None
        assert expected in apply_edits(text, edit.changes[uri], UTF16)
    # Nothing newer to pin to: only the ignore.
    newest = record("nose", "active", versions=("1.3.6",), yanked={"1.3.6": ""})
    actions = code_actions_for(
        parsed("nose==1.3.6\n").requirements[0],
        [],
        uri="file:///r.txt",
        lines=["nose==1.3.6\n"],
        encoding=UTF16,
        toml=False,
        diagnostics=[PIN_DIAGNOSTIC],
        record=newest,
    )
    assert [a.title for a in actions] == ["Ignore nose (add '# sbom-enrich: ignore[nose]')"]


def pip_reads(text: str, folder: Path) -> list[tuple[str, str, dict[str, list[str]]]]:
    """(name, version specifier, hashes) of each requirement, as pip's own parser reads them."""
    from packaging.requirements import Requirement as PipRequirement
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    path = folder / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    found = []
    for line in parse_requirements(str(path), session=PipSession()):
        requirement = PipRequirement(line.requirement)
        hashes = (line.options or {}).get("hashes", {})
        found.append((requirement.name, str(requirement.specifier), hashes))
    return found


def test_replace_rewrites_the_whole_logical_line_and_drops_the_old_hashes(
    tmp_path: Path,
) -> None:
    # pip-compile --generate-hashes output, then a pin written on a continuation line: the
    # old edit renamed the first line only, and pip checked pycryptodome against pycrypto's
    # hashes (and pytest against nose's pin).
    text = (
        "pycrypto==2.6.1 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n    # via app\n"
        "nose \\\n    ==1.0  # tests\n"
    )
    assert pip_reads(text, tmp_path) == [
        ("pycrypto", "==2.6.1", {"sha256": ["aaa", "bbb"]}),
        ("nose", "==1.0", {}),
    ]
    title = "Replace pycrypto with pycryptodome (drops pycrypto's hashes: regenerate them)"
    hashed = _actions(text, "requirements.txt", FORK)[title]
    assert pip_reads(hashed, tmp_path) == [("pycryptodome", "", {}), ("nose", "==1.0", {})]
    assert hashed.endswith("    # via app\nnose \\\n    ==1.0  # tests\n")
    continued = _actions(text, "requirements.txt", Alternative("pytest", "x"), index=1)
    after = continued["Replace nose with pytest"]
    assert pip_reads(after, tmp_path)[1] == ("pytest", "", {})
    assert after.endswith("# via app\npytest  # tests\n")


@pytest.mark.parametrize(
    ("file_name", "text", "line"),
    [
        # A file on this disk, and a tool source from git: never looked up, yet "Replace"
        # was offered, and rewrote the line without the file's URL (or left the source).
        ("requirements.txt", "pycrypto @ file:///opt/wheels/pycrypto-2.6.1.tar.gz\n", 0),
        (
            "pyproject.toml",
            '[project]\nname = "app"\nversion = "1"\ndependencies = ["nose"]\n\n'
            '[tool.uv.sources]\nnose = { git = "https://git.example/corp/nose" }\n',
            3,
        ),
    ],
)
def test_a_dependency_not_from_the_index_is_offered_no_replacement(
    tmp_path: Path, index_server: IndexServer, file_name: str, text: str, line: int
) -> None:
    server = SbomEnrichServer(env={})
    server.settings = LspSettings(
        client=ClientSettings(index_url=index_server.url, cache_dir=tmp_path / "cache")
    )
    server.protocol._workspace = Workspace(None)
    uri = (tmp_path / file_name).as_uri()
    language = "pip" if file_name.endswith(".txt") else "toml"
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
    )
    actions = server.code_actions(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(line, 0), types.Position(line, 40)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert [action.title for action in actions] == []
