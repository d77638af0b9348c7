"""pip's own requirements-file parser is the oracle: every tricky line is read as pip reads it.

For each text, pip (the version in the test venv, ``pip>=25`` in the test extra) and our parser
each give a list of outcomes: a project name, a problem (pip rejects the line), or a skip (pip
reads a URL, a path or an archive: no name for the index). They must agree; nothing pip rejects
may vanish silently. Lines are in the spirit of pip's tests/unit/test_req_file.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sbom_enrich.manifests import parse_requirements_text
from sbom_enrich.status.model import canonical

pytest.importorskip("pip")

TRICKY = [
    "requests",
    "requests==2.0",
    "requests[security]>=2,<3",
    "requests ; python_version > '3'",
    "requests (>=2)",
    "requests===1.0",
    "requests==1.*",
    # an empty marker: pip drops it (packaging alone rejects it)
    "requests;",
    "requests ;  ",
    "requests;   # comment",
    "Django>=1.0 ; ",
    # "/" or "\" in a requirement that is no path: pip rejects them
    "uvicorn==0.35/0",
    "x==1/",
    "foo\\bar==1",
    # a backslash followed by a blank continues nothing: "requests \" is its own bad line
    "requests \\ \nflask",
    "requests \\\t\nflask",
    "requests \\\nflask",  # joined: "requests flask"
    "a==1 \\\n  --hash=sha256:0123",
    "pkg \\",  # the last line's backslash joins nothing
    # "@" must be followed by a URL pip can install from
    "evil-pkg@0.0.1",
    "pkg @ ./pkgdir",
    "pkg@https://example.invalid/pkg.whl",
    "name @ git+https://example.invalid/repo",
    "name @ file:///tmp/pkg.whl",
    # URLs, paths and archives: no name to look up
    "https://example.invalid/pkg-1.0.tar.gz",
    "git+https://example.invalid/repo#egg=name",
    "./pkgdir",
    "pkgdir/",
    "foo-1.0.tar.gz",
    "-e ./pkgdir",
    # lines pip rejects
    "my-package=1.0",
    "req1 req2",
    "--bogus",
    "name;python_version<'3' and",
    "requests==",
    "-r",
    # line breaks pip honours (str.splitlines) and an editor's line count does not: each
    # starts a new line for pip, after a comment, an option or a continuation alike
    *(f"flask==3.0.0  # web{sep}evil-package==6.6.6" for sep in "\x0b\x0c\x1c\x1d\x1e\x85"),
    "a==1\u2028b==2\u2029c==3",
    "--index-url https://example.invalid/simple\x0cevil==1",
    "x==1 \\\x0c--hash=sha256:0123",
    "\x0c\x0cflask",
    # a backslash before such a break joins the empty line after it, not the next line
    *(f"flask==3.0.0 \\{sep}\nevil-package==6.6.6" for sep in "\x0b\x0c\x85\u2028"),
    "a \\\x0c\r\nb",
    "a \\\x1c\rb",
    "a \\\x1d",
]


@contextlib.contextmanager
def _in(directory: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


def pip_outcomes(text: str, folder: Path) -> list[str]:
    """pip's reading of ``text``: "name:<canonical>", "problem" or "skip" per requirement."""
    from pip._internal.exceptions import InstallationError
    from pip._internal.network.session import PipSession
    from pip._internal.req.constructors import install_req_from_parsed_requirement
    from pip._internal.req.req_file import RequirementsFileParseError, parse_requirements

    path = folder / "requirements.txt"
    path.write_text(text + "\n", encoding="utf-8")
    found: list[str] = []
    with _in(folder):  # pip resolves relative paths from the working directory
        lines = parse_requirements(str(path), session=PipSession())
        while True:
            try:
                parsed = next(lines)
            except StopIteration:
                break
            except (RequirementsFileParseError, InstallationError):
                found.append("problem")
                break  # pip stops at a line it cannot parse
            try:
                ireq = install_req_from_parsed_requirement(parsed)
            except InstallationError:
                found.append("problem")
                continue
            url = ireq.req.url if ireq.req is not None else None
            if url is not None and "://" not in url and not url.startswith("file:"):
                # Accepted when parsed, but pip install then fails: "Invalid URL '0.0.1'".
                found.append("problem")
            elif parsed.is_editable or ireq.req is None or ireq.link is not None:
                found.append("skip")
            else:
                found.append(f"name:{canonical(ireq.req.name)}")
    return found


def our_outcomes(text: str) -> list[str]:
    parsed = parse_requirements_text(text + "\n")
    # In the order written: by line, then by column (pip's line breaks the editor does not
    # count put several requirements on one line).
    found = [((r.name_span.line, r.name_span.start), f"name:{r.canonical_name}")
             if r.url is None else ((r.name_span.line, r.name_span.start), "skip")
             for r in parsed.requirements]  # fmt: skip
    found += [((p.span.line, p.span.start), "problem") for p in parsed.problems]
    return [outcome for _, outcome in sorted(found)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory where ./pkgdir is an installable project, as pip checks on disk."""
    root = tmp_path_factory.mktemp("pip-oracle")
    (root / "pkgdir").mkdir()
    (root / "pkgdir" / "pyproject.toml").write_text('[project]\nname = "pkgdir"\nversion = "1"\n')
    return root


@pytest.mark.parametrize("text", TRICKY)
def test_we_read_each_line_as_pip_does(text: str, folder: Path) -> None:
    logging.getLogger("pip").setLevel(logging.ERROR)  # "looks like a filename" warnings
    expected = pip_outcomes(text, folder)
    # "skip" lines leave no trace in either list: a skip of ours is no requirement at all.
    assert [o for o in our_outcomes(text) if o != "skip"] == [o for o in expected if o != "skip"]
