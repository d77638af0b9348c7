"""Lock files read as lock files: every locked package, its pin, its source and its name's span."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.findings.model import PROJECT_ITSELF
from sbom_enrich.manifests import is_lock_file, parse_lock_text
from sbom_enrich.manifests.locks import manifest_dependencies

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
        return {  # every category: default, develop and pipenv's custom ones
            (n, e.get("version", "").removeprefix("=="))
            for group, entries in data.items()
            if group != "_meta"
            for n, e in entries.items()
        }
    data = tomllib.loads(text)
    key = "packages" if name.startswith("pylock") else "package"
    return {(p["name"], p.get("version", "")) for p in data.get(key, [])}


@pytest.mark.skipif(not LOCKS, reason="../shared/corpus/locks is not beside this checkout")
@pytest.mark.parametrize("path", LOCKS, ids=[p.name[-40:] for p in LOCKS])
def test_real_lock_files_give_every_package_with_exact_name_and_version_spans(path: Path) -> None:
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
        # And its locked version, where the editor shows a yanked or unlisted one.
        version = requirement.version_span
        assert version is not None, requirement.name
        assert lines[version.line][version.start : version.end] == requirement.pinned_version


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
        version = requirement.version_span
        assert version is not None
        assert lines[version.line][version.start : version.end] == requirement.pinned_version


# -- what the real tools write, and what they would install from a lock ----------------------

BIN = Path(sys.executable).parent
STATIC_BUILD = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'


def real_lock(command: list[str], folder: Path, home: Path) -> str:
    """The lock ``command`` (uv, poetry or pdm from the ``test`` extra) writes in ``folder``,
    offline: every project here has no dependencies, so nothing is asked of any index."""
    found = shutil.which(command[0], path=str(BIN))
    if found is None:
        pytest.fail(f"{command[0]} is not installed: pip install -e '.[test]' brings it from PyPI")
    keep = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    keep = {k: v for k, v in keep.items() if not k.startswith(("PIP_", "UV_", "PDM_", "POETRY_"))}
    env = {
        **keep,
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "UV_NO_CONFIG": "1",
        "UV_OFFLINE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": sys.executable,
        "UV_CACHE_DIR": str(home / "uv-cache"),
        "PDM_CHECK_UPDATE": "false",
        "PDM_PYTHON": sys.executable,
        "PDM_USE_VENV": "false",
        "POETRY_VIRTUALENVS_CREATE": "false",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    done = subprocess.run([found, *command[1:]], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    name = next(p.name for p in folder.iterdir() if p.name.endswith(".lock"))
    return (folder / name).read_text(encoding="utf-8")


def write_project(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def member(name: str, extra: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1"\ndependencies = []\n{extra}{STATIC_BUILD}'


@pytest.fixture(scope="module")
def real_locks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Locks the real tools write: a uv workspace whose members uv writes as editable,
    ``editable = false`` (a directory) and ``package = false`` (virtual); a uv workspace with
    nothing to lock; poetry and pdm projects with no dependencies."""
    base = tmp_path_factory.mktemp("real-tool-locks")
    home = base / "home"
    ws = write_project(base / "ws", {
        "pyproject.toml": (
            '[project]\nname = "ws"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
            'dependencies = ["ed", "noned", "virt"]\n\n'
            '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[tool.uv.sources]\n'
            'ed = { workspace = true }\nnoned = { workspace = true, editable = false }\n'
            'virt = { workspace = true }\n' + STATIC_BUILD
        ),
        "packages/ed/pyproject.toml": member("ed"),
        "packages/noned/pyproject.toml": member("noned"),
        "packages/virt/pyproject.toml": member("virt", "[tool.uv]\npackage = false\n"),
    })  # fmt: skip
    nothing = write_project(base / "nothing", {"pyproject.toml": "[tool.uv.workspace]\n"})
    project = '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
    poetry = write_project(
        base / "poetry",
        {"pyproject.toml": project + "dependencies = []\n[tool.poetry]\npackage-mode = false\n"},
    )
    pdm = write_project(
        base / "pdm",
        {"pyproject.toml": project + "dependencies = []\n[tool.pdm]\ndistribution = false\n"},
    )
    return {
        "uv-workspace": real_lock(["uv", "--no-progress", "lock"], ws, home),
        "uv-nothing": real_lock(["uv", "--no-progress", "lock"], nothing, home),
        "poetry": real_lock(["poetry", "lock", "--no-interaction"], poetry, home),
        "pdm": real_lock(["pdm", "lock"], pdm, home),
    }  # fmt: skip


def test_what_the_real_tools_write_for_no_dependencies_is_read_without_a_problem(
    real_locks: dict[str, str],
) -> None:
    # The frame each format is checked for must be what its tool always writes: a uv
    # workspace with nothing to lock has no [[package]] at all, poetry writes `package = []`.
    assert "[[package]]" not in real_locks["uv-nothing"]
    for key, name in (("uv-nothing", "uv.lock"), ("poetry", "poetry.lock"), ("pdm", "pdm.lock")):
        parsed = parse_lock_text(name, real_locks[key])
        assert (parsed.problems, parsed.requirements) == ((), ()), key


def test_uv_workspace_members_are_the_project_only_from_their_own_local_trees(
    real_locks: dict[str, str],
) -> None:
    text = real_locks["uv-workspace"]
    assert 'source = { directory = "packages/noned" }' in text  # editable = false
    assert 'source = { virtual = "packages/virt" }' in text  # package = false
    parsed = parse_lock_text("uv.lock", text)
    assert parsed.problems == ()
    assert {r.name: r.source for r in parsed.requirements} == dict.fromkeys(
        ("ed", "noned", "virt", "ws"), PROJECT_ITSELF
    )
    # Named in [manifest] members, but installed from a URL: a package like any other.
    spoofed = text.replace('{ editable = "packages/ed" }', '{ url = "https://evil.example/e.whl" }')
    parsed = parse_lock_text("uv.lock", spoofed)
    by_name = {r.name: r for r in parsed.requirements}
    assert by_name["ed"].source == "a url source"
    assert "ed" not in parsed.graph.roots and set(parsed.graph.roots) == {"noned", "virt", "ws"}
    # A virtual tree that is no member is no project either.
    stray = text + '\n[[package]]\nname = "stray"\nversion = "1"\nsource = { virtual = "../x" }\n'
    assert parse_lock_text("uv.lock", stray).requirements[-1].source == "a virtual source"
    # uv reads a source by the first kind it knows in its own order: a URL beside "." is a
    # URL to uv, never the project; two kinds in one source is no lock uv writes.
    both = text.replace('{ editable = "." }', '{ editable = ".", url = "https://e.example/w.whl" }')
    parsed = parse_lock_text("uv.lock", both)
    assert {r.name: r.source for r in parsed.requirements}["ws"] == "a url source"
    assert "'ws': a 'source' of 2 kinds (url, editable)" in parsed.problems[0].message


SPOOFED_MEMBER = """\
version = 1
requires-python = ">=3.8"

[manifest]
members = ["evil-package"]

[[package]]
name = "evil-package"
version = "0.0.1"
source = { url = "https://evil.example/evil-0.0.1-py3-none-any.whl" }
"""


def test_a_uv_lock_naming_a_url_package_a_member_does_not_pass(
    project: Path, check: Callable[..., Run]
) -> None:
    # Skipped as "the project itself", the run passed having asked nothing (exit 0).
    (project / "uv.lock").write_text(SPOOFED_MEMBER)
    run = check("uv.lock", "--offline")
    assert run.code == 3, run.stderr
    assert "nothing was checked: 1 package comes from a URL" in run.stderr


def test_every_pipfile_lock_category_is_read() -> None:
    # pipenv >= 2022.10 writes a Pipfile's custom categories as top-level keys: only default
    # and develop were read, and the quarantined package in "docs" passed (exit 0).
    lock = {
        "_meta": {"sources": [{"name": "test", "url": "INDEX", "verify_ssl": False}]},
        "default": {"nose": {"version": "==1.3.7", "index": "test"}},
        "develop": {},
        "docs": {"evil-pkg": {"version": "==0.0.1", "index": "test"}},
    }
    text = json.dumps(lock, indent=4)
    parsed = parse_lock_text("Pipfile.lock", text)
    assert [r.name for r in parsed.requirements] == ["nose", "evil-pkg"]
    lines = text.splitlines()
    for requirement in parsed.requirements:
        span = requirement.name_span
        assert lines[span.line][span.start : span.end] == requirement.name
    # A top-level key that is no category of packages is a defect, never skipped.
    lock["docs"] = ["evil-pkg"]  # type: ignore[assignment]
    parsed = parse_lock_text("Pipfile.lock", json.dumps(lock))
    assert [p.code for p in parsed.problems] == ["invalid-lock"]
    assert "'docs' is a list, not an object" in parsed.problems[0].message


def test_a_package_in_a_custom_pipfile_category_is_checked(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    (project / "Pipfile.lock").write_text(
        json.dumps(
            {
                "_meta": {
                    "sources": [{"name": "test", "url": index_server.url, "verify_ssl": False}]
                },
                "default": {"nose": {"version": "==1.3.7"}},
                "develop": {},
                "docs": {"evil-pkg": {"version": "==0.0.1"}},
            },
            indent=4,
        )  # fmt: skip
    )
    (project / "Pipfile").write_text('[packages]\nnose = "*"\n\n[docs]\nevil-pkg = "*"\n')
    run = check("Pipfile.lock")
    assert run.code == 1, run.stderr
    assert "evil-pkg · 0.0.1 · quarantined" in run.stderr
    assert manifest_dependencies("Pipfile", (project / "Pipfile").read_text()) == (
        frozenset({"nose", "evil-pkg"}),
        None,
    )


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("uv.lock", "", "empty: uv writes an integer 'version'"),
        ("poetry.lock", "", "empty: poetry writes a [metadata] table"),
        ("pdm.lock", "", "empty: pdm writes a [metadata] table"),
        ("Pipfile.lock", "{}", "empty: pipenv writes a '_meta' object"),
        ("uv.lock", 'version = "1"\n', "this one has a str"),
        ("uv.lock", "version = true\n", "this one has a bool"),
        ("poetry.lock", 'package = []\nmetadata = "x"\n', "this one has a str"),
        ("pdm.lock", '[[package]]\nname = "nose"\nversion = "1.3.7"\n', "this one has none"),
        ("Pipfile.lock", '{"default": {}}', "pipenv writes a '_meta' object"),
    ],
)
def test_a_lock_without_what_its_format_always_has_is_one_problem(
    name: str, text: str, said: str
) -> None:
    parsed = parse_lock_text(name, text)
    assert [p.code for p in parsed.problems] == ["invalid-lock"]
    assert said in parsed.problems[0].message


def test_an_empty_lock_does_not_pass(project: Path, check: Callable[..., Run]) -> None:
    (project / "poetry.lock").write_text("")  # "0 requirements … policy: passed" before
    run = check("poetry.lock", "--offline")
    assert run.code == 3, run.stderr
    assert run.stderr.count("invalid-lock") == 1 and "poetry.lock: empty" in run.stderr


def test_a_uv_lock_of_the_old_distribution_layout_is_read_as_uv_reads_it(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # uv still reads [[distribution]] (a serde alias of `package`): it was read as no
    # packages, and the quarantined one passed (exit 0).
    text = (
        'version = 1\nrequires-python = ">=3.8"\n\n[[distribution]]\nname = "evil-pkg"\n'
        f'version = "0.0.1"\nsource = {{ registry = "{index_server.url}" }}\n'
    )
    parsed = parse_lock_text("uv.lock", text)
    assert parsed.problems == ()
    assert [(r.name, r.name_span.line) for r in parsed.requirements] == [("evil-pkg", 4)]
    (project / "uv.lock").write_text(text)
    run = check("uv.lock")
    assert run.code == 1, run.stderr
    assert "evil-pkg · 0.0.1 · quarantined" in run.stderr
    both = text + '\n[[package]]\nname = "nose"\nversion = "1.3.7"\nsource = { registry = "x" }\n'
    parsed = parse_lock_text("uv.lock", both)
    assert {r.name for r in parsed.requirements} == {"evil-pkg", "nose"}
    assert "both 'package' and 'distribution'" in parsed.problems[0].message


def test_a_uv_entry_without_a_source_is_a_defect_and_still_checked(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # It was skipped as "no registry" and the run passed (exit 0); uv reads no such entry.
    text = (
        f'version = 1\nrequires-python = ">=3.8"\n\n[[package]]\nname = "nose"\n'
        f'version = "1.3.7"\nsource = {{ registry = "{index_server.url}" }}\n\n'
        '[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n'
    )
    parsed = parse_lock_text("uv.lock", text)
    assert [(r.name, r.source) for r in parsed.requirements] == [
        ("nose", None),
        ("evil-pkg", None),
    ]
    assert "'evil-pkg': 'source' is missing" in parsed.problems[0].message
    (project / "uv.lock").write_text(text)
    run = check("uv.lock")
    assert run.code == 1, run.stderr  # a violation wins over the incomplete run
    assert "evil-pkg · 0.0.1 · quarantined" in run.stderr and "invalid-lock" in run.stderr


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        # poetry installs a type it does not know from an index (Executor._install).
        (
            "poetry.lock",
            '[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n\n[package.source]\n'
            'type = "LEGACY"\nurl = "INDEX"\nreference = "corp"\n\n[metadata]\n',
            "'evil-pkg': 'source.type' is 'LEGACY'",
        ),
        (
            "poetry.lock",
            '[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n\n[package.source]\n'
            'type = "hg"\nurl = "INDEX"\n\n[metadata]\n',
            "'evil-pkg': 'source.type' is 'hg'",
        ),
        (
            "pdm.lock",
            '[metadata]\n\n[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\ngit = false\n',
            "'evil-pkg': 'git' is a bool",
        ),
        (
            "Pipfile.lock",
            '{"_meta": {"sources": [{"name": "t", "url": "INDEX"}]},\n'
            ' "default": {"evil-pkg": {"version": "==0.0.1", "path": ""}}}',
            "'evil-pkg': 'path' is empty",
        ),
        (
            "Pipfile.lock",
            '{"_meta": {"sources": [{"name": "t", "url": "INDEX"}]},\n'
            ' "default": {"evil-pkg": {"version": "==0.0.1", "git": false}}}',
            "'evil-pkg': 'git' is a bool",
        ),
    ],
)
def test_a_source_marker_its_tool_never_writes_hides_no_package(
    name: str,
    text: str,
    said: str,
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
) -> None:
    # Each was skipped as an off-index source ("a LEGACY source", "a git source") and the
    # run passed (exit 0). Now: one defect, and the package is asked on the index anyway.
    text = text.replace("INDEX", index_server.url)
    parsed = parse_lock_text(name, text)
    assert [(r.name, r.source) for r in parsed.requirements] == [("evil-pkg", None)]
    assert [p.code for p in parsed.problems] == ["invalid-lock"]
    assert said in parsed.problems[0].message
    (project / name).write_text(text)
    run = check(name)
    assert run.code == 1, run.stderr
    assert "evil-pkg · 0.0.1 · quarantined" in run.stderr


@pytest.mark.parametrize(
    ("kind", "source"),
    [("legacy", None), ("git", "a git source"), ("url", "a url source"),
     ("file", "a file source"), ("directory", "a directory source")],
)  # fmt: skip
def test_a_poetry_source_poetry_writes_is_read_without_a_problem(
    kind: str, source: str | None
) -> None:
    text = (
        f'[[package]]\nname = "x"\nversion = "1"\n\n[package.source]\ntype = "{kind}"\n'
        'url = "https://corp.example/simple"\n\n[metadata]\nlock-version = "2.1"\n'
    )
    parsed = parse_lock_text("poetry.lock", text)
    assert parsed.problems == ()
    assert parsed.requirements[0].source == source


#: A package locked from the configured index with no version: requests 2.32.0 is yanked.
UNVERSIONED = {
    "uv.lock": 'version = 1\n\n[[package]]\nname = "requests"\nsource = { registry = "INDEX" }\n',
    "poetry.lock": '[[package]]\nname = "requests"\nversion = ""\n\n[metadata]\n',
    "pdm.lock": '[metadata]\n\n[[package]]\nname = "requests"\n',
    "Pipfile.lock": '{"_meta": {"sources": [{"name": "t", "url": "INDEX"}]},\n'
    ' "default": {"requests": {"index": "t"}}}',
}


@pytest.mark.parametrize("name", sorted(UNVERSIONED))
def test_a_package_asked_on_an_index_without_a_version_does_not_pass(
    name: str, project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # Looked up by name alone, no release could be yanked or missing: `--fail-on yanked`
    # passed (exit 0) whatever version the tool would install. uv refuses such an entry.
    (project / name).write_text(UNVERSIONED[name].replace("INDEX", index_server.url))
    run = check(name, "--fail-on", "yanked")
    assert run.code == 3, run.stderr
    assert "'requests': no 'version'" in run.stderr and "invalid-lock" in run.stderr


def test_a_pylock_package_without_a_version_is_checked_at_its_files_version(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # PEP 751 lets a package from an index leave out `version`; its wheel's name says it.
    # It was looked up by name alone and the yanked release passed (exit 0).
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "requests"\n'
        f'index = "{index_server.url}"\n\n[[packages.wheels]]\n'
        'url = "https://files.example/requests-2.32.0-py3-none-any.whl"\n'
        'hashes = { sha256 = "aa" }\n'
    )
    parsed = parse_lock_text("pylock.toml", text)
    assert parsed.problems == ()  # packaging.pylock accepts it
    assert [r.pinned_version for r in parsed.requirements] == ["2.32.0"]
    (project / "pylock.toml").write_text(text)
    run = check("pylock.toml", "--fail-on", "yanked")
    assert run.code == 1, run.stderr
    assert "requests · 2.32.0 · active · version yanked" in run.stderr


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        (
            "Pipfile.lock",
            '{"_meta": {"sources": [{"name": "corp", "url": "https://corp.invalid/simple"}]},\n'
            ' "default": {"requests": {"version": "==2.32.3", "index": "pypi"}}}',
            "'requests': 'index' names 'pypi', which '_meta.sources' gives no URL for",
        ),
        (
            "poetry.lock",
            '[[package]]\nname = "requests"\nversion = "2.32.3"\n\n[package.source]\n'
            'type = "legacy"\nreference = "corp"\n\n[metadata]\n',
            "'requests': a legacy 'source' with no 'url'",
        ),
    ],
)
def test_a_lock_entry_whose_index_the_lock_does_not_give_does_not_pass(
    name: str, text: str, said: str, project: Path, check: Callable[..., Run]
) -> None:
    # Each was asked on the configured index, silently, though its tool would take it from
    # another (or refuse it): the configured index's answer passed (exit 0).
    (project / name).write_text(text)
    run = check(name)
    assert run.code == 3, run.stderr
    assert said in run.stderr


@pytest.mark.parametrize(
    ("file_name", "entry"),
    [
        ("uv.lock", 'source = { registry = "wheels" }'),
        ("uv.lock", 'source = { registry = "../shared/wheels" }'),
        ("uv.lock", 'source = { registry = "file:///srv/wheels" }'),
        (
            "pylock.toml",
            'index = "file:///srv/wheels"\n[[packages.wheels]]\n'
            'url = "file:///srv/wheels/evil_pkg-0.0.1-py3-none-any.whl"\n'
            'hashes = { sha256 = "00" }',
        ),
    ],
)
def test_a_package_from_find_links_is_asked_by_name_like_one_from_a_url(
    file_name: str, entry: str, project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    """uv writes a find-links directory as `registry = "wheels"` (its pylock.toml export as
    a file: index). It was skipped as files on disk, while the same wheel fetched by URL had
    its name asked: a lock hid a quarantined name by moving the wheel into the directory.
    uv picked it by its name, as from an index: asked by name, only a quarantine fails."""
    if file_name == "uv.lock":
        head = "version = 1\n\n[[package]]\n"
        registry = f'source = {{ registry = "{index_server.url}" }}'
    else:
        head = 'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\n'
        registry = (
            f'index = "{index_server.url}"\n[[packages.wheels]]\n'
            f'url = "{index_server.url}nose-1.3.7-py3-none-any.whl"\nhashes = {{ sha256 = "00" }}'
        )
    table = head.rsplit("\n\n", 1)[1]
    text = (
        f'{head}name = "nose"\nversion = "1.3.7"\n{registry}\n\n'
        f'{table}name = "evil-pkg"\nversion = "0.0.1"\n{entry}\n'
    )
    parsed = parse_lock_text(file_name, text)
    assert parsed.problems == () and parsed.index_urls == (index_server.url,)
    (project / file_name).write_text(text)
    run = check(file_name, "--report", "-", "--report-format", "json")
    assert run.code == 1, run.stderr
    assert "evil-pkg (quarantined, installed from a find-links source)" in run.stderr
    assert "not allowed" not in run.stderr and "skipped" not in run.stderr
    by_name = {c["name"]: c for c in json.loads(run.stdout)["components"]}
    assert by_name["evil-pkg"]["off_index"] == "find-links"
    assert by_name["evil-pkg"]["version_missing"] is False  # the wheel is not the index's
    index_server.set_status("evil-pkg", "archived")  # maybe a namesake's: shown, no failure
    run = check(file_name, "--fail-on", "archived,deprecated", "--no-cache")
    assert "evil-pkg · 0.0.1 · archived · off-index (find-links)" in run.stderr
    assert run.code == 1 and "policy: FAILED (--fail-on archived,deprecated): nose" in run.stderr


REMOTE_ENTRIES = {
    # (file, text): {name: the remote kind its name is asked as, None: skipped as local}
    "uv": (
        "uv.lock",
        'version = 1\n[[package]]\nname = "u"\nversion = "1"\n'
        'source = { url = "https://e.example/u-1-py3-none-any.whl" }\n'
        '[[package]]\nname = "g"\nversion = "1"\nsource = { git = "https://e.example/g?rev=x#1" }\n'
        '[[package]]\nname = "lg"\nversion = "1"\nsource = { git = "file:///srv/lg?rev=x#1" }\n'
        '[[package]]\nname = "p"\nversion = "1"\nsource = { path = "p-1-py3-none-any.whl" }\n'
        # Found by name among files, as on an index (uv calls them registries): a find-links
        # directory (uv writes its path) and a file: index.
        '[[package]]\nname = "fl"\nversion = "1"\nsource = { registry = "wheels" }\n'
        '[[package]]\nname = "fi"\nversion = "1"\nsource = { registry = "file:///srv/simple" }\n',
        {"u": "url", "g": "git", "lg": None, "p": None, "fl": "find-links", "fi": "find-links"},
    ),
    "poetry": (
        "poetry.lock",
        '[[package]]\nname = "u"\nversion = "1"\n[package.source]\ntype = "url"\n'
        'url = "https://e.example/u-1.tar.gz"\n'
        '[[package]]\nname = "g"\nversion = "1"\n[package.source]\ntype = "git"\n'
        'url = "git@e.example:g.git"\n'
        '[[package]]\nname = "f"\nversion = "1"\n[package.source]\ntype = "file"\n'
        'url = "f-1.tar.gz"\n[metadata]\n',
        {"u": "url", "g": "git", "f": None},
    ),
    "pdm": (
        "pdm.lock",
        '[metadata]\n[[package]]\nname = "u"\nversion = "1"\nurl = "https://e.example/u.whl"\n'
        '[[package]]\nname = "g"\nversion = "1"\ngit = "https://e.example/g.git"\n'
        '[[package]]\nname = "lu"\nversion = "1"\nurl = "file:///srv/lu-1.tar.gz"\n',
        {"u": "url", "g": "git", "lu": None},
    ),
    "pipfile": (
        "Pipfile.lock",
        json.dumps(
            {
                "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]},
                "default": {
                    "u": {"file": "https://e.example/u-1.tar.gz"},
                    "g": {"git": "https://e.example/g.git", "ref": "x"},
                    "p": {"path": "./p", "editable": True},
                },
            }
        ),
        {"u": "url", "g": "git", "p": None},
    ),
    "pylock": (
        "pylock.toml",
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "u"\nversion = "1"\n'
        '[packages.archive]\nurl = "https://e.example/u-1.tar.gz"\n'
        'hashes = { sha256 = "00" }\n'
        '[[packages]]\nname = "g"\nversion = "1"\n[packages.vcs]\ntype = "git"\n'
        'url = "https://e.example/g.git"\ncommit-id = "1"\n'
        '[[packages]]\nname = "d"\n[packages.directory]\npath = "."\n'
        # uv's export of a find-links package (or one from a file: index).
        '[[packages]]\nname = "fl"\nversion = "1"\nindex = "file:///srv/wheels"\n'
        '[[packages.wheels]]\nurl = "file:///srv/wheels/fl-1-py3-none-any.whl"\n'
        'hashes = { sha256 = "00" }\n',
        {"u": "url", "g": "vcs", "d": None, "fl": "find-links"},
    ),
}


@pytest.mark.parametrize("fmt", sorted(REMOTE_ENTRIES))
def test_an_entry_from_a_remote_source_is_asked_by_name_and_a_local_one_skipped(fmt: str) -> None:
    # A hostile lock hid a name the index quarantined behind a URL or git source (or a wheel
    # in a find-links directory); what the lock names by path on this disk (a path, a file:
    # URL, a local git checkout) is the checkout's own and stays skipped.
    name, text, expected = REMOTE_ENTRIES[fmt]
    parsed = parse_lock_text(name, text)
    remote = {r.name: r.remote for r in parsed.requirements}
    assert remote == expected
    assert {r.name for r in parsed.requirements if r.looked_up} == {
        n for n, kind in expected.items() if kind
    }
    assert all(r.off_index and r.index_url is None for r in parsed.requirements)


@pytest.mark.parametrize(
    ("meta", "said"),
    [
        ({}, "'_meta.sources' is missing"),
        ({"sources": []}, "'_meta.sources' is empty"),
        ({"sources": [{"name": "pypi"}]}, "'_meta.sources' is without a URL"),
        ({"sources": "https://pypi.org/simple"}, "'_meta.sources' is a str"),
    ],
)
def test_a_pipfile_lock_that_names_no_index_does_not_pass(
    meta: dict[str, object], said: str, project: Path, check: Callable[..., Run]
) -> None:
    # pipenv writes its sources in every lock, and without them installs from the Pipfile's
    # [[source]] (else PyPI); the packages were asked on the configured index, silently.
    lock = {"_meta": meta, "default": {"nose": {"version": "==1.3.7"}}}
    (project / "Pipfile.lock").write_text(json.dumps(lock, indent=4))
    run = check("Pipfile.lock")
    assert run.code == 3, run.stderr
    assert (
        f"Pipfile.lock:1:1: invalid-lock: Pipfile.lock: {said}: pipenv writes the index URLs "
        "it installs from in every lock; its packages were asked on the configured index"
    ) in run.stderr
    assert "nose · 1.3.7 · deprecated" in run.stderr  # still checked
    # What pipenv writes: the source's URL, which is then asked.
    lock["_meta"] = {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]}
    assert parse_lock_text("Pipfile.lock", json.dumps(lock)).problems == ()
    # No package: nothing was asked anywhere.
    assert (
        parse_lock_text("Pipfile.lock", json.dumps({"_meta": meta, "default": {}})).problems == ()
    )


@pytest.mark.parametrize(
    "wheel",
    [
        'url = "http://[oops/requests-2.32.3-py3-none-any.whl"',
        'name = "requests-1' + "0" * 5000 + '-py3-none-any.whl"',
    ],
)
def test_a_pylock_file_name_packaging_cannot_read_costs_only_its_package(wheel: str) -> None:
    """A package without `version` is read at its files' version; urlsplit and packaging
    raise plain ValueErrors for these, and `check` ended in an internal error (exit 5)."""
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "requests"\n'
        f'[[packages.wheels]]\n{wheel}\nhashes = {{ sha256 = "aa" }}\n'
    )
    parsed = parse_lock_text("pylock.toml", text)
    assert parsed.problems  # told, one problem for the file
