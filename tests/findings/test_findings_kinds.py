"""The one table of finding kinds, and every front end that reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol.types import DiagnosticSeverity

from lsp.lsp_settings import DEFAULT_SEVERITY
from sbom_enrich.findings.kinds import (
    FAIL_ON_WORDS,
    INVALID_REQUIREMENT,
    KINDS,
    KINDS_BY_CODE,
    STATUS_MEANING,
    kinds_table_markdown,
    parse_fail_on,
)
from sbom_enrich.formats.sarif import RULES
from sbom_enrich.manifests import parse_lock_text, parse_pyproject_text, parse_requirements_text
from sbom_enrich.manifests.check import read_manifests
from sbom_enrich.status.model import ProjectStatus

ROOT = Path(__file__).resolve().parents[2]


def test_every_status_is_a_kind_with_a_meaning() -> None:
    assert set(STATUS_MEANING) == set(ProjectStatus)
    assert all(KINDS_BY_CODE[status.value].meaning for status in ProjectStatus)
    assert len(KINDS_BY_CODE) == len(KINDS)  # no code twice


def test_invalid_requirement_has_one_level_in_every_front_end() -> None:
    kind = KINDS_BY_CODE[INVALID_REQUIREMENT]
    assert kind.lsp_severity == "error" and kind.sarif_level == "error"
    assert DEFAULT_SEVERITY[INVALID_REQUIREMENT] is DiagnosticSeverity.Error
    assert RULES["sbom-enrich/invalid-requirement"].sarif_level == "error"


def test_the_language_server_defaults_are_the_tables() -> None:
    assert {
        "active": None,
        "deprecated": DiagnosticSeverity.Warning,
        "archived": DiagnosticSeverity.Warning,
        "quarantined": DiagnosticSeverity.Error,
        "not-found": DiagnosticSeverity.Warning,
        "unknown": None,
        "yanked": DiagnosticSeverity.Warning,
        "version-missing": DiagnosticSeverity.Warning,
        "invalid-requirement": DiagnosticSeverity.Error,
        "ignore-comment": DiagnosticSeverity.Warning,
        "no-version-allowed": DiagnosticSeverity.Warning,
        # The maintenance kinds (only with the "maintenance" setting on): mild by default.
        "repo-archived": DiagnosticSeverity.Information,
        "repo-gone": DiagnosticSeverity.Information,
        "stale": DiagnosticSeverity.Hint,
    } == DEFAULT_SEVERITY


def test_sarif_rules_keep_their_order_and_levels() -> None:
    assert [(rule_id, kind.sarif_level) for rule_id, kind in RULES.items()] == [
        ("sbom-enrich/quarantined", "error"),
        ("sbom-enrich/archived", "warning"),
        ("sbom-enrich/deprecated", "warning"),
        ("sbom-enrich/not-found", "warning"),
        ("sbom-enrich/unknown", "note"),
        ("sbom-enrich/yanked", "warning"),
        ("sbom-enrich/version-missing", "warning"),
        ("sbom-enrich/invalid-requirement", "error"),
        ("sbom-enrich/repo-archived", "warning"),
        ("sbom-enrich/repo-gone", "warning"),
        ("sbom-enrich/stale", "note"),
        ("sbom-enrich/invalid-component", "error"),  # appended: the indexes above stay
    ]


def test_fail_on_words_come_from_the_table() -> None:
    assert FAIL_ON_WORDS == (
        "active", "deprecated", "archived", "quarantined", "not-found", "unknown", "yanked",
        "repo-archived", "repo-gone", "stale",
    )  # fmt: skip
    assert parse_fail_on("Yanked, archived") == {"yanked", "archived"}
    for word in ("version-missing", "invalid-requirement"):
        with pytest.raises(ValueError, match=word):
            parse_fail_on(word)


def test_every_problem_code_the_parsers_make_is_a_kind(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r missing.txt\nnot a requirement!\n")
    found = {p.code for p in parse_requirements_text("not a requirement!\n").problems}
    found |= {p.code for p in parse_pyproject_text("[project\n").problems}
    found |= {p.code for p in parse_lock_text("uv.lock", "not = [toml\n").problems}
    found |= {p.code for p in read_manifests([tmp_path / "requirements.txt"], tmp_path).problems}
    assert found == {"invalid-requirement", "invalid-toml", "invalid-lock", "missing-include"}
    assert found <= set(KINDS_BY_CODE)


def test_the_docs_table_is_the_kinds_table() -> None:
    docs = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert kinds_table_markdown() in docs


def test_the_lsp_docs_say_the_default_severities() -> None:
    docs = (ROOT / "docs" / "lsp.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `sbom-enrich/([a-z-]+)`.*\| ([a-z]+)[^|]*\|$", docs, re.M)
    assert {code for code, _ in rows} >= {"quarantined", "yanked", INVALID_REQUIREMENT}
    for code, said in rows:
        default = KINDS_BY_CODE[code].lsp_severity or "none"
        assert said == default, code
