"""`check` reads lock files as lock files: every locked package at its locked version."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cli_runner import Run
from indexserver import IndexServer


def uv_lock(index: str, *packages: tuple[str, str]) -> str:
    body = "".join(
        f'\n[[package]]\nname = "{n}"\nversion = "{v}"\nsource = {{ registry = "{index}" }}\n'
        for n, v in packages
    )
    return 'version = 1\nrequires-python = ">=3.10"\n' + body


def report(run: Run) -> dict[str, object]:
    return json.loads(run.stdout)


def test_a_uv_lock_on_the_command_line_is_checked_at_its_pins(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    lock = project / "uv.lock"
    lock.write_text(uv_lock(index_server.url, ("requests", "2.32.0"), ("evil-pkg", "0.0.1")))
    run = check("uv.lock", "--fail-on", "quarantined,yanked", "--report", "-",
                "--report-format", "json")  # fmt: skip
    assert run.code == 1, run.stderr
    data = report(run)
    by_name = {c["name"]: c for c in data["components"]}  # type: ignore[index, union-attr]
    assert by_name["requests"]["yanked"] and by_name["requests"]["version"] == "2.32.0"
    assert by_name["evil-pkg"]["status"] == "quarantined"
    assert by_name["requests"]["location"] == {"file": "uv.lock", "line": 5, "column": 9,
                                               "end_column": 17}  # fmt: skip
    assert data["problems"] == []  # was one invalid-requirement per line


def test_plain_check_finds_the_lock_beside_pyproject(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "app"\ndependencies = ["nose"]\n')
    (project / "uv.lock").write_text(uv_lock(index_server.url, ("evil-pkg", "0.0.1")))
    run = check()
    assert run.code == 1, run.stderr  # the quarantined package is only in the lock
    assert "uv.lock" in run.stderr and "evil-pkg" in run.stderr


def test_a_lock_naming_another_index_says_where_statuses_come_from(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    (project / "uv.lock").write_text(uv_lock("https://corp.example/simple", ("nose", "1.3.7")))
    run = check("uv.lock")
    assert "names the index https://corp.example/simple/" in run.stderr, run.stderr


def test_a_broken_lock_is_one_problem(project: Path, check: Callable[..., Run]) -> None:
    (project / "poetry.lock").write_text("[[package]\nname = ")
    run = check("poetry.lock")
    assert run.code == 3, run.stderr
    assert "invalid-lock" in run.stderr and run.stderr.count("invalid-") == 1
