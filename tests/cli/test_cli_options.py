"""Option resolution, one table for every flag: flag → env twin → policy file → default."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from sbom_enrich.cli import build_parser
from sbom_enrich.cli.options import ENV_TWINS, resolve_options
from sbom_enrich.errors import UsageError

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_flag_table_is_the_twin_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("Every pipeline flag has an environment twin") :].split("\n\n")[1]
    rows = re.findall(r"^\| `(--[a-z-]+)[^`]*` \| `(SBOM_ENRICH_[A-Z_]+)`", table, re.M)
    assert dict(rows) == dict(ENV_TWINS)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["check", *argv])


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    (tmp_path / ".sbom-enrich.toml").write_text(
        'fail-on = ["yanked"]\nindex-url = "https://policy.example/simple/"\n'
    )
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--fail-on", "archived"], {"SBOM_ENRICH_FAIL_ON": "deprecated"}, {"archived"}),
        ([], {"SBOM_ENRICH_FAIL_ON": "deprecated"}, {"deprecated"}),
        ([], {}, {"yanked"}),
    ],
)
def test_fail_on_flag_then_env_then_policy(
    policy_dir: Path, argv: list[str], env: dict[str, str], expected: set[str]
) -> None:
    assert resolve_options(parse(*argv), env, policy_dir).fail_on == expected


def test_fail_on_defaults_to_quarantined(tmp_path: Path) -> None:
    assert resolve_options(parse(), {}, tmp_path).fail_on == {"quarantined"}


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (
            ["--index-url", "https://flag.example/simple/"],
            {"SBOM_ENRICH_INDEX_URL": "https://env.example/simple/"},
            "https://flag.example/simple/",
        ),
        (
            [],
            {"SBOM_ENRICH_INDEX_URL": "https://env.example/simple/"},
            "https://env.example/simple/",
        ),
        ([], {}, "https://policy.example/simple/"),
    ],
)
def test_index_url_flag_then_env_then_policy(
    policy_dir: Path, argv: list[str], env: dict[str, str], expected: str
) -> None:
    assert resolve_options(parse(*argv), env, policy_dir).client.index_url == expected


def test_a_bad_twin_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="SBOM_ENRICH_REPORT_FORMAT"):
        resolve_options(parse(), {"SBOM_ENRICH_REPORT_FORMAT": "pdf"}, tmp_path)
    with pytest.raises(UsageError, match="SBOM_ENRICH_ALLOW_INCOMPLETE"):
        resolve_options(parse(), {"SBOM_ENRICH_ALLOW_INCOMPLETE": "maybe"}, tmp_path)


def test_a_flag_wins_without_reading_its_twin(tmp_path: Path) -> None:
    options = resolve_options(
        parse("--allow-incomplete", "--concurrency", "3"),
        {"SBOM_ENRICH_ALLOW_INCOMPLETE": "maybe", "SBOM_ENRICH_CONCURRENCY": "7"},
        tmp_path,
    )
    assert options.allow_incomplete and options.client.concurrency == 3


def test_path_lists_split_on_the_path_separator(tmp_path: Path) -> None:
    import os

    env = {"SBOM_ENRICH_REPORT": f"a.sarif{os.pathsep}{os.pathsep}b.md"}
    assert resolve_options(parse(), env, tmp_path).reports == ("a.sarif", "b.md")
    assert resolve_options(parse("--report", "c.json"), env, tmp_path).reports == ("c.json",)


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["status", "--offline", "--cache-dir", "~nosuchuser-x/c", "requests"], {}, "--cache-dir"),
        (
            ["status", "--offline", "requests"],
            {"SBOM_ENRICH_CACHE_DIR": "~nosuchuser-x/c"},
            "SBOM_ENRICH_CACHE_DIR",
        ),
        (["cache", "info", "--cache-dir", "~nosuchuser-x/c"], {}, "--cache-dir"),
    ],
)
def test_a_home_that_does_not_exist_is_a_usage_error(
    argv: list[str], env: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """pathlib raises RuntimeError for ``~nosuchuser``: it was exit 5, "internal error"."""
    from sbom_enrich.cli import main

    assert main(argv, env={**env, "SBOM_ENRICH_LOOKUP_WORKERS": "1"}) == 2
    assert capsys.readouterr().err == (
        f"sbom-enrich: error: {named}: cannot expand '~nosuchuser-x/c' (no such home directory)\n"
    )


@pytest.mark.parametrize("columns", ["60", "0", "x", "200", None])
def test_help_is_as_wide_as_argparse_makes_it(
    monkeypatch: pytest.MonkeyPatch, columns: str | None
) -> None:
    """The width argparse's own formatter takes (``$COLUMNS``, else the terminal, else 80),
    worked out without importing shutil."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    for command in ("", "enrich"):
        parser = build_parser(command)
        ours = parser.format_help()
        parser.formatter_class = argparse.HelpFormatter
        assert ours == parser.format_help()
