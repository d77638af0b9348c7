"""Lock files read as lock files: every locked package, its pin, its source and its name's span."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sbom_enrich.manifests import is_lock_file, parse_lock_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# ../shared beside the checkout (/work/main) or beside its worktree folder (/work/wt/NAME).
CORPUS = next(
    (
        p / "shared" / "corpus" / "locks"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "corpus" / "locks").is_dir()
    ),
    Path("/nonexistent"),
)
LOCKS = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


def file_name(path: Path) -> str:
    return path.name.split("__")[-1]


def independent_count(path: Path) -> set[tuple[str, str]]:
    """(name, version) pairs read straight from the document, as an oracle."""
    text = path.read_text(encoding="utf-8")
    name = file_name(path).lower()
    if name == "pipfile.lock":
        data = json.loads(text)
        return {
            (n, e.get("version", "").removeprefix("=="))
            for group in ("default", "develop")
            for n, e in data.get(group, {}).items()
        }
    data = tomllib.loads(text)
    key = "packages" if name.startswith("pylock") else "package"
    return {(p["name"], p.get("version", "")) for p in data.get(key, [])}


@pytest.mark.skipif(not LOCKS, reason="../shared/corpus/locks is not beside this checkout")
@pytest.mark.parametrize("path", LOCKS, ids=[p.name[-40:] for p in LOCKS])
def test_real_lock_files_give_every_package_with_an_exact_name_span(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = parse_lock_text(file_name(path), text)
    assert parsed.problems == ()
    got = {(r.name, r.pinned_version or "") for r in parsed.requirements}
    assert got == independent_count(path)
    lines = text.splitlines()
    for requirement in parsed.requirements:
        span = requirement.name_span
        assert lines[span.line][span.start : span.end] == requirement.name
        assert requirement.specifier == f"=={requirement.pinned_version}"


UV_LOCK = """\
version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[[package]]
name = "requests"
version = "2.32.0"
source = { registry = "https://private.example/simple" }

[[package]]
name = "from-git"
version = "1.0"
source = { git = "https://example.com/x.git#abc" }

[[package]]
name = "local"
version = "1.0"
source = { path = "vendor/local-1.0.tar.gz" }
"""


def test_uv_sources_decide_what_the_index_is_asked() -> None:
    parsed = parse_lock_text("uv.lock", UV_LOCK)
    by_name = {r.name: r for r in parsed.requirements}
    assert by_name["requests"].source is None and by_name["requests"].pinned_version == "2.32.0"
    assert by_name["app"].source and "workspace" in by_name["app"].source
    assert by_name["from-git"].source == "a git source"
    assert by_name["local"].source == "a path source"
    assert parsed.index_urls == ("https://private.example/simple",)
    assert by_name["requests"].name_span.line == 10  # 0-based: `name = "requests"`


def test_pylock_pdm_poetry_and_pipfile_shapes() -> None:
    pylock = parse_lock_text(
        "pylock.toml",
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "nose"\n'
        'version = "1.3.7"\nindex = "https://pypi.org/simple"\n\n[[packages]]\nname = "mine"\n'
        '[packages.directory]\npath = "."\n',
    )
    assert [(r.name, r.pinned_version, r.source) for r in pylock.requirements] == [
        ("nose", "1.3.7", None),
        ("mine", None, "a directory source"),
    ]
    pdm = parse_lock_text(
        "pdm.lock",
        '[[package]]\nname = "cachecontrol"\nversion = "0.13.1"\n\n[[package]]\n'
        'name = "cachecontrol"\nversion = "0.13.1"\nextras = ["filecache"]\n',
    )
    assert len(pdm.requirements) == 1  # one entry per extra is still one package
    poetry = parse_lock_text(
        "poetry.lock",
        '[[package]]\nname = "x"\nversion = "1"\n\n[package.source]\ntype = "git"\n'
        'url = "https://e/x.git"\nreference = "main"\n',
    )
    assert poetry.requirements[0].source == "a git source"
    pipfile = parse_lock_text(
        "Pipfile.lock",
        json.dumps(
            {
                "_meta": {"sources": [{"name": "corp", "url": "https://corp.example/simple"}]},
                "default": {"requests": {"version": "==2.32.0", "index": "corp"}},
                "develop": {"mine": {"path": ".", "editable": True}},
            },
            indent=4,
        ),
    )
    by_name = {r.name: r for r in pipfile.requirements}
    assert by_name["requests"].pinned_version == "2.32.0"
    assert pipfile.index_urls == ("https://corp.example/simple",)
    assert by_name["mine"].source == "a path source"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("uv.lock", "[[package]\nname = "),
        ("poetry.lock", "not = toml = at all"),
        ("Pipfile.lock", "{ truncated"),
        ("Pipfile.lock", "[1, 2]"),
        ("uv.lock", "package = 7"),
    ],
)
def test_a_broken_lock_is_one_problem_not_one_per_line(name: str, text: str) -> None:
    parsed = parse_lock_text(name, text)
    assert parsed.requirements == ()
    assert len(parsed.problems) <= 1
    if parsed.problems:
        assert parsed.problems[0].code == "invalid-lock"


def test_lock_file_names() -> None:
    assert all(is_lock_file(n) for n in ["uv.lock", "pylock.toml", "pylock.dev.toml",
                                          "poetry.lock", "pdm.lock", "Pipfile.lock"])  # fmt: skip
    assert not any(is_lock_file(n) for n in ["requirements.txt", "pyproject.toml", "x.lock"])


def test_a_pylock_that_packaging_rejects_is_one_problem_and_its_packages_still_read() -> None:
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "nose"\n'
        'version = "1.3.7"\n\n[[packages]]\nname = "odd"\nversion = 3\n'
    )
    parsed = parse_lock_text("pylock.toml", text)
    assert [p.code for p in parsed.problems] == ["invalid-lock"]
    assert "PEP 751" in parsed.problems[0].message and "packages[0]" in parsed.problems[0].message
    assert [r.name for r in parsed.requirements] == ["nose", "odd"]
    future = parse_lock_text("pylock.toml", 'lock-version = "2.0"\ncreated-by = "x"\n')
    assert [p.code for p in future.problems] == ["invalid-lock"]


@pytest.mark.skipif(not LOCKS, reason="../shared/corpus/locks is not beside this checkout")
@pytest.mark.parametrize("line_break", ["\r\n"])
def test_spans_stay_exact_with_other_line_breaks(line_break: str) -> None:
    path = CORPUS / "CycloneDX+cdxgen__test__data__uv.lock"
    text = path.read_text(encoding="utf-8").replace("\n", line_break)
    parsed = parse_lock_text("uv.lock", text)
    lines = text.split(line_break)
    assert len(parsed.requirements) == 63
    for requirement in parsed.requirements:
        span = requirement.name_span
        assert lines[span.line][span.start : span.end] == requirement.name
