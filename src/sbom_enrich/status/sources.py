"""The status-source interface (pip-audit's VulnerabilityService shape); the Simple API source."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from typing import Generic, TypeVar

from .client import StatusClient
from .model import StatusRecord

__all__ = ["SimpleApiSource", "StatusSource"]

Subject = TypeVar("Subject")
Answer = TypeVar("Answer")


class StatusSource(ABC, Generic[Subject, Answer]):
    """One place that answers questions about projects: the index, a forge, an advisory feed.

    ``query`` answers one subject and never raises for network or data trouble (a failed
    lookup is an answer saying so). ``query_all`` answers many; the default asks them one by
    one, concurrently, and yields each answer as it arrives. A source that can batch (GitHub's
    GraphQL takes 100 repositories a request) or that has a faster bulk path overrides it.
    """

    #: Short name shown in notes and ``--help`` ("index", "repository").
    name: str = ""

    @abstractmethod
    async def query(self, subject: Subject) -> Answer:
        """The answer for one subject."""

    async def query_all(self, subjects: Iterable[Subject]) -> AsyncIterator[Answer]:
        """Every subject's answer, as each arrives (order not kept)."""
        pending = [asyncio.ensure_future(self.query(subject)) for subject in subjects]
        try:
            for next_done in asyncio.as_completed(pending):
                yield await next_done
        finally:
            for task in pending:
                task.cancel()


class SimpleApiSource(StatusSource[str, StatusRecord]):
    """The index's Simple API (PEP 691/792) through the shared :class:`StatusClient`.

    Coalescing, concurrency, retries, the breaker and the cache stay in the client; this is
    only its face as a source. ``index_url`` picks another allowed index (a purl qualifier).
    """

    name = "index"

    def __init__(self, client: StatusClient, index_url: str | None = None) -> None:
        self._client = client
        self._index_url = index_url

    @property
    def client(self) -> StatusClient:
        return self._client

    async def query(self, subject: str) -> StatusRecord:
        return await self._client.lookup(subject, self._index_url)

    async def query_all(self, subjects: Iterable[str]) -> AsyncIterator[StatusRecord]:
        # The client's own bulk path: fresh cache hits at once, without a task per name.
        async for record in self._client.lookup_many(subjects, self._index_url):
            yield record
