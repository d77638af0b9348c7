"""enrichment_properties: DESIGN.md's property table, in order, for every kind of answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sbom_enrich.enrich import enrichment_properties
from sbom_enrich.status.model import ProjectStatus, StatusRecord, VersionFacts

CHECKED = datetime(2026, 11, 21, 14, 52, 0, 123456, tzinfo=timezone.utc)
INDEX = "https://pypi.org/simple/"


def record(**changes: object) -> StatusRecord:
    values: dict[str, object] = {
        "name": "nose",
        "status": ProjectStatus.ACTIVE,
        "index_url": INDEX,
        "checked_at": CHECKED,
    }
    values.update(changes)
    return StatusRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", list(ProjectStatus))
def test_minimal_record_gives_status_index_and_time(status: ProjectStatus) -> None:
    assert enrichment_properties(record(status=status), None, []) == [
        ("sbom-enrich:pypi:project-status", status.value),
        ("sbom-enrich:pypi:index", INDEX),
        ("sbom-enrich:pypi:checked-at", "2026-11-21T14:52:00Z"),
    ]


def test_everything_at_once_in_the_designs_order() -> None:
    upload = datetime(2015, 6, 2, 8, 30, tzinfo=timezone(timedelta(hours=2)))
    full = record(
        status=ProjectStatus.DEPRECATED,
        reason="Unmaintained since 2015; use pytest",
        latest_version="1.3.7",
        latest_upload=upload,
        error=None,
    )
    facts = VersionFacts(version="1.3.6", yanked=True, yank_reason="broken", missing=True)
    assert enrichment_properties(full, facts, ["pytest", "nose2"]) == [
        ("sbom-enrich:pypi:project-status", "deprecated"),
        ("sbom-enrich:pypi:project-status-reason", "Unmaintained since 2015; use pytest"),
        ("sbom-enrich:pypi:index", INDEX),
        ("sbom-enrich:pypi:checked-at", "2026-11-21T14:52:00Z"),
        ("sbom-enrich:pypi:version-yanked", "true"),
        ("sbom-enrich:pypi:version-yanked-reason", "broken"),
        ("sbom-enrich:pypi:version-missing", "true"),
        ("sbom-enrich:pypi:latest-version", "1.3.7"),
        ("sbom-enrich:pypi:latest-upload", "2015-06-02T06:30:00Z"),
        ("sbom-enrich:alternative", "pytest"),
        ("sbom-enrich:alternative", "nose2"),
    ]


def test_yanked_without_reason_has_no_reason_property() -> None:
    facts = VersionFacts(version="1.3.6", yanked=True, yank_reason=None)
    names = [name for name, _ in enrichment_properties(record(), facts, [])]
    assert "sbom-enrich:pypi:version-yanked" in names
    assert "sbom-enrich:pypi:version-yanked-reason" not in names


def test_facts_that_say_nothing_add_nothing() -> None:
    plain = enrichment_properties(record(), VersionFacts(version="1.0"), [])
    assert plain == enrichment_properties(record(), None, [])


def test_lookup_error_is_reported_for_unknown() -> None:
    failed = record(status=ProjectStatus.UNKNOWN, error="timed out after 3 attempts")
    assert enrichment_properties(failed, None, [])[-1] == (
        "sbom-enrich:pypi:lookup-error",
        "timed out after 3 attempts",
    )


def test_index_text_is_cleaned_of_control_characters() -> None:
    hostile = record(status=ProjectStatus.ARCHIVED, reason="moved\x1b[2J\nto\u202e evil")
    facts = VersionFacts(version="1", yanked=True, yank_reason="bad\x00 wheel")
    properties = dict(enrichment_properties(hostile, facts, []))
    reason = properties["sbom-enrich:pypi:project-status-reason"]
    assert reason.startswith("moved") and reason.endswith("to evil")
    assert not any(char in reason for char in "\x1b\n\u202e")
    assert properties["sbom-enrich:pypi:version-yanked-reason"] == "bad wheel"


def test_a_reason_that_cleans_to_nothing_is_left_out() -> None:
    names = [name for name, _ in enrichment_properties(record(reason="\x00\x1b"), None, [])]
    assert "sbom-enrich:pypi:project-status-reason" not in names


def test_alternatives_are_deduplicated_in_order() -> None:
    properties = enrichment_properties(record(), None, ["pillow", "", "pillow", "wand"])
    assert [value for name, value in properties if name == "sbom-enrich:alternative"] == [
        "pillow",
        "wand",
    ]


def test_all_values_are_strings() -> None:
    facts = VersionFacts(version="1", yanked=True, yank_reason="x", missing=True)
    full = record(reason="r", latest_version="2", latest_upload=CHECKED, error="e")
    for name, value in enrichment_properties(full, facts, ["a"]):
        assert isinstance(name, str) and isinstance(value, str)


def test_index_and_time_follow_each_record_when_many_share_them() -> None:
    # index and checked-at are made once per (index, time) and shared: each record must
    # still get its own, and one instant written in another zone reads as the same UTC time.
    elsewhere = CHECKED.astimezone(timezone(timedelta(hours=2)))
    later = CHECKED + timedelta(seconds=1)
    other = "https://mirror.example/simple/"
    seen = [
        dict(enrichment_properties(record(checked_at=at, index_url=index), None, []))
        for at, index in [(CHECKED, INDEX), (later, INDEX), (elsewhere, INDEX), (CHECKED, other)]
    ]
    times = [p["sbom-enrich:pypi:checked-at"] for p in seen]
    indexes = [p["sbom-enrich:pypi:index"] for p in seen]
    assert times == [
        "2026-11-21T14:52:00Z",
        "2026-11-21T14:52:01Z",
        "2026-11-21T14:52:00Z",
        "2026-11-21T14:52:00Z",
    ]
    assert indexes == [INDEX, INDEX, INDEX, other]
