"""Lock files written by the real tools (uv, pdm, poetry, pip) against the test index, offline.

The tools come from PyPI through the ``test`` extra; each resolves real, installable wheels
(``indexserver.built_wheel``) served by two local indexes: the configured one and a private
one that only ``corp-lib`` comes from. No test here touches the internet: every proxy points
at a closed port and only 127.0.0.1 is exempt.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, built_wheel
from real_locks import PYPROJECT, STATIC_BUILD, run_tool, tool, tool_env
from sbom_enrich.manifests import parse_lock_text


@dataclass(frozen=True)
class Locked:
    """The indexes, and one folder per tool holding the project and the lock it wrote."""

    public: IndexServer
    private: IndexServer
    folders: dict[str, Path]


def uv_project(root: Path, public: str, private: str, git_repo: Path, wheel_name: str) -> None:
    """A uv workspace: a member, a git and a path source, and corp-lib from the private index."""
    deps = '"requests", "nose", "corp-lib", "lib", "localpkg", "gitpkg"'
    (root / "pyproject.toml").write_text(
        PYPROJECT.format(dependencies=deps)
        + f"""
[tool.uv.workspace]
members = ["packages/*"]

[tool.uv.sources]
lib = {{ workspace = true }}
corp-lib = {{ index = "corp" }}
localpkg = {{ path = "vendor/{wheel_name}" }}
gitpkg = {{ git = "{git_repo.as_uri()}" }}

[[tool.uv.index]]
name = "corp"
url = "{private}"
explicit = true
"""
        + STATIC_BUILD
    )
    member = root / "packages" / "lib"
    member.mkdir(parents=True)
    (member / "pyproject.toml").write_text(
        '[project]\nname = "lib"\nversion = "0.1"\ndependencies = ["attrs"]\n' + STATIC_BUILD
    )


def git_repository(where: Path, env: dict[str, str]) -> Path:
    where.mkdir()
    (where / "pyproject.toml").write_text(
        '[project]\nname = "gitpkg"\nversion = "0.2"\ndependencies = ["idna"]\n' + STATIC_BUILD
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "gitpkg 0.2"]):
        run_tool([*git, *command], where, env)
    return where


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Locked]:
    def project(name: str, version: str, *requires: str, status: str = "active") -> ProjectSpec:
        return ProjectSpec(name, status=status, files=[built_wheel(name, version, requires)])

    public = IndexServer(
        [
            project("requests", "2.32.3", "urllib3>=1", "idna"),
            project("urllib3", "2.0.0", status="archived"),
            project("idna", "3.7"),
            project("nose", "1.3.7", status="deprecated"),
            project("attrs", "24.2.0"),
        ],
        core_metadata=True,
    )
    private = IndexServer(
        [project("corp-lib", "1.0", "requests", status="deprecated")], core_metadata=True
    )
    with public, private:
        base = tmp_path_factory.mktemp("real-locks")
        env = tool_env(base / "home")
        names = ("uv", "uv-virtual", "uv-find-links", "pdm", "poetry", "pip")
        folders = {name: base / name for name in names}
        for folder in folders.values():
            folder.mkdir()

        # uv: a workspace, git, a path, two indexes; then its pylock.toml export.
        wheel = built_wheel("localpkg", "1.0")
        (folders["uv"] / "vendor").mkdir()
        (folders["uv"] / "vendor" / wheel.filename).write_bytes(wheel.content or b"")
        repo = git_repository(base / "gitpkg", env)
        uv_project(folders["uv"], public.url, private.url, repo, wheel.filename)
        uv = [tool("uv"), "--no-progress", "--cache-dir", str(base / "uv-cache")]
        run_tool([*uv, "lock", "--default-index", public.url], folders["uv"], env)
        run_tool([*uv, "export", "--format", "pylock.toml", "-o", "pylock.toml",
                  "--default-index", public.url], folders["uv"], env)  # fmt: skip

        # uv: a workspace whose root is no package (its dev group lives in [manifest]).
        (folders["uv-virtual"] / "pyproject.toml").write_text(
            '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[dependency-groups]\ndev = ["nose"]\n'
        )
        member = folders["uv-virtual"] / "packages" / "svc"
        member.mkdir(parents=True)
        (member / "pyproject.toml").write_text(
            '[project]\nname = "svc"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
            'dependencies = ["requests"]\n' + STATIC_BUILD
        )
        run_tool([*uv, "lock", "--default-index", public.url], folders["uv-virtual"], env)

        # uv: a package from a find-links directory (uv writes `registry = "wheels"`).
        flat = folders["uv-find-links"]
        (flat / "wheels").mkdir()
        flatpkg = built_wheel("flatpkg", "1.0")
        (flat / "wheels" / flatpkg.filename).write_bytes(flatpkg.content or b"")
        (flat / "pyproject.toml").write_text(
            PYPROJECT.format(dependencies='"flatpkg", "nose"') + "[tool.uv]\npackage = false\n"
        )
        run_tool([*uv, "lock", "--default-index", public.url, "--find-links", "wheels"], flat, env)
        run_tool([*uv, "export", "--format", "pylock.toml", "-o", "pylock.toml",
                  "--default-index", public.url, "--find-links", "wheels"], flat, env)  # fmt: skip

        # pdm: the public index as its only source.
        (folders["pdm"] / "pyproject.toml").write_text(
            PYPROJECT.format(dependencies='"requests", "nose"')
            + f'\n[[tool.pdm.source]]\nname = "pypi"\nurl = "{public.url}"\n'
            + "[tool.pdm]\ndistribution = false\n"
        )
        run_tool([tool("pdm"), "lock"], folders["pdm"], env)

        # poetry: the public index as primary, corp-lib from the private one.
        (folders["poetry"] / "pyproject.toml").write_text(
            PYPROJECT.format(dependencies='"requests", "nose", "corp-lib"')
            + "\n[tool.poetry]\npackage-mode = false\n"
            + '[tool.poetry.dependencies]\ncorp-lib = { source = "corp" }\n'
            + f'[[tool.poetry.source]]\nname = "test"\nurl = "{public.url}"\npriority = "primary"\n'
            + f'[[tool.poetry.source]]\nname = "corp"\nurl = "{private.url}"\n'
            + 'priority = "explicit"\n'
        )
        run_tool([tool("poetry"), "lock", "--no-interaction"], folders["poetry"], env)

        # pip lock (PEP 751), requirements on the command line.
        run_tool([sys.executable, "-m", "pip", "lock", "--isolated", "--no-cache-dir",
                  "--index-url", public.url, "-o", "pylock.toml", "requests", "nose"],
                 folders["pip"], env)  # fmt: skip
        yield Locked(public, private, folders)


@pytest.fixture
def check_in(
    locked: Locked,
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[Run, dict[str, dict[str, object]]]]:
    """``check ARGV`` in one tool's folder against the public index; the JSON by name."""

    def run(folder: str, *argv: str) -> tuple[Run, dict[str, dict[str, object]]]:
        monkeypatch.chdir(locked.folders[folder])
        locked.public.reset_stats()
        locked.private.reset_stats()
        result = cli("check", *argv, "--report", "out.json",
                     env={"SBOM_ENRICH_INDEX_URL": locked.public.url})  # fmt: skip
        data = json.loads((locked.folders[folder] / "out.json").read_text())
        return result, {c["name"]: c for c in data["components"]}

    return run


def test_uv_lock_with_a_workspace_git_path_and_two_indexes(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]], locked: Locked
) -> None:
    run, by_name = check_in("uv", "uv.lock", "--fail-on", "archived")
    assert run.code == 1, run.stderr
    assert set(by_name) == {"requests", "urllib3", "idna", "nose", "attrs", "corp-lib"}
    # corp-lib is asked on the index uv took it from; no configuration names that index, so
    # its name is asked on the configured one too (a quarantine there would fail the run;
    # nothing else of that answer is shown).
    assert by_name["corp-lib"]["status"] == "deprecated"
    assert by_name["corp-lib"]["index"] == locked.private.url
    assert locked.private.stats.by_project["corp-lib"] == 1
    assert locked.public.stats.by_project["corp-lib"] == 1
    assert f"also asked: {locked.private.url} (a lock file names it) for corp-lib" in run.stderr
    # Why is urllib3 here? The shortest chain from the project.
    assert by_name["urllib3"]["via"] == ["myapp", "requests", "urllib3"]
    assert by_name["urllib3"]["direct"] is False
    assert by_name["attrs"]["direct"] is True  # a dependency of the workspace member lib
    assert "transitive: myapp → requests → urllib3" in run.stderr
    # The member, the project, the git and the path package: skipped and counted.
    assert "skipped 4" in run.stderr
    report = json.loads((locked.folders["uv"] / "out.json").read_text())
    assert report["skipped"] == 4


def test_uv_export_pylock_is_valid_and_read_with_its_indexes(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]], locked: Locked
) -> None:
    text = (locked.folders["uv"] / "pylock.toml").read_text()
    assert parse_lock_text("pylock.toml", text).problems == ()  # packaging.pylock agrees
    run, by_name = check_in("uv", "pylock.toml")
    assert by_name["corp-lib"]["index"] == locked.private.url
    assert by_name["urllib3"]["status"] == "archived"
    # uv's export writes no edges: direct comes from the pyproject beside it, chains cannot.
    assert by_name["requests"]["direct"] is True
    assert by_name["urllib3"]["direct"] is False and by_name["urllib3"]["via"] == []
    assert "skipped 4" in run.stderr


def test_poetry_lock_sources_and_chains(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]], locked: Locked
) -> None:
    run, by_name = check_in("poetry", "poetry.lock")
    assert run.code == 0, run.stderr  # the default --fail-on: quarantined only
    assert by_name["corp-lib"]["index"] == locked.private.url
    assert by_name["corp-lib"]["status"] == "deprecated"
    assert by_name["urllib3"]["via"] == ["myapp", "requests", "urllib3"]
    assert by_name["nose"]["direct"] is True


def test_pdm_lock_names_no_index_so_the_configured_one_is_asked(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]], locked: Locked
) -> None:
    run, by_name = check_in("pdm", "pdm.lock")
    assert set(by_name) == {"requests", "urllib3", "idna", "nose"}
    assert by_name["urllib3"]["index"] == locked.public.url
    assert by_name["urllib3"]["via"] == ["myapp", "requests", "urllib3"]


def test_pip_lock_pylock(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]], locked: Locked
) -> None:
    text = (locked.folders["pip"] / "pylock.toml").read_text()
    parsed = parse_lock_text("pylock.toml", text)
    assert parsed.problems == ()
    assert {r.name for r in parsed.requirements} == {"requests", "urllib3", "idna", "nose"}
    run, by_name = check_in("pip", "pylock.toml")
    assert by_name["nose"]["status"] == "deprecated"
    # pip records neither the index nor the edges nor what was asked for: configured index,
    # and direct unknown rather than guessed.
    assert by_name["urllib3"]["index"] == locked.public.url
    assert by_name["urllib3"]["direct"] is None


def test_uv_virtual_workspace_root_direct_dependencies_come_from_its_manifest_table(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]], locked: Locked
) -> None:
    assert "[manifest.dependency-groups]" in (locked.folders["uv-virtual"] / "uv.lock").read_text()
    run, by_name = check_in("uv-virtual", "uv.lock")
    assert by_name["nose"]["direct"] is True  # the root's dev group, in [manifest]
    assert by_name["requests"]["direct"] is True  # the member svc's dependency
    assert by_name["urllib3"]["via"] == ["svc", "requests", "urllib3"]


@pytest.mark.parametrize(
    ("lock", "written"),
    [
        ("uv.lock", 'source = { registry = "wheels" }'),
        ("pylock.toml", 'index = "file://'),  # uv's export: the directory as a file: index
    ],
)
def test_a_find_links_package_is_asked_by_name_like_a_url_one(
    check_in: Callable[..., tuple[Run, dict[str, dict[str, object]]]],
    locked: Locked,
    lock: str,
    written: str,
) -> None:
    """uv picked flatpkg's wheel by its name among the files, as from an index: its name is
    asked on the configured index (off-index, find-links), as a URL entry's is. In uv.lock it
    was skipped as files on disk; in the export, refused as a "not allowed" index (exit 3)."""
    assert written in (locked.folders["uv-find-links"] / lock).read_text()
    run, by_name = check_in("uv-find-links", lock)
    assert run.code == 0, run.stderr
    assert set(by_name) == {"nose", "flatpkg"}
    flatpkg = by_name["flatpkg"]
    assert (flatpkg["off_index"], flatpkg["status"]) == ("find-links", "not-found")
    assert "not allowed" not in run.stderr and "did you mean" not in run.stderr
    assert locked.public.stats.by_project["flatpkg"] == 1
