"""`check` on files that never end or are too big: one problem or one usage line, never a hang."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from sbom_enrich.manifests import check as check_module
from sbom_enrich.manifests.kinds import MAX_MANIFEST_BYTES


def test_an_include_of_an_endless_device_is_one_problem(
    project: Path, check: Callable[..., Run]
) -> None:
    # Read whole, /dev/zero used to grow the process until the machine ran out of memory.
    (project / "requirements.txt").write_text("-r /dev/zero\n")
    run = check("requirements.txt", "--offline")
    assert run.code == 3, run.stderr
    # Outside the project, it is not even opened (a FIFO inside it: the test below).
    assert "missing-include" in run.stderr and "leads outside" in run.stderr


def test_an_include_of_a_fifo_is_one_problem_and_does_not_wait_for_a_writer(
    project: Path, check: Callable[..., Run]
) -> None:
    os.mkfifo(project / "pipe.txt")  # opening it for reading blocks until someone writes
    (project / "requirements.txt").write_text("-r pipe.txt\n")
    run = check("requirements.txt", "--offline")
    assert run.code == 3, run.stderr
    assert "not a regular file" in run.stderr


def test_a_file_larger_than_the_bound_is_one_usage_line(
    project: Path, check: Callable[..., Run]
) -> None:
    with (project / "requirements.txt").open("wb") as sparse:
        sparse.truncate(MAX_MANIFEST_BYTES + 1)
    run = check("requirements.txt", "--offline")
    assert run.code == 2, run.stderr
    assert "larger than 64 MB" in run.stderr and run.stderr.count("\n") == 1


def test_a_named_folder_without_manifests_is_named_in_the_error(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "empty").mkdir()
    run = check("empty", "--offline")
    assert run.code == 2, run.stderr
    assert "no manifests in empty " in run.stderr  # not the current directory


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # Found and read as a manifest (and first looked at for a [tool.sbom-enrich] table).
        ("pyproject.toml", f'[project]\nname = "app"\ndependencies = ["nose"]\nx = {DEEP}\n'),
        # The policy file, and a pyproject.toml that holds our table.
        (".sbom-enrich.toml", f"fail-on = {DEEP}\n"),
        ("pyproject.toml", f"[tool.sbom-enrich]\nfail-on = {DEEP}\n"),
    ],
)
def test_toml_nested_too_deeply_is_one_line_not_an_internal_error(
    name: str, text: str, project: Path, check: Callable[..., Run]
) -> None:
    # tomllib recurses per nested array: RecursionError, which nothing caught (exit 5).
    (project / name).write_text(text)
    (project / "requirements.txt").write_text("nose==1.3.7\n")
    run = check("--offline")
    assert run.code in (2, 3), run.stderr
    assert "nested too deeply" in run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr


SECRETS = "machine pypi.example login bob password hunter2\nGITHUB_TOKEN=ghp_SECRET\n"


def test_a_symlinked_manifest_leading_out_of_the_project_is_not_read(
    project: Path, check: Callable[..., Run], tmp_path: Path
) -> None:
    # A pull request adds requirements.txt -> ~/.netrc: every line came back quoted as an
    # invalid requirement, in the log and in the SARIF report the PR's author can read.
    secrets = tmp_path / "netrc"
    secrets.write_text(SECRETS)
    (project / "requirements.txt").symlink_to(secrets)
    for argv in ((), ("requirements.txt",)):  # discovered, or named by the workflow
        run = check(*argv, "--offline", "--report", "-", "--report-format", "sarif")
        assert run.code == 2, run.stderr
        assert "leads outside" in run.stderr
        assert "hunter2" not in run.stderr + run.stdout.decode()
        assert "ghp_SECRET" not in run.stderr + run.stdout.decode()


def test_an_include_leading_out_of_the_project_is_not_read(
    project: Path, check: Callable[..., Run], tmp_path: Path
) -> None:
    secrets = tmp_path / "netrc"
    secrets.write_text(SECRETS)
    (project / "requirements.txt").write_text(f"nose==1.3.7\n-r {secrets}\n-r ../netrc\n")
    run = check("--report", "-", "--report-format", "sarif")
    assert run.code == 3, run.stderr
    assert run.stderr.count("leads outside") == 1, run.stderr  # one file, named twice
    assert "hunter2" not in run.stderr + run.stdout.decode()
    assert "nose · 1.3.7 · deprecated" in run.stderr  # the rest is checked


def test_symlinks_and_includes_inside_the_project_and_named_files_elsewhere_are_read(
    project: Path, check: Callable[..., Run], tmp_path: Path
) -> None:
    (project / "requirements").mkdir()
    (project / "requirements" / "base.txt").write_text("nose==1.3.7\n")
    (project / "requirements.txt").symlink_to(project / "requirements" / "base.txt")
    (project / "dev.txt").write_text("-r requirements/base.txt\nrequests==2.32.3\n")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("pycrypto==2.6.1\n")
    run = check("requirements.txt", "dev.txt", str(elsewhere))  # the user names it: read
    assert run.code == 0, run.stderr
    assert "leads outside" not in run.stderr
    assert "pycrypto" in run.stderr


def test_an_include_elsewhere_in_the_same_work_tree_is_read(
    project: Path, check: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A monorepo: services/api/requirements.txt has "-r ../../common.txt". The boundary is
    # the work tree (the folder with .git), not the current folder: read, as pip reads it.
    (project / ".git").mkdir()
    (project / "common.txt").write_text("nose==1.3.7\n")
    service = project / "services" / "api"
    service.mkdir(parents=True)
    (service / "requirements.txt").write_text("-r ../../common.txt\nrequests==2.32.3\n")
    secrets = tmp_path / "netrc"
    secrets.write_text(SECRETS)
    (service / "dev.txt").write_text(f"-r {secrets}\n")
    monkeypatch.chdir(service)
    run = check("requirements.txt")
    assert run.code == 0, run.stderr
    assert "nose · 1.3.7 · deprecated" in run.stderr
    # Outside the work tree is still refused.
    run = check("dev.txt", "--offline")
    assert run.code == 3 and "leads outside" in run.stderr, run.stderr
    assert "hunter2" not in run.stderr


POETRY_LOCK = """\
[[package]]
name = "nose"
version = "1.3.7"
description = ""
optional = false
python-versions = "*"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.10"
content-hash = "0"
"""


@pytest.mark.parametrize("beside", ["pyproject.toml", "Pipfile"])
def test_a_fifo_beside_a_lock_is_not_read_for_its_direct_dependencies(
    beside: str, project: Path, check: Callable[..., Run]
) -> None:
    """poetry.lock does not say which packages are direct: the pyproject.toml (or Pipfile)
    beside it does. A FIFO in its place was opened, and the run waited for a writer forever
    (discovery skips it; the look beside the lock did not)."""
    (project / "poetry.lock").write_text(POETRY_LOCK)
    os.mkfifo(project / beside)
    run = check("--offline")
    assert run.code == 3, run.stderr  # nose unknown offline: checked, not hung
    assert "nose" in run.stderr


def test_a_library_warning_about_an_input_is_one_of_our_lines(
    project: Path, check: Callable[..., Run]
) -> None:
    """packaging.pylock warns about a lock-version minor it does not know. With no handler,
    Python's last resort wrote the bare message, outside our prefix and sanitiser."""
    (project / "pylock.toml").write_text(
        'lock-version = "1.5"\ncreated-by = "x"\n\n[[packages]]\nname = "nose"\n'
        'version = "1.3.7"\n[[packages.wheels]]\n'
        'url = "https://files.example/nose-1.3.7-py3-none-any.whl"\nhashes = {sha256 = "ab"}\n'
    )
    run = check("pylock.toml", "--offline")
    assert run.code == 3, run.stderr
    lines = run.stderr.splitlines()
    assert "sbom-enrich: WARNING: pylock minor version 1.5 is not supported" in lines
    assert "pylock minor version 1.5 is not supported" not in lines


def test_a_file_named_as_two_kinds_is_read_as_each(
    project: Path, check: Callable[..., Run]
) -> None:
    """A pyproject.toml symlinked to the requirements file: read as TOML (where
    ``-r="extra.txt"`` is a key and no dependency), and then the requirements file itself
    was skipped as already read, so the include pip follows was never checked."""
    (project / "requirements.txt").write_text('-r="extra.txt"\n')
    (project / "=extra.txt").write_text("nose==1.3.7\n")
    (project / "pyproject.toml").symlink_to("requirements.txt")
    run = check("--offline", "--report", "-", "--report-format", "json")
    assert run.code == 3, run.stderr
    assert "nose" in {c["name"] for c in json.loads(run.stdout)["components"]}


@pytest.mark.parametrize("name", ["pylock.prod.linux.toml", "PYLOCK..toml", "pylock.a.b.toml"])
def test_a_lock_file_named_as_pep_751_does_not_allow_is_one_usage_line(
    name: str, project: Path, check: Callable[..., Run]
) -> None:
    """Not a lock file by its name, it was read as pyproject-shaped TOML, which holds no
    dependency table: "0 requirements", policy passed, its packages never checked."""
    (project / name).write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "nose"\nversion = "1.3.7"\n'
    )
    run = check(name, "--offline")
    assert run.code == 2, run.stderr
    assert "PEP 751 names a lock file pylock.toml or pylock.<name>.toml" in run.stderr
    assert run.stderr.count("\n") == 1


def test_an_include_of_a_misnamed_lock_file_is_one_problem_not_the_end_of_the_run(
    project: Path, check: Callable[..., Run]
) -> None:
    """``-r pylock.a.b.toml`` in a requirements file stopped the whole run with a usage error
    (exit 2, nothing checked): a hostile include costs that include, not the run."""
    (project / "requirements.txt").write_text("-r pylock.a.b.toml\nnose==1.3.7\n")
    (project / "pylock.a.b.toml").write_text('lock-version = "1.0"\n')
    run = check("requirements.txt", "--offline", "--report", "-", "--report-format", "json")
    assert run.code == 3, run.stderr
    assert "nose" in {c["name"] for c in json.loads(run.stdout)["components"]}
    assert "included file pylock.a.b.toml: PEP 751 names a lock file" in run.stderr


def test_an_include_chain_longer_than_the_cap_does_not_pass_and_stops_there(
    project: Path, check: Callable[..., Run]
) -> None:
    # Each of thousands of chained files was read, parsed and its names looked up, without
    # end: a hostile repository sets the length. Past the cap, one problem, not silence.
    cap = check_module.MAX_INCLUDED_FILES
    (project / "requirements.txt").write_text("-r r1.txt\nnose\n")
    for i in range(1, cap + 3):
        (project / f"r{i}.txt").write_text(f"-r r{i + 1}.txt\n-c c{i}.txt\n")
        (project / f"c{i}.txt").write_text("")
    (project / f"r{cap + 3}.txt").write_text("evil-pkg\n")
    run = check("requirements.txt", "--report", "-", "--report-format", "json")
    assert run.code == 3, run.stderr
    report = json.loads(run.stdout)
    (problem,) = report["problems"]
    assert problem["code"] == "missing-include"
    assert problem["message"].startswith("included file ")
    assert (
        f"more queued: not read, this run already read {cap} files that -r/-c lines name"
    ) in problem["message"]
    assert len(report["files"]) == cap + 1  # the named file and the included ones
    assert "evil-pkg" not in {c["name"] for c in report["components"]}
    assert "nose" in {c["name"] for c in report["components"]}
    assert f"this run already read {cap} files" in run.stderr
