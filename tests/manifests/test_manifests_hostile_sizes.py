"""Manifests shaped to be slow: reading them stays linear in their size."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sbom_enrich.manifests import parse_lock_text


def _inline_lock(count: int, separator: str) -> str:
    """A valid uv.lock whose packages are inline tables (no ``[[package]]`` header to anchor
    a name's span), each depending on the next."""
    tables = separator.join(
        f'{{name="p{i}",version="1",source={{registry="https://pypi.org/simple"}},'
        f'dependencies=[{{name="p{i + 1}"}}]}}'
        for i in range(count)
    )
    return f"version = 1\npackage = [{tables}]\n"


@pytest.mark.parametrize("separator", [",", ",\n"])
def test_inline_table_packages_are_located_at_their_first_quoted_name(separator: str) -> None:
    text = _inline_lock(3, separator)
    parsed = parse_lock_text("uv.lock", text)
    lines = text.splitlines()
    for requirement in parsed.requirements:
        span = requirement.name_span
        assert lines[span.line][span.start : span.end] == requirement.name
        # p1 is first written as p0's dependency: the first place its name is quoted.
        assert text.index(f'"{requirement.name}"') + 1 == (
            sum(len(line) + 1 for line in lines[: span.line]) + span.start
        )


def test_a_lock_of_40000_inline_tables_is_read_in_linear_time() -> None:
    # Each package's span was searched from the start of the text, and on a one-line lock
    # each line lookup scanned the whole line: 40,000 packages (4 MB) took two minutes.
    # A child process, so that the old code fails this test instead of holding the suite.
    program = (
        "import sys\n"
        "from sbom_enrich.manifests import parse_lock_text\n"
        "print(len(parse_lock_text('uv.lock', sys.stdin.read()).requirements))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", program],
            input=_inline_lock(40_000, ","),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("reading a lock of inline tables is not linear in its size")
    assert done.stdout.strip() == "40000", done.stderr


def test_a_pyproject_with_20000_chained_dependency_groups_is_read_in_linear_time() -> None:
    # Each include searched the groups for a way back: a chain of 10,000 groups (360 kB)
    # took 60 s, in check and on every edit in the editor.
    text = "[dependency-groups]\n" + "".join(
        f'g{i} = [{{include-group = "g{i + 1}"}}]\n' for i in range(20_000)
    )
    program = (
        "import sys\n"
        "from sbom_enrich.manifests.pyproject import parse_pyproject_text\n"
        "print(*(p.message for p in parse_pyproject_text(sys.stdin.read()).problems))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", program], input=text, capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("checking dependency-group includes is not linear")
    assert done.stdout.strip() == "dependency-groups.g19999 includes 'g20000', which is no group"


@pytest.mark.parametrize(
    "text",
    [
        "a." * 8000 + "b = 1\n",  # a dotted key
        "[" + "a." * 8000 + "b]\n",  # a table header
        "x = {" + "a . " * 8000 + "b = 1}\n",  # inside an inline table, spaced
    ],
)
def test_a_dotted_key_of_thousands_of_parts_is_refused_before_tomllib_reads_it(text: str) -> None:
    """tomllib is quadratic in a dotted key's parts: 16 kB took 0.8 s and 270 MB, 100 kB more
    than 4 GB (a pyproject.toml in a pull request, or opened in the editor, would take the
    CI runner or the language server down). Refused first; the rest of the file is read."""
    from sbom_enrich._toml import TOO_MANY_DOTS, loads, tomllib
    from sbom_enrich.manifests import parse_pyproject_text

    with pytest.raises(tomllib.TOMLDecodeError, match="more than 2000 dots"):
        loads(text)
    parsed = parse_pyproject_text(text + '[project]\ndependencies = ["evil-pkg"]\n')
    assert [p.message for p in parsed.problems] == [f"Invalid TOML: {TOO_MANY_DOTS}"]
    assert [r.name for r in parsed.requirements] == ["evil-pkg"]


def test_dots_inside_strings_are_no_key() -> None:
    from sbom_enrich._toml import loads

    text = 'urls = ["' + "a." * 3000 + "\", '" + "b." * 3000 + "']\n"
    assert loads(text)["urls"][0].startswith("a.a.")


def test_dots_in_a_comment_are_no_key() -> None:
    from sbom_enrich._toml import loads

    assert loads("# " + "." * 3000 + '\nx = "a"  # ' + "." * 3000 + "\n") == {"x": "a"}
