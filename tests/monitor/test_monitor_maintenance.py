"""``monitor run --maintenance``: the repository source's verdicts, recorded and notified apart
from the index's status, against the fake forge (GitHub GraphQL/REST, PyPI's JSON API)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import HttpReceiver
from serveprocess import eventually, metric, monitor_serve

from cli_runner import Run
from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer
from sbom_enrich.monitor.app import MonitorService, _StoreCollector
from sbom_enrich.monitor.notify import notice_text
from sbom_enrich.monitor.store import open_store
from sbom_enrich.status.model import format_rfc3339, utc_now

TOKEN = "ghp_monitor_S3CRET_never_print_me"


def recent() -> str:
    # Relative to today: "active" must not turn "stale" as the calendar moves on.
    return format_rfc3339(utc_now() - timedelta(days=10))


async def _no_pass() -> Any:
    raise AssertionError("no pass is run here")


def forge_env(forge: FakeForge) -> dict[str, str]:
    """The repository source pointed at the fake forge, with a token it must never show."""
    return {
        "SBOM_ENRICH_GITHUB_API_URL": f"{forge.url}/github",
        "SBOM_ENRICH_PROJECT_API_URL": f"{forge.url}/pypi",
        "GITHUB_TOKEN": TOKEN,
    }


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    def project(name: str) -> dict[str, object]:
        return {
            "info": {"name": name, "project_urls": {"Source": f"https://github.com/org/{name}"}}
        }

    with FakeForge(
        github={
            "org/alpha": FakeRepo(pushed_at=recent(), committed_at=recent()),
            "org/beta": FakeRepo(pushed_at=recent(), committed_at=recent()),
        },
        projects={name: project(name) for name in ("alpha", "beta")},
    ) as server:
        yield server


def test_repository_transitions_are_noticed_apart_from_the_index_status(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    forge: FakeForge,
    hook: HttpReceiver,
    tmp_path: Path,
    db_url: str,
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("alpha==1.0\nbeta==2.0\n")
    env = forge_env(forge)
    # --no-cache: each pass asks the forge (with the cache a repository answer lasts 24 h).
    run = lambda *more: monitor(  # noqa: E731
        "run", "--maintenance", "--no-cache", "--webhook", hook.url, *more, env=env
    )
    assert monitor("add", "--project", "shop", str(requirements)).code == 0

    # Without --maintenance nothing is asked of the forge.
    assert monitor("run", "--webhook", hook.url, env=env).code == 0
    assert forge.seen == []

    first = run()
    assert first.code == 0, first.stderr
    assert "maintenance: 2 names judged, 0 unknown" in first.stderr
    assert hook.received == []  # first sight is a baseline, for this signal too

    forge.github["org/alpha"].archived = True
    second = run()
    assert second.code == 0, second.stderr
    (event,) = hook.events()
    assert event["type"] == "sbom-enrich.monitor.maintenance"
    assert (event["name"], event["kind"], event["signal"]) == (
        "alpha",
        "repository-archived",
        "maintenance",
    )
    assert (event["old_maintenance"], event["new_maintenance"]) == ("active", "repository-archived")
    assert event["index_status"] == "active"  # the index's status is not touched
    assert "old_status" not in event and "new_status" not in event
    assert event["repository"]["url"] == "https://github.com/org/alpha"
    assert event["repository"]["archived"] is True
    assert event["repository"]["last_commit"] == forge.github["org/alpha"].committed_at
    assert event["used_by"] == [
        {"project": "shop", "file": str(requirements.resolve()), "version": "1.0"}
    ]
    text = notice_text(event)
    assert text.startswith("alpha: maintenance active \u2192 maintenance repository-archived")
    assert "Repository: https://github.com/org/alpha (archived: true, last commit: " in text

    # A failed forge lookup is unknown: no notice, and the baseline stays.
    hook.received.clear()
    forge.rate_limit = len(forge.seen)  # every request from now on is rate limited
    limited = run()
    assert limited.code == 0, limited.stderr
    assert "2 unknown (no notice for those)" in limited.stderr
    assert hook.received == []
    forge.rate_limit = None
    assert run().code == 0
    assert hook.received == []  # alpha is still archived: nothing new

    # Back to active, and a repository that is gone.
    forge.github["org/alpha"].archived = False
    del forge.github["org/beta"]
    # (the environment twin turns it on as the flag does)
    back = monitor(
        "run", "--no-cache", "--webhook", hook.url, env={**env, "SBOM_ENRICH_MAINTENANCE": "1"}
    )
    assert back.code == 0, back.stderr
    assert sorted((e["name"], e["kind"]) for e in hook.events()) == [
        ("alpha", "maintained-again"),
        ("beta", "repository-gone"),
    ]

    # status shows the verdict beside the index's status; history names the signal.
    adverse = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert [(a["name"], a["status"], a["maintenance"]["verdict"]) for a in adverse] == [
        ("beta", "active", "repository-gone")
    ]
    assert "beta==2.0  maintenance: repository-gone" in monitor("status").stdout.decode()
    history = monitor("history", "alpha").stdout.decode().splitlines()
    assert len(history) == 2
    assert (
        "  alpha  maintenance repository-archived (active -> repository-archived): " in (history[0])
    )
    assert "repository https://github.com/org/alpha" in history[0]  # the evidence
    assert "  alpha  maintenance maintained-again (repository-archived -> active)" in history[1]
    assert json.loads(monitor("history", "alpha", "--json").stdout)[0] == event
    # The metrics every replica reports count the recorded verdicts.
    store = open_store(db_url)
    collected = {
        (metric.name, sample.labels.get("verdict")): sample.value
        for metric in _StoreCollector(MonitorService(store, 900.0, _no_pass)).collect()
        for sample in metric.samples
    }
    store.close()
    assert collected[("sbom_enrich_monitor_maintenance_names", "active")] == 1
    assert collected[("sbom_enrich_monitor_maintenance_names", "repository-gone")] == 1
    assert collected[("sbom_enrich_monitor_maintenance_names", "stale")] == 0

    every = hook.events() + [event]
    assert all(TOKEN not in json.dumps(e) for e in every)
    assert TOKEN not in back.stderr and TOKEN not in back.stdout.decode()


def test_the_repository_an_sbom_names_is_the_one_judged(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    forge: FakeForge,
    tmp_path: Path,
) -> None:
    """As `enrich` reads them: the component's vcs reference, before the project's metadata."""
    forge.github["elsewhere/gamma-src"] = FakeRepo(archived=True, committed_at=recent())
    component = {
        "type": "library",
        "name": "gamma",
        "purl": "pkg:pypi/gamma@3.0",
        "externalReferences": [
            {"type": "website", "url": "https://example.org/gamma"},
            {"type": "vcs", "url": "git+https://github.com/elsewhere/gamma-src.git"},
        ],
    }
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [component]}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    assert monitor("add", "--project", "shop", str(path)).code == 0
    env = forge_env(forge)
    ran = monitor("run", "--maintenance", "--no-cache", env=env)
    assert ran.code == 0, ran.stderr
    assert forge.count("/pypi/") == 0  # the SBOM said where the repository is
    (item,) = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert (item["name"], item["status"]) == ("gamma", "active")
    assert item["maintenance"]["verdict"] == "repository-archived"
    assert item["maintenance"]["repository"]["url"] == "https://github.com/elsewhere/gamma-src"


def test_serve_with_maintenance_records_shows_and_notifies_once(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    forge: FakeForge,
    hook: HttpReceiver,
    tmp_path: Path,
    db_url: str,
) -> None:
    """The continuous mode as users run it: `monitor serve --maintenance` on a schedule."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("alpha==1.0\nbeta==2.0\n")
    assert monitor("add", "--project", "shop", str(requirements)).code == 0
    env: dict[str, str] = {
        "SBOM_ENRICH_DB": db_url,
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_WEBHOOK": hook.url,
        **forge_env(forge),
    }
    verdicts = 'sbom_enrich_monitor_maintenance_names{verdict="%s"}'
    with monitor_serve(tmp_path, env, "--maintenance", "--no-cache", "--interval", "0.5") as base:
        eventually(lambda: metric(base, verdicts % "active") == 2, "a first judged pass")
        assert hook.received == []  # the first verdicts are baselines
        assert forge.count("/github") > 0

        forge.github["org/alpha"].archived = True
        eventually(lambda: len(hook.received) == 1, "the maintenance notice")
        (event,) = hook.events()
        assert event["type"] == "sbom-enrich.monitor.maintenance"
        assert (event["name"], event["kind"]) == ("alpha", "repository-archived")
        assert event["used_by"] == [
            {"project": "shop", "file": str(requirements.resolve()), "version": "1.0"}
        ]

        (item,) = httpx.get(f"{base}/v1/monitor/status").json()["adverse"]
        assert (item["name"], item["status"]) == ("alpha", "active")  # the index's, untouched
        assert item["maintenance"]["verdict"] == "repository-archived"
        assert item["maintenance"]["repository"]["url"] == "https://github.com/org/alpha"
        history = httpx.get(f"{base}/v1/monitor/history", params={"name": "alpha"}).json()
        assert [h["event_id"] for h in history] == [event["event_id"]]
        assert metric(base, verdicts % "repository-archived") == 1
        assert metric(base, verdicts % "active") == 1
        assert metric(base, "sbom_enrich_monitor_notification_backlog") == 0

        # Two more scheduled passes that ask the forge again: still the one notice.
        passes = metric(base, "sbom_enrich_monitor_passes_total") or 0
        eventually(
            lambda: (metric(base, "sbom_enrich_monitor_passes_total") or 0) >= passes + 2,
            "two more passes",
        )
    assert len(hook.received) == 1
    assert all(TOKEN not in r.body.decode() for r in hook.received)
