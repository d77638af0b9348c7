"""Diagnostics from parsed manifests and status records: ranges, codes, severities, silencing."""

from __future__ import annotations

from lsp_fixtures import lines_of, record
from lsp_fixtures import requirement as make_requirement
from lsprotocol import types
from msgspec.structs import replace

from lsp.diagnostics import (
    DocumentDiagnostics,
    manifest_diagnostics,
    names_to_check,
    status_message,
)
from lsp.lsp_settings import parse_lsp_settings
from lsp.positions import UTF8, UTF16
from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.manifests import ParsedManifest, Span, parse_manifest
from sbom_enrich.status.model import ProjectStatus

DEFAULTS = parse_lsp_settings(None, env={}).settings
RECORDS = {
    "pycrypto": record("pycrypto", "archived", versions=("2.6.1",), latest_version="2.6.1"),
    "nose": record(
        "nose",
        "deprecated",
        reason="Unmaintained; use pytest",
        versions=("1.3.6", "1.3.7"),
        yanked={"1.3.6": ""},
    ),
    "evil-pkg": record("evil-pkg", "quarantined", versions=()),
    "requests": record(
        "requests", "active", versions=("2.31.0", "2.32.0"), yanked={"2.32.0": "CVE fix"}
    ),
    "gone": record("gone", "not-found"),
    "flaky": record("flaky", "unknown", error="timed out"),
}


def diagnose(text: str, path: str = "requirements.txt", settings=DEFAULTS, encoding=UTF16):
    manifest = parse_manifest(path, text)
    assert manifest is not None
    return manifest_diagnostics(manifest, RECORDS, settings, lines_of(text), encoding)


def span(d: types.Diagnostic) -> tuple[int, int, int]:
    return d.range.start.line, d.range.start.character, d.range.end.character


def test_status_diagnostic_covers_exactly_the_name() -> None:
    (found,) = diagnose('  pycrypto[x] >= 2.0 ; python_version < "3"\n')
    assert span(found) == (0, 2, 10)
    assert found.code == "sbom-enrich/archived"
    assert found.source == "sbom-enrich"
    assert found.severity == types.DiagnosticSeverity.Warning
    assert list(found.tags or []) == [types.DiagnosticTag.Deprecated]
    assert found.code_description is not None
    assert found.code_description.href == "https://index.example/simple/pycrypto/"


def test_severities_and_tags_per_status() -> None:
    found = diagnose("evil-pkg\ngone\nflaky\nrequests\n")
    assert [(str(d.code), d.severity, d.tags) for d in found] == [
        ("sbom-enrich/quarantined", types.DiagnosticSeverity.Error, None),
        ("sbom-enrich/not-found", types.DiagnosticSeverity.Warning, None),
    ]


def test_yanked_pin_is_flagged_on_the_version_with_its_reason() -> None:
    found = diagnose("requests==2.32.0\nnose==1.3.6\n")
    yanked = [d for d in found if d.code == "sbom-enrich/yanked"]
    assert [span(d) for d in yanked] == [(0, 10, 16), (1, 6, 11)]
    assert "CVE fix" in yanked[0].message
    assert yanked[0].code_description is not None  # an active project's page is linked too
    assert yanked[0].code_description.href.endswith("/requests/")
    assert "no reason given" in yanked[1].message


def test_unlisted_pin_warns_but_not_for_quarantined_projects() -> None:
    found = diagnose("requests==9.0\nevil-pkg==0.0.1\n")
    codes = [(str(d.code), d.range.start.line) for d in found]
    assert codes == [("sbom-enrich/version-missing", 0), ("sbom-enrich/quarantined", 1)]


def test_ranges_after_non_ascii_text_in_utf16_and_utf8() -> None:
    text = '[project]\ndependencies = ["é𝄞", "pycrypto"]\n'
    column = text.splitlines()[1].index("pycrypto")
    name = Span(1, column, column + len("pycrypto"))
    requirement = make_requirement("pycrypto", name, "project.dependencies")
    manifest = ParsedManifest(kind="pyproject", requirements=(requirement,), problems=())
    (utf16,) = manifest_diagnostics(manifest, RECORDS, DEFAULTS, lines_of(text), UTF16)
    (utf8,) = manifest_diagnostics(manifest, RECORDS, DEFAULTS, lines_of(text), UTF8)
    # é: 1 UTF-16 unit, 2 UTF-8 bytes; 𝄞: 2 UTF-16 units (a surrogate pair), 4 UTF-8 bytes.
    assert span(utf16) == (1, column + 1, column + 9)
    assert span(utf8) == (1, column + 4, column + 12)


def test_configured_severity_and_none_hides() -> None:
    settings = parse_lsp_settings(
        {"severity": {"archived": "error", "quarantined": "none", "yanked": "hint"}}, env={}
    ).settings
    found = diagnose("pycrypto\nevil-pkg\nrequests==2.32.0\n", settings=settings)
    assert [(str(d.code), d.severity) for d in found] == [
        ("sbom-enrich/archived", types.DiagnosticSeverity.Error),
        ("sbom-enrich/yanked", types.DiagnosticSeverity.Hint),
    ]


def test_ignore_comment_setting_and_local_direct_references_silence_a_dependency() -> None:
    settings = parse_lsp_settings({"ignore": ["Evil_Pkg"]}, env={}).settings
    text = "pycrypto  # sbom-enrich: ignore\nevil-pkg\ngone @ file:///opt/wheels/gone.whl\n"
    manifest = parse_manifest("requirements.txt", text)
    assert manifest is not None
    assert names_to_check(manifest, settings) == []
    assert diagnose(text, settings=settings) == []
    # A remote file's name is asked, as `check` asks it (tests/lsp/test_lsp_e2e_remote.py).
    remote = parse_manifest("requirements.txt", "gone @ https://example.com/gone.whl\n")
    assert remote is not None and names_to_check(remote, settings) == ["gone"]


def test_invalid_requirement_gets_its_own_diagnostic() -> None:
    (found,) = diagnose("requests\nthis is not pep 508!\n")
    assert found.code == "sbom-enrich/invalid-requirement"
    assert found.severity == types.DiagnosticSeverity.Error
    assert found.range.start.line == 1


def test_names_without_an_answer_yet_have_no_diagnostic() -> None:
    assert diagnose("somebody-else\n") == []


def test_messages_are_plain_words_with_reason_and_alternatives() -> None:
    archived = status_message(
        "PyCrypto", RECORDS["pycrypto"], [Alternative("pycryptodome", "fork")]
    )
    assert archived == (
        "PyCrypto is archived: its maintainers expect no further releases, including security "
        "fixes. Consider pycryptodome"
    )
    deprecated = status_message("nose", RECORDS["nose"])
    assert "The index says: Unmaintained; use pytest" in deprecated
    assert status_message("gone", RECORDS["gone"]).startswith("gone is not on the index")
    stdlib = status_message(
        "mock", record("mock", "deprecated"), [Alternative("unittest.mock", "x", True)]
    )
    assert stdlib.endswith("Consider unittest.mock (standard library)")


def test_reason_control_characters_are_removed() -> None:
    hostile = record("x", ProjectStatus.DEPRECATED, reason="bad\x1b[31m red\u202e txt")
    message = status_message("x", hostile)
    assert "\x1b" not in message and "\u202e" not in message


def test_a_document_rebuilds_only_the_diagnostics_whose_record_changed() -> None:
    text = "pycrypto\nnot a requirement!\nnose==1.3.6\nrequests\n"
    manifest = parse_manifest("requirements.txt", text)
    assert manifest is not None
    document = DocumentDiagnostics(manifest, DEFAULTS, lines_of(text), UTF16)
    assert document.names == {"pycrypto", "nose", "requests"}
    first = document.build({"pycrypto": RECORDS["pycrypto"]})  # the others not answered yet
    assert [str(d.code) for d in first] == [
        "sbom-enrich/invalid-requirement",
        "sbom-enrich/archived",
    ]
    records = dict(RECORDS)
    second = document.build(records)
    assert [str(d.code) for d in second] == [
        "sbom-enrich/invalid-requirement",
        "sbom-enrich/archived",
        "sbom-enrich/deprecated",
        "sbom-enrich/yanked",
    ]
    assert all(a is b for a, b in zip(first, second[:2], strict=True))  # reused, not rebuilt
    records["pycrypto"] = replace(RECORDS["pycrypto"], status=ProjectStatus.DEPRECATED)
    third = document.build(records)  # a new answer (a stale one refreshed) is built again
    assert third[1] is not second[1] and third[1].code == "sbom-enrich/deprecated"
    assert all(a is b for a, b in zip(third[2:], second[2:], strict=True))


def test_the_lookup_failure_log_line_and_messages_are_safe_to_show() -> None:
    from lsp.diagnostics import lookup_failure_message
    from untrusted_text import HOSTILE, assert_terminal_safe

    failed = record(
        "x", ProjectStatus.UNKNOWN, error=f"HTTP 502{HOSTILE}", index_url=f"https://i/{HOSTILE}"
    )
    line = lookup_failure_message(failed)
    assert_terminal_safe(line, lines=False)
    assert line.startswith("sbom-enrich: cannot get project status from https://i/")
    assert "HTTP 502" in line
    hostile = record("x", ProjectStatus.DEPRECATED, reason=f"see{HOSTILE}")
    assert_terminal_safe(status_message(f"name{HOSTILE}", hostile), lines=False)
    assert_terminal_safe(status_message("x", failed), lines=False)


def test_an_ignore_comment_that_silences_less_than_it_says_is_a_warning() -> None:
    text = '[project]\ndependencies = ["evil-pkg", "nose"]  # sbom-enrich: ignore\n'
    manifest = parse_manifest("pyproject.toml", text)
    assert manifest is not None
    found = manifest_diagnostics(manifest, RECORDS, DEFAULTS, lines_of(text), UTF16)
    assert sorted((str(d.code), d.range.start.character) for d in found) == [
        ("sbom-enrich/deprecated", 29),
        ("sbom-enrich/ignore-comment", 37),
        ("sbom-enrich/quarantined", 17),
    ]


def test_an_edit_rebuilds_only_the_diagnostics_of_what_it_changed() -> None:
    before = "pycrypto\nnose==1.3.6\nevil-pkg\n"
    after = "pycrypto\nnose==1.3.7\nevil-pkg\n"
    manifests = [parse_manifest("requirements.txt", text) for text in (before, after)]
    assert manifests[0] is not None and manifests[1] is not None
    first = DocumentDiagnostics(manifests[0], DEFAULTS, lines_of(before), UTF16)
    old = first.build(RECORDS)
    second = DocumentDiagnostics(manifests[1], DEFAULTS, lines_of(after), UTF16, previous=first)
    new = second.build(RECORDS)
    # The untouched lines' diagnostics are the very same objects; the edited line's are new.
    assert new[0] is old[0] and new[-1] is old[-1]
    assert [str(d.code) for d in new] == [
        "sbom-enrich/archived", "sbom-enrich/deprecated", "sbom-enrich/quarantined",
    ]  # fmt: skip
    assert new == manifest_diagnostics(manifests[1], RECORDS, DEFAULTS, lines_of(after), UTF16)


def test_a_remote_requirement_is_information_at_most_whatever_the_severity_setting() -> None:
    """`nose @ git+…`: the index's nose, and its repository, may be another project's. The
    severity setting makes deprecated and repo-archived errors for names from the index;
    from git, only a quarantine keeps its severity (tests/lsp/test_lsp_e2e_remote.py), and
    the repository's state is not shown at all (as `check` and `enrich` leave it out)."""
    from sbom_enrich.status.maintenance import Maintenance, MaintenanceVerdict

    settings = parse_lsp_settings(
        {"severity": {"deprecated": "error", "repo-archived": "error"}}, env={}
    ).settings
    text = "nose @ git+https://git.example/nose@v1\nevil-pkg @ https://f.example/e.whl\nnose\n"
    manifest = parse_manifest("requirements.txt", text)
    assert manifest is not None
    verdict = MaintenanceVerdict(Maintenance.REPOSITORY_ARCHIVED, ("archived on GitHub",))
    found = DocumentDiagnostics(
        manifest, settings, lines_of(text), UTF16, maintenance=lambda key: verdict
    ).build(RECORDS)
    assert [(d.range.start.line, str(d.code), d.severity) for d in found] == [
        (0, "sbom-enrich/deprecated", types.DiagnosticSeverity.Information),
        (1, "sbom-enrich/quarantined", types.DiagnosticSeverity.Error),
        (2, "sbom-enrich/deprecated", types.DiagnosticSeverity.Error),
        (2, "sbom-enrich/repo-archived", types.DiagnosticSeverity.Error),
    ]


def test_a_lock_entry_from_find_links_is_diagnosed_by_its_name() -> None:
    """uv picked it by its name among the files of a find-links directory: the editor asks
    that name as `check` does, and says where it was installed from (not "a remote
    source"); a quarantine is an error, a namesake's deprecation Information."""
    text = (
        'version = 1\n\n[[package]]\nname = "evil-pkg"\nversion = "0.0.1"\n'
        'source = { registry = "wheels" }\n\n[[package]]\nname = "nose"\nversion = "1.3.6"\n'
        'source = { registry = "file:///srv/simple" }\n'
    )
    found = diagnose(text, "uv.lock")
    assert [(d.range.start.line, str(d.code), d.severity) for d in found] == [
        (3, "sbom-enrich/quarantined", types.DiagnosticSeverity.Error),
        (8, "sbom-enrich/deprecated", types.DiagnosticSeverity.Information),
    ]  # and no yanked 1.3.6: the index's yank is of its own file
    assert "which this file installs from a find-links directory or a file: index" in (
        found[0].message
    )
