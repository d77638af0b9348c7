"""`check` on lock files with the wrong types where packages belong: one problem, never a pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run

# Each lock states its packages in a shape no tool writes: read as "no packages", the run
# used to pass (exit 0) having checked nothing, or crash on an unhashable index name.
MISSHAPEN = {
    "uv-package-not-an-array": ("uv.lock", "version = 1\npackage = 5\n"),
    "uv-name-not-a-string": ("uv.lock", '[[package]]\nname = 5\nversion = "1"\n'),
    "uv-array-of-numbers": ("uv.lock", "package = [1, 2]\n"),
    "uv-registry-not-a-string": (
        "uv.lock",
        '[[package]]\nname = "nose"\nversion = "1.3.7"\nsource = { registry = 5 }\n',
    ),
    "uv-empty-source": ("uv.lock", '[[package]]\nname = "nose"\nversion = "1.3.7"\nsource = {}\n'),
    "poetry-name-missing": ("poetry.lock", '[[package]]\nversion = "1.3.7"\n'),
    "pdm-package-a-table": ("pdm.lock", '[package]\nname = "nose"\n'),
    "pipfile-default-an-array": ("Pipfile.lock", json.dumps({"default": ["nose"]})),
    "pipfile-entry-a-string": ("Pipfile.lock", json.dumps({"default": {"nose": "==1.3.7"}})),
    "pipfile-index-an-array": (
        "Pipfile.lock",
        json.dumps(
            {
                "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]},
                "default": {"nose": {"version": "==1.3.7", "index": ["pypi"]}},
            }
        ),
    ),
    "pipfile-source-name-an-array": (
        "Pipfile.lock",
        json.dumps(
            {
                "_meta": {"sources": [{"name": ["pypi"], "url": "https://pypi.org/simple"}]},
                "default": {"nose": {"version": "==1.3.7"}, "odd": {"version": 5}},
            }
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(MISSHAPEN))
def test_a_misshapen_lock_is_one_problem_and_never_passes(
    case: str, project: Path, check: Callable[..., Run]
) -> None:
    name, text = MISSHAPEN[case]
    (project / name).write_text(text)
    run = check(name, "--offline")
    assert run.code == 3, run.stderr
    assert run.stderr.count("invalid-lock") == 1, run.stderr
    assert "could not be read" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_pyproject_whose_tool_is_a_string_beside_a_lock_is_read(
    project: Path, check: Callable[..., Run]
) -> None:
    # The lock names no direct dependencies: they come from the pyproject.toml beside it,
    # whose [tool] was assumed to be a table (AttributeError).
    (project / "poetry.lock").write_text('[[package]]\nname = "nose"\nversion = "1.3.7"\n')
    (project / "pyproject.toml").write_text(
        'tool = "x"\n[project]\nname = "app"\ndependencies = ["nose"]\n'
    )
    run = check("poetry.lock", "--report", "-", "--report-format", "json")
    assert run.code in (0, 1), run.stderr
    (component,) = json.loads(run.stdout)["components"]
    assert component["name"] == "nose" and component["direct"] is True


@pytest.mark.parametrize(
    "registry",
    ["http://[::1/simple", "http://corp.example:99999/simple", "http://corp\u202eexample/simple"],
)
def test_a_lock_index_that_is_no_usable_url_costs_its_package_not_the_run(
    registry: str, project: Path, check: Callable[..., Run]
) -> None:
    # It was allowed as the user's own lock's index, and the client's table of allowed
    # origins then raised (exit 5, "a bug") before anything was checked.
    (project / "uv.lock").write_text(
        f'[[package]]\nname = "nose"\nversion = "1.3.7"\nsource = {{ registry = "{registry}" }}\n'
    )
    run = check("uv.lock")
    assert run.code == 3, run.stderr
    assert "is not allowed" in run.stderr and "internal error" not in run.stderr
