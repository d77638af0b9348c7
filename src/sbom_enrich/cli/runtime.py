"""Running a command's lookups: one event loop, one status client per run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from ..status.compose import open_status_client
from ..status.settings import ClientSettings

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
