"""The judge: which answer pairs are transitions (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sbom_enrich.monitor.indexes import IndexRules
from sbom_enrich.monitor.model import Source, Usage, UsageRef
from sbom_enrich.monitor.run import wrong_indexes
from sbom_enrich.monitor.transitions import judge_record, transition_kinds
from sbom_enrich.monitor.views import adverse_now, status_markdown, status_text
from sbom_enrich.status.model import ProjectStatus, StatusRecord

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)
S = ProjectStatus


def rec(
    status: ProjectStatus,
    versions: tuple[str, ...] | None = ("1.0", "2.0"),
    yanked: dict[str, str] | None = None,
    error: str | None = None,
) -> StatusRecord:
    return StatusRecord(
        "pkg", status, "http://i/simple/", NOW, versions=versions, yanked=yanked or {}, error=error
    )


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (S.ACTIVE, S.ARCHIVED, "archived"),
        (S.ACTIVE, S.DEPRECATED, "deprecated"),
        (S.ACTIVE, S.QUARANTINED, "quarantined"),
        (S.QUARANTINED, S.ACTIVE, "quarantine-lifted"),
        (S.QUARANTINED, S.ARCHIVED, "archived"),
        (S.ARCHIVED, S.ACTIVE, "reactivated"),
        (S.ACTIVE, S.NOT_FOUND, "not-found"),
        (S.NOT_FOUND, S.ACTIVE, "revived"),
        (S.NOT_FOUND, S.QUARANTINED, "revived"),
    ],
)
def test_status_transitions(old: ProjectStatus, new: ProjectStatus, kind: str) -> None:
    assert transition_kinds(rec(old), rec(new), {"1.0"}) == [(kind, None, None)]


def test_versions_in_use_newly_yanked_or_gone() -> None:
    before = rec(S.ACTIVE, yanked={"2.0": ""})
    after = rec(S.ACTIVE, versions=("2.0", "3.0"), yanked={"2.0": "", "3.0": "bad"})
    assert transition_kinds(before, after, {"1.0", "2.0"}) == [
        ("version-gone", "1.0", None),  # 2.0 was yanked already: no news
    ]
    assert transition_kinds(rec(S.ACTIVE, versions=("3.0",)), after, {"3.0"}) == [
        ("yanked", "3.0", "bad")
    ]
    # PEP 440 equality: the file pins 1.0.0, the index lists 1.0.
    assert transition_kinds(rec(S.ACTIVE), rec(S.ACTIVE, yanked={"1.0": ""}), {"1.0.0"}) == [
        ("yanked", "1.0.0", None)
    ]


def test_a_quarantine_is_one_notice_not_one_per_vanished_version() -> None:
    assert transition_kinds(rec(S.ACTIVE), rec(S.QUARANTINED, versions=()), {"1.0", "2.0"}) == [
        ("quarantined", None, None)
    ]


def test_first_sight_is_a_baseline_and_unknown_is_never_a_transition() -> None:
    judge = judge_record({("pkg", ""): [UsageRef("p", "/f", "1.0")]}, lambda _: [], NOW)
    first = judge(("pkg", ""), None, rec(S.ARCHIVED))
    assert first.baseline is not None and first.drafts == ()
    for unknown in (rec(S.UNKNOWN, error="HTTP 503"), rec(S.UNKNOWN, versions=None)):
        judged = judge(("pkg", ""), rec(S.ARCHIVED), unknown)
        assert judged.baseline is None and judged.drafts == () and not judged.changed


def test_a_draft_names_its_users_and_alternatives() -> None:
    users = [UsageRef("shop", "/a", "1.0"), UsageRef("blog", "/b", "2.0")]
    judge = judge_record({("pkg", ""): users}, lambda name: [("other", "maintained fork")], NOW)
    judged = judge(("pkg", ""), rec(S.ACTIVE), rec(S.ACTIVE, yanked={"1.0": "oops"}))
    (draft,) = judged.drafts
    assert draft.kind == "yanked" and draft.version == "1.0"
    assert draft.notice["used_by"] == [{"project": "shop", "file": "/a", "version": "1.0"}]
    assert draft.notice["alternatives"] == [{"name": "other", "rationale": "maintained fork"}]
    assert draft.notice["event_id"] == draft.event_id


def test_status_views_per_project() -> None:
    sources = [
        Source("shop", "/shop/req.txt", "requirements", (Usage("pkg", "Pkg", "1.0"),)),
        Source("blog", "/blog/req.txt", "requirements", (Usage("new", "new", None),)),
    ]
    items = adverse_now(
        sources,
        {("pkg", ""): rec(S.ARCHIVED, yanked={"1.0": "bad | thing"})},
        IndexRules("http://i/simple/"),
    )
    assert [(i.project, i.name, i.status) for i in items] == [
        ("shop", "pkg", "archived"),
        ("blog", "new", "not-checked"),
    ]
    text = status_text(items, 2)
    assert "shop:\n  pkg==1.0  archived, version yanked (bad | thing)" in text
    markdown = status_markdown(items, 2)
    assert (
        "| shop | pkg==1.0 | archived, version yanked (bad \\| thing) | /shop/req.txt |" in markdown
    )
    assert status_text([], 3) == (
        "nothing adverse among 3 watched names\nno pass has run yet (`sbom-enrich monitor run`)\n"
    )


def answered(
    key: str, name: str, status: ProjectStatus, error: str | None = None
) -> tuple[str, StatusRecord]:
    return key, StatusRecord(name, status, "http://i/simple/", NOW, error=error)


def test_an_index_is_taken_for_a_wrong_url_when_every_name_it_answered_is_404() -> None:
    gone, failed = S.NOT_FOUND, S.UNKNOWN
    answers = [
        # Two names, one failed: the one that got an answer got a 404 (a failure says nothing).
        answered("", "a", gone),
        answered("", "b", failed, error="HTTP 500"),
        # A private index with a status beside its 404: the URL is right.
        answered("http://p/simple/", "a", gone),
        answered("http://p/simple/", "c", S.ACTIVE),
        # An index that cannot express status still has the name: the URL is right.
        answered("http://old/simple/", "a", gone),
        answered("http://old/simple/", "d", S.UNKNOWN),
        # One name only: a project deleted there reads the same; its 404 is news.
        answered("http://one/simple/", "e", gone),
        # Nothing answered at all: an outage, not a wrong URL.
        answered("http://down/simple/", "a", failed, error="timed out"),
        answered("http://down/simple/", "f", failed, error="timed out"),
    ]
    assert wrong_indexes(answers) == {"": 1}
