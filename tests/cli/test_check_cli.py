"""`sbom-enrich check` through main(): discovery, includes, skips, locations, policy, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from indexserver import IndexServer

if TYPE_CHECKING:
    from cli_runner import Run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def summary(run: Callable[..., Run], *argv: str, **kwargs: object) -> tuple[Run, dict[str, object]]:
    result = run(*argv, "--report", "-", "--report-format", "json", **kwargs)
    return result, json.loads(result.stdout)


def test_default_finds_manifests_in_the_directory_and_requirements_folder(
    project: Path, check: Callable[..., Run]
) -> None:
    write(project / "requirements.txt", "requests==2.31.0\n")
    write(project / "requirements" / "dev.txt", "nose==1.3.7\n")
    write(project / "constraints.txt", "pycrypto==2.6.1\n")
    write(project / "tools.in", "zope.interface\n")
    write(project / "MANIFEST.in", "include README.md\n")  # setuptools, not a manifest
    write(project / "deep" / "requirements.txt", "evil-pkg\n")  # not recursive
    write(project / "pyproject.toml", '[project]\nname = "x"\ndependencies = ["meta-status"]\n')
    run, data = summary(check)
    assert run.code == 0, run.stderr
    assert data["files"] == [
        "constraints.txt", "pyproject.toml", "requirements.txt", "tools.in", "requirements/dev.txt",
    ]  # fmt: skip
    names = sorted(c["project"] for c in data["components"])  # type: ignore[index, union-attr]
    assert names == ["meta-status", "nose", "pycrypto", "requests", "zope-interface"]
    assert data["problems"] == []
    assert "5 requirements (5 projects) in 5 files" in run.stderr


def test_quarantined_fails_with_location_and_reason(
    project: Path, check: Callable[..., Run]
) -> None:
    write(project / "requirements.txt", "# deps\nrequests==2.32.3\n  evil-pkg==0.0.1  # why\n")
    run = check()
    assert run.code == 1
    assert "requirements.txt:3:3: evil-pkg · 0.0.1 · quarantined" in run.stderr
    assert "reason: Reported as malware" in run.stderr
    assert "policy: FAILED" in run.stderr


def test_pinned_versions_get_yanked_and_missing_facts(
    project: Path, check: Callable[..., Run]
) -> None:
    write(project / "requirements.txt", "requests==2.32.0\nnose==9.9\nrequests>=2\n")
    run, data = summary(check, "--fail-on", "yanked")
    assert run.code == 1
    by_line = {c["location"]["line"]: c for c in data["components"]}  # type: ignore[index, union-attr]
    assert by_line[1]["yanked"] and "CVE-2024-35195" in by_line[1]["yank_reason"]
    assert by_line[2]["version_missing"] and by_line[2]["status"] == "deprecated"
    assert by_line[3]["version"] is None and not by_line[3]["yanked"]
    assert by_line[1]["location"] == {"file": "requirements.txt", "line": 1, "column": 1,
                                      "end_column": 9}  # fmt: skip


def test_includes_are_followed_once_relative_to_the_including_file(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    write(project / "requirements" / "base.txt", "-c ../pins.txt\nnose\n")
    write(project / "requirements" / "dev.txt", "-r base.txt\npycrypto\n")
    write(project / "pins.txt", "nose==1.3.7\n")
    write(project / "requirements.txt", "-r requirements/dev.txt\n-r requirements/base.txt\n"
          "-r missing.txt\n-r https://example.invalid/r.txt\n")  # fmt: skip
    run, data = summary(check, "requirements.txt")
    assert run.code == 3, run.stderr  # a missing include was never checked: incomplete
    assert "incomplete: 2 manifest problems" in run.stderr
    assert check("requirements.txt", "--allow-incomplete").code == 0
    assert data["files"] == [
        "requirements.txt", "requirements/dev.txt", "requirements/base.txt", "pins.txt",
    ]  # fmt: skip
    missing, url = sorted(data["problems"], key=lambda p: p["location"]["line"])  # type: ignore[arg-type, index]
    assert missing["code"] == "missing-include" and missing["location"]["line"] == 3
    assert url["code"] == "missing-include" and url["location"]["line"] == 4
    assert "not following the URL include" in url["message"]
    assert index_server.stats.by_project["nose"] == 1  # looked up once, and cached after
    assert index_server.stats.by_project["pycrypto"] == 1


@pytest.mark.parametrize("include", [".", "./", "sub", "sub/.."])
def test_an_include_naming_a_directory_names_its_real_path(
    project: Path, check: Callable[..., Run], include: str
) -> None:
    # "included file .: not a regular file" named no file a reader could find.
    (project / "sub").mkdir()
    write(project / "requirements.txt", f"-r {include}\nnose\n")
    run, data = summary(check, "requirements.txt")
    assert run.code == 3, run.stderr
    [problem] = data["problems"]  # type: ignore[misc]
    real = (project / include).resolve()
    shown = (
        real.relative_to(project.resolve()).as_posix()
        if real != project.resolve()
        else (real.as_posix())
    )
    assert problem["message"] == f"included file {shown}: a directory, not a file", problem


@pytest.mark.parametrize("option", ["-r", "-c", "--requirement", "--constraint"])
def test_a_url_include_is_not_fetched_and_leaves_the_run_incomplete(
    project: Path, check: Callable[..., Run], index_server: IndexServer, option: str
) -> None:
    # pip fetches it; a run never does. A file of nothing else checked nothing and passed
    # ("0 requirements ... policy: passed", exit 0), the include a warning.
    write(project / "requirements.txt",
          f"{option} https://user:t0ken@example.invalid/requirements.txt?sig=abc\n")  # fmt: skip
    run, data = summary(check, "requirements.txt")
    assert run.code == 3, run.stderr
    [problem] = data["problems"]  # type: ignore[misc]
    assert problem["code"] == "missing-include" and problem["location"]["line"] == 1
    assert "https://example.invalid/requirements.txt?…" in problem["message"]
    assert "not checked" in problem["message"]
    assert "incomplete: 1 manifest problem" in run.stderr
    assert "t0ken" not in run.stderr + run.stdout.decode()  # credentials never shown
    accepted = check("requirements.txt", "--allow-incomplete")
    assert accepted.code == 0 and "but incomplete (accepted)" in accepted.stderr


def test_direct_references_and_ignored_lines_are_skipped_and_invalid_lines_reported(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    write(project / "requirements.txt", "\n".join([
        "evil-pkg  # sbom-enrich: ignore",
        "pycrypto @ https://example.invalid/pycrypto.tar.gz",
        "nose ==== 1",
        "requests==2.32.3",
        "vendored @ file:///opt/wheels/vendored-1.0-py3-none-any.whl",
    ]) + "\n")  # fmt: skip
    run, data = summary(check)
    assert run.code == 3, run.stderr  # the quarantined line is ignored; a bad line is unchecked
    assert check("--allow-incomplete").code == 0
    # A direct reference to a remote file is asked by name (off-index); one on disk skipped.
    components = {c["project"]: c for c in data["components"]}  # type: ignore[union-attr]
    assert sorted(components) == ["pycrypto", "requests"]
    assert components["pycrypto"]["off_index"] == "url"
    assert components["pycrypto"]["version_missing"] is False
    assert data["skipped"] == 1
    assert "not asked on any index: requirements.txt:5:1: vendored is a direct reference" in (
        run.stderr
    )
    [ignored] = data["ignored"]  # type: ignore[misc]
    assert ignored["name"] == "evil-pkg" and "sbom-enrich: ignore" in ignored["reason"]
    [problem] = data["problems"]  # type: ignore[misc]
    assert problem["code"] == "invalid-requirement" and problem["location"]["line"] == 3
    assert "requirements.txt:3:1: invalid-requirement" in run.stderr
    assert index_server.stats.by_project["requests"] == 1


def test_workspace_members_and_other_indexes_are_skipped_not_not_found(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    write(project / "pyproject.toml", "\n".join([
        "[project]", 'name = "app"', 'dependencies = ["app-core", "requests==2.32.3"]',
        "[tool.uv.sources]", "app-core = { workspace = true }",
    ]) + "\n")  # fmt: skip
    run, data = summary(check, "--fail-on", "not-found")
    assert run.code == 0, run.stderr
    assert [c["project"] for c in data["components"]] == ["requests"]  # type: ignore[index, union-attr]
    assert data["skipped"] == 1
    assert index_server.stats.by_project["app-core"] == 0


def test_a_requirements_file_naming_another_index_gets_a_warning(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    write(project / "requirements.txt", "\n".join([
        "--index-url https://ci:t0ken@pypi.corp.example/simple",
        f"--extra-index-url {index_server.url}",  # the configured index: no warning
        "--extra-index-url ${EXTRA_INDEX}",
        "requests==2.32.3",
    ]) + "\n")  # fmt: skip
    run, data = summary(check)
    assert run.code == 0, run.stderr
    [warning] = data["warnings"]  # type: ignore[misc]
    assert "requirements.txt: names the index https://pypi.corp.example/simple/" in warning
    assert f"statuses come from {index_server.url}" in warning
    assert "t0ken" not in run.stdout.decode() + check().stderr


def test_pyproject_dependencies_are_checked(project: Path, check: Callable[..., Run]) -> None:
    write(project / "pyproject.toml", "\n".join([
        "[project]", 'name = "demo"', 'dependencies = ["requests>=2", "pycrypto==2.6.1"]',
        "[project.optional-dependencies]", 'test = ["nose"]',
    ]) + "\n")  # fmt: skip
    run = check("--fail-on", "archived")
    assert run.code == 1
    assert "pyproject.toml:3:33: pycrypto · 2.6.1 · archived" in run.stderr


def test_env_twins_and_flag_precedence(project: Path, check: Callable[..., Run]) -> None:
    write(project / "requirements.txt", "nose\n")
    assert check(env={"SBOM_ENRICH_FAIL_ON": "deprecated"}).code == 1
    assert check("--fail-on", "none", env={"SBOM_ENRICH_FAIL_ON": "deprecated"}).code == 0
    report = project / "out" / "r.md"
    report.parent.mkdir()
    run = check(env={"SBOM_ENRICH_REPORT": str(report)})
    assert run.code == 0 and report.read_text().startswith("## sbom-enrich")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such.txt"], "cannot read no-such.txt"),
        ([], "no manifests"),
        (["requirements.txt", "--report-format", "pdf"], "invalid choice"),
        (["requirements.txt", "--report", "/no/such/dir/r.sarif"], "does not exist"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    project: Path, check: Callable[..., Run], argv: list[str], message: str
) -> None:
    if argv:
        write(project / "requirements.txt", "nose\n")
    run = check(*argv)
    assert run.code == 2
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr


def test_failed_lookups_exit_3(project: Path, check: Callable[..., Run]) -> None:
    write(project / "requirements.txt", "ghost-of-a-name\nnose\n")
    run = check("--offline")
    assert run.code == 3 and "incomplete" in run.stderr
    assert check("--offline", "--allow-incomplete").code == 0


def test_a_byte_order_mark_does_not_shift_first_line_columns(
    project: Path, check: Callable[..., Run]
) -> None:
    # Windows editors save "UTF-8 with BOM"; editors and code scanning do not count the BOM.
    (project / "requirements.txt").write_bytes(b"\xef\xbb\xbfevil-pkg==0.0.1\r\nnose\r\n")
    run, data = summary(check)
    assert run.code == 1, run.stderr
    locations = [c["location"] for c in data["components"]]  # type: ignore[index, union-attr]
    assert [(loc["line"], loc["column"], loc["end_column"]) for loc in locations] == [
        (1, 1, 9), (2, 1, 5),
    ]  # fmt: skip
    assert "requirements.txt:1:1: evil-pkg" in run.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_requirements_file_is_read_as_pip_reads_it(
    project: Path, check: Callable[..., Run], encoding: str
) -> None:
    # Windows PowerShell 5's `pip freeze > requirements.txt` writes UTF-16 with a byte order mark;
    # pip reads it, so a gate must not see only undecodable lines (and pass with
    # --allow-incomplete).
    text = "nose==1.3.7\r\nevil-pkg==0.0.1\r\n"
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    (project / "requirements.txt").write_bytes(bom + text.encode(encoding))
    run, data = summary(check, "--allow-incomplete")
    assert run.code == 1, run.stderr
    assert data["problems"] == []
    locations = {c["project"]: c["location"] for c in data["components"]}  # type: ignore[index, union-attr]
    assert locations["evil-pkg"] == {"file": "requirements.txt", "line": 2, "column": 1,
                                     "end_column": 9}  # fmt: skip


@pytest.mark.parametrize(
    ("include", "message"),
    [("loop.txt", "included file loop.txt: "), ("nul\0byte.txt", "included file nul")],
)
def test_an_unreadable_include_path_is_a_problem_not_a_traceback(
    project: Path, check: Callable[..., Run], include: str, message: str
) -> None:
    (project / "loop.txt").symlink_to("loop.txt")
    write(project / "requirements.txt", f"-r {include}\nnose\n")
    run, data = summary(check)
    assert run.code == 3, run.stderr
    [problem] = data["problems"]  # type: ignore[misc]
    assert problem["code"] == "missing-include" and problem["message"].startswith(message)
    assert "Traceback" not in run.stderr


def test_a_named_symlink_loop_is_one_line_exit_2(project: Path, check: Callable[..., Run]) -> None:
    (project / "requirements.txt").symlink_to("requirements.txt")
    run = check("requirements.txt")
    assert run.code == 2
    assert run.stderr.startswith("sbom-enrich: error: cannot read requirements.txt: ")
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_an_ignore_comment_silences_only_the_names_it_lists(
    project: Path, check: Callable[..., Run]
) -> None:
    # Issue 15: ignoring nose on this line hid the quarantined evil-pkg and passed the gate.
    deps = 'dependencies = ["evil-pkg", "nose"]'
    write(
        project / "pyproject.toml", f'[project]\nname = "x"\n{deps}  # sbom-enrich: ignore[nose]\n'
    )
    run, data = summary(check, "--fail-on", "quarantined")
    assert run.code == 1, run.stderr
    assert [i["name"] for i in data["ignored"]] == ["nose"]  # type: ignore[index, union-attr]
    assert "ignored 1:" in run.stderr and "nose" in run.stderr.split("ignored 1:")[1]
    # The bare legacy form on a shared line silences nothing, and says so.
    write(project / "pyproject.toml", f'[project]\nname = "x"\n{deps}  # sbom-enrich: ignore\n')
    run, data = summary(check, "--fail-on", "quarantined")
    assert run.code == 1, run.stderr
    assert data["ignored"] == []
    assert any("silences nothing" in w for w in data["warnings"])  # type: ignore[union-attr]


def test_dynamic_dependencies_nothing_pins_make_the_run_incomplete(
    project: Path, check: Callable[..., Run]
) -> None:
    """A pyproject.toml whose dependencies its build backend decides (setup.py, a plugin), in a
    run that checks nothing else: the gate saw none of them, so it must not pass. It passed
    with "0 requirements". With a file beside it that pins them checked too, a warning."""
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["nose"]\n\n'
        '[project]\nname = "app"\nversion = "1"\ndynamic = ["dependencies"]\n'
    )
    run, data = summary(check, "pyproject.toml")
    assert run.code == 3, run.stderr
    [problem] = data["problems"]  # type: ignore[misc]
    assert problem["code"] == "dynamic-dependencies"
    assert problem["location"]["line"] == 7  # type: ignore[index]
    assert "[project] dependencies are dynamic" in run.stderr
    assert data["components"] and all(  # type: ignore[union-attr]
        c["status"] == "deprecated"
        for c in data["components"]  # type: ignore[union-attr]
    )  # nose, from build-system.requires: still checked
    assert check("pyproject.toml", "--allow-incomplete").code == 0
    # The lock (here a requirements file) that pins them, checked in the same run.
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    run, data = summary(check)
    assert run.code == 0, run.stderr
    assert data["problems"] == []
    assert any(
        "dependencies are dynamic" in w and "relies on requirements.txt" in w
        for w in data["warnings"]  # type: ignore[union-attr]
    )


def test_hatch_requirements_txt_dependencies_are_read_from_their_files(
    project: Path, check: Callable[..., Run]
) -> None:
    """hatch-requirements-txt's files (named so that discovery does not find them) are checked."""
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndynamic = ["dependencies"]\n\n'
        '[tool.hatch.metadata.hooks.requirements_txt]\nfiles = ["deps/runtime.list"]\n'
    )
    write(project / "deps" / "runtime.list", "evil-pkg==0.0.1\n")
    run = check("pyproject.toml", "--fail-on", "quarantined")
    assert run.code == 1, run.stderr
    assert "deps/runtime.list:1:1: evil-pkg" in run.stderr


def test_setuptools_dynamic_dependencies_are_read_from_their_files(
    project: Path, check: Callable[..., Run]
) -> None:
    """A pyproject.toml whose dependencies setuptools reads from a file (not named like a
    requirements file, so discovery does not find it): that file is checked. It passed with
    "0 requirements" checked."""
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndynamic = ["dependencies"]\n\n'
        '[tool.setuptools.dynamic]\ndependencies = {file = ["deps.list"]}\n'
    )
    (project / "deps.list").write_text("nose==1.3.7\n")
    run = check("--offline")
    assert run.code == 3, run.stderr
    assert "deps.list:1:1: nose" in run.stderr


def test_a_specifier_that_allows_no_version_is_a_located_warning(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # pip: "Could not find a version that satisfies the requirement"; uv: "you require
    # nose==1.0.5 and nose==2.*, which are incompatible". It was looked up unpinned, silently.
    (project / "requirements.txt").write_text("requests>=2\nnose==2.*,==1.0.5\n")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = [\n  "pycrypto>2,<1",\n'
        '  "requests>=2,<3",\n]\n'
    )
    run = check("requirements.txt", "pyproject.toml")
    assert run.code == 0, run.stderr  # a warning: its project's status is still checked
    assert (
        "warning: requirements.txt:2:1: nose==2.*,==1.0.5 allows no version, so pip and uv "
        "cannot install it"
    ) in run.stderr
    assert "warning: pyproject.toml:5:4: pycrypto>2,<1 allows no version" in run.stderr
    assert "requirements.txt:2:1: nose · deprecated" in run.stderr
    assert "pycrypto · archived" in run.stderr
    assert run.stderr.count("allows no version") == 2  # requests>=2,<3 allows some


@pytest.mark.parametrize(
    ("file_name", "text"),
    [
        ("requirements.txt", "evil-pkg @ https://files.example/evil_pkg-0.0.1-py3-none-any.whl\n"),
        ("requirements.txt", "evil-pkg @ git+https://git.example/evil-pkg@v1\n"),
        (
            "pyproject.toml",
            '[project]\nname = "app"\nversion = "1"\n'
            'dependencies = ["evil-pkg @ https://files.example/evil_pkg-0.0.1.tar.gz"]\n',
        ),
    ],
)
def test_a_quarantined_name_cannot_hide_behind_a_direct_reference(
    project: Path, check: Callable[..., Run], index_server: IndexServer, file_name: str, text: str
) -> None:
    """`name @ https://…` was skipped (counted), and the run passed on the rest: the name the
    file installs is the one the index quarantined. Asked by name now, as a lock's URL and
    git entries are; a quarantine fails the run, the namesake's other statuses do not."""
    write(project / file_name, text)
    write(project / "requirements-base.txt", "requests==2.32.3\n")
    run = check(file_name, "requirements-base.txt")
    assert run.code == 1, run.stderr
    assert "evil-pkg (quarantined, installed from a" in run.stderr
    assert "off-index (" in run.stderr


#: An index package, and a name installed from a URL (pycrypto: archived on the test index).
REMOTE_REFERENCE = "requests==2.32.3\npycrypto @ https://files.example/pycrypto-2.6.1.tar.gz\n"


def test_sarif_says_what_the_gate_says_of_a_remote_reference(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    """The run passed `--fail-on archived` (the status is a namesake's, maybe) while its
    SARIF marked the result `error`: code scanning raised an alert the gate did not fail on."""
    write(project / "requirements.txt", REMOTE_REFERENCE)
    run = check("requirements.txt", "--fail-on", "archived", "--report", "x.sarif")
    assert run.code == 0, run.stderr
    sarif = json.loads((project / "x.sarif").read_text())
    [pycrypto] = [
        r for r in sarif["runs"][0]["results"] if r["properties"].get("project") == "pycrypto"
    ]
    assert pycrypto["level"] == "note"
    assert pycrypto["properties"]["off_index"] == "url"


def test_a_remote_reference_is_offered_no_alternative_in_any_report(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    """`pycrypto @ https://…` may be a private package bearing the archived project's name:
    "alternatives: pycryptodome" suggested replacing a project nobody said it is. A name
    installed from the index still gets its catalog alternatives."""
    write(project / "requirements.txt", REMOTE_REFERENCE)
    write(project / "requirements-dev.txt", "nose==1.3.7\n")
    argv = ("--report", "x.json", "--report", "x.md", "--report", "x.sarif")
    run = check("requirements.txt", "requirements-dev.txt", *argv)
    assert run.code == 0, run.stderr
    [line] = [line for line in run.stderr.splitlines() if "pycrypto" in line]
    assert "off-index (url)" in line and "alternatives" not in line, line
    assert "alternatives: pytest, unittest (standard library)" in run.stderr  # nose, from the index
    components = {
        c["project"]: c for c in json.loads((project / "x.json").read_text())["components"]
    }
    assert components["pycrypto"]["alternatives"] == []
    assert [a["name"] for a in components["nose"]["alternatives"]] == ["pytest", "unittest"]
    markdown = (project / "x.md").read_text()
    assert "pycryptodome" not in markdown and "pytest" in markdown
    results = json.loads((project / "x.sarif").read_text())["runs"][0]["results"]
    by_project = {
        r["properties"]["project"]: r["properties"] for r in results if r.get("properties")
    }
    assert "alternatives" not in by_project["pycrypto"]
    assert by_project["nose"]["alternatives"] == ["pytest", "unittest"]


def test_summaries_count_off_index_names_apart(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    """JSON `counts` and the Markdown table counted a URL-installed name under its namesake's
    status with no word that it was one (text said so): a dashboard read "archived 1"."""
    write(project / "requirements.txt", REMOTE_REFERENCE)
    run = check("requirements.txt", "--report", "x.json", "--report", "x.md")
    assert run.code == 0, run.stderr
    data = json.loads((project / "x.json").read_text())
    assert (data["off_index"], data["counts"]["archived"]) == (1, 1)
    assert "Of these, 1 installed from a URL, a VCS or find-links" in (project / "x.md").read_text()
