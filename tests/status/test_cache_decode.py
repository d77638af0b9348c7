"""Stored entries: the typed fast read and the json read agree on every shape."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from sbom_enrich.status.cache import disk
from sbom_enrich.status.cache.disk import _decode_typed, decode_entry, decode_found, encode_entry
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


# -- the typed read's own checks (msgspec, in C) and the fallback they send entries to -----


@pytest.mark.parametrize(
    ("field", "bound"),
    [("index", 300), ("reason", 500), ("api_version", 40), ("latest_version", 100),
     ("error", 300)],
)  # fmt: skip
def test_a_text_at_its_bound_is_read_typed_and_one_past_it_is_cut_by_json(
    field: str, bound: int
) -> None:
    attribute = "index_url" if field == "index" else field
    at_bound = stored({**RECORD, field: "é" * bound})  # characters, not bytes, are counted
    assert _decode_typed(at_bound) is not None
    assert getattr(decode_entry(at_bound).record, attribute) == "é" * bound
    past = stored({**RECORD, field: "é" * (bound + 1)})
    assert _decode_typed(past) is None
    assert getattr(decode_entry(past).record, attribute) == "é" * (bound - 1) + "…"


@pytest.mark.parametrize("status", list(ProjectStatus))
def test_every_status_is_read_typed_as_its_member(status: ProjectStatus) -> None:
    typed = _decode_typed(stored({**RECORD, "status": status.value}))
    assert typed is not None
    assert typed.record.status is status


@pytest.mark.parametrize("etag", ["", "x" * 1025, '"é"', "a\x00b", 7, ["e"]], ids=repr)
def test_a_validator_no_request_could_send_is_dropped_and_the_record_kept(etag: Any) -> None:
    entry = decode_entry(stored(etag=etag))
    assert entry.etag is None
    assert entry.record.status is ProjectStatus.DEPRECATED
    assert entry.record.reason == "use pytest"
    assert (entry.fetched_at, entry.max_age) == (1796558399.5, 600.0)


def test_a_validator_at_its_bound_is_kept() -> None:
    assert decode_entry(stored(etag="x" * 1024)).etag == "x" * 1024


@pytest.mark.parametrize(
    "raw",
    [
        stored(max_age=1e999),
        stored(fetched_at=-1e999),
        stored().replace('"max_age":600.0', '"max_age":NaN'),
        stored({**RECORD, "status": "gone"}),
    ],
)
def test_what_the_typed_read_refuses_is_refused_by_json_too(raw: str) -> None:
    assert _decode_typed(raw) is None
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_entry(raw)


def test_a_batch_reads_its_good_rows_and_misses_only_its_bad_one(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One hostile row among good ones costs only itself: the others are read as each alone
    would be, the bad one is a miss with the warning, the unclean one cleaned."""
    monkeypatch.setattr(disk, "_warned_unreadable", False)
    good = {f"k{i}": stored({**RECORD, "name": f"p{i}"}) for i in range(5)}
    found: dict[str, str | bytes] = {
        **good,
        "bad": stored({**RECORD, "status": "gone"}),
        "unclean": stored({**RECORD, "reason": "a\x1b[31mb"}),
        "blob": stored({**RECORD, "name": "b"}).encode(),
    }
    with caplog.at_level(logging.WARNING, logger=disk.__name__):
        entries = decode_found(found)
    assert set(entries) == {*good, "unclean", "blob"}
    for key, raw in good.items():
        assert entries[key].record == decode_entry(raw).record.as_cached(stale=True)
    assert entries["unclean"].record.reason == "ab"
    assert entries["blob"].record.name == "b"
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["ignoring unreadable cache entry bad: ValueError"]


@pytest.mark.parametrize(
    "moment",
    [
        "2026-11-21T14:52:00Z",
        "2026-11-21T14:52:00+00:00",
        "2026-11-21T16:52:00.250+02:00",
        "2026-11-21T14:52:00",  # naive: UTC, by the json read (the typed read needs an offset)
        "2026-11-21 14:52:00z",
    ],
)
def test_stored_times_are_read_as_the_json_read_reads_them(moment: str) -> None:
    """The typed read decodes times itself (msgspec): every spelling gives the moment (and
    the offset) that StatusRecord.from_json gives, whichever read takes it."""
    raw = stored({**RECORD, "checked_at": moment, "latest_upload": moment})
    record = decode_entry(raw).record
    expected = disk.StatusRecord.from_json(json.loads(raw)["record"], from_cache=True)
    assert (record.checked_at, record.latest_upload) == (
        expected.checked_at,
        expected.latest_upload,
    )
    assert record.checked_at.utcoffset() == expected.checked_at.utcoffset()


def test_a_stored_entry_cannot_mark_its_own_record_fresh_or_not_from_a_store() -> None:
    """``from_cache`` and ``stale`` are the reader's to say: a row written with its own (a
    shared Redis, a directory someone else wrote) is marked by the clock, as any other."""
    for claimed_stale, fetched_at, stale in ((True, time.time(), False), (False, 0.0, True)):
        raw = stored({**RECORD, "from_cache": False, "stale": claimed_stale}, fetched_at=fetched_at)
        [entry] = decode_found({"k": raw}).values()
        assert (entry.record.from_cache, entry.record.stale) == (True, stale)
        assert (decode_entry(raw).record.from_cache, decode_entry(raw).record.stale) == (
            True,
            False,
        )


@pytest.mark.parametrize("field", ["checked_at", "latest_upload"])
def test_a_stored_time_no_utc_year_holds_is_an_unreadable_entry(field: str) -> None:
    """Read by either path, it was written into every report in UTC and overflowed there:
    `status`/`enrich` ended in an internal error (exit 5) for one hostile row (reviewer)."""
    raw = stored({**RECORD, field: "0001-01-01T00:30:00+01:00"})
    assert _decode_typed(raw) is None
    with pytest.raises(ValueError, match="before year 1"):
        decode_entry(raw)
    assert decode_found({"k": raw}) == {}


@pytest.mark.parametrize(
    ("field", "text", "read"),
    [
        ("reason", "a\x7fb", "ab"),  # DEL: JSON lets it stand raw, and it is no printable
        ("reason", "a\x85b", "a b"),  # C1 next line, raw (another writer, ensure_ascii off)
        ("error", "e\u200bf", "ef"),  # raw zero-width space: printable to no terminal
        ("versions", ["1.0", "1.\x7f"], ("1.0", "1.")),
        ("yanked", {"1.0": "a\x85b"}, {"1.0": "a b"}),
    ],
)
def test_raw_unprintable_text_from_another_writer_is_cleaned(
    field: str, text: Any, read: Any
) -> None:
    """Text JSON lets stand raw that is not printable (DEL, C1 controls, other non-ASCII
    another writer left unescaped) reaches the cleaning read, whichever read takes the
    entry: a shortcut that judged an entry by its escapes alone would pass them."""
    raw = json.dumps(
        {"record": {**RECORD, field: text}, "etag": '"e1"', "fetched_at": 1.5, "max_age": 600.0},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    attribute = {"versions": "versions", "yanked": "yanked"}.get(field, field)
    assert getattr(decode_entry(raw).record, attribute) == read
    [entry] = decode_found({"k": raw}).values()
    assert getattr(entry.record, attribute) == read


@pytest.mark.parametrize("etag", ['W/"a\x7f"', '"\x85"'], ids=repr)
def test_a_raw_unprintable_validator_is_dropped(etag: str) -> None:
    raw = json.dumps(
        {"record": RECORD, "etag": etag, "fetched_at": 1.5, "max_age": 600.0},
        ensure_ascii=False,
    )
    assert decode_entry(raw).etag is None
    [entry] = decode_found({"k": raw}).values()
    assert entry.etag is None and entry.record.reason == "use pytest"


def test_quotes_and_escaped_backslashes_are_read_as_written() -> None:
    """Escaped quotes (every stored ETag has two) and backslashes read as written."""
    for reason in ('say "use pytest"', "C:\\path", 'both \\" and "'):
        entry = decode_entry(stored({**RECORD, "reason": reason}))
        assert entry.record.reason == reason
        assert entry.etag == '"e1"'
