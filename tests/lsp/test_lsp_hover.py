"""Hover Markdown: status and meaning, escaped index text, versions, yank details, alternatives."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from lsp_fixtures import record

from lsp.hover import hover_markdown, requirement_at
from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.manifests import parse_manifest


def requirement(text: str):
    manifest = parse_manifest("requirements.txt", text)
    assert manifest is not None and manifest.requirements
    return manifest.requirements[0]


def test_archived_project_with_versions_and_alternatives() -> None:
    rec = record(
        "pycrypto",
        "archived",
        versions=("2.6.0", "2.6.1"),
        yanked={"2.6.0": "broken build"},
        latest_version="2.6.1",
        latest_upload=datetime(2014, 6, 20, 12, 0, tzinfo=timezone.utc),
    )
    text = hover_markdown(
        requirement("pycrypto==2.6.0\n"),
        rec,
        [Alternative("pycryptodome", "Maintained fork with the Crypto API")],
    )
    assert text.startswith("**pycrypto** — **archived**: its maintainers expect no further")
    assert "- Index: https://index.example/simple/" in text
    assert "- Latest version: 2.6.1 (uploaded 2014-06-20)" in text
    assert "- Pinned version 2.6.0 is **yanked**: broken build" in text
    assert "- **pycryptodome** — Maintained fork with the Crypto API" in text
    assert text.endswith("[Project page](https://index.example/simple/pycrypto/)")


def test_index_reason_cannot_inject_markdown_or_html() -> None:
    hostile = "[click](javascript:alert(1)) <img src=x onerror=y> **bold**\x1b[2J"
    text = hover_markdown(requirement("nose\n"), record("nose", "deprecated", reason=hostile))
    reason_line = next(line for line in text.splitlines() if line.startswith("Reason"))
    # Every character that could open a link, tag or emphasis arrives backslash-escaped
    # ("(" and ")" are inert once "[" and "]" are: no link can form).
    assert re.search(r"(?<!\\)[<>\[\]*]", reason_line) is None
    assert "\\[click\\](javascript" in reason_line
    assert "\\<img" in reason_line
    assert "\\*\\*bold\\*\\*" in reason_line
    assert "\x1b" not in reason_line


def test_missing_pin_stdlib_alternative_and_ignore_comment() -> None:
    rec = record("mock", "deprecated", versions=("5.0",))
    text = hover_markdown(
        requirement("mock==4.0  # sbom-enrich: ignore\n"),
        rec,
        [Alternative("unittest.mock", "In the standard library since 3.3", stdlib=True)],
    )
    assert "- Pinned version 4.0 is **not listed** by the index" in text
    assert "**`unittest.mock` (standard library)**" in text
    assert "silenced by a `# sbom-enrich: ignore[mock]` comment" in text


def test_no_answer_yet_and_failed_lookup() -> None:
    pending = hover_markdown(requirement("requests\n"), None)
    assert "status not known yet" in pending and "Project page" not in pending
    failed = hover_markdown(
        requirement("requests\n"), record("requests", "unknown", error="timeout")
    )
    assert "**unknown**" in failed and "Lookup failed: timeout" in failed


def test_a_direct_reference_to_a_file_on_this_disk_is_not_looked_up() -> None:
    text = hover_markdown(requirement("pkg @ file:///opt/wheels/pkg.whl\n"), None)
    assert "a file or folder on this disk: sbom-enrich does not look up its status" in text
    # A remote one is asked by name (tests/lsp/test_lsp_e2e_remote.py): not known yet here.
    remote = hover_markdown(requirement("pkg @ https://example.com/pkg.whl\n"), None)
    assert "status not known yet" in remote


def test_workspace_member_is_not_looked_up() -> None:
    text = '[project]\ndependencies = ["core"]\n[tool.uv.sources]\ncore = { workspace = true }\n'
    manifest = parse_manifest("pyproject.toml", text)
    assert manifest is not None
    [core] = manifest.requirements
    markdown = hover_markdown(core, None)
    assert "comes from a uv workspace member" in markdown and "not yet" not in markdown


def test_requirement_at_prefers_the_name_then_the_whole_text() -> None:
    manifest = parse_manifest("requirements.txt", "# c\nrequests[socks]==2.0\nnose\n")
    assert manifest is not None
    assert requirement_at(manifest, 1, 0).name == "requests"  # type: ignore[union-attr]
    assert requirement_at(manifest, 1, 8).name == "requests"  # type: ignore[union-attr]
    assert requirement_at(manifest, 1, 18).name == "requests"  # type: ignore[union-attr]
    assert requirement_at(manifest, 0, 1) is None
    assert requirement_at(manifest, 2, 2).name == "nose"  # type: ignore[union-attr]


def test_every_index_text_in_a_hover_is_terminal_and_editor_safe() -> None:
    from untrusted_text import HOSTILE, assert_terminal_safe

    rec = record(
        "nose",
        "unknown",
        reason=f"why{HOSTILE}",
        error=f"HTTP 502{HOSTILE}",
        latest_version=f"9.9{HOSTILE}",
        yanked={"1.0": f"broken{HOSTILE}"},
        versions=("1.0",),
        index_url=f"https://index.example/simple/{HOSTILE}",
    )
    assert_terminal_safe(hover_markdown(requirement("nose==1.0\n"), rec))


def test_maintenance_verdict_and_maintainers_recommendations() -> None:
    from sbom_enrich.status.maintenance import Maintenance, MaintenanceVerdict

    verdict = MaintenanceVerdict(
        Maintenance.STALE,
        ("last release 2015-06-02", "repository https://github.com/nose-devs/nose", "**x**"),
    )
    text = hover_markdown(
        requirement("nose==1.3.7\n"),
        record("nose", "deprecated"),
        [Alternative("pytest", "catalog says so"), Alternative("nose2", "x", source="maintainers")],
        maintenance=verdict,
    )
    line = next(line for line in text.splitlines() if line.startswith("Maintenance"))
    assert "**stale**" in line and "last release 2015-06-02" in line
    assert "\\*\\*x\\*\\*" in line  # evidence is escaped like any other text
    assert "- **nose2** — recommended by its maintainers" in text
    assert "- **pytest** — catalog says so" in text


def test_no_maintenance_line_for_a_requirement_installed_from_git() -> None:
    """The verdict under its name is the index's project's (maybe another than this private
    package): `check` and `enrich` leave it out, and so does the hover."""
    from sbom_enrich.status.maintenance import Maintenance, MaintenanceVerdict

    verdict = MaintenanceVerdict(Maintenance.STALE, ("last release 2015-06-02",))
    text = hover_markdown(
        requirement("nose @ git+https://git.example/corp/nose@v1\n"),
        record("nose", "deprecated"),
        maintenance=verdict,
    )
    assert "installed from a git repository" in text
    assert "Maintenance" not in text and "stale" not in text, text


def test_no_maintenance_line_without_the_setting() -> None:
    text = hover_markdown(requirement("nose\n"), record("nose", "deprecated"))
    assert "Maintenance" not in text
