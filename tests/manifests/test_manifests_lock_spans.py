"""Where a lock file writes each package's locked version: exactly there, or no span at all."""

from __future__ import annotations

import json

import pytest

from sbom_enrich.manifests import ParsedManifest, Requirement, parse_lock_text
from sbom_enrich.manifests.spans import LINE_BREAK_RE


def lsp_lines(text: str) -> list[str]:
    """The document's lines as the protocol counts them (CR, LF and CRLF break a line)."""
    return LINE_BREAK_RE.split(text)


def written_at(text: str, requirement: Requirement) -> str | None:
    """The text a requirement's version span covers, checked to lie inside the document."""
    span = requirement.version_span
    if span is None:
        return None
    lines = lsp_lines(text)
    assert 0 <= span.line < len(lines)
    assert 0 <= span.start <= span.end <= len(lines[span.line])
    return lines[span.line][span.start : span.end]


def assert_honest(text: str, parsed: ParsedManifest) -> None:
    """Every version span covers exactly the locked version, on a line of the document."""
    for requirement in parsed.requirements:
        found = written_at(text, requirement)
        assert found is None or found == requirement.pinned_version, requirement


def by_name(parsed: ParsedManifest) -> dict[str, Requirement]:
    return {r.name: r for r in parsed.requirements}


def line_of(text: str, requirement: Requirement) -> str:
    span = requirement.version_span
    assert span is not None
    return lsp_lines(text)[span.line]


REGISTRY = 'source = { registry = "https://pypi.org/simple" }'

SHAPES = {
    "uv.lock": f"""\
version = 1
requires-python = ">=3.10"

[[package]]
name = "requests"
version = "2.32.0"
{REGISTRY}
dependencies = [{{ name = "idna" }}]

[package.metadata]
requires-dist = [{{ name = "idna", specifier = ">=2" }}]

[[package]]
name = "idna"
version = "3.7"
{REGISTRY}
""",
    "poetry.lock": """\
[[package]]
name = "requests"
version = "2.32.0"
description = "HTTP"
optional = false

[package.dependencies]
idna = ">=2"
version = "9.9"

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
dependencies = [
    "idna>=2",
]

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

[[packages.wheels]]
name = "requests-2.32.0-py3-none-any.whl"
url = "https://files.example/requests-2.32.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

[[packages]]
name = "idna"
version = "3.7"
sdist = { url = "https://files.example/idna-3.7.tar.gz", hashes = { sha256 = "00" } }
""",
}


@pytest.mark.parametrize("file_name", sorted(SHAPES))
def test_each_toml_lock_gives_the_span_of_its_package_tables_version(file_name: str) -> None:
    text = SHAPES[file_name]
    parsed = parse_lock_text(file_name, text)
    found = by_name(parsed)
    for name, version in (("requests", "2.32.0"), ("idna", "3.7")):
        assert written_at(text, found[name]) == version
        assert line_of(text, found[name]) == f'version = "{version}"'
        # The version line of this package's own table (never a sub-table's "version" key).
        assert found[name].version_span.line == found[name].name_span.line + 1  # type: ignore[union-attr]


PIPFILE = {
    "_meta": {
        "hash": {"sha256": "00"},
        "requires": {"python_version": "3.12"},
        "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}],
    },
    "default": {
        "requests": {"hashes": ["sha256:00"], "index": "pypi", "version": "==2.32.0"},
    },
    "develop": {"idna": {"index": "pypi", "version": "==3.7"}},
}


def test_a_pipfile_lock_version_span_leaves_out_pipenvs_equals_signs() -> None:
    text = json.dumps(PIPFILE, indent=4) + "\n"
    parsed = parse_lock_text("Pipfile.lock", text)
    found = by_name(parsed)
    assert written_at(text, found["requests"]) == "2.32.0"
    assert line_of(text, found["requests"]).strip() == '"version": "==2.32.0"'
    assert written_at(text, found["idna"]) == "3.7"


def test_a_package_in_two_pipfile_categories_gets_each_entrys_own_spans() -> None:
    document = {**PIPFILE, "develop": {"requests": {"index": "pypi", "version": "==2.31.0"}}}
    text = json.dumps(document, indent=4) + "\n"
    parsed = parse_lock_text("Pipfile.lock", text)
    lines = lsp_lines(text)
    spans = sorted(
        (r.pinned_version, lines[r.name_span.line].strip(), written_at(text, r))
        for r in parsed.requirements
    )
    assert spans == [
        ("2.31.0", '"requests": {', "2.31.0"),
        ("2.32.0", '"requests": {', "2.32.0"),
    ]
    develop = next(r for r in parsed.requirements if r.pinned_version == "2.31.0")
    develop_line = next(i for i, line in enumerate(lines) if '"develop"' in line)
    assert develop.name_span.line > develop_line  # its own entry's name, not default's


# -- hostile lock files --------------------------------------------------------------------------


def uv_lock(*tables: str) -> str:
    return "version = 1\n" + "".join(f"\n[[package]]\n{table}" for table in tables)


HOSTILE_TOML = {
    # A multi-line string that writes what looks like the package's version, and a whole fake
    # package table, before the real version.
    "multi-line string": uv_lock(
        'name = "requests"\ndescription = """\nversion = "2.32.0"\n[[package]]\n'
        'name = "fake"\nversion = "6.6.6"\n"""\nversion = "2.32.0"\n' + REGISTRY + "\n",
        f'name = "idna"\nversion = "3.7"\n{REGISTRY}\n',
    ),
    "literal multi-line string": uv_lock(
        "name = \"requests\"\nnote = '''\nversion = \"2.32.0\"\n'''\n"
        f'version = "2.32.0"\n{REGISTRY}\n'
    ),
    # TOML 1.1 (rtoml reads it): an inline table over several lines.
    "multi-line inline table": uv_lock(
        'name = "requests"\nsource = {\n  registry = "https://pypi.org/simple",\n'
        '  version = "2.32.0"\n}\nversion = "2.32.0"\n'
    ),
    "array of arrays": uv_lock(
        f'name = "requests"\nmatrix = [\n  ["a"],\n]\nversion = "2.32.0"\n{REGISTRY}\n'
    ),
    "version before name": uv_lock(f'version = "2.32.0"\nname = "requests"\n{REGISTRY}\n'),
    "literal string": uv_lock(f"name = \"requests\"\nversion = '2.32.0'\n{REGISTRY}\n"),
    "escaped": uv_lock(f'name = "requests"\nversion = "2\\u002e32.0"\n{REGISTRY}\n'),
    "CRLF": uv_lock(f'name = "requests"\nversion = "2.32.0"\n{REGISTRY}\n').replace("\n", "\r\n"),
    "spaces and a comment": uv_lock(
        f'  name   =   "requests"\n\tversion\t=\t"2.32.0"   # pinned\n{REGISTRY}\n'
    ),
    "inline array of tables": 'version = 1\npackage = [{ name = "requests", version = "2.32.0", '
    'source = { registry = "https://pypi.org/simple" } }]\n',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TOML))
def test_a_hostile_uv_lock_gets_the_real_version_span_or_none(case: str) -> None:
    text = HOSTILE_TOML[case]
    parsed = parse_lock_text("uv.lock", text)
    assert parsed.problems == ()
    assert_honest(text, parsed)
    requests = by_name(parsed)["requests"]
    assert requests.pinned_version == "2.32.0"
    expected = {
        # Exact where the package's own key is written plainly.
        "multi-line string": 'version = "2.32.0"',
        "literal multi-line string": 'version = "2.32.0"',
        "multi-line inline table": 'version = "2.32.0"',
        "version before name": 'version = "2.32.0"',
        "literal string": "version = '2.32.0'",
        "CRLF": 'version = "2.32.0"',
        "spaces and a comment": '\tversion\t=\t"2.32.0"   # pinned',
        # No span rather than a guess: an escape, a line taken as a header, inline tables.
        "escaped": None,
        "array of arrays": None,
        "inline array of tables": None,
    }[case]
    if expected is None:
        assert requests.version_span is None
        return
    assert line_of(text, requests) == expected
    # The line is the last one that looks like this: the package's own key, not the fake.
    lines = lsp_lines(text)
    assert requests.version_span is not None
    assert max(i for i, line in enumerate(lines) if line == expected) == requests.version_span.line
    assert "fake" not in by_name(parsed)


def test_a_fake_package_table_inside_a_string_does_not_shift_the_names() -> None:
    text = HOSTILE_TOML["multi-line string"]
    parsed = parse_lock_text("uv.lock", text)
    lines = lsp_lines(text)
    idna = by_name(parsed)["idna"]
    assert lines[idna.name_span.line] == 'name = "idna"'
    assert line_of(text, idna) == 'version = "3.7"'
    assert idna.version_span is not None and idna.version_span.line == idna.name_span.line + 1


def test_a_fake_table_inside_a_string_named_like_the_next_package_is_not_taken_for_it() -> None:
    # The fake [[package]] inside the string was counted as a table: the second real table
    # (idna) was matched to it by position and name, its spans inside the description.
    text = uv_lock(
        'name = "requests"\ndescription = """\n[[package]]\nname = "idna"\nversion = "3.7"\n'
        '"""\nversion = "2.32.0"\n' + REGISTRY + "\n",
        f'name = "idna"\nversion = "3.7"\n{REGISTRY}\n',
    )
    parsed = parse_lock_text("uv.lock", text)
    lines = lsp_lines(text)
    idna = by_name(parsed)["idna"]
    real = max(i for i, line in enumerate(lines) if line == 'name = "idna"')
    assert idna.name_span.line == real
    assert idna.version_span is not None and idna.version_span.line == real + 1


def test_a_pipfile_lock_key_written_twice_counts_as_json_reads_it() -> None:
    # json keeps the last of a key written twice: the version checked is "==2.0.0", and a
    # package written twice in a category is its last entry.
    text = (
        '{"_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]},\n'
        ' "default": {\n'
        '  "requests": {"version": "==1.0.0"},\n'
        '  "idna": {"version": "==3.6", "version": "==3.7"},\n'
        '  "requests": {"version": "==2.0.0"}\n'
        " }}\n"
    )
    parsed = parse_lock_text("Pipfile.lock", text)
    assert_honest(text, parsed)
    found = by_name(parsed)
    assert found["requests"].pinned_version == "2.0.0"
    assert found["requests"].version_span is not None
    assert found["requests"].version_span.line == 4
    assert found["requests"].name_span.line == 4
    assert written_at(text, found["idna"]) == "3.7"
    assert found["idna"].version_span is not None and found["idna"].version_span.start > 30


def test_a_one_line_pipfile_lock_with_other_text_and_lone_crs() -> None:
    # Minified, non-ASCII before the version on its line; then the same split by lone CRs,
    # which break a line for the protocol (and JSON reads as white space).
    entry = '"requests": {"markers": "os_name == \'café 😀\'", "version": "==2.32.0"}'
    text = '{"_meta": {"sources": [{"name": "p", "url": "https://pypi.org/simple"}]}, '
    text += '"default": {' + entry + "}}"
    parsed = parse_lock_text("Pipfile.lock", text)
    (requests,) = parsed.requirements
    assert written_at(text, requests) == "2.32.0"
    assert requests.version_span is not None
    assert requests.version_span.start == text.index("2.32.0")  # code points, one line
    split = text.replace(", ", ",\r").replace(": {", ":\r{")
    parsed = parse_lock_text("Pipfile.lock", split)
    (requests,) = parsed.requirements
    assert written_at(split, requests) == "2.32.0"
    name = requests.name_span
    assert lsp_lines(split)[name.line][name.start : name.end] == "requests"
    assert requests.version_span is not None and requests.version_span.line > name.line


@pytest.mark.parametrize(
    "version",
    ['"\\u003d\\u003d2.32.0"', "2.32", '["==2.32.0"]', '"==2.32.0", "version": 2'],
    ids=["escaped", "number", "array", "last-is-a-number"],
)
def test_a_pipfile_version_that_is_not_plain_text_gets_no_span(version: str) -> None:
    text = (
        '{"_meta": {"sources": [{"name": "p", "url": "https://pypi.org/simple"}]},\n'
        f'"default": {{"requests": {{"version": {version}}}}}}}\n'
    )
    parsed = parse_lock_text("Pipfile.lock", text)
    assert_honest(text, parsed)
    assert all(r.version_span is None for r in parsed.requirements)


def test_a_pylock_package_without_a_version_has_no_version_span() -> None:
    # PEP 751: a package from an index may leave out `version`; it is read from its files'
    # names, which are no version value to point at.
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "requests"\n'
        'index = "https://pypi.org/simple"\n'
        'sdist = { url = "https://files.example/requests-2.32.0.tar.gz", '
        'hashes = { sha256 = "00" } }\n'
    )
    (requests,) = parse_lock_text("pylock.toml", text).requirements
    assert requests.pinned_version == "2.32.0"
    assert requests.version_span is None
