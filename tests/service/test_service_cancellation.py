"""A request handler cancelled as the body it waits for arrives stays cancelled."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from sbom_enrich.service.app import CloseOnUnreadBody, read_body

BODY = b'{"names": ["alpha"]}'


def _arriving_body() -> tuple[asyncio.Future[Message], Receive]:
    """An ASGI ``receive`` whose one message (the whole body) arrives when the test says."""
    message: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    async def receive() -> Message:
        return await message

    return message, receive


async def _cancel_as_it_arrives(task: asyncio.Task[Any], message: asyncio.Future[Message]) -> None:
    """The body and the handler's cancellation (the server giving up on it at shutdown) in
    the same turn of the loop: asyncio.wait_for (Python 3.11) then handed over the body and
    dropped the cancellation, and the handler went on to do the request's work."""
    await asyncio.sleep(0)  # the handler waits for its body

    def both() -> None:
        message.set_result({"type": "http.request", "body": BODY, "more_body": False})
        task.cancel()

    asyncio.get_running_loop().call_soon(both)
    await asyncio.wait({task})


async def test_reading_a_body_cancelled_as_it_arrives_is_cancelled() -> None:
    message, receive = _arriving_body()
    settings = SimpleNamespace(request_timeout=30.0)
    app = SimpleNamespace(state=SimpleNamespace(service=SimpleNamespace(settings=settings)))
    scope: Scope = {"type": "http", "method": "POST", "headers": [], "app": app}
    request = Request(scope, receive)
    handler = asyncio.create_task(read_body(request, 1 << 20, time.monotonic() + 30))
    await _cancel_as_it_arrives(handler, message)
    assert handler.cancelled()


async def test_draining_a_body_cancelled_as_it_arrives_sends_no_answer() -> None:
    message, receive = _arriving_body()
    sent: list[Message] = []

    async def refuses_unread(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 415, "headers": []})

    async def send(answer: Message) -> None:
        sent.append(answer)

    length = str(len(BODY)).encode()
    scope: Scope = {"type": "http", "headers": [(b"content-length", length)]}
    handler = asyncio.create_task(CloseOnUnreadBody(refuses_unread)(scope, receive, send))
    await _cancel_as_it_arrives(handler, message)
    assert handler.cancelled()
    assert sent == []
