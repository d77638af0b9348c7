"""Parser slips found by a differential run against pypi-simple and the specs, each pinned."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

import pytest

from sbom_enrich.errors import PageError
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.simple_api import parse_page, to_record, version_from_filename

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def record_of(
    body: bytes, content_type: str = JSON_TYPE, index: str = "https://i/"
) -> StatusRecord:
    return to_record(parse_page(body, content_type), name="demo", index_url=index, checked_at=NOW)


def json_page(*files: dict[str, object], **top: object) -> bytes:
    data: dict[str, object] = {"meta": {"api-version": "1.4"}, "name": "demo", "files": list(files)}
    data.update(top)
    return json.dumps(data).encode()


def dist(filename: str, **extra: object) -> dict[str, object]:
    return {"filename": filename, "url": f"../f/{filename}", "hashes": {}, **extra}


def html_page(*links: str, head: str = "") -> bytes:
    return (
        '<html><head><meta name="pypi:repository-version" content="1.4">'
        f"{head}</head><body>{''.join(links)}</body></html>"
    ).encode()


# -- versions from file names ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("demo-1.1.0-rc1.tar.gz", "1.1.0-rc1"),  # read as "rc1"
        ("demo-2.0.linux-x86_64.tar.gz", "2.0"),  # bdist_dumb, read as "x86_64"
        ("demo-1.0.macosx-10.9-x86_64.tar.gz", "1.0"),
        ("demo-1.0.win32.exe", "1.0"),  # bdist_wininst: ignored
        ("demo-1.0.win-amd64-py3.6.exe", "1.0"),
        ("demo-1.0.win-amd64-py3.6.msi", "1.0"),  # bdist_msi: ignored
        ("demo-1.0-1.noarch.rpm", "1.0"),  # bdist_rpm: ignored
        ("demo-1.0-1.src.rpm", "1.0"),
        ("demo-1.0.egg", "1.0"),  # an egg without a Python tag: ignored
        ("demo-1.0-py2.7-linux-x86_64.egg", "1.0"),
        ("demo-2.0-1-py3-none-any.whl", "2.0"),  # a build tag
        ("Demo-1.0.tar.bz2", "1.0"),
        ("demo-1!2.0+local.1.tar.gz", "1!2.0+local.1"),
    ],
)
def test_versions_from_file_names_of_every_kind(filename: str, version: str) -> None:
    assert version_from_filename(filename, "demo") == version


def test_a_hyphenated_sdist_version_is_one_version_not_its_last_part() -> None:
    body = html_page(
        '<a href="f/demo-1.0.tar.gz">demo-1.0.tar.gz</a>',
        '<a href="f/demo-1.1.0-rc1.tar.gz">demo-1.1.0-rc1.tar.gz</a>',
        '<a href="f/demo-2.0.linux-x86_64.tar.gz">demo-2.0.linux-x86_64.tar.gz</a>',
    )
    record = record_of(body, "text/html")
    assert record.versions == ("1.0", "1.1.0-rc1", "2.0")
    assert record.latest_version == "2.0"
    assert not record.version_facts("1.1.0rc1").missing


# -- files and the versions list, reconciled -------------------------------------------------


def test_a_yanked_version_spelled_otherwise_in_the_list_is_never_latest() -> None:
    body = json_page(
        dist("demo-1.0.tar.gz"),
        dist("demo-2.0.0.tar.gz", yanked="broken"),
        versions=["1.0", "2.0"],
    )
    record = record_of(body)
    assert record.latest_version == "1.0"
    assert dict(record.yanked) == {"2.0": "broken"}  # keyed as the list spells it
    facts = record.version_facts("2.0.0")
    assert facts.yanked and facts.yank_reason == "broken" and not facts.missing


def test_a_version_is_yanked_only_when_every_file_of_it_is_whatever_the_spelling() -> None:
    body = json_page(
        dist("demo-2.0.0.tar.gz", yanked=True),
        dist("demo-2.0-py3-none-any.whl"),
        versions=["2.0"],
    )
    record = record_of(body)
    assert not record.yanked and record.latest_version == "2.0"
    assert not record.version_facts("2.0").yanked


def test_an_installer_file_keeps_its_version_unyanked() -> None:
    body = json_page(
        dist("demo-1.0.tar.gz", yanked=True),
        dist("demo-1.0.win32.exe"),
        dist("demo-1.0-1.noarch.rpm"),
        versions=["1.0"],
    )
    assert not record_of(body).version_facts("1.0").yanked


def test_a_link_without_href_is_not_a_file() -> None:
    body = html_page(
        '<a href="f/demo-1.0.tar.gz#sha256=00">demo-1.0.tar.gz</a>',
        "<a>demo-9.0.tar.gz</a>",
        '<a name="x">demo-8.0.tar.gz</a>',
    )
    record = record_of(body, "text/html")
    assert record.versions == ("1.0",)
    assert record.latest_version == "1.0"
    assert record.version_facts("9.0").missing


def test_an_untitled_html_page_of_another_projects_files_is_not_this_project() -> None:
    body = html_page('<a href="f/other-1.0.tar.gz">other-1.0.tar.gz</a>')
    record = record_of(body, "text/html")
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and "another project" in record.error


# -- status markers: conflicting or malformed is never active --------------------------------


def assert_failed_never_active(record: StatusRecord, words: str) -> None:
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error is not None and words in record.error, record.error


@pytest.mark.parametrize(
    "body",
    [
        # Two <meta> tags: archived, then active (read as active).
        html_page(
            head='<meta name="pypi:project-status" content="archived">'
            '<meta name="pypi:project-status" content="active">'
        ),
        # A duplicate JSON key: json.loads keeps the last one.
        b'{"meta": {"api-version": "1.4"}, "name": "demo", "files": [],'
        b' "project-status": {"status": "archived"}, "project-status": {"status": "active"}}',
        b'{"meta": {"api-version": "1.4"}, "name": "demo", "files": [],'
        b' "project-status": {"status": "quarantined", "status": "active"}}',
        # The standard form and the spec erratum's, disagreeing.
        json_page(
            **{"project-status": {"status": "archived"}},
            meta={"api-version": "1.4", "project-status": "active"},
        ),  # fmt: skip
    ],
    ids=["html-two-metas", "json-duplicate-marker", "json-duplicate-status", "json-and-erratum"],
)
def test_conflicting_status_markers_are_a_failed_lookup(body: bytes) -> None:
    content_type = "text/html" if body.startswith(b"<html") else JSON_TYPE
    assert_failed_never_active(record_of(body, content_type), "conflicting project statuses")


def test_repeated_markers_that_agree_are_one_status() -> None:
    body = html_page(
        head='<meta name="pypi:project-status" content="archived">'
        '<meta name="pypi:project-status" content="Archived">'
    )
    assert record_of(body, "text/html").status is ProjectStatus.ARCHIVED
    one_tag = html_page(
        head='<meta name="pypi:project-status" content="archived" content="archived">'
    )
    assert record_of(one_tag, "text/html").status is ProjectStatus.ARCHIVED


@pytest.mark.parametrize(
    ("head", "words"),
    [
        # html.parser hands both over; dict() kept the last (active), browsers, lxml and
        # html5lib the first (quarantined).
        (
            '<meta name="pypi:project-status" content="quarantined" content="active">',
            "conflicting project statuses: active, quarantined",
        ),
        (
            '<meta content="quarantined" name="pypi:project-status" content="active">',
            "conflicting project statuses: active, quarantined",
        ),
        # The first name makes it a status marker; dict() read the last and skipped it.
        (
            '<meta name="pypi:project-status" name="robots" content="quarantined">',
            "a <meta> tag with several names (pypi:project-status, robots)",
        ),
        (
            '<meta name="robots" name="pypi:project-status" content="active">',
            "several names",
        ),
        # The API version: dict() read 1.4 (no marker: active); the first says 1.0.
        (
            '<meta name="pypi:repository-version" content="1.0" content="1.4">',
            "conflicting Simple API versions: 1.0, 1.4",
        ),
        ('<meta name="pypi:repository-version" content="2.0">', "versions: 1.4, 2.0"),
    ],
)
def test_a_meta_tag_whose_repeated_attributes_disagree_is_a_failed_lookup(
    head: str, words: str
) -> None:
    body = html_page('<a href="f/demo-1.0.tar.gz">demo-1.0.tar.gz</a>', head=head)
    try:
        record = record_of(body, "text/html")
    except PageError as error:  # the lookup's error
        assert words in str(error)
    else:
        assert_failed_never_active(record, words)


@pytest.mark.parametrize(
    "marker",
    [
        "",
        "   ",
        7,
        ["archived"],
        {},
        None,
        True,
        {"status": ""},
        {"status": 7},
        {"status": None},
        {"reason": "gone"},
        {"status": ["archived"]},
    ],  # fmt: skip
    ids=repr,
)
def test_a_malformed_json_status_is_a_failed_lookup_never_active(marker: object) -> None:
    record = record_of(json_page(**{"project-status": marker}))
    assert_failed_never_active(record, "malformed project status")


def test_an_empty_html_status_is_a_failed_lookup_never_active() -> None:
    record = record_of(html_page(head='<meta name="pypi:project-status" content="">'), "text/html")
    assert_failed_never_active(record, "malformed project status")


# -- API versions ------------------------------------------------------------------------------


def test_a_newer_minor_api_version_is_read_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json_page(**{"project-status": "archived"}, meta={"api-version": "1.5"})
    with caplog.at_level(logging.WARNING, logger="sbom_enrich.status.simple_api"):
        first = record_of(body, index="https://newer.test/simple/")
        second = record_of(body, index="https://newer.test/simple/")
    assert first.status is second.status is ProjectStatus.ARCHIVED
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "Simple API 1.5, newer than the 1.4" in warnings[0]


def test_a_newer_major_api_version_is_a_failed_lookup() -> None:
    body = json_page(**{"project-status": "active"}, meta={"api-version": "2.0"})
    assert_failed_never_active(record_of(body), "cannot read")


# -- HTML in the charset it is labelled with ------------------------------------------------

QUARANTINED_HTML = html_page(
    '<a href="f/demo-1.0.tar.gz">demo-1.0.tar.gz</a>',
    head='<title>Links for demo</title><meta name="pypi:project-status" content="quarantined">',
).decode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-16", QUARANTINED_HTML.encode("utf-16")),  # with its BOM
        ("text/html; charset=utf-16", QUARANTINED_HTML.encode("utf-16-le")),  # without
        ("text/html; charset=UTF-16LE", QUARANTINED_HTML.encode("utf-16-le")),
        ('text/html; charset="utf-16be"', QUARANTINED_HTML.encode("utf-16-be")),
        ("text/html;charset=cp500", QUARANTINED_HTML.encode("cp500")),  # EBCDIC
        ("text/html", QUARANTINED_HTML.encode("utf-16")),  # unlabelled, but its BOM says
        ("text/html; charset=iso-8859-1", b"\xef\xbb\xbf" + QUARANTINED_HTML.encode()),
        ("application/vnd.pypi.simple.v1+html; charset=utf-16", QUARANTINED_HTML.encode("utf-16")),
    ],
)
def test_html_is_read_in_the_charset_it_is_labelled_with(content_type: str, body: bytes) -> None:
    """Read as UTF-8 or Latin-1, a page in UTF-16 or EBCDIC had no tag: "the index cannot
    express status", no failure, for a page that says quarantined (pip decodes by charset)."""
    record = record_of(body, content_type)
    assert (record.status, record.error, record.api_version) == (
        ProjectStatus.QUARANTINED, None, "1.4"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content_type", "body", "error"),
    [
        ("text/html; charset=x-no-such", QUARANTINED_HTML.encode(), "cannot read ('x-no-such')"),
        ("text/html; charset=rot13", QUARANTINED_HTML.encode(), "cannot read ('rot13')"),
        ("text/html; charset=utf-16", QUARANTINED_HTML.encode("utf-16-le")[:-1], "not decode"),
        ("text/html; charset=utf-32", QUARANTINED_HTML.encode("utf-8"), "does not decode"),
        ("text/html", QUARANTINED_HTML.encode("utf-16-le"), "NUL characters"),
        ("text/html", QUARANTINED_HTML.encode("utf-32"), "NUL characters"),
        ("text/html", QUARANTINED_HTML.encode("cp500"), "without a single tag"),
        ("text/html; charset=utf-8", QUARANTINED_HTML.encode("cp500"), "without a single tag"),
    ],
)
def test_html_that_cannot_be_read_in_its_charset_is_a_failed_lookup(
    content_type: str, body: bytes, error: str
) -> None:
    with pytest.raises(PageError, match=re.escape(error)):  # the lookup's error
        parse_page(body, content_type)


def test_an_undecodable_byte_in_an_ascii_compatible_page_changes_no_tag() -> None:
    """UTF-8 with a stray Latin-1 byte, or "us-ascii" with one, is read (as before)."""
    body = QUARANTINED_HTML.replace("demo-1.0.tar.gz</a>", "démo</a>").encode("latin-1")
    for content_type in ("text/html", "text/html; charset=utf-8", "text/html; charset=us-ascii"):
        assert record_of(body, content_type).status is ProjectStatus.QUARANTINED
