"""The policy file: where it is found, precedence, dated ignores, extra alternatives, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from indexserver import IndexServer

if TYPE_CHECKING:
    from cli_runner import Run


def report(run: Run) -> dict[str, object]:
    return json.loads(run.stdout)  # type: ignore[no-any-return]


JSON = ("--report", "-", "--report-format", "json")


def test_pyproject_table_sets_fail_on_and_flags_and_env_win(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["pycrypto"]\n\n'
        '[tool.sbom-enrich]\nfail-on = ["quarantined", "archived"]\n'
    )
    assert check().code == 1
    assert check(env={"SBOM_ENRICH_FAIL_ON": "quarantined"}).code == 0
    assert check("--fail-on", "archived", env={"SBOM_ENRICH_FAIL_ON": "none"}).code == 1


@pytest.mark.parametrize(
    "table",
    ['[tool."sbom\\u002denrich"]', '[tool]\n"sbom-enrich" = {fail-on = "archived"}\n[tool.x]'],
)
def test_pyproject_table_spelled_another_way_is_still_found(
    project: Path, check: Callable[..., Run], table: str
) -> None:
    """A pyproject.toml without the words of our table is not parsed (start-up time); one
    that names it with an escape or as a key of [tool] still is."""
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\ndependencies = ["pycrypto"]\n\n{table}\nfail-on = "archived"\n'
    )
    assert check().code == 1  # pycrypto is archived: only the table's fail-on fails it


def test_standalone_file_wins_over_pyproject_and_config_flag_over_both(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text("nose\n")
    (project / "pyproject.toml").write_text('[tool.sbom-enrich]\nfail-on = "none"\n')
    (project / ".sbom-enrich.toml").write_text('fail-on = "deprecated"\n')
    (project / "strict.toml").write_text('fail-on = "deprecated"\n')
    (project / "lenient.toml").write_text('fail-on = "none"\n')
    assert check("requirements.txt").code == 1
    assert check("requirements.txt", "--config", "lenient.toml").code == 0
    (project / ".sbom-enrich.toml").unlink()
    assert check("requirements.txt").code == 0
    assert check("requirements.txt", env={"SBOM_ENRICH_CONFIG": "strict.toml"}).code == 1


def test_index_url_from_the_policy_yields_to_env_and_flag(
    project: Path,
    cli: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: Callable[..., IndexServer],
) -> None:
    other = make_index_server()
    other.set_status("nose", "quarantined")
    (project / "requirements.txt").write_text("nose\n")
    (project / ".sbom-enrich.toml").write_text(f'index-url = "{other.url}"\n')
    assert cli("check", env={"SBOM_ENRICH_INDEX_URL": None}).code == 1  # the policy's index
    assert cli("check").code == 0  # SBOM_ENRICH_INDEX_URL (the fixture's) wins
    flagged = cli("check", "--index-url", other.url)
    assert flagged.code == 1 and other.url in flagged.stderr


def test_ignores_apply_by_name_and_version_until_their_date(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text("evil-pkg==0.0.1\nnose==1.3.7\npycrypto\n")
    (project / ".sbom-enrich.toml").write_text("""
fail-on = "quarantined,deprecated,archived"

[[ignore]]
name = "Evil_Pkg"
version = "0.0.1.0"
reason = "vendored copy audited by the security team"
until = 2999-12-31

[[ignore]]
name = "nose"
reason = "test-only, removal tracked in #12"
until = "2000-01-01"

[[ignore]]
name = "pycrypto"
version = "9.9"
reason = "only some version"
""")
    run = check(*JSON)
    data = report(run)
    assert run.code == 1  # nose: its ignore expired; pycrypto: the ignore names another version
    assert sorted(v["project"] for v in data["violations"]) == ["nose", "pycrypto"]  # type: ignore[union-attr, index]
    [ignored] = data["ignored"]  # type: ignore[misc]
    assert ignored == {
        "name": "evil-pkg", "version": "0.0.1", "status": "quarantined",
        "reason": "vendored copy audited by the security team", "until": "2999-12-31",
        "location": {"file": "requirements.txt", "line": 1, "column": 1, "end_column": 9},
    }  # fmt: skip
    [warning] = data["warnings"]  # type: ignore[misc]
    assert "nose" in warning and "expired on 2000-01-01" in warning
    text = check()
    assert "ignored 1:" in text.stderr and "vendored copy audited" in text.stderr
    assert "warning: the ignore for nose expired" in text.stderr
    markdown = check("--report", "-", "--report-format", "markdown").stdout.decode()
    assert "### Ignored" in markdown and "vendored copy audited by the security team" in markdown


def test_an_ignore_with_a_version_too_long_for_int_matches_nothing(
    project: Path, check: Callable[..., Run]
) -> None:
    # packaging raises a plain ValueError (not InvalidVersion) past 4,300 digits.
    (project / "requirements.txt").write_text("evil-pkg==0.0.1\n")
    (project / ".sbom-enrich.toml").write_text(
        f'[[ignore]]\nname = "evil-pkg"\nversion = "{"1" * 5000}"\nreason = "typo"\n'
    )
    run = check(*JSON)
    assert run.code == 1, run.stderr
    assert [v["project"] for v in report(run)["violations"]] == ["evil-pkg"]  # type: ignore[union-attr, index]


def test_ignores_apply_to_enrich_too_but_the_sbom_keeps_its_facts(
    project: Path, cli: Callable[..., Run]
) -> None:
    (project / ".sbom-enrich.toml").write_text(
        '[[ignore]]\nname = "evil-pkg"\nreason = "known, isolated"\n'
    )
    component = {"type": "library", "name": "evil-pkg", "purl": "pkg:pypi/evil-pkg@1"}
    sbom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [component]}
    run = cli("enrich", "-", stdin=json.dumps(sbom).encode())
    assert run.code == 0, run.stderr
    assert "known, isolated" in run.stderr
    props = {p["name"]: p["value"] for p in json.loads(run.stdout)["components"][0]["properties"]}
    assert props["sbom-enrich:pypi:project-status"] == "quarantined"


def test_extra_alternatives_from_the_policy(project: Path, check: Callable[..., Run]) -> None:
    (project / "requirements.txt").write_text("nose\npycrypto\n")
    (project / ".sbom-enrich.toml").write_text("""
[alternatives.nose]
alternatives = [{ name = "our-test-runner", rationale = "The in-house runner" }]

[alternatives.pycrypto]
alternatives = []
""")
    run = check(*JSON)
    by_name = {c["project"]: c for c in report(run)["components"]}  # type: ignore[union-attr]
    assert [a["name"] for a in by_name["nose"]["alternatives"]] == ["our-test-runner"]
    assert by_name["pycrypto"]["alternatives"] == []  # an empty list removes the suggestion


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fail-on = [", "invalid TOML"),
        ('fail-on = "sometimes"', "unknown value sometimes"),
        # An empty entry was joined into "" and read as none: the gate off, by a typo.
        ('fail-on = [""]', "'fail-on' entries must be single words"),
        ('fail-on = ["quarantined", " "]', "'fail-on' entries must be single words"),
        ('colour = "red"', "unknown key 'colour'"),
        ('[[ignore]]\nname = "nose"', "'reason' must be a non-empty string"),
        ('[[ignore]]\nname = "nose"\nreason = "x"\nuntil = "soon"', "'until' must be a date"),
        ('[[ignore]]\nname = "no pe"\nreason = "x"', "'name' must be a project name"),
        ("[alternatives.nose]\nalternatives = [{ name = 3 }]", "'name' must be a string"),
        ('index-url = "ftp://example"', "index-url"),
    ],
)
def test_invalid_policy_is_one_line_exit_2(
    project: Path, check: Callable[..., Run], index_server: IndexServer, text: str, message: str
) -> None:
    (project / "requirements.txt").write_text("nose\n")
    (project / ".sbom-enrich.toml").write_text(text + "\n")
    run = check(env={"SBOM_ENRICH_INDEX_URL": None})
    assert run.code == 2
    [line] = run.stderr.strip().splitlines()
    assert message in line and ".sbom-enrich.toml" in line, line
    assert index_server.stats.requests == 0


def test_a_pyproject_without_our_table_is_no_policy(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\ndependencies = ["nose"]\n')
    assert check().code == 0
    assert check("--config", "missing.toml").code == 2


def test_a_broken_pyproject_holding_our_table_is_not_silently_no_policy(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    # A typo elsewhere in the file must not quietly drop the team's stricter gate.
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["pycrypto"\n\n'
        '[tool.sbom-enrich]\nfail-on = ["quarantined", "archived"]\n'
    )
    run = check()
    assert run.code == 2, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert "pyproject.toml" in line and "invalid TOML" in line
    assert index_server.stats.requests == 0
