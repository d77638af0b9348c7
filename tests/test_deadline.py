"""``within``: a deadline that never loses the caller's cancellation (unlike ``wait_for``)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sbom_enrich._deadline import within, within_by_task

Bound = Callable[[Awaitable[Any], float], Awaitable[Any]]

# within_by_task is Python 3.10's within; it runs (and is held to the same rules) here too.
BOUNDS = [pytest.param(within, id="within"), pytest.param(within_by_task, id="by_task")]


async def _cancelled_as_it_finishes(bound: Bound) -> asyncio.Task[Any]:
    """A caller cancelled in the same turn of the loop as the awaitable it bounds finishes
    (one callback does both: a service shut down as a receiver answers)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()
    task = asyncio.create_task(bound(answer, 60))
    await asyncio.sleep(0)  # the caller waits for the answer

    def both() -> None:
        answer.set_result("answered")
        task.cancel()

    loop.call_soon(both)
    await asyncio.wait({task})
    return task


@pytest.mark.parametrize("bound", BOUNDS)
async def test_a_cancellation_in_the_turn_the_awaitable_finishes_is_kept(bound: Bound) -> None:
    task = await _cancelled_as_it_finishes(bound)
    assert task.cancelled()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps it from Python 3.12")
async def test_the_race_is_real_wait_for_loses_that_cancellation() -> None:
    # What the test above guards against: on 3.10 and 3.11 the caller got the answer and
    # carried on as if never cancelled.
    task = await _cancelled_as_it_finishes(asyncio.wait_for)
    assert not task.cancelled() and task.result() == "answered"


@pytest.mark.parametrize("bound", BOUNDS)
async def test_a_cancellation_in_the_turn_the_deadline_passes_is_kept(bound: Bound) -> None:
    """The deadline and a cancellation from outside, seen in one turn (the loop stalled
    across both): the cancellation goes on up, not a TimeoutError the caller would take for
    a slow answer and carry on after."""
    loop = asyncio.get_running_loop()
    never: asyncio.Future[None] = loop.create_future()
    task = asyncio.create_task(bound(never, 0.2))
    await asyncio.sleep(0)
    deadline = loop.time() + 0.2
    loop.call_at(deadline - 0.1, time.sleep, 0.3)  # both are due when the loop runs again
    loop.call_at(deadline + 0.01, task.cancel)
    await asyncio.wait({task})
    assert task.cancelled()
    assert never.cancelled()  # the awaitable does not run on


@pytest.mark.parametrize("bound", BOUNDS)
async def test_the_deadline_ends_the_awaitable_with_timeout_error(bound: Bound) -> None:
    ended: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            ended.append("cancelled")

    with pytest.raises(asyncio.TimeoutError):
        await bound(slow(), 0.01)
    assert ended == ["cancelled"]  # ended before the call returned, not left running


@pytest.mark.parametrize("bound", BOUNDS)
async def test_an_answer_or_an_error_in_time_is_passed_on(bound: Bound) -> None:
    async def answer() -> str:
        await asyncio.sleep(0)
        return "answered"

    async def fails() -> None:
        await asyncio.sleep(0)
        raise LookupError("refused")

    assert await bound(answer(), 60) == "answered"
    with pytest.raises(LookupError, match="refused"):
        await bound(fails(), 60)


def test_no_module_bounds_an_await_with_wait_for() -> None:
    # Each one lost a cancellation somewhere: a transport's connect, a webhook delivery at
    # shutdown, a request body read. A new deadline uses within().
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src"
    users = sorted(
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if "wait_for(" in path.read_text(encoding="utf-8") and path.name != "_deadline.py"
    )
    assert users == []
