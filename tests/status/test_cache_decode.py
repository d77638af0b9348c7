"""Stored entries: the typed fast read and the json read agree on every shape."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from sbom_enrich.status.cache.disk import decode_entry, encode_entry
from sbom_enrich.status.model import ProjectStatus

RECORD: dict[str, Any] = {
    "name": "nose",
    "status": "deprecated",
    "index": "https://pypi.org/simple/",
    "checked_at": "2026-11-21T14:52:00Z",
    "reason": "use pytest",
    "api_version": "1.4",
    "versions": ["1.0", "1.3.7"],
    "yanked": {"1.0": ""},
    "latest_version": "1.3.7",
    "latest_upload": "2015-06-02T09:02:23Z",
    "error": None,
}


def stored(record: dict[str, Any] | None = None, **entry: Any) -> str:
    values = {"record": RECORD if record is None else record, "etag": '"e1"'}
    values.update(fetched_at=1796558399.5, max_age=600.0)
    values.update(entry)
    return json.dumps(values, separators=(",", ":"))


def test_what_this_client_writes_reads_back_the_same() -> None:
    entry = decode_entry(stored())
    assert entry.record.status is ProjectStatus.DEPRECATED
    assert entry.record.versions == ("1.0", "1.3.7")
    assert entry.record.yanked == {"1.0": ""}
    assert entry.record.from_cache and not entry.record.stale
    assert entry.record.latest_upload == datetime(2015, 6, 2, 9, 2, 23, tzinfo=timezone.utc)
    assert (entry.etag, entry.fetched_at, entry.max_age) == ('"e1"', 1796558399.5, 600.0)
    assert decode_entry(encode_entry(entry)) == entry


@pytest.mark.parametrize(
    ("raw", "check"),
    [
        # Shapes the typed read refuses are read by json, as before.
        (stored(fetched_at="1.5"), lambda e: e.fetched_at == 1.5),
        (stored(max_age=True), lambda e: e.max_age == 1.0),
        (stored(etag=7), lambda e: e.etag is None),
        (stored({**RECORD, "name": 5}), lambda e: e.record.name == "5"),
        (stored({**RECORD, "reason": "a\x1b[31mb"}), lambda e: e.record.reason == "ab"),
        (stored({**RECORD, "versions": ["1.0", 2]}), lambda e: e.record.versions == ("1.0", "2")),
        (stored({**RECORD, "yanked": None}), lambda e: e.record.yanked == {}),
        # Texts of the right types that are too long or not printable: cleaned, by json.
        (stored({**RECORD, "reason": "x" * 600}), lambda e: len(e.record.reason) == 500),
        (stored({**RECORD, "index": "h" * 301}), lambda e: len(e.record.index_url) == 300),
        (stored({**RECORD, "versions": ["1.0", "1.\x07"]}), lambda e: e.record.versions[1] == "1."),
        (
            stored({**RECORD, "yanked": {"1.0": "a\x1b[1mb"}}),
            lambda e: e.record.yanked == {"1.0": "ab"},
        ),
        (stored({**RECORD, "yanked": {"1.\x00": ""}}), lambda e: e.record.yanked == {"1.": ""}),
        (stored({**RECORD, "error": "e\u200bf"}), lambda e: e.record.error == "ef"),
        (stored({**RECORD, "api_version": "1" * 41}), lambda e: len(e.record.api_version) == 40),
        (stored().encode("utf-16"), lambda e: e.record.name == "nose"),
        (stored() + "\n", lambda e: e.record.name == "nose"),
    ],
)
def test_other_shapes_are_read_as_json_reads_them(raw: str | bytes, check: Any) -> None:
    assert check(decode_entry(raw))


@pytest.mark.parametrize(
    "raw",
    [
        stored(fetched_at=float("nan")),
        stored(max_age=1e999),
        stored({**RECORD, "status": "gone"}),
        stored({k: v for k, v in RECORD.items() if k != "index"}),
        stored().replace('"nose"', '"\\ud800"', 1)[:-1],
        "[]",
        stored() + "x",
    ],
)
def test_malformed_entries_still_raise(raw: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_entry(raw)
