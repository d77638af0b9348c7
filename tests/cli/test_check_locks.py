"""`check` reads lock files as lock files: every locked package at its locked version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer, MakeIndexServer, ProjectSpec, release


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


def test_each_locked_package_is_asked_on_the_index_its_entry_names(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    # The private index knows only "corp-lib", archived; the configured one has never heard
    # of it (a lookup there would be not-found), and has "nose" deprecated.
    private = make_index_server(
        [ProjectSpec("corp-lib", status="archived", files=release("corp-lib", "1.0"))],
        auth=("user", "s3cret"),
    )
    lock = uv_lock(index_server.url, ("nose", "1.3.7"))
    lock += uv_lock(private.url, ("corp-lib", "1.0")).split("\n", 2)[2]
    (project / "uv.lock").write_text(lock)
    credentials = private.url.replace("http://", "http://user:s3cret@")
    run = check("uv.lock", "--allow-index", credentials, "--report", "-",
                "--report-format", "json")  # fmt: skip
    data = report(run)
    by_name = {c["name"]: c for c in data["components"]}  # type: ignore[index, union-attr]
    assert by_name["corp-lib"]["status"] == "archived", run.stderr
    assert by_name["corp-lib"]["index"] == private.url  # credentials never shown
    assert by_name["nose"]["status"] == "deprecated"
    assert private.stats.by_project["corp-lib"] >= 1 and private.stats.unauthorized == 0
    assert index_server.stats.by_project["corp-lib"] == 0
    assert "s3cret" not in run.stdout.decode() + run.stderr
    assert "names the index" not in run.stderr  # it is asked there, nothing to warn about


def test_a_lock_index_without_credentials_is_still_asked_and_fails_closed(
    project: Path, check: Callable[..., Run], make_index_server: MakeIndexServer
) -> None:
    private = make_index_server(
        [ProjectSpec("corp-lib", files=release("corp-lib", "1.0"))], auth=("user", "s3cret")
    )
    (project / "uv.lock").write_text(uv_lock(private.url, ("corp-lib", "1.0")))
    run = check("uv.lock")
    assert run.code == 3, run.stderr  # 401 is "could not tell", never "fine"
    assert "corp-lib" in run.stderr and "401" in run.stderr


def test_a_broken_lock_is_one_problem(project: Path, check: Callable[..., Run]) -> None:
    (project / "poetry.lock").write_text("[[package]\nname = ")
    run = check("poetry.lock")
    assert run.code == 3, run.stderr
    assert "invalid-lock" in run.stderr and run.stderr.count("invalid-") == 1


def test_a_transitive_finding_says_which_direct_dependency_pulls_it_in(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    url = index_server.url
    (project / "uv.lock").write_text(
        'version = 1\nrequires-python = ">=3.10"\n\n[[package]]\nname = "app"\nversion = "0.1"\n'
        'source = { editable = "." }\ndependencies = [{ name = "requests" }, { name = "nose" }]\n'
        + uv_lock(url, ("requests", "2.31.0")).split("\n", 2)[2]
        + 'dependencies = [{ name = "pycrypto" }]\n'
        + uv_lock(url, ("pycrypto", "2.6.1"), ("nose", "1.3.7")).split("\n", 2)[2]
    )
    run = check("uv.lock", "--report", "out.json", "--report", "out.sarif", "--report", "out.md")
    data = json.loads((project / "out.json").read_text())
    by_name = {c["name"]: c for c in data["components"]}
    assert by_name["pycrypto"]["direct"] is False
    assert by_name["pycrypto"]["via"] == ["app", "requests", "pycrypto"]
    assert by_name["nose"]["direct"] is True and by_name["nose"]["via"] == []
    assert "pycrypto · 2.6.1 · archived" in run.stderr
    assert "transitive: app → requests → pycrypto" in run.stderr
    assert "direct dependency" in run.stderr
    assert "not plainly active: 1 direct, 1 transitive (by the dependency graph)" in run.stderr
    sarif = json.loads((project / "out.sarif").read_text())
    (result,) = [r for r in sarif["runs"][0]["results"] if r["properties"]["project"] == "pycrypto"]
    steps = result["relatedLocations"]
    assert [s["message"]["text"] for s in steps] == ["app (step 1)", "requests (step 2)"]
    region = steps[1]["physicalLocation"]["region"]
    lines = (project / "uv.lock").read_text().splitlines()
    line = lines[region["startLine"] - 1]
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == "requests"
    assert "transitive: app → requests → pycrypto" in (project / "out.md").read_text()


def test_a_2000_package_lock_is_checked_whole(
    project: Path, check: Callable[..., Run], make_index_server: MakeIndexServer
) -> None:
    # Synthetic, in uv.lock's format (the real tools' locks are in test_check_real_locks.py):
    # a chain app -> p0 -> p1 -> ... so that the longest chain is 2,000 steps deep.
    count = 2000
    projects = [ProjectSpec(f"p{i}", files=release(f"p{i}", "1.0")) for i in range(count)]
    projects[-1] = ProjectSpec(f"p{count - 1}", status="archived", files=release("x", "1.0"))
    server = make_index_server(projects)
    lock = 'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\n'
    lock += 'source = { virtual = "." }\ndependencies = [{ name = "p0" }]\n'
    for i in range(count):
        lock += f'\n[[package]]\nname = "p{i}"\nversion = "1.0"\n'
        lock += f'source = {{ registry = "{server.url}" }}\n'
        if i + 1 < count:
            lock += f'dependencies = [{{ name = "p{i + 1}" }}]\n'
    (project / "uv.lock").write_text(lock)
    run = check("uv.lock", "--report", "out.json", "--fail-on", "archived")
    assert run.code == 1, run.stderr
    data = json.loads((project / "out.json").read_text())
    assert len(data["components"]) == count
    (archived,) = [c for c in data["components"] if c["status"] == "archived"]
    # The JSON keeps a chain's first names and its last 28 (a longer one is crafted).
    assert archived["via"] == ["app", "p0", "p1", "p2", "… 1969 more"] + [
        f"p{i}" for i in range(count - 28, count)
    ]
    assert server.stats.by_project[f"p{count - 1}"] == 1
    # The summary line elides the middle of a long chain, counting what the JSON left out.
    assert "transitive: app → p0 → p1 → … 1994 more → p1996 → p1997 → p1998 → p1999" in run.stderr


def test_a_file_of_no_known_kind_is_one_line_naming_the_formats(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "Cargo.lock").write_text('version = 3\n\n[[package]]\nname = "serde"\n')
    run = check("Cargo.lock")
    assert run.code == 2, run.stderr
    assert "cannot read Cargo.lock: not a requirements file, pyproject.toml or lock file" in (
        run.stderr
    )
    assert "uv.lock, pylock.toml, poetry.lock, pdm.lock, Pipfile.lock" in run.stderr
    assert "invalid-requirement" not in run.stderr
    # Any name is still a requirements file when it holds requirements (pip reads -r x.deps).
    (project / "x.deps").write_text("nose==1.3.7\n")
    assert check("x.deps").code == 0


def test_a_lock_index_is_asked_with_the_credentials_netrc_has_for_it(
    project: Path,
    check: Callable[..., Run],
    make_index_server: MakeIndexServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    private = make_index_server(
        [ProjectSpec("corp-lib", status="archived", files=release("corp-lib", "1.0"))],
        auth=("user", "s3cret"),
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine 127.0.0.1\nlogin user\npassword s3cret\n")
    (home / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    (project / "uv.lock").write_text(uv_lock(private.url, ("corp-lib", "1.0")))
    run = check("uv.lock", "--report", "-", "--report-format", "json")
    (component,) = report(run)["components"]  # type: ignore[misc]
    assert component["status"] == "archived", run.stderr
    assert private.stats.unauthorized == 0  # netrc credentials go with the first request


HTTP_STACK = ("httpx", "httpcore", "h11", "h2", "anyio")


def modules_of_a_check(project: Path, index: str, cache: Path, *argv: str) -> tuple[int, list[str]]:
    """(exit code, the HTTP-stack modules loaded) of a whole `check` process in ``project``."""
    script = (
        "import json, sys\n"
        "from sbom_enrich.cli import main\n"
        "code = main(sys.argv[1:])\n"
        # A None entry is a module marked as not importable, not one loaded.
        "loaded = sorted(m for m, module in sys.modules.items()\n"
        f"                if module is not None and m.split('.')[0] in {HTTP_STACK!r})\n"
        "print(json.dumps([code, loaded]))\n"
    )
    argv = ("check", *argv, "--index-url", index, "--cache-dir", str(cache), "--fail-on", "none")
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(project), "SBOM_ENRICH_ALTERNATIVES": ""},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    return code, loaded


def test_a_check_answered_wholly_from_the_cache_never_loads_the_http_stack(
    project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    # A warm `check` of a big lock spent ~0.1 s of its 0.5 s importing httpx to ask nothing
    # (issue 16): the HTTP client is built on the first lookup that needs the network.
    pins = (("requests", "2.32.0"), ("nose", "1.3.7"), ("evil-pkg", "0.0.1"))
    (project / "uv.lock").write_text(uv_lock(index_server.url, *pins))
    cache = tmp_path / "cache"
    code, cold = modules_of_a_check(project, index_server.url, cache, "uv.lock")
    assert code == 0 and "httpx" in cold  # the cold run did go to the network
    asked = index_server.stats.requests
    code, warm = modules_of_a_check(project, index_server.url, cache, "uv.lock")
    assert code == 0
    assert index_server.stats.requests == asked  # every answer came from the cache
    assert warm == []


def test_a_lock_whose_every_package_comes_from_elsewhere_does_not_pass(
    project: Path, check: Callable[..., Run]
) -> None:
    # Only a URL-sourced wheel besides the project itself: nothing was asked of any index,
    # so the gate must not pass ("0 requirements checked", exit 0, before).
    head = 'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\n'
    (project / "uv.lock").write_text(
        head + 'source = { editable = "." }\ndependencies = [{ name = "evil" }]\n\n'
        '[[package]]\nname = "evil"\nversion = "0.0.1"\n'
        'source = { url = "https://files.example/evil-0.0.1-py3-none-any.whl" }\n'
    )
    run = check("uv.lock")
    assert run.code == 3, run.stderr
    assert "nothing was checked: 1 package comes from a URL" in run.stderr
    # A project with no dependencies at all is fine: its own entry is not a skipped package.
    (project / "uv.lock").write_text(head + 'source = { editable = "." }\n')
    run = check("uv.lock")
    assert run.code == 0, run.stderr


@pytest.mark.parametrize(
    ("tables", "said"),
    [
        ('[[tool.uv.index]]\nurl = "https://corp.invalid/simple"\ndefault = true\n', True),
        ('[tool.uv]\nextra-index-url = ["https://corp.invalid/simple"]\n', True),
        ('[[tool.poetry.source]]\nname = "corp"\nurl = "https://corp.invalid/simple"\n', True),
        ('[[tool.pdm.source]]\nname = "pypi"\nurl = "https://corp.invalid/simple"\n', True),
        # Asked only for a dependency that names it, or no index at all: nothing to say.
        ('[[tool.uv.index]]\nname = "corp"\nurl = "https://corp.invalid/simple"\n'
         "explicit = true\n", False),
        ('[[tool.poetry.source]]\nname = "corp"\nurl = "https://corp.invalid/simple"\n'
         'priority = "explicit"\n', False),
        ('[[tool.pdm.source]]\nname = "w"\nurl = "https://corp.invalid/w"\n'
         'type = "find_links"\n', False),
    ],
)  # fmt: skip
def test_a_pyproject_whose_tool_installs_from_another_index_says_so(
    tables: str, said: bool, project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # uv, Poetry or pdm installs `requests` from corp.invalid; it was looked up on the
    # configured index without a word (a requirements file's --index-url gets this line).
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["requests"]\n\n' + tables
    )
    run = check("pyproject.toml")
    assert run.code == 0, run.stderr
    warning = (
        "pyproject.toml: names the index https://corp.invalid/simple/, but statuses come "
        f"from {index_server.url}"
    )
    assert (warning in run.stderr) is said, run.stderr


def test_a_pdm_lock_whose_project_installs_from_another_index_says_so(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # pdm.lock names no index per package: its packages were looked up on the configured
    # index without a word, though pdm takes them from the sources its pyproject.toml names.
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["requests"]\n\n'
        '[[tool.pdm.source]]\nname = "pypi"\nurl = "https://corp.invalid/simple"\n'
    )
    (project / "pdm.lock").write_text(
        '[metadata]\nlock_version = "4.5.0"\n\n[[package]]\nname = "requests"\nversion = "2.32.3"\n'
    )
    run = check("pdm.lock")
    assert run.code == 0, run.stderr
    assert (
        "pdm.lock: names no index; the pyproject.toml beside it names the index "
        f"https://corp.invalid/simple/, but statuses come from {index_server.url}"
    ) in run.stderr


def test_a_name_the_index_quarantined_cannot_hide_behind_a_url_source(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # The wheel is fetched from a URL, not the index; but the name it installs is one the
    # index quarantined as malware. It was skipped (counted, unnamed) and the run passed on
    # what else it checked.
    (project / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1"\nsource = { editable = "." }\n'
        'dependencies = [{ name = "evil-pkg" }, { name = "nose" }, { name = "vendored" }]\n\n'
        '[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n'
        'source = { url = "https://files.example/evil_pkg-0.0.1-py3-none-any.whl" }\n\n'
        '[[package]]\nname = "vendored"\nversion = "1.0"\n'
        'source = { path = "vendor/vendored-1.0-py3-none-any.whl" }\n'
        + uv_lock(index_server.url, ("nose", "1.3.7")).split("\n", 2)[2]
    )
    run = check("uv.lock", "--report", "-", "--report-format", "json")
    assert run.code == 1, run.stderr
    assert "uv.lock:10:9: evil-pkg · 0.0.1 · quarantined · off-index (url)" in run.stderr
    # What is still not asked anywhere is named, not only counted.
    assert "not asked on any index: uv.lock:15:9: vendored comes from a path source" in (run.stderr)
    by_name = {c["name"]: c for c in report(run)["components"]}  # type: ignore[union-attr]
    assert by_name["evil-pkg"]["off_index"] == "url" and by_name["nose"]["off_index"] is None
    assert by_name["evil-pkg"]["version_missing"] is False  # the file is not the index's


def test_a_lock_of_remote_sources_only_is_asked_by_name_yet_checked_nothing(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # Two private wheels from URLs, names the index does not know: asking their names is no
    # check of what is installed, and no hint that the index URL is wrong either.
    (project / "poetry.lock").write_text(
        "".join(
            f'[[package]]\nname = "{name}"\nversion = "1.0"\n\n[package.source]\ntype = "url"\n'
            f'url = "https://files.example/{name}-1.0.tar.gz"\n\n'
            for name in ("corp-a", "corp-b")
        )
        + '[metadata]\nlock-version = "2.1"\n'
    )
    run = check("poetry.lock")
    assert run.code == 3, run.stderr
    assert "nothing was checked: 2 packages come from a URL" in run.stderr
    assert "is the index URL right" not in run.stderr
    assert index_server.stats.by_project["corp-a"] == 1


def test_a_remote_entrys_namesake_fails_the_gate_only_when_quarantined(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    """A private package from git bears a name the index also has, for another project:
    `--fail-on deprecated` failed on the namesake's status, which no change to the lock can
    fix. Its status is shown; only a quarantine (malware under the name) fails the run."""
    head = 'version = 1\n\n[[package]]\nname = "nose"\nversion = "9.0"\n'
    (project / "uv.lock").write_text(
        head + 'source = { git = "https://git.example/corp/nose?rev=1#abc" }\n'
    )
    run = check("uv.lock", "--fail-on", "deprecated,archived")
    assert "nose · 9.0 · deprecated · off-index (git)" in run.stderr, run.stderr
    assert "alternatives:" not in run.stderr  # the namesake's replacements, not this nose's
    # Asked by name only, so the run checked nothing installed from an index: incomplete.
    assert run.code == 3, run.stderr
    index_server.set_status("nose", "quarantined")
    failed = check("uv.lock", "--fail-on", "quarantined", "--no-cache")
    assert failed.code == 1, failed.stderr
    assert "nose (quarantined, installed from a git source)" in failed.stderr
