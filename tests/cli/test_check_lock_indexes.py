"""A lock file names an index per package, and a lock may come from a pull request: which
index `check` asks, what it says about it, and how to refuse what a lock names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import Fault, IndexServer, MakeIndexServer, ProjectSpec, release


def uv_lock(*packages: tuple[str, str, str]) -> str:
    """A uv.lock of (name, version, registry) entries."""
    body = "".join(
        f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
        f'source = {{ registry = "{index}" }}\n'
        for name, version, index in packages
    )
    return 'version = 1\nrequires-python = ">=3.10"\n' + body


def liar(make_index_server: MakeIndexServer) -> IndexServer:
    """An index a pull request's lock may name: it says active for everything it serves."""
    return make_index_server(
        [
            ProjectSpec("evil-pkg", status="active", files=release("evil-pkg", "0.0.1")),
            ProjectSpec("corp-lib", status="active", files=release("corp-lib", "1.0")),
            ProjectSpec("nose", status="active", files=release("nose", "1.3.7")),
        ]
    )


def json_report(run: Run) -> dict[str, object]:
    return json.loads(run.stdout)  # type: ignore[no-any-return]


JSON = ("--report", "-", "--report-format", "json")


def test_a_lock_index_cannot_vouch_for_a_name_the_configured_index_quarantined(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    # The configured index quarantined evil-pkg; the lock points it at an index of its own
    # that says active. That answer was the only one: "policy: passed", exit 0, under a
    # headline naming the configured index alone.
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("evil-pkg", "0.0.1", other.url)))
    run = check("uv.lock", *JSON, "--report", "out.md", "--report", "out.sarif")
    assert run.code == 1, run.stderr
    assert f"checked against {index_server.url} and 1 other index" in run.stderr
    assert f"also asked: {other.url} (a lock file names it) for evil-pkg" in run.stderr
    assert (
        f"policy: FAILED (--fail-on quarantined): evil-pkg (quarantined on {index_server.url}, "
        "installed from another index)"
    ) in run.stderr
    data = json_report(run)
    assert data["other_indexes"] == [
        {"index": other.url, "named_by": "lock", "projects": ["evil-pkg"]}
    ]
    components = data["components"]
    assert isinstance(components, list)
    by_index = {c["index"]: c for c in components}
    assert by_index[other.url]["status"] == "active" and by_index[other.url]["off_index"] is None
    namesake = by_index[index_server.url]
    assert namesake["status"] == "quarantined" and namesake["off_index"] == "index"
    assert other.url in (project / "out.md").read_text()
    sarif = json.loads((project / "out.sarif").read_text())
    assert sarif["runs"][0]["properties"]["otherIndexes"] == [
        {"index": other.url, "namedBy": "lock", "projects": ["evil-pkg"]}
    ]


def test_only_a_quarantine_on_the_configured_index_fails_a_name_locked_elsewhere(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    # A private package from a private index: the configured index has never heard of it
    # (not-found), or has a namesake of another state (nose, deprecated). Neither is about
    # what the lock installs: no failure, no line.
    other = liar(make_index_server)
    (project / "uv.lock").write_text(
        uv_lock(("corp-lib", "1.0", other.url), ("nose", "1.3.7", other.url))
    )
    run = check("uv.lock", "--fail-on", "quarantined,deprecated,not-found", *JSON)
    assert run.code == 0, run.stderr
    assert index_server.stats.by_project["corp-lib"] == 1  # its name was asked there
    components = json_report(run)["components"]
    assert isinstance(components, list)
    assert [(c["project"], c["index"]) for c in components] == [
        ("corp-lib", other.url), ("nose", other.url),
    ]  # fmt: skip


def test_a_failed_lookup_of_the_name_on_the_configured_index_is_incomplete(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("corp-lib", "1.0", other.url)))
    index_server.inject("corp-lib", Fault.GARBAGE)
    run = check("uv.lock", "--no-cache")
    assert run.code == 3, run.stderr  # could not tell whether the name is quarantined there
    assert "1 lookup failed" in run.stderr


def test_an_allowed_index_is_trusted_with_the_names_the_lock_gives_it(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("evil-pkg", "0.0.1", other.url)))
    run = check("uv.lock", "--allow-index", other.url, *JSON)
    assert run.code == 0, run.stderr  # the configuration vouches for that index
    assert index_server.stats.by_project["evil-pkg"] == 0
    assert json_report(run)["other_indexes"] == [
        {"index": other.url, "named_by": "allow-index", "projects": ["evil-pkg"]}
    ]
    assert f"also asked: {other.url} (--allow-index) for evil-pkg" in run.stderr


@pytest.mark.parametrize(
    ("argv", "env", "policy"),
    [
        (("--no-lock-indexes",), {}, None),
        ((), {"SBOM_ENRICH_NO_LOCK_INDEXES": "1"}, None),
        ((), {}, "lock-indexes = false\n"),
    ],
    ids=["flag", "env", "policy"],
)
def test_lock_indexes_off_asks_no_index_a_lock_names(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
    argv: tuple[str, ...],
    env: dict[str, str],
    policy: str | None,
) -> None:
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("corp-lib", "1.0", other.url)))
    if policy is not None:
        (project / ".sbom-enrich.toml").write_text(policy)
    run = check("uv.lock", *argv, *JSON, env=env)
    assert other.stats.requests == 0  # the lock chose no host, port or path
    assert run.code == 3, run.stderr  # not checked: never passed
    assert (
        "1 package not checked: its lock entry names an index this run does not ask "
        "(lock indexes are off; --allow-index URL to ask it)"
    ) in run.stderr
    [component] = json_report(run)["components"]  # type: ignore[misc]
    assert component["status"] == "unknown" and component["index"] == other.url
    assert other.url in component["reason"]
    accepted = check("uv.lock", *argv, "--allow-incomplete", env=env)
    assert accepted.code == 0 and "but incomplete (accepted)" in accepted.stderr
    assert other.stats.requests == 0


def test_lock_indexes_off_still_fails_on_a_quarantined_namesake(
    project: Path,
    check: Callable[..., Run],
    make_index_server: MakeIndexServer,
) -> None:
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("evil-pkg", "0.0.1", other.url)))
    run = check("uv.lock", "--no-lock-indexes")
    assert run.code == 1, run.stderr  # the violation wins over incomplete
    assert "evil-pkg (quarantined on" in run.stderr
    assert other.stats.requests == 0


def test_lock_indexes_off_still_asks_an_allowed_index(
    project: Path, check: Callable[..., Run], make_index_server: MakeIndexServer
) -> None:
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("corp-lib", "1.0", other.url)))
    run = check("uv.lock", "--no-lock-indexes", "--allow-index", other.url)
    assert run.code == 0, run.stderr
    assert other.stats.by_project["corp-lib"] == 1


def test_the_variable_turns_lock_indexes_back_on_over_the_policy_file(
    project: Path, check: Callable[..., Run], make_index_server: MakeIndexServer
) -> None:
    other = liar(make_index_server)
    (project / "uv.lock").write_text(uv_lock(("corp-lib", "1.0", other.url)))
    (project / ".sbom-enrich.toml").write_text("lock-indexes = false\n")
    run = check("uv.lock", env={"SBOM_ENRICH_NO_LOCK_INDEXES": "0"})
    assert run.code == 0, run.stderr
    assert other.stats.by_project["corp-lib"] == 1


def test_a_lock_indexes_policy_value_that_is_no_boolean_is_one_line_exit_2(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "uv.lock").write_text(uv_lock())
    (project / ".sbom-enrich.toml").write_text('lock-indexes = "no"\n')
    run = check("uv.lock")
    assert run.code == 2
    assert "'lock-indexes' must be true or false" in run.stderr


def test_the_configured_indexs_word_on_a_locked_name_is_no_requirement_of_its_own(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    # Two entries, one of them also asked by name on the configured index: two requirements,
    # not three (reviewer: "3 requirements (2 projects)"); the Markdown note says its
    # qualifier once.
    other = liar(make_index_server)
    (project / "uv.lock").write_text(
        uv_lock(("evil-pkg", "0.0.1", other.url), ("pycrypto", "2.6.1", index_server.url))
    )
    run = check("uv.lock", "--report", "out.md")
    assert run.code == 1, run.stderr
    assert "sbom-enrich: 2 requirements (2 projects) in 1 file" in run.stderr
    markdown = (project / "out.md").read_text()
    assert "2 requirements in 1 file" in markdown
    assert markdown.count("only a quarantine") == 1, markdown


def test_an_index_no_run_may_ask_is_not_listed_as_also_asked(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # A pylock.toml entry naming an index that is no http(s) URL: refused (not checked, the
    # run incomplete), never "also asked: wheels/" as if it had answered (reviewer).
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "corp-lib"\n'
        'version = "1.0"\nindex = "wheels"\n'
    )
    run = check("pylock.toml", *JSON)
    assert run.code == 3, run.stderr
    assert "also asked" not in run.stderr
    assert json_report(run)["other_indexes"] == []


def test_a_lock_of_find_links_packages_alone_says_so_in_its_reason(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    (project / "uv.lock").write_text(uv_lock(("corp-lib", "1.0", "wheels")))
    run = check("uv.lock")
    assert run.code == 3, run.stderr
    assert "from a URL, a path, a VCS or find-links" in run.stderr
