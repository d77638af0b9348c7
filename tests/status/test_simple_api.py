"""Parsing PEP 691 JSON and PEP 503 HTML pages with PEP 792 markers into status records."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.simple_api import (
    PageError,
    _may_repeat_status,
    parse_page,
    to_record,
    version_from_filename,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def record_of(body: bytes, content_type: str = "application/vnd.pypi.simple.v1+json"):
    page = parse_page(body, content_type)
    return to_record(page, name="demo", index_url="https://idx/simple/", checked_at=NOW)


def json_page(**top: object) -> bytes:
    data: dict[str, object] = {"meta": {"api-version": "1.4"}, "name": "demo", "files": []}
    data.update(top)
    return json.dumps(data).encode()


def wheel(version: str, **extra: object) -> dict[str, object]:
    return {"filename": f"demo-{version}-py3-none-any.whl", "url": "x", "hashes": {}, **extra}


@pytest.mark.parametrize("status", ["active", "archived", "quarantined", "deprecated"])
def test_each_pep792_status_is_read_from_json(status: str) -> None:
    record = record_of(json_page(**{"project-status": {"status": status}}))
    assert record.status is ProjectStatus(status)
    assert record.error is None


def test_reason_is_kept_and_sanitised() -> None:
    body = json_page(
        **{"project-status": {"status": "deprecated", "reason": "use \x1b[31mother\u202e now"}}
    )
    record = record_of(body)
    assert record.status is ProjectStatus.DEPRECATED
    assert record.reason == "use other now"


def test_absent_status_means_active_from_api_1_4() -> None:
    assert record_of(json_page()).status is ProjectStatus.ACTIVE


@pytest.mark.parametrize("files", [None, "demo-1.0.tar.gz", {"filename": "demo-1.0.tar.gz"}, 7])
@pytest.mark.parametrize("status", [None, "active"])
def test_a_page_whose_files_is_not_a_list_cannot_vouch_for_active(
    files: object, status: str | None
) -> None:
    top: dict[str, object] = {"files": files}
    if status is not None:
        top["project-status"] = {"status": status}
    record = record_of(json_page(**top))
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error == "index sent a project page whose files is not a list"


@pytest.mark.parametrize("status", ["archived", "quarantined", "deprecated"])
def test_an_adverse_status_on_a_page_with_broken_files_is_still_read(status: str) -> None:
    record = record_of(json_page(files=None, **{"project-status": {"status": status}}))
    assert record.status is ProjectStatus(status)


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.3", None])
def test_index_before_1_4_cannot_express_status(version: str | None) -> None:
    meta = {"api-version": version} if version else {}
    body = json.dumps({"meta": meta, "name": "demo", "files": []}).encode()
    record = record_of(body)
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is None  # an answer, not a failure


def test_major_version_two_is_an_error_value() -> None:
    body = json.dumps({"meta": {"api-version": "2.0"}, "name": "demo", "files": []}).encode()
    record = record_of(body)
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "2.0" in record.error


def test_lenient_forms_bare_string_and_meta_erratum() -> None:
    assert record_of(json_page(**{"project-status": "archived"})).status is ProjectStatus.ARCHIVED
    body = json.dumps(
        {
            "meta": {
                "api-version": "1.4",
                "project-status": "deprecated",
                "project-status-reason": "use x",
            },
            "files": [],
        }
    ).encode()
    record = record_of(body)
    assert (record.status, record.reason) == (ProjectStatus.DEPRECATED, "use x")


def test_unknown_future_status_does_not_crash() -> None:
    record = record_of(json_page(**{"project-status": {"status": "retired"}}))
    assert record.status is ProjectStatus.UNKNOWN
    assert record.reason is not None and "retired" in record.reason
    assert record.error is None


def test_yanked_versions_latest_version_and_upload() -> None:
    files = [
        wheel("1.0", **{"upload-time": "2020-01-01T00:00:00.000000Z"}),
        wheel("1.1", yanked="broken build", **{"upload-time": "2021-01-01T00:00:00Z"}),
        {"filename": "demo-1.1.tar.gz", "yanked": True, "url": "x", "hashes": {}},
        wheel("1.2", **{"upload-time": "2022-06-01T10:00:00Z"}),
        {"filename": "demo-1.2.tar.gz", "yanked": True, "url": "x", "hashes": {}},
        wheel("2.0rc1", **{"upload-time": "2023-01-01T00:00:00Z"}),
    ]
    record = record_of(json_page(files=files, versions=["1.0", "1.1", "1.2", "2.0rc1"]))
    assert dict(record.yanked) == {"1.1": "broken build"}  # 1.2 still has an unyanked wheel
    assert record.latest_version == "1.2"  # pre-releases and fully yanked versions skipped
    assert record.latest_upload == datetime(2023, 1, 1, tzinfo=timezone.utc)
    facts = record.version_facts("1.1.0")  # PEP 440 equality
    assert facts.yanked and facts.yank_reason == "broken build" and not facts.missing
    assert record.version_facts("9.9").missing
    assert not record.version_facts("1.0").missing


def test_pypi_file_keys_beyond_what_is_read_are_ignored() -> None:
    # What pypi.org sends today (PEP 658/714 metadata, PEP 740 provenance, null requires-python).
    extra = {
        "core-metadata": {"sha256": "ab" * 32},
        "data-dist-info-metadata": {"sha256": "ab" * 32},
        "provenance": None,
        "requires-python": None,
        "size": 1234,
        "upload-time": "2024-05-01T00:00:00.000000Z",
    }
    record = record_of(json_page(files=[wheel("1.0", **extra)], versions=["1.0"]))
    assert record.latest_version == "1.0" and not record.yanked
    assert record.latest_upload == datetime(2024, 5, 1, tzinfo=timezone.utc)


def test_versions_too_long_for_int_are_invalid_not_a_crash() -> None:
    # packaging raises a plain ValueError past Python's 4,300-digit int limit.
    huge = "9" * 5000
    record = record_of(json_page(files=[wheel("1.0"), wheel(huge)], versions=["1.0", huge]))
    assert record.latest_version == "1.0"
    assert record.version_facts(huge).missing is False  # listed as written
    assert record.version_facts("1" * 5000).missing is True


def test_quarantined_has_no_files_so_every_version_is_missing() -> None:
    body = json_page(**{"project-status": {"status": "quarantined"}}, versions=[])
    record = record_of(body)
    assert record.versions == ()
    assert record.latest_version is None
    assert record.version_facts("1.0").missing


def test_without_versions_or_files_missing_is_never_claimed() -> None:
    body = json.dumps({"meta": {"api-version": "1.0"}, "files": []}).encode()
    record = record_of(body)
    assert record.versions is None
    assert not record.version_facts("1.0").missing


HTML = b"""<!DOCTYPE html><html><head>
<meta name="pypi:repository-version" content="1.4">
<meta name="pypi:project-status" content="archived">
<meta name="pypi:project-status-reason" content="moved to &lt;b&gt;new&lt;/b&gt;">
</head><body>
<a href="../../f/demo-1.0.tar.gz#sha256=00">demo-1.0.tar.gz</a>
<a href="../../f/demo-1.1.tar.gz#sha256=00" data-yanked="">demo-1.1.tar.gz</a>
<a href="../../f/demo-1.2.tar.gz#sha256=00" data-yanked="bad &amp; broken">demo-1.2.tar.gz</a>
</body></html>"""


def test_html_page_with_markers_and_yanks() -> None:
    record = record_of(HTML, "application/vnd.pypi.simple.v1+html")
    assert record.status is ProjectStatus.ARCHIVED
    assert record.reason == "moved to <b>new</b>"
    assert record.api_version == "1.4"
    assert dict(record.yanked) == {"1.1": "", "1.2": "bad & broken"}
    assert record.versions == ("1.0", "1.1", "1.2")
    assert record.latest_version == "1.0"


def test_html_without_version_meta_is_unknown() -> None:
    record = record_of(b"<html><body><a href='x'>demo-1.0.tar.gz</a></body></html>", "text/html")
    assert record.status is ProjectStatus.UNKNOWN


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe\x00"])
def test_invalid_json_raises_page_error(body: bytes) -> None:
    with pytest.raises(PageError):
        parse_page(body, "application/vnd.pypi.simple.v1+json")


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("demo-1.0-py3-none-any.whl", "1.0"),
        ("zope.interface-7.2.tar.gz", "7.2"),
        ("demo_pkg-2.0.0rc1.zip", "2.0.0rc1"),
        ("demo-0.1-py2.7.egg", "0.1"),
        ("README.txt", None),
    ],
)
def test_version_from_filename(filename: str, version: str | None) -> None:
    assert version_from_filename(filename) == version


def test_huge_reason_is_bounded() -> None:
    record = record_of(
        json_page(**{"project-status": {"status": "archived", "reason": "x" * 100_000}})
    )
    assert record.reason is not None and len(record.reason) <= 500


def test_latest_upload_with_mixed_time_formats_is_parsed_one_by_one() -> None:
    files = [
        wheel("1.0", **{"upload-time": "2024-05-01T00:00:00+02:00"}),
        wheel("1.1", **{"upload-time": "2024-04-30T23:30:00Z"}),
        wheel("1.2", **{"upload-time": "not a time"}),
    ]
    record = record_of(json_page(files=files, versions=["1.0", "1.1", "1.2"]))
    assert record.latest_upload == datetime(2024, 4, 30, 23, 30, tzinfo=timezone.utc)


def test_an_upload_time_no_utc_year_holds_is_left_out() -> None:
    """A hostile index's upload-time before year 1 in UTC parsed; writing it (latest-upload)
    overflowed: an internal error for the whole run. It is no time now, like junk."""
    files = [
        wheel("1.0", **{"upload-time": "2024-05-01T00:00:00Z"}),
        wheel("1.1", **{"upload-time": "0001-01-01T00:30:00+01:00"}),
        wheel("1.2", **{"upload-time": "9999-12-31T23:30:00-01:00"}),
    ]
    record = record_of(json_page(files=files, versions=["1.0", "1.1", "1.2"]))
    assert record.latest_upload == datetime(2024, 5, 1, tzinfo=timezone.utc)


def test_latest_upload_with_fractions_of_a_second_and_junk_ending_in_z() -> None:
    # As text, "…00Z" sorts after "…00.5Z", and "zzz…Z" after every time.
    files = [
        wheel("1.0", **{"upload-time": "2024-05-01T00:00:00Z"}),
        wheel("1.1", **{"upload-time": "2024-05-01T00:00:00.500000Z"}),
    ]
    record = record_of(json_page(files=files, versions=["1.0", "1.1"]))
    assert record.latest_upload == datetime(2024, 5, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)
    files = [
        wheel("1.0", **{"upload-time": "2024-05-01T00:00:00Z"}),
        wheel("1.1", **{"upload-time": "zzzzzzzzzzzzzzzzzzzZ"}),
    ]
    record = record_of(json_page(files=files, versions=["1.0", "1.1"]))
    assert record.latest_upload == datetime(2024, 5, 1, tzinfo=timezone.utc)


def test_latest_upload_with_another_separator_is_parsed_one_by_one() -> None:
    # ISO 8601 lets a space stand for the "T": as text " 12:00" sorts before "T10:00".
    files = [
        wheel("1.0", **{"upload-time": "2024-05-01T10:00:00Z"}),
        wheel("1.1", **{"upload-time": "2024-05-01 12:00:00Z"}),
    ]
    record = record_of(json_page(files=files, versions=["1.0", "1.1"]))
    assert record.latest_upload == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


@given(
    st.lists(
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["seconds", "milliseconds", "microseconds", None]),
)
def test_latest_upload_is_the_newest_time_however_written(
    moments: list[datetime], timespec: str | None
) -> None:
    # One spelling for the whole page (PyPI's), or each as isoformat() likes (fractions or not).
    texts = [(m.isoformat(timespec=timespec) if timespec else m.isoformat()) + "Z" for m in moments]
    files = [wheel(f"1.{n}", **{"upload-time": text}) for n, text in enumerate(texts)]
    versions = [f"1.{n}" for n in range(len(texts))]
    record = record_of(json_page(files=files, versions=versions))
    newest = max(m.replace(microsecond=0) if timespec == "seconds" else m for m in moments)
    if timespec == "milliseconds":
        newest = max(m.replace(microsecond=m.microsecond // 1000 * 1000) for m in moments)
    assert record.latest_upload == newest.replace(tzinfo=timezone.utc)


@given(
    st.lists(
        st.sampled_from([b'"status"', b'"project-status"', b'status"', b'"project-', b"x", b'"']),
        max_size=24,
    ).map(b"".join)
)
def test_a_page_that_may_repeat_a_status_key_is_always_read_again(body: bytes) -> None:
    # The one-pass check may ask for the slow second parse more often, never less often.
    if body.count(b'"project-status"') > 1 or body.count(b'"status"') > 1:
        assert _may_repeat_status(body)


# -- whose page is it ----------------------------------------------------------------------


def test_a_json_page_of_another_project_is_a_failed_lookup_not_its_status() -> None:
    body = json_page(name="other", **{"project-status": {"status": "active"}})
    record = record_of(body)
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "another project ('other')" in record.error


def test_a_json_name_in_another_spelling_is_the_same_project() -> None:
    body = json.dumps(
        {"meta": {"api-version": "1.4"}, "name": "Demo", "files": [], "project-status": "archived"}
    ).encode()
    assert record_of(body).status is ProjectStatus.ARCHIVED


def test_the_json_index_root_is_not_a_project_page() -> None:
    body = json.dumps({"meta": {"api-version": "1.4"}, "projects": [{"name": "demo"}]}).encode()
    record = record_of(body)
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "list of projects" in record.error


@pytest.mark.parametrize(
    "title",
    ["Links for other", "root/pypi: links for other", "Links for other\x1b]0;pwned\x07"],
)
def test_an_html_page_titled_for_another_project_is_a_failed_lookup(title: str) -> None:
    body = f"""<html><head><meta name="pypi:repository-version" content="1.4">
    <title>{title}</title></head><body>
    <a href="../../f/other-1.0.tar.gz#sha256=00">other-1.0.tar.gz</a></body></html>""".encode()
    record = record_of(body, "text/html")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "another project ('other" in record.error
    assert "\x1b" not in record.error and "\x07" not in record.error


def test_an_html_page_titled_for_this_project_in_devpi_style_is_read() -> None:
    body = b"""<html><head><meta name="pypi:repository-version" content="1.4">
    <meta name="pypi:project-status" content="archived">
    <title>root/pypi: links for Demo</title></head><body><h1>root/pypi: links for Demo</h1>
    <a href="../../f/demo-1.0.tar.gz#sha256=00">demo-1.0.tar.gz</a></body></html>"""
    assert record_of(body, "text/html").status is ProjectStatus.ARCHIVED


def test_the_html_index_root_is_not_a_project_page() -> None:
    # What a query in the index URL used to fetch for every project: status absent, so "active".
    body = b"""<html><head><meta name="pypi:repository-version" content="1.4">
    <title>Simple index</title></head><body>
    <a href="/simple/demo/">demo</a><a href="/simple/other/">other</a></body></html>"""
    record = record_of(body, "text/html")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "list of projects" in record.error


_RELEASE = st.lists(st.integers(0, 3), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
_VERSION = st.one_of(
    _RELEASE,
    _RELEASE.map(lambda r: "0" + r),  # a leading zero: still the same number
    st.tuples(
        _RELEASE, st.sampled_from(["a1", "rc2", ".post1", ".dev0", "+local.7", "b1.post2"])
    ).map("".join),
    _RELEASE.map(lambda r: "1!" + r),  # an epoch outranks any release number
    st.sampled_from(["junk", "v1.0", "1.0.final", "٣.1"]),  # not plain, or not versions at all
)


@settings(max_examples=400, deadline=None)
@example(versions=["0.9", "1", "1.0", "1.0.0"], yanked_at=set())  # equal: the first listed
@example(versions=["1.0.0", "1.0", "2.0rc1"], yanked_at=set())  # a final before a pre-release
@example(versions=["1.0", "2", "2.0", "0!3"], yanked_at={1, 2})  # 2 fully yanked, 0!3 is 3
@example(versions=["1!0.1", "9.9", "2.0+local.7"], yanked_at=set())  # an epoch outranks
@given(
    versions=st.lists(_VERSION, min_size=0, max_size=12),
    yanked_at=st.sets(st.integers(0, 11), max_size=6),
)
def test_the_latest_version_is_what_parsing_every_version_gives(
    versions: list[str], yanked_at: set[int]
) -> None:
    # The newest is found by release numbers without parsing each plain version; it must be
    # the version parsing all of them gives: not fully yanked, finals first, the first listed
    # of equal ones (1.0 and 1.0.0).
    files = [
        {"filename": f"demo-{v}-py3-none-any.whl", "yanked": position in yanked_at}
        for position, v in enumerate(versions)
    ]
    record = record_of(json_page(files=files, versions=versions))

    def key(v: str) -> Version | None:
        try:
            return Version(v)
        except InvalidVersion:
            return None

    by_key: dict[object, list[bool]] = {}
    for position, v in enumerate(versions):
        by_key.setdefault(key(v) or v, []).append(position in yanked_at)
    fully_yanked = {k for k, flags in by_key.items() if all(flags)}
    candidates = [(v, k) for v in versions if (k := key(v)) is not None and k not in fully_yanked]
    finals = [(v, k) for v, k in candidates if not k.is_prerelease]
    expected = max(finals or candidates, key=lambda pair: pair[1])[0] if candidates else None
    assert record.latest_version == expected


def test_a_content_type_repeated_and_joined_is_read_as_its_first() -> None:
    """nginx's add_header twice sends Content-Type twice, which arrives joined: "text/html,
    text/html" was refused as no Simple API page (pip reads the first)."""
    from sbom_enrich.status.simple_api import parse_page

    body = (
        b'<html><head><meta name="pypi:repository-version" content="1.4">'
        b'<meta name="pypi:project-status" content="archived"></head><body></body></html>'
    )
    assert parse_page(body, "text/html, text/html").status is not None
    assert parse_page(body, "text/html; charset=utf-8, text/html").status is not None


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        # "application/json" is JSON: it was refused as "not a Simple API page (HTML or JSON)".
        ("application/json, text/html", b"json", ProjectStatus.ARCHIVED),
        ("application/json; charset=utf-8, text/html", b"json", ProjectStatus.ARCHIVED),
        # The first type wins for JSON too: "+json" later in the header made HTML read as JSON.
        ("text/html, application/vnd.pypi.simple.v1+json", b"html", ProjectStatus.ARCHIVED),
    ],
)
def test_a_joined_content_type_is_read_as_its_first_json_as_html(
    content_type: str, body: bytes, expected: ProjectStatus
) -> None:
    from sbom_enrich.status.simple_api import parse_page

    pages = {
        b"json": json.dumps(
            {
                "meta": {"api-version": "1.4"},
                "name": "demo",
                "files": [],
                "project-status": {"status": "archived"},
            }
        ).encode(),  # fmt: skip
        b"html": b'<html><head><meta name="pypi:repository-version" content="1.4">'
        b'<meta name="pypi:project-status" content="archived"></head><body></body></html>',
    }
    assert parse_page(pages[body], content_type).status == expected.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.4", (1, 4)),
        ("1", (1, 0)),
        ("1.4.1", (1, 4)),
        (" 1.4\n", (1, 4)),
        ("2.0", (2, 0)),
        ("\u0661.\u0664", None),  # Arabic-Indic "1.4": int() read it as 1.4
        ("1_0", None),  # int() read it as 10
        ("1.\u0664", None),
        ("+1.4", None),
        ("1. 4", None),
        ("1.", None),
        ("\u00b9.4", None),  # superscript one
        ("", None),
        (None, None),
    ],
)
def test_an_api_version_is_ascii_digits(text: str | None, expected: tuple[int, int] | None) -> None:
    from sbom_enrich.status.simple_api import parse_api_version

    assert parse_api_version(text) == expected


@pytest.mark.parametrize("version", ["\u0661.\u0664", "1_4", "1_0"])
def test_a_version_not_in_ascii_digits_is_no_version(version: str) -> None:
    """As any unreadable version: a page without a marker cannot express status (unknown, an
    answer), one with a marker is read. "١.٤" read as 1.4 made a page with no marker active;
    "1_0" read as 10 made the page a failed lookup."""
    body = json.dumps({"meta": {"api-version": version}, "name": "demo", "files": []}).encode()
    record = record_of(body)
    assert record.status is ProjectStatus.UNKNOWN and record.error is None, record
    assert record_of(body.replace(b'"files"', b'"project-status": "archived", "files"')).status is (
        ProjectStatus.ARCHIVED
    )
    html = f'<meta name="pypi:repository-version" content="{version}"><a href="/a/">a</a>'
    assert record_of(html.encode(), "text/html").status is ProjectStatus.UNKNOWN
