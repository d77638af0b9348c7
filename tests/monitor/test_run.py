"""``monitor run`` end to end: the test index changes statuses between passes, a real HTTP
receiver takes the webhooks, the database is real (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from receivers import HttpReceiver

from cli_runner import Run
from indexserver import Fault, IndexServer, ProjectSpec, release
from sbom_enrich.monitor.notify import WebhookTarget
from sbom_enrich.monitor.store import open_store

SECRET = "s3cret"


def kinds(events: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted(
        (e["name"], e["kind"], e["old_status"], e["new_status"], e["version"]) for e in events
    )


def test_each_transition_kind_is_noticed_once_with_its_facts(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    run = lambda: monitor("run", "--webhook", hook.url, "--webhook-secret", SECRET)  # noqa: E731
    assert monitor("add", "--project", "shop", str(requirements_file)).code == 0

    first = run()
    assert first.code == 0, first.stderr
    assert hook.received == []  # first sight is a baseline
    assert "6 new baselines" in first.stderr

    index_server.set_status("alpha", "archived", "moved to alpha2")
    index_server.set_status("beta", "deprecated")
    index_server.set_status("mal", "quarantined", "Reported as malware")
    index_server.remove("doomed")
    index_server.add(ProjectSpec("ghost", files=release("ghost", "1.0")))
    index_server.add(
        ProjectSpec("gamma", files=release("gamma", "3.0"))
    )  # unchanged content: no notice
    second = run()
    assert second.code == 0, second.stderr
    assert kinds(hook.events()) == [
        ("alpha", "archived", "active", "archived", None),
        ("beta", "deprecated", "active", "deprecated", None),
        ("doomed", "not-found", "active", "not-found", None),
        ("ghost", "revived", "not-found", "active", None),
        ("mal", "quarantined", "active", "quarantined", None),
    ]
    alpha = next(e for e in hook.events() if e["name"] == "alpha")
    assert alpha["reason"] == "moved to alpha2"
    assert alpha["used_by"] == [
        {"project": "shop", "file": str(requirements_file.resolve()), "version": "1.0"}
    ]
    assert alpha["seen_at"].endswith("Z")
    # The signature covers the exact body with the shared secret; the event id rides along.
    for received in hook.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
        assert received.headers["X-Sbom-Enrich-Signature-256"] == expected
        assert received.headers["X-Sbom-Enrich-Event"] == received.json()["event_id"]
    assert len({e["event_id"] for e in hook.events()}) == 5

    # Versions in use: alpha 1.0 yanked (alpha is archived, files still served), beta 2.0 gone;
    # the quarantine is lifted.
    index_server.add(
        ProjectSpec(
            "alpha",
            status="archived",
            reason="moved to alpha2",
            files=[*release("alpha", "1.0", yanked="broken"), *release("alpha", "1.1")],
        )
    )
    index_server.add(ProjectSpec("beta", status="deprecated", files=release("beta", "2.1")))
    index_server.set_status("mal", "active")
    hook.received.clear()
    third = run()
    assert third.code == 0, third.stderr
    assert kinds(hook.events()) == [
        ("alpha", "yanked", "archived", "archived", "1.0"),
        ("beta", "version-gone", "deprecated", "deprecated", "2.0"),
        ("mal", "quarantine-lifted", "quarantined", "active", None),
    ]
    assert next(e for e in hook.events() if e["kind"] == "yanked")["reason"] == "broken"

    # Nothing changed: nothing sent, and every answer was a 304 (no page downloaded).
    hook.received.clear()
    index_server.reset_stats()
    fourth = run()
    assert fourth.code == 0 and hook.received == []
    assert index_server.stats.full_responses == 0
    assert index_server.stats.not_modified == 5  # ghost... every existing name
    assert index_server.stats.not_found == 1  # doomed: a 404 has no validator

    history = monitor("history", "alpha", "--json")
    assert [e["kind"] for e in json.loads(history.stdout)] == ["archived", "yanked"]


def test_an_outage_is_a_monitoring_problem_never_a_transition(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", "--webhook", hook.url).code == 0
    index_server.fault_all = Fault.SERVER_ERROR
    down = monitor("run", "--webhook", hook.url, "--timeout", "5")
    assert down.code == 3
    assert "lookup failed" in down.stderr and "HTTP 500" in down.stderr
    assert hook.received == []
    index_server.fault_all = None
    back = monitor("run", "--webhook", hook.url)
    assert back.code == 0 and hook.received == []  # unknown never replaced the baselines
    status = monitor("status", "--json")
    assert {i["name"] for i in json.loads(status.stdout)["adverse"]} == {"ghost"}


def test_a_retry_after_http_cannot_read_is_the_usual_backoff_not_a_crash(
    monitor: Callable[..., Run], index_server: IndexServer, requirements_file: Path
) -> None:
    # "Retry-After: ²" (sent as the latin-1 byte 0xB2: a digit to str.isdigit(), not to
    # float()) and a "-0000" date (parsed naive: TypeError against an aware now) each ended
    # the whole pass with exit 5; the names after them were never recorded.
    monitor("add", "--project", "shop", str(requirements_file))
    index_server.retry_after = "\u00b2"
    index_server.inject("alpha", Fault.UNAVAILABLE)
    index_server.inject("beta", Fault.RATE_LIMIT)
    first = monitor("run")
    assert first.code == 0, first.stderr
    assert "6 new baselines" in first.stderr
    assert index_server.stats.by_project["alpha"] == 2  # retried once, then answered
    index_server.retry_after = "Mon, 01 Jan 2024 00:00:00 -0000"
    index_server.set_status("gamma", "archived")
    index_server.inject("gamma", Fault.UNAVAILABLE)
    second = monitor("run")
    assert second.code == 0, second.stderr
    adverse = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert ("gamma", "archived", False) in [(a["name"], a["status"], a["stale"]) for a in adverse]


def test_status_never_shows_as_fine_what_the_last_pass_could_not_check(
    monitor: Callable[..., Run], index_server: IndexServer, requirements_file: Path
) -> None:
    """After a pass whose lookups failed, `status` said "nothing adverse" from answers older
    than that pass, while the index had quarantined a name in the meantime."""
    requirements_file.write_text("alpha==1.0\nbeta==2.0\n")
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run").code == 0
    fine = monitor("status").stdout.decode()
    assert fine.startswith("nothing adverse among 2 watched names\nlast pass finished 20"), fine
    assert fine.endswith(": 2 names, 0 failed lookups\n"), fine
    index_server.set_status("alpha", "quarantined")
    index_server.fault_all = Fault.SERVER_ERROR
    assert monitor("run", "--timeout", "5").code == 3
    text = monitor("status").stdout.decode()
    assert text.endswith(": 2 names, 2 failed lookups\n"), text
    assert "alpha==1.0  active; not checked by the last pass (last answer 20" in text
    assert "beta==2.0  active; not checked by the last pass" in text
    adverse = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert [(a["name"], a["status"], a["stale"]) for a in adverse] == [
        ("alpha", "active", True),
        ("beta", "active", True),
    ]
    index_server.fault_all = None
    assert monitor("run").code == 0
    adverse = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert [(a["name"], a["status"], a["stale"]) for a in adverse] == [
        ("alpha", "quarantined", False)
    ]


def test_a_receiver_outage_queues_the_notice_until_it_is_back(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
    db_url: str,
) -> None:
    monitor("add", "--project", "shop", str(requirements_file))
    monitor("run", "--webhook", hook.url)
    index_server.set_status("alpha", "archived")
    hook.stop()
    down = monitor("run", "--webhook", hook.url)
    assert down.code == 3
    assert "ConnectError" in down.stderr and "1 waiting" in down.stderr
    hook.start()  # same port
    # The retry waits for its backoff (30 s): a run right away leaves it queued ...
    assert monitor("run", "--webhook", hook.url).code == 0
    assert hook.received == []
    # ... and once the backoff has passed (moved to now here), the next run delivers it, once.
    store = open_store(db_url)
    (item,) = store.claim_due([WebhookTarget(hook.url, httpx.AsyncClient()).key], now=1e12)
    assert item.attempts == 1
    store.mark_failed(item.id, "test: due now", next_attempt_at=0)
    store.close()
    up = monitor("run", "--webhook", hook.url)
    assert up.code == 0, up.stderr
    assert [e["kind"] for e in hook.events()] == ["archived"]
    assert "0 waiting" in up.stderr
    assert monitor("run", "--webhook", hook.url).code == 0
    assert len(hook.received) == 1


def test_status_and_history_in_text_and_markdown(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    requirements_file: Path,
    db_url: str,
) -> None:
    monitor("add", "--project", "shop", str(requirements_file))
    monitor("add", "--project", "blog", str(requirements_file))
    before = monitor("status")
    assert "ghost==1.0  not-checked" in before.stdout.decode()
    assert monitor("run").code == 0
    index_server.set_status("beta", "archived", "see beta-ng")
    ran = monitor("run")
    assert ran.code == 0
    assert re.search(r"Z  beta  archived \(active -> archived\): see beta-ng", ran.stdout.decode())
    text = monitor("status").stdout.decode()
    assert text.startswith("blog:\n")
    assert f"  beta==2.0  archived: see beta-ng  ({requirements_file.resolve()})" in text
    markdown = monitor("status", "--markdown").stdout.decode()
    assert "| blog | beta==2.0 | archived: see beta-ng |" in markdown
    assert "| shop | ghost==1.0 | not-found |" in markdown
    history = monitor("history").stdout.decode().splitlines()
    assert len(history) == 1 and history[0].endswith(
        "beta  archived (active -> archived): see beta-ng"
    )
    assert monitor("history", "nothing-here").stdout == b"no transitions recorded\n"


def test_offline_passes_use_the_cache_and_never_ask(
    monitor: Callable[..., Run], index_server: IndexServer, requirements_file: Path, db_url: str
) -> None:
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run").code == 0
    index_server.reset_stats()
    index_server.set_status("alpha", "archived")
    offline = monitor("run", "--offline")
    # Nothing asked: no all-clear (it exited 0 and recorded a fresh pass).
    assert offline.code == 3 and "the index was not asked" in offline.stderr
    refused = monitor("serve", "--offline")
    assert refused.code == 2 and "cannot run offline" in refused.stderr
    assert index_server.stats.requests == 0
    assert b"archived" not in offline.stdout  # the cache cannot know yet
    stale = json.loads(monitor("status", "--json").stdout)["adverse"]  # the cache's answers
    assert {a["name"] for a in stale if a["stale"]} == {
        "alpha", "beta", "gamma", "mal", "doomed", "ghost"
    }  # fmt: skip


def test_a_wrong_index_url_is_a_problem_not_a_storm_of_notices(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    # `run` does not create a database: a mistyped --db is one usage line, not an empty pass.
    missing = monitor("run", "--webhook", hook.url)
    assert missing.code == 2 and "no monitor database" in missing.stderr
    monitor("add", "--project", "shop", str(requirements_file))
    monitor("remove", "--project", "shop")
    empty = monitor("run", "--webhook", hook.url)
    assert empty.code == 3 and "nothing is registered" in empty.stderr
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", "--webhook", hook.url).code == 0
    wrong = index_server.url.replace("/simple/", "/wrong/")
    moved = monitor("run", "--webhook", hook.url, "--index-url", wrong)
    assert moved.code == 3
    assert f"every one of the 6 names that got an answer from {wrong} answered 404" in moved.stderr
    assert hook.received == []
    stale = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert {a["name"] for a in stale if a["stale"]} == {
        "alpha",
        "beta",
        "gamma",
        "mal",
        "doomed",
        "ghost",
    }
    assert monitor("run", "--webhook", hook.url).code == 0
    assert hook.received == []  # no "revived" either: nothing was recorded
    assert {i["name"] for i in json.loads(monitor("status", "--json").stdout)["adverse"]} == {
        "ghost"
    }


def test_a_wrong_index_url_is_told_per_index(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: Callable[..., IndexServer],
    hook: HttpReceiver,
    requirements_file: Path,
    tmp_path: Path,
) -> None:
    """One name on a private index answering with a status let every 404 of a wrong
    --index-url through: a "not-found" notice per name now, a "revived" per name once the URL
    was fixed. The guard is per index: the private index's news still goes out."""
    private = make_index_server(
        [ProjectSpec("corp-internal", files=release("corp-internal", "1.0"))]
    )
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\nrequires-python = ">=3.10"\n\n[[package]]\nname = "corp-internal"\n'
        f'version = "1.0"\nsource = {{ registry = "{private.url}" }}\n'
    )
    monitor("add", "--project", "shop", str(requirements_file), str(lock))
    assert monitor("run", "--webhook", hook.url).code == 0
    private.set_status("corp-internal", "archived")
    wrong = index_server.url.replace("/simple/", "/wrong/")
    moved = monitor("run", "--webhook", hook.url, "--index-url", wrong)
    assert moved.code == 3, moved.stderr
    assert f"every one of the 6 names that got an answer from {wrong} answered 404" in (
        moved.stderr
    )
    assert [(e["name"], e["kind"]) for e in hook.events()] == [("corp-internal", "archived")]
    adverse = json.loads(monitor("status", "--json", "--index-url", wrong).stdout)["adverse"]
    shown = {a["name"]: (a["status"], a["stale"]) for a in adverse}
    assert shown["alpha"] == ("active", True)  # the last pass could not tell
    assert shown["corp-internal"] == ("archived", False)
    fixed = monitor("run", "--webhook", hook.url)
    assert fixed.code == 0, fixed.stderr
    assert len(hook.received) == 1  # no "revived" either: nothing was recorded for it


def test_a_failed_lookup_does_not_hide_a_wrong_index_url(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    make_index_server: Callable[..., IndexServer],
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    """An index of other projects in the configured one's place, and one lookup there failed:
    the failure counted as "not all 404", so every other name sent a "not-found" notice."""
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", "--webhook", hook.url).code == 0
    elsewhere = make_index_server([ProjectSpec("something-else")])
    elsewhere.inject("alpha", Fault.GARBAGE)
    moved = monitor("run", "--webhook", hook.url, "--index-url", elsewhere.url)
    assert moved.code == 3, moved.stderr
    assert "alpha: lookup failed" in moved.stderr
    assert f"every one of the 5 names that got an answer from {elsewhere.url} answered 404" in (
        moved.stderr
    )
    assert hook.received == []
    assert monitor("run", "--webhook", hook.url).code == 0
    assert hook.received == []


def test_a_name_taken_from_another_index_is_not_asked_on_this_one(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    tmp_path: Path,
) -> None:
    """Dependency confusion: 'beta' from a private index is not PyPI's 'beta'."""
    private = "https://private.example/simple/"
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {"type": "library", "name": "alpha", "purl": "pkg:pypi/alpha@1.0"},
            {
                "type": "library",
                "name": "beta",
                "purl": f"pkg:pypi/beta@2.0?repository_url={private}",
            },
            {  # naming the configured index itself is the same as naming none
                "type": "library",
                "name": "gamma",
                "purl": f"pkg:pypi/gamma@3.0?repository_url={index_server.url}",
            },
        ],
    }
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    assert monitor("add", "--project", "shop", str(path)).code == 0
    ran = monitor("run", "--webhook", hook.url)
    assert ran.code == 3
    assert "1 names come from an index that is not allowed" in ran.stderr
    assert f"(e.g. beta from {private})" in ran.stderr
    assert set(index_server.stats.by_project) == {"alpha", "gamma"}
    index_server.set_status("beta", "archived")
    assert monitor("run", "--webhook", hook.url).code == 3
    assert hook.received == []
    adverse = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert [(a["name"], a["status"]) for a in adverse] == [("beta", "other-index")]
    assert private in adverse[0]["reason"]


def test_quiet_runs_say_only_what_went_wrong(
    monitor: Callable[..., Run], index_server: IndexServer, requirements_file: Path
) -> None:
    monitor("add", "--project", "shop", str(requirements_file))
    quiet = monitor("run", "-q")
    assert quiet.code == 0 and quiet.stderr == ""
    index_server.fault_all = Fault.SERVER_ERROR
    failing = monitor("run", "-q", "--timeout", "5")
    assert failing.code == 3
    assert "lookup failed" in failing.stderr and "names checked" not in failing.stderr


def test_a_pass_where_no_name_got_a_status_is_incomplete(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    """The index stops expressing status (below Simple API 1.4, or a sign-in page in its
    place): every name "cannot tell", one not-found beside them. The pass exited 0 and a
    quarantine there went unseen; it checked nothing, so it is incomplete (exit 3)."""
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", "--webhook", hook.url).code == 0
    index_server.api_version = "1.1"
    blind = monitor("run", "--webhook", hook.url)
    assert blind.code == 3, blind.stderr
    assert "no name got a status from the index" in blind.stderr
    assert hook.received == []


def test_a_pass_of_only_statuses_this_version_does_not_know_says_so(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    """Every name "retired" at Simple API 1.4: incomplete, and not blamed on an old index."""
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", "--webhook", hook.url).code == 0
    for name in ("alpha", "beta", "gamma", "mal", "doomed"):
        index_server.set_status(name, "retired")
    blind = monitor("run", "--webhook", hook.url)
    assert blind.code == 3, blind.stderr
    assert "it sent only statuses this version does not know" in blind.stderr
    assert "Simple API < 1.4" not in blind.stderr


def test_a_webhook_named_twice_is_notified_once_and_the_others_too(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    """The same URL twice made two outbox rows with one key: the UNIQUE error rolled the whole
    pass back, so nothing was recorded and no target was ever notified."""
    other = HttpReceiver().start()
    try:
        targets = " ".join((hook.url, other.url, hook.url))
        monitor("add", "--project", "shop", str(requirements_file))
        assert monitor("run", env={"SBOM_ENRICH_WEBHOOK": targets}).code == 0
        index_server.set_status("mal", "quarantined")
        result = monitor("run", env={"SBOM_ENRICH_WEBHOOK": targets})
        assert result.code == 0, result.stderr
        assert len(hook.events()) == 1 and len(other.events()) == 1
    finally:
        other.close()


def test_status_with_nothing_watched_is_no_answer_and_says_when_passes_ran(
    monitor: Callable[..., Run], index_server: IndexServer, requirements_file: Path
) -> None:
    """With every project removed, `status` said "nothing adverse among 0 watched names" and
    exited 0: a check that watched nothing passed. It says so now, exit 3; and what it shows
    carries the time of the pass that asked (a stopped `serve` left old answers looking new)."""
    monitor("add", "--project", "shop", str(requirements_file))
    before = json.loads(monitor("status", "--json").stdout)
    assert before["last_pass"] is None
    assert monitor("run").code == 0
    after = json.loads(monitor("status", "--json").stdout)
    assert after["last_pass"]["names"] >= 1
    assert after["last_pass"]["finished_at"].startswith("20")
    assert after["last_pass"]["failed"] == 0
    assert monitor("remove", "--project", "shop").code == 0
    empty = monitor("status")
    assert empty.code == 3
    assert empty.stdout.decode().startswith("nothing is watched: register"), empty.stdout
    document = monitor("status", "--json")
    assert document.code == 3
    assert json.loads(document.stdout)["warnings"][0].startswith("nothing is watched")
    assert monitor("status", "--markdown").code == 3


def test_an_answer_older_than_the_baseline_notifies_nothing(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
) -> None:
    """The cache still held gamma's "active" from before a --no-cache pass saw it archived;
    an offline pass read that older answer and announced "reactivated" (the index said no such
    thing), then the next pass announced "archived" again."""
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run").code == 0  # baselines; the cache holds these answers
    index_server.set_status("gamma", "archived")
    assert monitor("run", "--no-cache", "--webhook", hook.url).code == 0
    assert [e["kind"] for e in hook.events()] == ["archived"]
    assert monitor("run", "--offline", "--webhook", hook.url).code == 3  # offline: no all-clear
    assert monitor("run", "--webhook", hook.url).code == 0
    assert [e["kind"] for e in hook.events()] == ["archived"]
    history = monitor("history", "gamma").stdout.decode()
    assert "archived" in history and "reactivated" not in history
