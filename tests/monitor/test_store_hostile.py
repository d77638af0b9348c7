"""Odd --db URLs: one usage line (exit 2), no traceback, no password shown, no file made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://monitor:pw5ecret@[::1/monitor",  # unclosed IPv6 bracket: urlsplit raises
        "sqlite:///%00.db",  # a NUL byte in the path: sqlite3/pathlib raise ValueError
        "sqlite:///monitor.db?mode=ro",  # the query was ignored: opened read-write anyway
        "sqlite:///monitor.db#x",
    ],
)
def test_an_odd_db_url_is_one_usage_line(url: str, project: Path, cli: Callable[..., Run]) -> None:
    run = cli("monitor", "list", "--db", url)
    assert run.code == 2, run.stderr
    assert run.stderr.startswith("sbom-enrich: error: ") and run.stderr.count("\n") == 1
    assert "pw5ecret" not in run.stderr
    assert list(project.iterdir()) == []


def test_monitor_serve_refuses_to_show_the_inventory_beyond_loopback_without_tokens(
    project: Path, cli: Callable[..., Run]
) -> None:
    # The API lists every project's files, names and versions; `serve` already refused this.
    run = cli("monitor", "serve", "--host", "0.0.0.0", "--db", "sqlite:///m.db")
    assert run.code == 2, run.stderr
    assert "--token-file" in run.stderr and run.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.example:99999/services/T0/B0/s3cretpath",  # port out of range
        "https://[::1/services/T0/B0/s3cretpath",  # unclosed bracket
        "ftp://hooks.slack.example/services/T0/B0/s3cretpath",
    ],
)
def test_a_bad_webhook_url_is_one_line_that_does_not_show_its_path(
    url: str, project: Path, cli: Callable[..., Run]
) -> None:
    # A Slack webhook's path is its credential; the index URL's message quoted it whole.
    run = cli("monitor", "run", "--slack-webhook", url, "--db", "sqlite:///m.db")
    assert run.code == 2, run.stderr
    assert "s3cretpath" not in run.stderr and run.stderr.count("\n") == 1


def test_monitor_serve_stays_on_asyncios_event_loop(
    project: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvloop is installed for the CLI's lookups; the monitor was not tried on it.
    import uvicorn

    loops: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: loops.append(options["loop"]))
    run = cli("monitor", "serve", "--db", "sqlite:///m.db")
    assert run.code == 0, run.stderr
    assert loops == ["asyncio"]
