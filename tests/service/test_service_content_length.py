"""A request's Content-Length is read as HTTP's digits by the app, whatever server is in front."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from starlette.requests import Request
from starlette.types import Message

from sbom_enrich.errors import ApiError
from sbom_enrich.service.app import _small, read_body


def upload(content_length: bytes, body: bytes) -> Request:
    """A POST as the ASGI server hands it over, with this Content-Length as sent."""
    service = SimpleNamespace(settings=SimpleNamespace(request_timeout=5.0))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/enrich",
        "query_string": b"",
        "headers": [(b"content-length", content_length)],
        "app": SimpleNamespace(state=SimpleNamespace(service=service)),
    }
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return Request(scope, receive)


@pytest.mark.parametrize("content_length", [b"\xb2", "\u0661".encode()], ids=["²", "١"])
async def test_a_length_that_is_no_number_is_not_read_as_one(content_length: bytes) -> None:
    # "²" (latin-1 0xB2) is a digit to str.isdigit(): int("²") raised ValueError, a 500 behind
    # a server that passes the header (h11 refuses it, uvicorn's httptools too).
    body = await read_body(upload(content_length, b"{}"), 100, time.monotonic() + 5)
    assert body == b"{}"


async def test_a_length_of_thousands_of_digits_is_too_large_not_a_crash() -> None:
    with pytest.raises(ApiError) as refused:  # int() of 5,000 digits raised ValueError
        await read_body(upload(b"9" * 5000, b"{}"), 100, time.monotonic() + 5)
    assert refused.value.status == 413


def test_only_a_small_declared_body_is_drained() -> None:
    assert _small({b"content-length": b"12"})
    assert not _small({b"content-length": b"9" * 5000})  # int() raised ValueError
    assert not _small({b"content-length": b"\xb2"})
    assert not _small({b"content-length": b"12", b"transfer-encoding": b"chunked"})
