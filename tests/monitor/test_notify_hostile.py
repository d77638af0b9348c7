"""Receivers that never finish answering: the delivery fails within its bound, nothing hangs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from sbom_enrich.monitor import notify
from sbom_enrich.monitor.notify import DeliveryError, WebhookTarget

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
NOTICE = {"event_id": "e1", "name": "alpha", "kind": "archived"}


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        0,
    )  # fmt: skip
    await reader.readexactly(length)


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, then sends its answer one byte a second, for ever (each read is quick)."""
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    while True:
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.2)


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, then streams a body with no end as fast as it is read."""
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    while True:
        writer.write(chunk)
        await writer.drain()


async def _serve(handler: Handler) -> AsyncIterator[str]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()


async def _send(handler: Handler) -> None:
    serving = _serve(handler)
    url = await serving.__anext__()
    try:
        async with httpx.AsyncClient(follow_redirects=False) as http:
            await WebhookTarget(url, http).send(NOTICE)
    finally:
        await serving.aclose()


def test_a_receiver_dripping_its_answer_fails_the_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each byte comes well within the per-read timeout: only a bound on the whole exchange
    # ends it (before, the pass waited for ever).
    monkeypatch.setattr(notify, "SEND_TIMEOUT", 1.0)
    with pytest.raises(DeliveryError, match=r"TimeoutError from http://127\.0\.0\.1"):
        asyncio.run(_send(_drip))


def test_a_receiver_with_an_endless_answer_is_read_only_in_part() -> None:
    # A 2xx accepts the notice; the answer is read up to a bound (before: read whole, for
    # ever, into memory).
    asyncio.run(_send(_endless))
