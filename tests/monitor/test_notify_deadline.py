"""Deliveries have deadlines: a dripping receiver costs a retry later, a stop stays a stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import DrippingSmtpServer

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor import notify
from sbom_enrich.monitor.notify import DeliveryError, DeliveryResult, MailTarget, WebhookTarget


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


async def _turns_until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("not reached in 1000 turns of the loop")


async def test_a_monitor_stopped_as_a_webhook_answers_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown cancels the schedule. When that landed in the turn a receiver's answer
    arrived, asyncio.wait_for (Python 3.11) returned the answer and dropped the cancellation:
    the schedule ran on, and `monitor serve`'s shutdown, which waits for it, never ended."""
    from sbom_enrich.monitor.app import MonitorService
    from sbom_enrich.monitor.run import PassResult
    from sbom_enrich.monitor.store import open_store

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()
    asked: list[str] = []

    async def exchange(*args: Any) -> str:
        asked.append(args[1])
        return await answer

    monkeypatch.setattr(notify, "_exchange", exchange)
    async with httpx.AsyncClient() as http:
        target = WebhookTarget("http://127.0.0.1:9/hook", http)

        async def run() -> tuple[PassResult, DeliveryResult]:
            await target.send({"event_id": "e1", "name": "alpha"})
            return PassResult(), DeliveryResult(delivered=1)

        store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
        service = MonitorService(store, interval=3600, run=run, retry_every=0.01)
        schedule = asyncio.create_task(service.schedule())
        await _turns_until(lambda: bool(asked))  # the pass waits for the receiver's answer

        def answered_and_stopped() -> None:
            answer.set_result("ok")
            schedule.cancel()

        loop.call_soon(answered_and_stopped)
        try:
            await _turns_until(schedule.done)
            assert schedule.cancelled()
        finally:
            schedule.cancel()
            store.close()


async def test_an_smtp_delivery_cancelled_as_it_ends_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    sent: asyncio.Future[None] = loop.create_future()

    async def to_thread(*args: Any) -> None:
        await sent  # the SMTP dialogue in its thread

    monkeypatch.setattr(notify.asyncio, "to_thread", to_thread)
    target = MailTarget("127.0.0.1", 9, "a@x.test", ("b@x.test",))
    delivery = asyncio.create_task(target.send({"event_id": "e1", "name": "alpha"}))
    await asyncio.sleep(0)

    def sent_and_stopped() -> None:
        sent.set_result(None)
        delivery.cancel()

    loop.call_soon(sent_and_stopped)
    await asyncio.wait({delivery})
    assert delivery.cancelled()
