"""One deadline around an awaitable, without ``asyncio.wait_for``'s extra task on 3.11+."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[T], seconds: float) -> T:
        """``asyncio.wait_for`` without its extra task per call (~20 µs a request)."""
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10
    within = asyncio.wait_for
