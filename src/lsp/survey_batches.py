"""The ``maintenance`` setting's batches: projects whose index answers arrived, asked together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sbom_enrich.status.repository.survey import MaintenanceQuestion

#: GitHub's GraphQL API answers up to 100 repositories a request: a batch is at most that.
BATCH_SIZE = 100
#: The longest a question waits for its batch to fill while index lookups are still running;
#: once none are, what is waiting goes at once.
MAX_BATCH_WAIT = 0.5

AskBatch = Callable[[list["MaintenanceQuestion"]], Coroutine[Any, Any, None]]
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class SurveyBatches:
    """Gathers maintenance questions and sends them ``size`` at a time, never blocking.

    One survey call per batch means one GraphQL request per 100 GitHub repositories (and one
    REST request each elsewhere), instead of one call — and one GraphQL request — per
    dependency. A batch goes when it is full, when the index lookups have all answered
    (:meth:`send_when_idle`), or ``max_wait`` seconds after its first question, whichever is
    first: the diagnostics from the index never wait for it.
    """

    def __init__(
        self,
        ask: AskBatch,
        spawn: Spawn,
        *,
        size: int = BATCH_SIZE,
        max_wait: float = MAX_BATCH_WAIT,
    ) -> None:
        self._ask = ask
        self._spawn = spawn
        self.size = max(1, size)
        self.max_wait = max_wait
        self._waiting: dict[str, MaintenanceQuestion] = {}
        #: Names sent and not answered yet (never asked twice meanwhile).
        self._asking: set[str] = set()
        self._timer: asyncio.Task[Any] | None = None
        self.batches_sent = 0

    def __contains__(self, name: object) -> bool:
        return name in self._waiting or name in self._asking

    def add(self, question: MaintenanceQuestion) -> None:
        """Queue ``question`` unless its project is queued or being asked already."""
        if question.name in self:
            return
        self._waiting[question.name] = question
        while len(self._waiting) >= self.size:
            self._send(self.size)
        if self._waiting and (self._timer is None or self._timer.done()):
            self._timer = self._spawn(self._send_later())

    def send_when_idle(self) -> None:
        """No index lookup is running: nothing more is coming soon, send what waits."""
        if self._waiting:
            self._send(len(self._waiting))

    def clear(self) -> None:
        """Drop what waits (the survey is going away); batches in flight finish unheard."""
        self._waiting.clear()
        self._asking.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _send_later(self) -> None:
        await asyncio.sleep(self.max_wait)
        self._timer = None  # this task is ending: _send must not cancel it
        self._send(len(self._waiting))

    def _send(self, count: int) -> None:
        names = list(self._waiting)[:count]
        if not names:
            return
        batch = [self._waiting.pop(name) for name in names]
        self._asking.update(names)
        self.batches_sent += 1
        self._spawn(self._asked(batch))
        if not self._waiting and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _asked(self, batch: Sequence[MaintenanceQuestion]) -> None:
        try:
            await self._ask(list(batch))
        finally:
            self._asking.difference_update(question.name for question in batch)
