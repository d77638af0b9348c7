"""Running a command's lookups: one event loop, one status client per run."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..status.model import StatusRecord
from ..status.settings import ClientSettings
from ..status.untrusted import clean_text
from ..status.urls import redact_url
from .options import RunOptions
from .terminal import Progress, is_terminal

logger = logging.getLogger("sbom_enrich")

T = TypeVar("T")


def run_async(work: Awaitable[T]) -> T:
    """``asyncio.run(work)``, but the result never becomes the main task's result.

    On its way out asyncio.Runner asks ``signal.getsignal(SIGINT)``, which tries to map its
    own handler to an enum and so formats the handler's repr: the main task, result and all
    (~40 ms for the records of 1,000 components).
    """
    results: list[T] = []

    async def main() -> None:
        results.append(await work)

    asyncio.run(main())
    return results[0]


async def with_client(settings: ClientSettings, work: Any) -> Any:
    logger.debug(
        "index %s, concurrency %d, timeout %s s, cache %s%s",
        redact_url(settings.index_url),
        settings.concurrency,
        settings.timeout,
        settings.resolved_cache_dir if settings.use_cache else "off",
        ", offline" if settings.offline else "",
    )
    # Imported here: httpx and the transports cost ~0.1 s that --help, --version and
    # `cache info` never need.
    from ..status.compose import open_status_client

    async with open_status_client(settings) as client:
        try:
            return await work(client)
        finally:
            logger.info(
                "%d requests, %d bytes downloaded, %d not modified",
                client.requests,
                client.bytes_downloaded,
                client.not_modified,
            )


class AnswerWatcher:
    """Sees each answer as it arrives: moves the progress line, and at ``-vv`` logs it."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def __call__(self, record: StatusRecord, done: int, total: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: %s%s%s",
                record.name,
                record.status.value,
                " (from the cache)" if record.from_cache else "",
                f" ({clean_text(record.error, 200)})" if record.error else "",
            )
        if self._progress is not None:
            self._progress.update(done, total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.close()


def watch_answers(options: RunOptions) -> AnswerWatcher:
    """A progress line on a terminal's stderr unless ``-q``; nothing on a pipe or a file."""
    progress = None
    if not options.quiet and is_terminal(sys.stderr):
        host = urlsplit(options.client.index_url).hostname or "the index"
        progress = Progress(sys.stderr, waiting_for=host)
    return AnswerWatcher(progress)
