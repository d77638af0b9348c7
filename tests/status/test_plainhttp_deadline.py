"""A lookup's deadline ends its request even when it passes just as a connection opens."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import pytest

from sbom_enrich.status._http.plain import PlainHTTPTransport


class _SilentTransport(asyncio.Transport):
    """A connection that was made, and records what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout_at is Python 3.11+")
async def test_a_deadline_passing_as_the_connect_completes_ends_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flake of test_a_slow_but_answering_index_never_trips_the_breaker, made certain:
    the loop is starved past the lookup's deadline (a busy machine), and when it runs again
    the connect has completed and the deadline has passed, in the same turn. asyncio.wait_for
    (Python 3.11) then returned the connection and dropped the cancellation: the request
    went out past its deadline and ended in the read timeout, not the deadline."""
    loop = asyncio.get_running_loop()
    opened: list[_SilentTransport] = []
    connected = loop.create_future()

    async def create_connection(factory: Any, *args: Any, **kwargs: Any) -> Any:
        await connected
        transport = _SilentTransport()
        protocol = factory()
        protocol.connection_made(transport)
        opened.append(transport)
        return transport, protocol

    monkeypatch.setattr(loop, "create_connection", create_connection)
    plain = PlainHTTPTransport(httpx.AsyncHTTPTransport(), limit=4)
    deadline = loop.time() + 0.2
    # The loop stalls across the deadline; the connect completes just before it.
    loop.call_at(deadline - 0.1, time.sleep, 0.3)
    loop.call_at(deadline - 0.01, connected.set_result, None)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout_at(deadline):
            await plain.send_bodiless(
                "GET",
                ("http", "127.0.0.1", 9),
                b"/simple/slow/",
                [(b"Host", b"127.0.0.1:9")],
                {"connect": 5.0, "read": 5.0, "pool": None},
            )
    assert not any(t.written for t in opened)  # nothing was sent past the deadline
    await plain.aclose()
