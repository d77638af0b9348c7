"""Differential check: JSON pages decoded by msgspec against the same pages by ``json.loads``.

The reference is the parser with its fast decoder switched off (``_decode_fast`` answering
None: everything through ``json``, as before msgspec). For every page, valid or hostile,
both must give the same parsed page and record, or the same one-line error.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_pages import JSON_TYPE, hostile_pages
from indexserver import ProjectSpec, canonical, release, render_json, synthetic_projects
from nginx_index import heavy_tail_projects
from sbom_enrich.errors import PageError
from sbom_enrich.status import simple_api
from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.simple_api import parse_json_page, to_record

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def outcome(body: bytes, name: str = "demo") -> tuple[Any, ...]:
    """What a lookup makes of ``body``: the page and its record, or the error's line."""
    try:
        page = parse_json_page(body)
    except PageError as error:
        return ("error", str(error))
    record = to_record(page, name=name, index_url="https://index.test/simple/", checked_at=NOW)
    return ("page", page, record)


def reference(body: bytes, name: str = "demo") -> tuple[Any, ...]:
    """The same through ``json.loads`` alone (the parser before msgspec)."""
    fast = simple_api._decode_fast
    simple_api._decode_fast = lambda body: None  # type: ignore[assignment]
    try:
        return outcome(body, name)
    finally:
        simple_api._decode_fast = fast


def assert_same(body: bytes, name: str = "demo") -> tuple[Any, ...]:
    ours = outcome(body, name)
    assert ours == reference(body, name)
    return ours


def test_the_bench_pages_take_the_fast_path_and_read_the_same() -> None:
    projects = heavy_tail_projects(120)
    for serial, spec in enumerate(projects, 1):
        body = render_json(spec, "1.4", serial)
        assert simple_api._decode_fast(body) is not None, spec.name
        ours = assert_same(body, canonical(spec.name))
        assert ours[0] == "page" and ours[2].error is None


@pytest.mark.parametrize("api", [None, "1.0", "1.1", "1.4"])
def test_the_test_index_pages_read_the_same(api: str | None) -> None:
    for serial, spec in enumerate(synthetic_projects(60, seed=3), 1):
        assert_same(render_json(spec, api, serial), canonical(spec.name))


def test_the_hostile_corpus_reads_the_same_and_never_active() -> None:
    for name, page in hostile_pages().items():
        if page.content_type != JSON_TYPE:
            continue
        ours = assert_same(page.body, name)
        if page.error:
            assert ours[0] == "error" or ours[2].status is not ProjectStatus.ACTIVE, name


def doc(**top: Any) -> bytes:
    base: dict[str, Any] = {"meta": {"api-version": "1.4"}, "name": "demo", "files": []}
    base.update(top)
    return json.dumps(base).encode()


FILE = b'{"filename": "demo-1.0.tar.gz", "yanked": false}'
HOSTILE = {
    "nan in a field read": b'{"name": "demo", "versions": [NaN], "files": []}',
    "nan in a field skipped": b'{"name": "demo", "size": NaN, "files": []}',
    "infinity": b'{"name": "demo", "files": [{"filename": "demo-1.0.tar.gz", "size": -Infinity}]}',
    "a float past a double": b'{"name": "demo", "versions": [1e400], "files": []}',
    "an int past 64 bits": b'{"name": "demo", "versions": [123456789012345678901234567890]}',
    "an int past 64 bits skipped": b'{"name": "demo", "_last-serial": 99999999999999999999999}',
    "deep nesting read": b'{"meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "deep nesting skipped": b'{"name": "demo", "x": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
    "deep nesting at the limit": b'{"name": "demo", "x": ' + b"[" * 990 + b"]" * 990 + b"}",
    "duplicate status keys": (
        b'{"name": "demo", "meta": {"api-version": "1.4"}, "files": [],'
        b' "project-status": {"status": "archived"}, "project-status": {"status": "active"}}'
    ),
    "duplicate inner status": (
        b'{"name": "demo", "meta": {"api-version": "1.4"}, "files": [],'
        b' "project-status": {"status": "quarantined", "status": "active"}}'
    ),
    "duplicate files": b'{"name": "demo", "files": [], "files": [' + FILE + b"]}",
    "duplicate filename": (
        b'{"name": "demo", "files": [{"filename": "x", "filename": "demo-2.tar.gz"}]}'
    ),
    "lone surrogate read": b'{"name": "demo", "versions": ["\\ud800"], "files": []}',
    "lone surrogate skipped": (
        b'{"name": "demo", "files": [{"filename": "demo-1.0.tar.gz", "url": "\\udfff"}]}'
    ),
    "invalid UTF-8 read": b'{"name": "demo\xff", "files": []}',
    "invalid UTF-8 skipped": (
        b'{"name": "demo", "files": [{"filename": "demo-1.0.tar.gz", "url": "\xc3("}]}'
    ),
    "invalid UTF-8 in a key": b'{"name": "demo", "\xed\xa0\x80": 1, "files": []}',
    "valid UTF-8": json.dumps(
        {"name": "demo", "files": [], "project-status": {"status": "archived", "reason": "Ü ✓"}},
        ensure_ascii=False,
    ).encode(),
    "a huge string": b'{"name": "demo", "files": [{"filename": "demo-1.0.tar.gz", "url": "'
    + b"a" * 5_000_000
    + b'"}]}',
    "a byte order mark": b"\xef\xbb\xbf" + doc(),
    "UTF-16": doc().decode().encode("utf-16"),
    "a list at the top": b"[" + doc() + b"]",
    "a string at the top": b'"demo"',
    "null": b"null",
    "empty": b"",
    "trailing data": doc() + b" {}",
    "a control character": b'{"name": "de\x01mo", "files": []}',
    "files an object": b'{"name": "demo", "files": {"filename": "demo-1.0.tar.gz"}}',
    "files null": b'{"name": "demo", "files": null, "projects": []}',
    "file entries not objects": b'{"name": "demo", "files": ["demo-1.0.tar.gz", null, 7, '
    + FILE
    + b"]}",
    "the root page": b'{"meta": {"api-version": "1.4"}, "projects": [{"name": "demo"}]}',
    "escaped keys": (
        b'{"n\\u0061me": "demo",'
        b' "\\u0066iles": [{"file\\u006eame": "demo-1.0.tar.gz", "yanked": "bad"}]}'
    ),
    "name not a string": b'{"name": 7, "files": []}',
    "status a list": doc(**{"project-status": ["archived"]}),
    "status empty": doc(**{"project-status": {"status": ""}}),
    "status under meta": doc(
        meta={"api-version": "1.4", "project-status": "archived", "project-status-reason": "old"}
    ),
    "NUL escaped in a name": b'{"name": "demo\\u0000", "files": []}',
    # msgspec skips an integer json cannot convert; the duplicate-key check then parses it.
    "an int past json's digits with duplicate statuses": (
        b'{"name": "demo", "files": [], "size": ' + b"9" * 5_000 + b","
        b' "project-status": {"status": "archived"}, "project-status": {"status": "active"}}'
    ),
    "nesting past json's depth with duplicate statuses": (
        b'{"name": "demo", "files": [], "x": ' + b"[" * 995 + b"]" * 995 + b","
        b' "project-status": {"status": "archived"}, "project-status": {"status": "active"}}'
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_json_reads_the_same(case: str) -> None:
    assert_same(HOSTILE[case])


def test_valid_utf8_takes_the_fast_path() -> None:
    assert not HOSTILE["valid UTF-8"].isascii()
    assert simple_api._decode_fast(HOSTILE["valid UTF-8"]) is not None


def test_duplicate_status_keys_never_read_active_on_the_fast_path() -> None:
    for case in ("duplicate status keys", "duplicate inner status"):
        body = HOSTILE[case]
        assert simple_api._decode_fast(body) is not None  # msgspec reads it; the check still runs
        ours = outcome(body)
        assert ours[2].status is ProjectStatus.UNKNOWN
        assert "conflicting project statuses" in (ours[2].error or "")


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "demo", "files": [],'
        b' "project-status": {"status": "quarantined", "st\\u0061tus": "active"}}',
        b'{"name": "demo", "files": [], "project-status": {"st\\u0061tus": "archived"},'
        b' "project\\u002dstatus": {"st\\u0061tus": "active"}}',
        b'{"name": "demo", "files": [], "pr\\u006fject-status": {"status": "deprecated"},'
        b' "project-status": {"status": "active"}}',
    ],
)
def test_a_status_key_repeated_in_escapes_never_reads_active(body: bytes) -> None:
    # Both decoders keep the last of duplicate keys; an escaped spelling must not hide one.
    ours = assert_same(body)
    assert ours[2].status is ProjectStatus.UNKNOWN
    assert "conflicting project statuses" in (ours[2].error or "")


@pytest.mark.parametrize(
    "encoding",
    ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"],
)
def test_a_repeated_status_key_never_reads_active_in_any_encoding_json_reads(
    encoding: str,
) -> None:
    """json.loads reads UTF-16 and UTF-32 (and a UTF-8 byte order mark); the check for a
    repeated "project-status" looked at the bytes, where UTF-16 hid it: read active."""
    body = HOSTILE["duplicate status keys"].decode().encode(encoding)
    ours = assert_same(body)
    assert ours[0] == "page" and ours[2].status is ProjectStatus.UNKNOWN, ours
    assert "conflicting project statuses: active, archived" in (ours[2].error or "")


def test_json_in_an_encoding_it_does_not_hold_is_invalid_json() -> None:
    body = b"\xff\xfe" + doc().decode().encode("utf-16-le")[:-1]  # an odd byte count
    assert outcome(body) == reference(body)
    assert outcome(body)[0] == "error" and "invalid JSON" in outcome(body)[1]


def test_what_msgspec_refuses_goes_to_json() -> None:
    for case in ("nan in a field skipped", "a byte order mark", "UTF-16", "lone surrogate read",
                 "invalid UTF-8 skipped", "deep nesting skipped", "files an object"):  # fmt: skip
        assert simple_api._decode_fast(HOSTILE[case]) is None, case


def test_an_integer_json_cannot_convert_is_read_where_no_field_needs_it() -> None:
    """The one documented difference: Python's 4,300-digit limit on ``int`` made ``json``
    refuse a page with such a number anywhere; msgspec skips unread fields without converting
    them. A number in a field that is read still fails the lookup as before."""
    skipped = b'{"name": "demo", "files": [], "size": ' + b"9" * 5_000 + b"}"
    assert reference(skipped)[0] == "error"
    assert outcome(skipped)[0] == "page"
    read = b'{"name": "demo", "files": [], "versions": [' + b"9" * 5_000 + b"]}"
    assert_same(read)
    assert outcome(read)[0] == "error"


# Generated pages: objects as lists of pairs, so that keys repeat as a hostile index may write.
KEYS = st.sampled_from(
    ["name", "meta", "files", "versions", "project-status", "project-status-reason", "projects",
     "status", "reason", "api-version", "filename", "yanked", "upload-time", "url", "hashes"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl", "archived", "active",
                     "1.4", "2.0", "2026-01-02T03:04:05.000000Z", "\ud800"]),
)  # fmt: skip


def objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(st.tuples(KEYS | st.text(max_size=6), children), max_size=6).map(Pairs)


class Pairs(list):  # type: ignore[type-arg]
    """A JSON object written as its pairs, duplicates kept."""


VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=5) | objects(c), max_leaves=25)


def dump(value: Any, ascii_only: bool) -> str:
    if isinstance(value, Pairs):
        inner = ", ".join(f"{json.dumps(k, ensure_ascii=ascii_only)}: {dump(v, ascii_only)}"
                          for k, v in value)  # fmt: skip
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


FILE_ENTRY = st.lists(
    st.tuples(st.sampled_from(["filename", "yanked", "upload-time", "url"]), VALUES), max_size=4
).map(Pairs)
PAGES = st.lists(
    st.one_of(
        st.tuples(KEYS, VALUES),
        st.tuples(st.just("files"), st.lists(FILE_ENTRY | VALUES, max_size=4)),
        st.tuples(st.just("project-status"), objects(SCALARS) | SCALARS),
        st.tuples(st.just("meta"), objects(SCALARS)),
    ),
    max_size=8,
).map(Pairs)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=PAGES, ascii_only=st.booleans(), mangle=st.sampled_from(["", "bom", "cut", "byte"]))
def test_generated_pages_read_the_same(page: Pairs, ascii_only: bool, mangle: str) -> None:
    body = dump(page, ascii_only).encode("utf-8", "surrogatepass")
    if mangle == "bom":
        body = b"\xef\xbb\xbf" + body
    elif mangle == "cut":
        body = body[: len(body) // 2]
    elif mangle == "byte" and body:
        body = body[:-1] + b"\xff" + body[-1:]
    assert_same(body)


def test_a_page_of_every_file_shape_reads_the_same() -> None:
    files = [
        *release("demo", "1.0", yanked=True),
        *release("demo", "1.1", yanked="broken", upload_time="2026-01-01T00:00:00Z"),
        *release("demo", "2.0rc1", upload_time="2026-02-01T00:00:00.123456Z"),
    ]
    spec = ProjectSpec("demo", status="deprecated", reason="use other", files=files)
    assert_same(render_json(spec, "1.4", 1))


def test_nesting_at_the_recursion_limit_reads_as_json_would_with_room() -> None:
    """Both decoders are bounded by Python's recursion limit; msgspec goes a level or two
    deeper. Where it reads a page ``json`` could not, it reads what ``json`` reads with more
    room, never anything else; past its own limit the lookup fails as before."""
    for depth in range(900, 1100):
        body = b'{"name": "demo", "files": [], "x": ' + b"[" * depth + b"]" * depth + b"}"
        ours, before = outcome(body), reference(body)
        if ours == before:
            continue
        assert before == ("error", "index sent JSON nested too deeply"), depth
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 1000)
        try:
            assert ours == reference(body), depth
        finally:
            sys.setrecursionlimit(limit)
    deep = b'{"name": "demo", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert outcome(deep) == ("error", "index sent JSON nested too deeply")
