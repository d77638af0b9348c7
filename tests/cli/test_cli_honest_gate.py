"""A gate that checked nothing does not pass: no real answer, a wrong index URL, refused indexes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import Fault, IndexServer, ProjectSpec


def sbom(*purls: str) -> bytes:
    components = [{"type": "library", "name": p.split("/")[1].split("@")[0], "purl": p}
                  for p in purls]  # fmt: skip
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    ).encode()


TWO = sbom("pkg:pypi/requests@2.32.0", "pkg:pypi/nose@1.3.7")


def incomplete_reasons(tmp_path: Path, run: Callable[[Path], Run]) -> tuple[Run, list[str]]:
    summary = tmp_path / "summary.json"
    done = run(summary)
    data = json.loads(summary.read_text())
    assert data["incomplete"] is (done.code == 3 or bool(data["incomplete_reasons"]))
    return done, data["incomplete_reasons"]


def test_a_wrong_index_path_is_incomplete_with_a_hint(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    root = index_server.url.removesuffix("simple/")  # the server's root: every page is a 404
    done, reasons = incomplete_reasons(
        tmp_path,
        lambda s: cli("enrich", "-", "--index-url", root, "--summary-json", str(s), stdin=TWO),
    )
    assert done.code == 3, done.stderr
    assert "policy: passed" not in done.stderr
    assert f"did you mean {root}simple/?" in done.stderr
    assert len(reasons) == 1 and "every project was not-found" in reasons[0]


def test_every_project_not_found_on_a_simple_path_asks_if_the_url_is_right(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer]
) -> None:
    empty = make_index_server([ProjectSpec("something-else")])
    done = cli("enrich", "-", "--index-url", empty.url, stdin=TWO)
    assert done.code == 3 and "is the index URL right?" in done.stderr


def test_an_index_that_cannot_express_status_checked_nothing(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    old = make_index_server([ProjectSpec("requests"), ProjectSpec("nose")], api_version="1.1")
    done, reasons = incomplete_reasons(
        tmp_path,
        lambda s: cli("enrich", "-", "--index-url", old.url, "--summary-json", str(s), stdin=TWO),
    )
    assert done.code == 3, done.stderr
    assert reasons and "cannot express project status" in reasons[0]
    assert "nothing was checked" in done.stderr
    assert cli("enrich", "-", "--index-url", old.url, "--allow-incomplete", stdin=TWO).code == 0


@pytest.mark.parametrize(
    ("specs", "said"),
    [
        (
            [ProjectSpec("requests", status="retired"), ProjectSpec("nose", status="retired")],
            "sent only project statuses this version does not know",
        ),
        (
            [ProjectSpec("requests", status="retired"), ProjectSpec("nose", api_version="1.0")],
            "statuses it does not know, and pages below Simple API 1.4",
        ),
    ],
    ids=["unknown-words", "unknown-words-and-old-pages"],
)
def test_an_index_whose_statuses_this_version_does_not_know_checked_nothing_in_true_words(
    cli: Callable[..., Run],
    make_index_server: Callable[..., IndexServer],
    tmp_path: Path,
    specs: list[ProjectSpec],
    said: str,
) -> None:
    """Every status "retired" at Simple API 1.4: incomplete (right), but the reason said the
    index "cannot express project status (Simple API < 1.4)", which it can."""
    index = make_index_server(specs, api_version="1.4")
    done, reasons = incomplete_reasons(
        tmp_path,
        lambda s: cli("enrich", "-", "--index-url", index.url, "--summary-json", str(s), stdin=TWO),
    )
    assert done.code == 3, done.stderr
    assert len(reasons) == 1 and said in reasons[0] and "nothing was checked" in reasons[0]
    assert "(Simple API < 1.4)" not in done.stderr
    assert "unrecognised status 'retired'" in done.stderr


def test_refused_components_make_the_run_incomplete(
    cli: Callable[..., Run], index_server: IndexServer,
    make_index_server: Callable[..., IndexServer],
) -> None:  # fmt: skip
    other = make_index_server()
    source = sbom(f"pkg:pypi/nose@1.3.7?repository_url={other.url}")
    done = cli("enrich", "-", "--index-url", index_server.url, stdin=source)
    assert done.code == 3, done.stderr
    assert "1 component not checked: the purl names an index that is not allowed" in done.stderr
    assert other.stats.requests == 0


@pytest.mark.parametrize("fail_on", ["deprecated", "quarantined"])
def test_a_normal_run_still_passes_and_violations_still_win(
    cli: Callable[..., Run], index_server: IndexServer,
    make_index_server: Callable[..., IndexServer], fail_on: str,
) -> None:  # fmt: skip
    other = make_index_server()
    mixed = sbom("pkg:pypi/requests@2.32.0", "pkg:pypi/nose@1.3.7",
                 f"pkg:pypi/pycrypto@2.6.1?repository_url={other.url}")  # fmt: skip
    done = cli("enrich", "-", "--index-url", index_server.url, "--fail-on", fail_on, stdin=mixed)
    # nose is deprecated on the test index: a violation wins over the refused component.
    assert done.code == (1 if fail_on == "deprecated" else 3), done.stderr
    plain = cli("enrich", "-", "--index-url", index_server.url, stdin=TWO)
    assert plain.code == 0 and "policy: passed" in plain.stderr


def test_check_with_every_requirement_not_found_is_incomplete(
    check: Callable[..., Run], index_server: IndexServer, project: Path
) -> None:
    (project / "requirements.txt").write_text("no-such-thing-1\nno-such-thing-2\n")
    done = check("--index-url", index_server.url.removesuffix("simple/"))
    assert done.code == 3, done.stderr
    assert "did you mean" in done.stderr


def test_a_name_the_old_index_lacks_does_not_make_it_pass(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer]
) -> None:
    """An index that cannot express status checked nothing, whether or not it also lacks one
    of the names: a typo (or a name squatted later) turned exit 3 into "policy: passed"."""
    old = make_index_server([ProjectSpec("requests"), ProjectSpec("nose")], api_version="1.1")
    three = sbom("pkg:pypi/requests@2.32.0", "pkg:pypi/nose@1.3.7", "pkg:pypi/no-such-thing@1")
    done = cli("enrich", "-", "--index-url", old.url, "--fail-on", "quarantined", stdin=three)
    assert done.code == 3, done.stderr
    assert "cannot express project status" in done.stderr


def test_an_sbom_whose_every_pypi_component_is_skipped_checked_nothing(
    cli: Callable[..., Run], index_server: IndexServer
) -> None:
    """Every PyPI component from a path on this disk: nothing was asked, so no pass (it
    passed, "skipped 2", while check on the same packages exited 3). From a URL or VCS, their
    names are asked, but that checks nothing installed from an index either."""
    skipped = sbom(
        "pkg:pypi/evil-pkg@0.0.1?vcs_url=git%2Bfile:///srv/git/evil.git",
        "pkg:pypi/nose@1.3.7?download_url=file:///srv/wheels/nose-1.3.7.tar.gz",
    )
    done = cli("enrich", "-", "--index-url", index_server.url, stdin=skipped)
    assert done.code == 3, done.stderr
    assert "nothing was checked: 2 packages come from a URL" in done.stderr
    assert index_server.stats.requests == 0
    remote = sbom("pkg:pypi/nose@1.3.7?download_url=https://example.invalid/nose-1.3.7.tar.gz")
    done = cli("enrich", "-", "--index-url", index_server.url, stdin=remote)
    assert done.code == 3, done.stderr
    assert "nothing was checked: 1 package comes from a URL" in done.stderr
    # Beside one component that is looked up, they are skipped and said so, as before.
    mixed = sbom("pkg:pypi/requests@2.32.0", "pkg:pypi/evil-pkg@0.0.1?vcs_url=git%2Bfile:///x")
    done = cli("enrich", "-", "--index-url", index_server.url, stdin=mixed)
    assert done.code == 0, done.stderr
    # By name, not only counted ("skipped 1", and "local" in the JSON report).
    assert "not asked on any index: evil-pkg 0.0.1: local" in done.stderr


@pytest.mark.parametrize(
    "line",
    [
        "https://example.invalid/evil-pkg-0.0.1.tar.gz",
        "git+https://example.invalid/evil.git#egg=evil-pkg",
        "./evil_pkg-0.0.1-py3-none-any.whl",
        "-e ./evil",
        "--editable=git+https://example.invalid/evil.git#egg=evil-pkg",
        "${PACKAGE}==1.0",
    ],
)
def test_check_of_lines_with_no_name_to_look_up_checked_nothing(
    check: Callable[..., Run], index_server: IndexServer, project: Path, line: str
) -> None:
    """A requirements line pip installs with no project name to ask an index about: skipped,
    and said so. They vanished ("0 requirements", no skip), and a file of them passed."""
    (project / "requirements.txt").write_text(f"# deps\n{line}  # pinned elsewhere\n")
    done = check("requirements.txt", "--index-url", index_server.url, "--report", "-",
                 "--report-format", "json")  # fmt: skip
    assert done.code == 3, done.stderr
    assert "nothing was checked: 1 package" in done.stderr
    [skipped] = json.loads(done.stdout)["skipped_reasons"]
    text = line.split("=", 1)[1] if line.startswith("--editable=") else line.removeprefix("-e ")
    assert skipped.startswith(f"requirements.txt:2:{line.index(text) + 1}: {text} ")
    # Beside a requirement that is looked up: skipped, counted, and the run passes.
    (project / "requirements.txt").write_text(f"{line}\nrequests==2.32.3\n")
    done = check("requirements.txt", "--index-url", index_server.url)
    assert done.code == 0 and "skipped 1" in done.stderr, done.stderr


def test_an_incomplete_run_accepted_is_never_shown_as_a_complete_pass(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """--allow-incomplete accepts an incomplete run (exit 0): the summary and the Markdown
    said "policy: passed" and nothing more, and SARIF called an exit-3 run successful."""
    old = make_index_server([ProjectSpec("requests"), ProjectSpec("nose")], api_version="1.1")
    markdown, sarif = tmp_path / "summary.md", tmp_path / "out.sarif"
    done = cli("enrich", "-", "--index-url", old.url, "--allow-incomplete", "--report",
               str(markdown), "--report", str(sarif), stdin=TWO)  # fmt: skip
    assert done.code == 0, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("policy: passed, but incomplete (accepted): the index "), last
    assert "**but incomplete** (accepted with --allow-incomplete)" in markdown.read_text()
    assert json.loads(sarif.read_text())["runs"][0]["invocations"][0]["executionSuccessful"]
    # Without it: exit 3, and SARIF says the analysis did not complete.
    done = cli("enrich", "-", "--index-url", old.url, "--report", str(sarif), stdin=TWO)
    assert done.code == 3
    [invocation] = json.loads(sarif.read_text())["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 3


def test_an_sbom_whose_only_pypi_component_is_its_own_subject_passes(
    cli: Callable[..., Run], index_server: IndexServer
) -> None:
    """The project itself, from its own tree (a VCS purl in metadata.component), beside npm
    components: no PyPI dependency went unchecked, so no "nothing was checked" (exit 3)."""
    document = {
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "metadata": {"component": {"type": "application", "name": "myproj",
                     "purl": "pkg:pypi/myproj@0.1.0?vcs_url=git%2Bhttps://example.invalid/m.git"}},
        "components": [{"type": "library", "name": "left-pad", "purl": "pkg:npm/left-pad@1.3.0"}],
    }  # fmt: skip
    done = cli("enrich", "-", "--index-url", index_server.url, stdin=json.dumps(document).encode())
    assert done.code == 0, done.stderr
    assert "skipped 1" in done.stderr and index_server.stats.requests == 0


def test_every_incomplete_run_gives_its_reasons_in_json(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """A failed lookup made the summary say `"incomplete": true` with `incomplete_reasons`
    empty (only the "checked too little" causes were listed): a dashboard had no cause."""
    down = make_index_server([ProjectSpec("requests"), ProjectSpec("nose")])
    down.fault_all = Fault.SERVER_ERROR
    done, reasons = incomplete_reasons(
        tmp_path,
        lambda s: cli(
            "enrich", "-", "--index-url", down.url, "--timeout", "5",
            "--summary-json", str(s), stdin=TWO,
        ),
    )  # fmt: skip
    assert done.code == 3, done.stderr
    assert reasons == ["2 lookups failed"], reasons
