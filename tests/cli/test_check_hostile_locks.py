"""`check` on lock files with the wrong types where packages belong: one problem, never a pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer, MakeIndexServer, ProjectSpec, release
from sbom_enrich.findings.graph import MAX_CHAIN_STEPS

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
    (project / "poetry.lock").write_text(
        '[[package]]\nname = "nose"\nversion = "1.3.7"\n\n[metadata]\nlock-version = "2.1"\n'
    )
    (project / "pyproject.toml").write_text(
        'tool = "x"\n[project]\nname = "app"\ndependencies = ["nose"]\n'
    )
    run = check("poetry.lock", "--report", "-", "--report-format", "json")
    assert run.code in (0, 1), run.stderr
    (component,) = json.loads(run.stdout)["components"]
    assert component["name"] == "nose" and component["direct"] is True


def _chain_lock(count: int, index: str) -> str:
    """A uv.lock whose packages form one line: app → p0 → p1 → … (names nobody registered)."""
    lines = ['version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\n',
             'source = { editable = "." }\ndependencies = [{ name = "p0" }]\n']  # fmt: skip
    for i in range(count):
        lines.append(f'\n[[package]]\nname = "p{i}"\nversion = "1.0"\n')
        lines.append(f'source = {{ registry = "{index}" }}\n')
        if i + 1 < count:
            lines.append(f'dependencies = [{{ name = "p{i + 1}" }}]\n')
    return "".join(lines)


def test_a_lock_of_one_long_chain_makes_reports_linear_in_its_size(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # Each transitive finding repeated its whole chain: 4,000 packages in a line made a SARIF
    # report of 8 million related locations (23 GB of memory, six minutes).
    (project / "uv.lock").write_text(_chain_lock(600, index_server.url))
    run = check("uv.lock", "--offline", "--report", "-", "--report-format", "sarif")
    assert run.code == 3, run.stderr
    results = json.loads(run.stdout)["runs"][0]["results"]
    steps = max(len(r.get("relatedLocations", ())) for r in results)
    assert steps == MAX_CHAIN_STEPS, steps  # app, p0-p2, "… N more", the last 27 before p599
    chains = [r["relatedLocations"] for r in results if "relatedLocations" in r]
    messages = [chain[-1]["message"]["text"] for chain in chains]
    assert "p598 (step 600)" in messages  # the steps are counted through the elision

    run = check("uv.lock", "--offline", "--report", "-", "--report-format", "json")
    via = {c["name"]: c["via"] for c in json.loads(run.stdout)["components"]}
    assert max(len(v) for v in via.values()) == MAX_CHAIN_STEPS + 1
    assert via["p599"][:5] == ["app", "p0", "p1", "p2", "… 569 more"]
    # The text line (names the index does not know: each not-found, each its own line).
    run = check("uv.lock", "--report", "-", "--report-format", "text")
    assert "app → p0 → p1 → … 594 more → p596 → p597 → p598 → p599" in run.stdout.decode()


def test_a_path_entry_does_not_hide_a_registry_entry_of_the_same_name_and_version(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # Entries were told apart by (name, version) only: the first one, a path source (skipped),
    # hid the quarantined package locked from the index, and the gate passed (exit 0).
    (project / "uv.lock").write_text(
        f'version = 1\n\n[[package]]\nname = "requests"\nversion = "2.32.3"\n'
        f'source = {{ registry = "{index_server.url}" }}\n\n'
        '[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n'
        'source = { editable = "vendor/evil" }\n\n'
        '[[package]]\nname = "evil_pkg"\nversion = "0.0.1"\n'
        f'source = {{ registry = "{index_server.url}" }}\n'
    )
    run = check("uv.lock")
    assert run.code == 1, run.stderr
    assert "evil_pkg · 0.0.1 · quarantined" in run.stderr


def test_a_lock_cannot_steer_netrc_default_credentials_to_its_own_host(
    project: Path,
    check: Callable[..., Run],
    make_index_server: MakeIndexServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The lock (a pull request's, say) names an index the user never configured: the
    # configured one is the test index on 127.0.0.1, this one answers as "localhost".
    other = make_index_server(
        [ProjectSpec("corp-lib", status="archived", files=release("corp-lib", "1.0"))],
        auth=("user", "s3cret"),
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("default login user password s3cret\n")  # httpx: any host
    (home / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    lock_index = other.url.replace("127.0.0.1", "localhost")
    (project / "uv.lock").write_text(
        f'version = 1\n\n[[package]]\nname = "corp-lib"\nversion = "1.0"\n'
        f'source = {{ registry = "{lock_index}" }}\n'
    )
    run = check("uv.lock", "--report", "-", "--report-format", "json")
    assert run.code == 3, run.stderr  # asked without credentials: 401, could not tell
    assert other.stats.unauthorized >= 1
    (component,) = json.loads(run.stdout)["components"]
    assert component["status"] == "unknown" and "401" in component["lookup_error"]


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


# What each tool writes, in the encodings Windows PowerShell writes with `>` / `Out-File`.
WIDE = {
    "uv.lock": 'version = 1\n\n[[package]]\nname = "nose"\nversion = "1.3.7"\n'
    'source = { registry = "https://pypi.org/simple" }\n',
    "poetry.lock": '[[package]]\nname = "nose"\nversion = "1.3.7"\n\n[metadata]\n'
    'lock-version = "2.1"\n',
    "pdm.lock": '[metadata]\nlock_version = "4.5.0"\n\n[[package]]\nname = "nose"\n'
    'version = "1.3.7"\n',
    "pylock.toml": 'lock-version = "1.0"\ncreated-by = "pip"\n\n[[packages]]\nname = "nose"\n'
    'version = "1.3.7"\n\n[[packages.wheels]]\nname = "nose-1.3.7-py3-none-any.whl"\n'
    'url = "https://files.example/nose-1.3.7-py3-none-any.whl"\nhashes = { sha256 = "00" }\n',
    "Pipfile.lock": json.dumps(
        {
            "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"}]},
            "default": {"nose": {"version": "==1.3.7"}},
        }
    ),
    "pyproject.toml": '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["nose"]\n',
}


@pytest.mark.parametrize(
    ("encoding", "said"),
    [("utf-16", "UTF-16 (a byte order mark)"), ("utf-16-le", "UTF-16 (NUL bytes)"),
     ("utf-32", "UTF-32 (a byte order mark)"), ("utf-16-be", "UTF-16 (NUL bytes)")],
)  # fmt: skip
@pytest.mark.parametrize("name", sorted(WIDE))
def test_a_utf16_toml_or_lock_file_says_what_it_is_in_one_line(
    name: str, encoding: str, said: str, project: Path, check: Callable[..., Run]
) -> None:
    # "not a readable uv.lock: key with no value, expected `=` at line 1 column 18" or
    # "Invalid TOML: Invalid statement" said nothing of the cause.
    (project / name).write_bytes(WIDE[name].encode(encoding))
    run = check(name, "--offline")
    assert run.code == 3, run.stderr
    kind = "JSON" if name == "Pipfile.lock" else "TOML"
    problems = [line for line in run.stderr.splitlines() if "invalid-" in line]
    assert len(problems) == 1, run.stderr
    assert problems[0].startswith(f"  {name}:1:1: invalid-"), problems
    assert problems[0].endswith(f"is {said}; {kind} files must be UTF-8 — convert it"), problems
    assert "Traceback" not in run.stderr
    # Written as UTF-8 (with or without a byte order mark), the same file is read.
    for written in (WIDE[name].encode(), WIDE[name].encode("utf-8-sig")):
        (project / name).write_bytes(written)
        run = check(name, "--offline", "--report", "-", "--report-format", "json")
        assert "invalid-" not in run.stderr, run.stderr
        assert [c["name"] for c in json.loads(run.stdout)["components"]] == ["nose"]
