"""pyproject.toml parsing: sections, exact spans through escapes and non-ASCII, broken TOML."""

from __future__ import annotations

import logging
import random
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from sbom_enrich.manifests import (
    ParsedManifest,
    Requirement,
    Span,
    parse_manifest_file,
    parse_pyproject_text,
)

DATA = Path(__file__).parent.parent / "data" / "manifests"
PYPROJECTS = sorted(DATA.rglob("*.toml"))


def sliced(text: str, span: Span) -> str:
    return text.replace("\r\n", "\n").split("\n")[span.line][span.start : span.end]


def decoded(raw: str) -> str:
    """What TOML makes of ``raw`` inside a basic string (a span over escapes decodes to this)."""
    value = tomllib.loads(f'x = "{raw}"')["x"]
    assert isinstance(value, str)
    return value


def summary(parsed: ParsedManifest) -> list[tuple[str, str, int, int, int]]:
    return [
        (r.section, r.name, r.name_span.line, r.name_span.start, r.name_span.end)
        for r in parsed.requirements
    ]


def by_name(parsed: ParsedManifest) -> dict[str, Requirement]:
    return {r.name: r for r in parsed.requirements}


@pytest.mark.parametrize("path", PYPROJECTS, ids=lambda p: str(p.relative_to(DATA)))
def test_corpus_spans_and_agreement_with_tomllib(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = path.read_text(encoding="utf-8")
    with caplog.at_level(logging.DEBUG, logger="sbom_enrich.manifests"):
        parsed = parse_pyproject_text(text)
    assert not caplog.records  # the scanner read the document as tomllib did
    assert not [p for p in parsed.problems if "could not be located" in p.message]
    assert parsed.kind == "pyproject"
    assert all(p.code == "invalid-requirement" for p in parsed.problems)
    for req in parsed.requirements:
        raw = sliced(text, req.name_span)
        assert raw == req.name or decoded(raw) == req.name
        if req.pinned_version is not None and req.version_span is not None:
            assert sliced(text, req.version_span) == req.pinned_version


def test_demo_pyproject_expected_spans() -> None:
    parsed = parse_pyproject_text((DATA / "demo-pyproject.toml").read_text())
    assert summary(parsed) == [
        ("project.dependencies", "httpx", 3, 17, 22),
        ("project.dependencies", "mock", 3, 32, 36),
        ("project.dependencies", "typing", 3, 47, 53),
        ("project.optional-dependencies.dev", "pytest", 5, 8, 14),
        ("project.optional-dependencies.dev", "pep8", 5, 21, 25),
    ]
    mock = by_name(parsed)["mock"]
    assert (mock.pinned_version, mock.version_span) == ("5.1.0", Span(3, 38, 43))
    assert mock.text_span == Span(3, 32, 43)
    assert parsed.problems == ()


def test_pip_audit_pyproject() -> None:
    parsed = parse_pyproject_text((DATA / "pip-audit-pyproject.toml").read_text())
    got = summary(parsed)
    assert got[:3] == [
        ("build-system.requires", "flit_core", 1, 13, 22),
        ("project.dependencies", "CacheControl", 29, 5, 17),
        # two comment lines with URLs sit between these two
        ("project.dependencies", "cyclonedx-python-lib", 32, 5, 25),
    ]
    assert ("project.dependencies", "packaging", 34, 5, 14) in got
    assert ("project.optional-dependencies.lint", "ruff", 54, 5, 9) in got
    assert ("project.optional-dependencies.dev", "pip-audit", 68, 5, 14) in got
    assert len(got) == 26
    reqs = by_name(parsed)
    assert reqs["CacheControl"].extras == ("filecache",)
    assert reqs["cyclonedx-python-lib"].specifier == ">=2.0.0,!=2.5.0"
    assert reqs["ruff"].specifier == "<0.0.231"
    assert reqs["pip-audit"].extras == ("doc", "test", "lint")


def test_poetry_0_12() -> None:
    parsed = parse_pyproject_text((DATA / "poetry-0.12-pyproject.toml").read_text())
    got = summary(parsed)
    assert "python" not in [name for _, name, *_ in got]
    assert got[0] == ("tool.poetry.dependencies", "cleo", 25, 0, 4)
    assert ("tool.poetry.dependencies", "cachecontrol", 32, 0, 12) in got
    assert ("tool.poetry.dev-dependencies", "black", 54, 0, 5) in got
    assert len([g for g in got if g[0] == "tool.poetry.dependencies"]) == 15
    assert len([g for g in got if g[0] == "tool.poetry.dev-dependencies"]) == 10
    reqs = by_name(parsed)
    assert reqs["cachecontrol"].extras == ("filecache",)
    assert reqs["cachecontrol"].specifier == "^0.12.4"
    assert reqs["cleo"].pinned_version is None
    assert reqs["black"].text_span == Span(54, 0, 54)


def test_warehouse_pyproject_has_no_dependency_tables() -> None:
    parsed = parse_pyproject_text((DATA / "warehouse" / "pyproject.toml").read_text())
    assert parsed.requirements == () and parsed.problems == ()


def test_edge_pyproject() -> None:
    text = (DATA / "edge" / "pyproject-edge.toml").read_text()
    parsed = parse_pyproject_text(text)
    reqs = by_name(parsed)
    assert summary(parsed) == [
        ("build-system.requires", "setuptools", 2, 13, 23),
        ("build-system.requires", "wheel", 2, 31, 36),
        ("project.dependencies", "Requests", 9, 5, 13),
        ("project.dependencies", "a", 10, 5, 6),
        # after "ünïcödé 🐍" on the same line: columns count code points (🐍 is one)
        ("project.dependencies", "after-non-ascii", 10, 43, 58),
        # written "\u0072equests-escaped": the span covers the escape as written
        ("project.dependencies", "requests-escaped", 11, 5, 26),
        # written "\t  leading-escape": the escape before the name shifts it by its raw length
        ("project.dependencies", "leading-escape", 12, 9, 23),
        ("project.dependencies", "literal-string", 13, 5, 19),
        ("project.dependencies", "multi-line-basic", 14, 7, 23),
        ("project.dependencies", "multi-line-literal", 14, 34, 52),
        ("project.dependencies", "backslash-continued", 16, 8, 27),
        ("project.dependencies", "direct", 17, 5, 11),
        ("project.dependencies", "ignored-one", 19, 5, 16),
        ("project.dependencies", "trailing-comma", 20, 5, 19),
        ("project.optional-dependencies.docs", "sphinx", 22, 31, 37),
        ("project.optional-dependencies.quoted extra", "furo", 23, 41, 45),
        ("dependency-groups.test", "pytest", 26, 9, 15),  # {include-group} skipped
        ("dependency-groups.lint", "ruff", 27, 9, 13),
        ("tool.uv.dev-dependencies", "uv-dev", 30, 21, 27),
        ("tool.uv.constraint-dependencies", "uv-constraint", 31, 28, 41),
        ("tool.uv.override-dependencies", "uv-override", 32, 26, 37),
        ("tool.pdm.dev-dependencies.docs", "pdm-doc", 35, 53, 60),  # "-e ..." skipped
        ("tool.poetry.dependencies", "Quoted-Name", 39, 1, 12),
        ("tool.poetry.dependencies", "exact-eq", 40, 0, 8),
        ("tool.poetry.dependencies", "caret", 41, 0, 5),
        ("tool.poetry.dependencies", "git-dep", 42, 0, 7),
        ("tool.poetry.dependencies", "multi", 43, 0, 5),
        ("tool.poetry.dependencies", "with-extras", 47, 0, 11),
        ("tool.poetry.dependencies", "ignored-poetry", 48, 0, 14),
        ("tool.poetry.group.dev.dependencies", "poetry-dev", 51, 0, 10),
        ("tool.poetry.group.dev.dependencies", "table-form", 53, 36, 46),
    ]
    assert [(p.code, sliced(text, p.span)) for p in parsed.problems] == [
        ("invalid-requirement", '\\"\\" is not a name'),
        ("invalid-requirement", "not valid !!"),
    ]
    assert reqs["Requests"].extras == ("socks", "security")
    assert reqs["Requests"].marker == 'python_version >= "3.8"'
    assert reqs["requests-escaped"].version_span == Span(11, 28, 31)
    assert reqs["literal-string"].pinned_version == "1.0"
    assert reqs["backslash-continued"].text_span is None  # the string spans lines
    assert reqs["direct"].url == "https://example.com/direct.zip#egg=x"
    assert [r.name for r in parsed.requirements if r.ignored] == ["ignored-one", "ignored-poetry"]
    # Poetry: a bare version and "==" are exact pins; "^" is not; constraints stay as written.
    assert (reqs["Quoted-Name"].pinned_version, reqs["Quoted-Name"].version_span) == (
        "1.2.3",
        Span(39, 17, 22),
    )
    assert reqs["Quoted-Name"].text_span == Span(39, 0, 23)
    assert reqs["exact-eq"].pinned_version == "2.0"
    assert reqs["caret"].pinned_version is None and reqs["caret"].specifier == "^1.0"
    assert reqs["git-dep"].url == "https://example.com/repo.git"
    assert reqs["multi"].specifier == "<2 || >=2" and reqs["multi"].text_span is None
    assert reqs["with-extras"].extras == ("a", "b")
    assert reqs["with-extras"].marker == "sys_platform == 'linux'"
    assert reqs["table-form"].pinned_version == "3.0.0"


def test_utf16_needs_the_code_point_columns() -> None:
    # What the language server must convert: 🐍 is one code point but two UTF-16 units.
    text = '[project]\ndependencies = ["x; platform_release == \'🐍\'", "target"]\n'
    (_, target) = parse_pyproject_text(text).requirements
    line = text.split("\n")[1]
    assert target.name_span == Span(1, 47, 53)
    assert line[: target.name_span.start].encode("utf-16-le").__len__() // 2 == 48


@pytest.mark.parametrize(
    ("text", "names", "problem_line"),
    [
        ('[project]\ndependencies = ["requests>=2", "fla', ["requests"], 1),
        (
            '[project]\ndependencies = ["requests", "flask"\n'
            '[project.optional-dependencies]\ndev = ["pytest"]\n',
            ["requests", "flask", "pytest"],
            2,
        ),
        (
            '[project]\ndependencies = ["a",\n  "b",\n\n[tool.poetry.dependencies]\nfoo = "1"\n',
            ["a", "b", "foo"],
            4,
        ),
        (
            '[project]\ndependencies = \n[build-system]\nrequires = ["hatchling"]\n',
            ["hatchling"],
            1,
        ),
        ('[project\ndependencies = ["requests"]\n', ["requests"], 0),
        ('[project]\ndependencies = ["a"]\ndependencies = ["b"]\n', ["a", "b"], 2),
        (
            '[tool.poetry.dependencies]\nfoo = { version = "1", extras = ["x"\nbar = "^2"\n',
            ["foo", "bar"],
            2,
        ),
        ('[project]\ndependencies = ["a" "b", "c"]\n', ["a", "b", "c"], 1),
        ('[project]\ndependencies = ["a", \'b\n"c"]\n', ["a", "c"], 2),
        (
            '[project]\ndependencies = ["a"]\n[tool.poetry.dependencies]\nb = { version = ',
            ["a", "b"],
            3,
        ),
        ("[project]\ndependencies = ['''a\n", [], 1),
        ('= ]\n[project]\ndependencies = ["a"]\n', ["a"], 0),
    ],
)
def test_half_typed_toml(text: str, names: list[str], problem_line: int) -> None:
    parsed = parse_pyproject_text(text)
    assert [r.name for r in parsed.requirements] == names
    toml_problems = [p for p in parsed.problems if p.code == "invalid-toml"]
    assert len(toml_problems) == 1 and toml_problems[0].span.line == problem_line
    for req in parsed.requirements:
        assert sliced(text, req.name_span) == req.name


def test_valid_toml_never_reports_invalid_toml() -> None:
    text = 'x = """\n[project]\ndependencies = ["not"]\n"""\n[project]\ndependencies = ["yes"]'
    parsed = parse_pyproject_text(text)
    assert [r.name for r in parsed.requirements] == ["yes"] and parsed.problems == ()


def test_crlf_bom_and_file_reading(tmp_path: Path) -> None:
    source = (DATA / "edge" / "pyproject-edge.toml").read_text(encoding="utf-8")
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"\xef\xbb\xbf" + source.replace("\n", "\r\n").encode())
    parsed = parse_manifest_file(path)
    assert parsed is not None
    expected = parse_pyproject_text(source)
    # The BOM is a character on line 0 only; every dependency here is on a later line.
    assert summary(parsed) == summary(expected)
    assert parsed.problems == expected.problems


def test_never_raises_on_prefixes_of_the_corpus() -> None:
    # Every prefix of a real file is what an editor sends while the user types it.
    text = (DATA / "edge" / "pyproject-edge.toml").read_text()
    for end in range(0, len(text), 7):
        prefix = text[:end]
        parsed = parse_pyproject_text(prefix)
        for req in parsed.requirements:
            raw = sliced(prefix, req.name_span)
            assert raw == req.name or decoded(raw) == req.name


# -- generated documents: tomllib must accept them, and every span must slice its name ----------

_NAMES = ["requests", "Django", "zope.interface", "typing_extensions", "a", "x-y.z_9"]
_FILLER = ["ünï", "🐍🐍", "tab\\there", 'say \\"hi\\"', "#not a comment", "[x]", "{y}", "'"]


def _escape_some(name: str, rng: random.Random) -> str:
    return "".join(f"\\u{ord(c):04X}" if rng.random() < 0.2 else c for c in name)


def _requirement_literal(name: str, rng: random.Random) -> str:
    tail = rng.choice(
        ["", ">=1", " == 2.0", "[extra] ; python_version < '4'", " @ https://h/p.zip"]
    )
    style = rng.randrange(4)
    if style == 0:
        return f'"{_escape_some(name, rng)}{tail}"'
    if style == 1 and "'" not in tail:
        return f"'{name}{tail}'"
    if style == 2:
        return f'"""{name}{tail}"""'
    lead = rng.choice(["", " ", "\\t"])  # "\t" is an escape in the TOML source
    return f'"{lead}{name}{tail}"'


def _generated_document(rng: random.Random) -> tuple[str, list[str]]:
    lines: list[str] = []
    expected: list[str] = []
    for header in ["[build-system]", "[project]", "[dependency-groups]"]:
        lines.append(header)
        key = {"[build-system]": "requires", "[project]": "dependencies"}.get(header, "grp")
        if rng.random() < 0.5:
            lines.append(f'# comment with "quotes" and [brackets] {rng.choice(_FILLER)}')
        items: list[str] = []
        for _ in range(rng.randrange(1, 5)):
            if rng.random() < 0.3:
                items.append(f'"{rng.choice(_FILLER)}; x"')  # no valid name: a problem, no name
            name = rng.choice(_NAMES)
            expected.append(name)
            items.append(_requirement_literal(name, rng))
        separator = rng.choice([", ", ",\n    ", " ,  # c ]\n  "])
        lines.append(f"{key} = [{separator.join(items)}{rng.choice(['', ','])}]")
    return "\n".join(lines) + "\n", expected


@pytest.mark.parametrize("seed", range(40))
def test_generated_documents(seed: int) -> None:
    rng = random.Random(seed)
    text, expected = _generated_document(rng)
    tomllib.loads(text)  # the generator writes valid TOML
    parsed = parse_pyproject_text(text)
    assert [r.name for r in parsed.requirements] == expected, text
    assert all(p.code == "invalid-requirement" for p in parsed.problems)
    for req in parsed.requirements:
        raw = sliced(text, req.name_span)
        assert raw == req.name or decoded(raw) == req.name, (raw, text)
        if req.version_span is not None:
            assert sliced(text, req.version_span) == req.pinned_version


def test_shapes_tools_would_reject_are_problems_not_silence() -> None:
    text = "\n".join(
        [
            "[project]",
            'dependencies = "nose"',
            "[project.optional-dependencies]",
            'test = ["", "pytest"]',
            "[tool.poetry.dependencies]",
            'python = "^3.10"',
            '"🐍" = "^1.0"',
            'requests = "^2.31"',
        ]
    )
    parsed = parse_pyproject_text(text + "\n")
    assert [r.name for r in parsed.requirements] == ["pytest", "requests"]
    problems = {(p.span.line, p.span.start, p.span.end): p.message for p in parsed.problems}
    assert "project.dependencies must be an array" in problems[(1, 15, 21)]
    assert (3, 8, 10) in problems  # the empty string: its two quotes, not zero width
    assert "not a valid project name" in problems[(6, 1, 2)]  # the key as written, inside quotes


def test_non_string_array_items_are_problems_not_silence() -> None:
    # pip, uv and build backends refuse these documents; a gate must not pass them unread.
    text = "\n".join(
        [
            "[project]",
            'dependencies = ["nose", 1, {name = "requests"}, ["pycrypto"]]',
            "[dependency-groups]",
            'test = [{include-group = "Lint"}, "pytest", {include-group = 3}]',
            'lint = ["ruff", {include-group = "docs"}, {include-group = "TEST"}]',
        ]
    )
    parsed = parse_pyproject_text(text + "\n")
    assert [r.name for r in parsed.requirements] == ["nose", "pytest", "ruff"]
    problems = {(p.span.line, p.span.start, p.span.end): p.message for p in parsed.problems}
    assert all(p.code == "invalid-requirement" for p in parsed.problems)
    assert problems[(1, 24, 25)] == "project.dependencies items must be requirement strings"
    assert (1, 27, 46) in problems and (1, 48, 60) in problems
    assert "requirement strings or {include-group" in problems[(3, 44, 63)]
    # Group names compare normalized ("Lint" is lint); a missing group and a cycle are errors.
    assert problems[(4, 34, 38)] == "dependency-groups.lint includes 'docs', which is no group"
    assert "includes 'TEST', which includes it back" in problems[(4, 60, 64)]
    assert "includes 'Lint', which includes it back" in problems[(3, 26, 30)]
    assert len(problems) == 7


def test_uv_and_poetry_sources_take_projects_off_the_index() -> None:
    text = "\n".join([
        "[project]",
        'dependencies = ["mylib", "vendored==1", "torch", "Tools_Git", "plain", "both"]',
        "[tool.uv.sources]",
        "mylib = { workspace = true }",
        'vendored = { path = "../vendored", editable = true }',
        'torch = [{ index = "pytorch", marker = "sys_platform == \'linux\'" }]',
        'tools-git = { git = "https://user:secret@git.example/tools.git" }',
        "both = {}",  # no source kind: still from the index
        "[[tool.uv.index]]",
        'name = "pytorch"',
        'url = "https://download.pytorch.org/whl/cpu"',
        "[tool.poetry.dependencies]",
        'private = { version = "^1", source = "corp" }',
        'public = "^2"',
        "[[tool.poetry.source]]",
        'name = "corp"',
        'url = "https://token:x@pypi.corp.example/simple/"',
    ]) + "\n"  # fmt: skip
    parsed = parse_pyproject_text(text)
    sources = {r.name: r.source for r in parsed.requirements}
    assert sources == {
        "mylib": "a uv workspace member",
        "vendored": "uv source path ../vendored",
        # Bound to a marker: the other installs take it from the default index.
        "torch": None,
        "Tools_Git": "uv source git https://git.example/tools.git",
        "plain": None,
        "both": None,
        "private": "Poetry index 'corp' (https://pypi.corp.example/simple/)",
        "public": None,
    }
    assert [r.name for r in parsed.requirements if not r.off_index] == [
        "torch", "plain", "both", "public"
    ]  # fmt: skip
    assert all(r.url is None for r in parsed.requirements)


@pytest.mark.parametrize(
    "text",
    [
        '[project]\ndependencies = ["evil"]\n[tool.uv.sources]\n'
        'evil = [{ path = "vendor/evil", marker = "sys_platform == \'win32\'" }]\n',
        '[project]\ndependencies = ["evil"]\n[tool.uv.sources]\n'
        'evil = { path = "vendor/evil", group = "dev" }\n',
        '[project]\ndependencies = ["evil"]\n[tool.uv.sources]\n'
        'evil = { git = "https://git.example/evil.git", extra = "cpu" }\n',
        "[tool.poetry.dependencies]\nevil = [\n"
        '  { path = "vendor/evil", markers = "sys_platform == \'win32\'" },\n'
        '  { version = "1.0", markers = "sys_platform != \'win32\'" },\n]\n',
    ],
)
def test_a_source_for_some_installs_only_leaves_the_others_on_the_index(text: str) -> None:
    """A source bound to a marker, an extra or a group (uv), or a Poetry constraint list with
    a version beside a path: other installs get the package from the index (the real uv
    locks "evil" from the registry with the opposite marker). It was skipped everywhere, and a
    quarantined "evil" passed."""
    [evil] = [r for r in parse_pyproject_text(text).requirements if r.name == "evil"]
    assert not evil.off_index and evil.source is None and evil.url is None


def test_ignore_comments_silence_dependencies_by_name_only() -> None:
    # Issue 15: a comment on a line of several dependencies silenced all of them.
    text = (
        "[project]\n"
        'dependencies = ["evil-pkg", "Nose", "six"]  # sbom-enrich: ignore[nose, SIX]\n'
        "[project.optional-dependencies]\n"
        'a = ["evil-pkg", "nose"]  # sbom-enrich: ignore\n'
        'b = ["alone"]  # sbom-enrich: ignore\n'
        'c = ["x"]  # sbom-enrich: ignore[y]\n'
    )
    parsed = parse_pyproject_text(text)
    assert [(r.section, r.name) for r in parsed.requirements if r.ignored] == [
        ("project.dependencies", "Nose"),
        ("project.dependencies", "six"),
        ("project.optional-dependencies.b", "alone"),
    ]
    assert [(c.span.line, c.names) for c in parsed.ignore_comments] == [
        (1, ("nose", "six")),
        (3, None),
        (4, None),
        (5, ("y",)),
    ]
    assert [(w.code, w.span.line) for w in parsed.warnings] == [
        ("ignore-comment", 3),
        ("ignore-comment", 5),
    ]
    assert "silences nothing on a line with 2 dependencies" in parsed.warnings[0].message
    assert "ignore[evil-pkg]" in parsed.warnings[0].message
    assert "no dependency 'y'" in parsed.warnings[1].message
    assert parsed.problems == ()


def test_poetry_ignore_comment_names_its_key() -> None:
    text = '[tool.poetry.dependencies]\nnose = "^1"  # sbom-enrich: ignore[nose]\nsix = "1"\n'
    parsed = parse_pyproject_text(text)
    assert [(r.name, r.ignored) for r in parsed.requirements] == [("nose", True), ("six", False)]
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("text", "line", "written"),
    [
        ('[project.dependencies]\nrequests = ">=2"\n', 0, "dependencies"),
        ("[project.dependencies]\n", 0, "dependencies"),
        ('[project]\ndependencies.requests = ">=2"\n', 1, "dependencies"),
        ('[project.optional-dependencies.docs]\nsphinx = "1"\n', 0, "docs"),
        ('[dependency-groups.dev]\npytest = "8"\n', 0, "dev"),
        ('[project]\ndependencies = {requests = ">=2"}\n', 1, '{requests = ">=2"}'),
    ],
)
def test_a_dependency_array_written_as_a_table_is_a_problem(
    text: str, line: int, written: str
) -> None:
    # Issue 15: tomllib reads a table there, tools ignore it, and it was dropped without a word.
    parsed = parse_pyproject_text(text)
    assert parsed.requirements == ()
    [problem] = parsed.problems
    assert problem.code == "invalid-requirement" and "must be an array" in problem.message
    assert (problem.span.line, text.splitlines()[line][problem.span.start : problem.span.end]) == (
        line,
        written,
    )


def test_a_version_after_at_is_no_direct_reference() -> None:
    parsed = parse_pyproject_text(
        '[project]\ndependencies = ["evil-pkg@0.0.1", "ok @ https://x/ok.whl"]\n'
    )
    assert [r.name for r in parsed.requirements] == ["ok"]
    [problem] = parsed.problems
    assert (
        "'0.0.1' after '@' is not a URL" in problem.message and "evil-pkg==0.0.1" in problem.message
    )


def _nested(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


SINGLE_QUOTES, DOUBLE_QUOTES = "'" * 3, '"' * 3


@pytest.mark.parametrize(
    "tool",
    [
        f"a = {_nested(101)}",
        f"a = {_nested(100, '{inner = [1]}')}",
        # Strings inside the value that hold brackets or open multi-line strings: a skip by
        # brackets alone, or to the end of the line, lost track here.
        f"a = {_nested(101, SINGLE_QUOTES + chr(10) + DOUBLE_QUOTES + chr(10) + SINGLE_QUOTES)}",
        f"a = {_nested(150, chr(34) + ']]]' + chr(34))}  # ]]]",
        "a = " + "[\n" * 120 + "1" + "]\n" * 120,
    ],
)
def test_values_nested_past_the_scanners_limit_cost_only_themselves(tool: str) -> None:
    """A value nested deeper than the scanner reads (MAX_NESTING) is skipped whole. It was
    skipped to the end of its line, which left the levels above it open: every statement
    after it, the [project] table included, was read as part of it, and its dependencies
    were left out while tomllib read them (a gate passed that checked nothing)."""
    text = (
        f"[tool.x]\n{tool}\n\n[project]\nname = 'app'\nversion = '1.0'\n"
        'dependencies = ["flask==3.0.0", "evil-package==6.6.6"]\n\n'
        f"[tool.y]\nc = '{DOUBLE_QUOTES}'\n"
    )
    tomllib.loads(text)  # valid TOML: every section is there to read
    parsed = parse_pyproject_text(text)
    assert [(r.name, r.pinned_version) for r in parsed.requirements] == [
        ("flask", "3.0.0"),
        ("evil-package", "6.6.6"),
    ]
    assert parsed.problems == ()


def test_a_section_the_scanner_cannot_locate_is_a_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where tomllib reads dependencies the scanner (which gives their positions) does not
    find, the section is one problem: it used to be a log line, and the run passed without
    them."""
    from sbom_enrich.manifests import pyproject, toml_scan

    text = '[project]\nname = "app"\nversion = "1"\ndependencies = ["flask", "evil"]\n'

    def blind(text: str, recover: bool = False) -> toml_scan.ScannedDocument:
        return toml_scan.ScannedDocument((), (), ())

    monkeypatch.setattr(pyproject, "scan_toml", blind)
    parsed = parse_pyproject_text(text)
    assert parsed.requirements == ()
    [problem] = parsed.problems
    assert problem.code == "invalid-requirement"
    assert problem.message.startswith("project.dependencies: its requirements could not be")
    assert problem.span.line == 0  # the [project] header


def test_setuptools_dynamic_dependency_files_are_includes() -> None:
    """``dynamic = ["dependencies"]`` with setuptools reading them from files: the files are
    followed as requirements files (pip's ``-r``). They were not read, and a pyproject.toml
    whose every dependency lives in one passed with nothing checked."""
    text = (
        '[project]\nname = "app"\nversion = "1"\n'
        'dynamic = ["dependencies", "optional-dependencies"]\n\n'
        "[tool.setuptools.dynamic]\n"
        'dependencies = {file = ["requirements.in", "more.txt"]}\n'
        'optional-dependencies.dev = {file = "dev.txt"}\n'
        'optional-dependencies.docs = { file = ["docs.txt"] }\n'
        'version = {file = "VERSION"}\n'  # not a requirements file
    )
    parsed = parse_pyproject_text(text)
    assert [(i.kind, i.path, sliced(text, i.span)) for i in parsed.includes] == [
        ("requirement", "requirements.in", "requirements.in"),
        ("requirement", "more.txt", "more.txt"),
        ("requirement", "dev.txt", "dev.txt"),
        ("requirement", "docs.txt", "docs.txt"),
    ]
    assert parsed.requirements == () and parsed.problems == ()


def test_hatch_requirements_txt_files_are_includes() -> None:
    """hatch-requirements-txt fills the dynamic fields from requirements files (``files``,
    the older ``filename``, each extra's list): followed as pip's ``-r``, as setuptools' are."""
    text = (
        '[project]\nname = "app"\nversion = "1"\n'
        'dynamic = ["dependencies", "optional-dependencies"]\n\n'
        "[tool.hatch.metadata.hooks.requirements_txt]\n"
        'files = ["requirements.txt", "extra.txt"]\n\n'
        "[tool.hatch.metadata.hooks.requirements_txt.optional-dependencies]\n"
        'crypto = ["requirements-crypto.txt"]\n'
    )
    parsed = parse_pyproject_text(text)
    assert [(i.path, sliced(text, i.span)) for i in parsed.includes] == [
        ("requirements.txt", "requirements.txt"),
        ("extra.txt", "extra.txt"),
        ("requirements-crypto.txt", "requirements-crypto.txt"),
    ]
    assert parsed.problems == () and parsed.dynamic_unseen == ()
    # The older single file, and the plugin's default when its table names none.
    old = text.replace('files = ["requirements.txt", "extra.txt"]', 'filename = "reqs.in"')
    assert [i.path for i in parse_pyproject_text(old).includes][0] == "reqs.in"
    default = (
        '[project]\ndynamic = ["dependencies"]\n\n[tool.hatch.metadata.hooks.requirements_txt]\n'
    )
    [include] = parse_pyproject_text(default).includes
    assert include.path == "requirements.txt"
    assert sliced(default, include.span) == "requirements_txt"
    assert parse_pyproject_text(default).dynamic_unseen == ()


@pytest.mark.parametrize(
    ("text", "unseen"),
    [
        # setup.py's install_requires, or a plugin: nothing in the file says what they are.
        ('[project]\nname = "a"\ndynamic = ["version", "dependencies"]\n', ["dependencies"]),
        ('[project]\ndynamic = ["optional-dependencies", "dependencies"]\n',
         ["dependencies", "optional-dependencies"]),
        # setuptools reads the dependencies from a file, not the extras.
        ('[project]\ndynamic = ["dependencies", "optional-dependencies"]\n'
         '[tool.setuptools.dynamic]\ndependencies = {file = "r.txt"}\n',
         ["optional-dependencies"]),
        # A dynamic table setuptools has no file for (attr is for the version, not these).
        ('[project]\ndynamic = ["dependencies"]\n'
         '[tool.setuptools.dynamic]\ndependencies = {attr = "pkg.DEPS"}\n', ["dependencies"]),
        # Read from the tables: Poetry's own, every file setuptools or the hatch plugin reads.
        ('[project]\ndynamic = ["dependencies", "optional-dependencies"]\n'
         '[tool.poetry.dependencies]\npython = "^3.9"\n', []),
        ('[project]\ndynamic = ["dependencies", "optional-dependencies"]\n'
         '[tool.setuptools.dynamic]\ndependencies = {file = "r.txt"}\n'
         'optional-dependencies.dev = {file = "d.txt"}\n', []),
        ('[project]\nname = "a"\ndynamic = ["version"]\ndependencies = []\n', []),
        ('[project]\ndynamic = "dependencies"\n', []),  # not an array: not PEP 621's
    ],
)  # fmt: skip
def test_dynamic_dependencies_no_table_fills_are_reported(text: str, unseen: list[str]) -> None:
    """Dependency fields ``[project] dynamic`` leaves to the build backend, which no table
    here fills, are listed, each at its name in ``dynamic``: a run that read only this file
    saw none of them (the caller decides, manifests/check.py)."""
    parsed = parse_pyproject_text(text)
    assert [sliced(text, p.span) for p in parsed.dynamic_unseen] == unseen
    assert all(p.code == "dynamic-dependencies" for p in parsed.dynamic_unseen)
    assert all("none of them was checked" in p.message for p in parsed.dynamic_unseen)


@pytest.mark.parametrize(
    ("text", "section", "key"),
    [
        ('[project]\nname = "a"\noptional-dependencies = ["evil==6"]\n',
         "project.optional-dependencies", "optional-dependencies"),
        ('dependency-groups = ["evil==6"]\n', "dependency-groups", "dependency-groups"),
        ('[tool.poetry]\ndependencies = ["evil"]\n', "tool.poetry.dependencies", "dependencies"),
        ('[tool.poetry]\ndev-dependencies = ["evil"]\n',
         "tool.poetry.dev-dependencies", "dev-dependencies"),
        ('[tool.poetry.group.dev]\ndependencies = ["evil"]\n',
         "tool.poetry.group.dev.dependencies", "dependencies"),
        ('[tool.poetry.group]\ndev = "evil"\n', "tool.poetry.group.dev", "dev"),
        ('[tool.pdm]\ndev-dependencies = ["evil"]\n',
         "tool.pdm.dev-dependencies", "dev-dependencies"),
    ],
)  # fmt: skip
def test_a_dependency_table_of_another_type_is_a_problem(text: str, section: str, key: str) -> None:
    """A table of dependencies written as an array or a string: tools reject or ignore it,
    and nothing in it is read. It passed without a word ("0 requirements")."""
    parsed = parse_pyproject_text(text)
    [problem] = parsed.problems
    assert problem.code == "invalid-requirement"
    assert problem.message.startswith(f"{section} must be a table of dependencies")
    assert sliced(text, problem.span) == key
