"""An SMTP receiver that drips its replies costs a retry later, never a stuck pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from receivers import DrippingSmtpServer

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor import notify
from sbom_enrich.monitor.notify import DeliveryError, MailTarget


@pytest.fixture
def dripping() -> Iterator[DrippingSmtpServer]:
    server = DrippingSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_the_whole_smtp_dialogue_has_a_deadline(dripping: DrippingSmtpServer) -> None:
    target = MailTarget("127.0.0.1", dripping.port, "a@x.test", ("b@x.test",), deadline=1.0)
    with pytest.raises(DeliveryError, match="no complete SMTP dialogue .* within 1 s"):
        asyncio.run(target.send({"event_id": "e1", "name": "alpha"}))
    # The connection was cut by the client at its deadline, not by the server giving up.
    assert dripping.client_left.wait(5)


def test_a_dripping_receiver_leaves_the_notice_queued_and_the_pass_finishes(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    requirements_file: Path,
    dripping: DrippingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notify, "SEND_TIMEOUT", 1.0)
    targets = (
        "--smtp", f"127.0.0.1:{dripping.port}",
        "--mail-from", "monitor@example.test",
        "--mail-to", "team@example.test",
    )  # fmt: skip
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", *targets).code == 0
    index_server.set_status("alpha", "archived")
    index_server.set_status("beta", "deprecated")
    run = monitor("run", *targets)
    assert run.code == 3, run.stderr
    # One try costs the deadline; the receiver's other notice is not tried in the same pass.
    assert run.stderr.count(f"monitor: smtp 127.0.0.1:{dripping.port}: event ") == 1
    assert "within 1 s" in run.stderr
    assert "0 notices delivered, 1 failed; 2 waiting" in run.stderr
