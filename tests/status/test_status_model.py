"""The shared values' fast paths give exactly what the plain spelling of each rule gives."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from msgspec.structs import replace

from sbom_enrich.status.model import (
    ProjectStatus,
    StatusRecord,
    all_canonical_project_names,
    canonical,
    format_rfc3339,
    is_project_name,
    parse_rfc3339,
)


def test_a_canonical_name_is_pep_503s_for_every_mix_of_separators() -> None:
    # Every string of up to four characters over separators, letters and a non-ASCII capital.
    alphabet = "-_.aZİ"
    for length in range(5):
        for letters in itertools.product(alphabet, repeat=length):
            name = "".join(letters)
            assert canonical(name) == re.sub(r"[-_.]+", "-", name).lower(), name
    assert canonical("Alpha__Lib..6132") == "alpha-lib-6132"


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 6, 11, 3, 10, tzinfo=timezone.utc),
        datetime(2026, 12, 6, 11, 3, 10, 999_999, tzinfo=timezone.utc),
        datetime(1000, 1, 1, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
        datetime(999, 5, 4, 3, 2, 1, tzinfo=timezone.utc),
        datetime(2026, 12, 6, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 12, 6, 1, 30, 5, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 12, 6, 11, 3, 10),  # naive: UTC
        parse_rfc3339("2026-02-03T04:05:06.789Z"),
    ],
)
def test_rfc3339_times_are_utc_whole_seconds_with_a_z(moment: datetime) -> None:
    assert format_rfc3339(moment) == rfc3339_of(moment)


def rfc3339_of(moment: datetime) -> str:
    """The instant in UTC, whole seconds, a four-digit year (RFC 3339's ``date-fullyear``:
    strftime's ``%Y`` writes year 999 as ``999``)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    utc = aware.astimezone(timezone.utc)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "0001-01-01T00:00:00+00:01"],
)
def test_a_time_before_year_1_or_after_9999_in_utc_is_malformed(text: str) -> None:
    """Such a time (from an index's upload-time, or a store) parsed, and writing it in UTC
    raised OverflowError: an internal error (exit 5) for the whole run."""
    with pytest.raises(ValueError, match="before year 1 or after year 9999"):
        parse_rfc3339(text)
    assert format_rfc3339(parse_rfc3339("0001-01-01T01:30:00+01:00")) == "0001-01-01T00:30:00Z"


def test_a_record_marked_as_read_from_a_store_keeps_everything_else() -> None:
    record = StatusRecord(
        name="demo", status=ProjectStatus.DEPRECATED, index_url="https://i/simple/",
        checked_at=datetime(2026, 12, 1, tzinfo=timezone.utc), reason="old",
        api_version="1.4", versions=("1.0",), yanked={"1.0": ""}, latest_version="1.0",
        latest_upload=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )  # fmt: skip
    for stale in (False, True):
        marked = record.as_cached(stale=stale)
        assert marked == replace(record, from_cache=True, stale=stale)
        assert (marked.from_cache, marked.stale) == (True, stale)
    assert (record.from_cache, record.stale) == (False, False)  # the original is unchanged


_STORED = {
    "name": "n",
    "status": "active",
    "index": "https://pypi.org/simple/",
    "checked_at": "2026-11-21T14:52:00Z",
}


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ({"reason": 0}, "reason", "0"),  # falsy, not text: cleaned, not taken as it is
        ({"latest_version": False}, "latest_version", "False"),
        ({"versions": ["1.0", 5]}, "versions", ("1.0", "5")),
        ({"yanked": {"1.0": 0}}, "yanked", {"1.0": "0"}),
        (
            {"latest_upload": "2026-11-21T14:52:00+02:00"},
            "latest_upload",
            datetime(2026, 11, 21, 12, 52, tzinfo=timezone.utc),
        ),
        (
            {"checked_at": " 2026-11-21T14:52:01Z"},
            "checked_at",
            datetime(2026, 11, 21, 14, 52, 1, tzinfo=timezone.utc),
        ),
    ],
)
def test_stored_records_of_another_shape_are_read_field_by_field(
    extra: dict[str, object], field: str, expected: object
) -> None:
    # The fast checks (one join, times in format_rfc3339's form, checked_at texts parsed once)
    # must leave every other shape to the careful path.
    record = StatusRecord.from_json({**_STORED, **extra})
    assert getattr(record, field) == expected


def test_stored_times_that_differ_stay_apart() -> None:
    first = StatusRecord.from_json(_STORED)
    second = StatusRecord.from_json({**_STORED, "checked_at": "2026-11-21T14:52:07Z"})
    again = StatusRecord.from_json(_STORED)
    assert (first.checked_at.second, second.checked_at.second) == (0, 7)
    assert again.checked_at == first.checked_at
    assert first.checked_at.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text",
    [
        "2018-08-27T08:04:01Z",
        "1000-01-01T00:00:00Z",
        "0999-05-04T03:02:01Z",  # before year 1000: four digits all the same
        "2018-W35-1T08:04:01Z",  # an ISO week date of the same length
        "2018-08-27T080401.5Z",  # basic time with a fraction, same length
        "2018-08-27T08:04:01.250+02:00",
        "2018-08-27 08:04:01",
    ],
)
def test_a_stored_upload_time_is_written_as_format_rfc3339_writes_it(text: str) -> None:
    """Times read from a store are written back from their stored text only when that text
    is what formatting them gives; any other spelling is formatted as ever."""
    from sbom_enrich.status.cache.disk import decode_entry

    stored = {**_STORED, "latest_upload": text}
    raw = json.dumps({"record": stored, "etag": None, "fetched_at": 1.0, "max_age": 600.0})
    moment = decode_entry(raw).record.latest_upload
    assert moment is not None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    expected = rfc3339_of(aware)
    assert format_rfc3339(moment) == expected
    # The same instant in another zone, or with a fraction, is formatted the same way.
    other = moment.astimezone(timezone(timedelta(hours=3)))
    assert format_rfc3339(other) == expected
    assert format_rfc3339(aware + timedelta(microseconds=7)) == expected


NAME_SAMPLES = [
    "a",
    "a-b",
    "requests",
    "x" * 200,
    "x" * 201,
    "A",
    "a_b",
    "a.b",
    "a--b",
    "-a",
    "a-",
    "",
    "a\nb",
    "a\n",
    "é",
    "a b",
    "0",
    "zope-interface",
    "Zope.Interface",
]


@pytest.mark.parametrize("name", NAME_SAMPLES, ids=repr)
def test_a_name_passes_the_batch_check_only_if_valid_and_canonical(name: str) -> None:
    expected = is_project_name(name) and canonical(name) == name
    assert all_canonical_project_names([name]) is expected
    assert all_canonical_project_names(["requests", name, "nose"]) is expected


def test_the_batch_check_sees_names_not_lines() -> None:
    # Joined by line breaks, "a\nb" would look like two good names; and no names, no check.
    assert not all_canonical_project_names(["a\nb"])
    assert not all_canonical_project_names(["a", "b\nc"])
    assert not all_canonical_project_names(["a\n", "b"])
    assert not all_canonical_project_names([])
    assert all_canonical_project_names(["a", "b", "a"])
