"""The shared values' fast paths give exactly what the plain spelling of each rule gives."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from sbom_enrich.status.model import (
    ProjectStatus,
    StatusRecord,
    canonical,
    format_rfc3339,
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
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    expected = aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_rfc3339(moment) == expected


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
