"""Bounds on what an index can make one lookup hold: body size after decoding, header count."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import httpx

#: The default bound on a page after decoding. PyPI's largest project pages (nightly builds
#: with tens of thousands of files) are tens of MB of JSON; 64 MiB holds them with room.
DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024
#: Response headers accepted per answer (PyPI sends about 25) and their bytes in all. h11 and
#: h2 bound a head that arrives in pieces (64 KiB here, 100 KiB in httpcore, 64 KiB of decoded
#: HPACK) but not one that arrives in a single read, hence the check on every answer.
MAX_HEADERS = 128
MAX_HEADER_BYTES = 64 * 1024
#: The encodings we ask for and can decode with a bound on the output (no brotli/zstd: their
#: decoders in httpx cannot be told to stop early, and every index serves gzip).
ACCEPT_ENCODING = "gzip, deflate"


class AnswerRefused(Exception):
    """An answer the client will not hold or read; the message is short and safe to print."""


def describe_size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    """Refuse too many headers, or too many header bytes."""
    if len(headers) > MAX_HEADERS:
        raise AnswerRefused(f"answer has more than {MAX_HEADERS} headers")
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        raise AnswerRefused(f"answer has more than {MAX_HEADER_BYTES // 1024} KiB of headers")


def check_head(response: httpx.Response, max_bytes: int) -> None:
    """Refuse an answer by its head alone: too many headers, or a body declared too large."""
    check_headers(response.headers.raw)
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")


def _decoder(content_encoding: str) -> Callable[[bytes, int], bytes] | None:
    """A bounded decode step for the body's coding (None: identity); AnswerRefused if unknown.

    httpx's own decoders write out everything a chunk inflates to, ~1000x its size (a 4 MB
    gzip bomb became 4 GB); ``zlib``'s ``max_length`` stops at the bound instead.
    """
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise AnswerRefused("answer in an unsupported Content-Encoding")
    raw_deflate_fallback = codings[0] == "deflate"
    state: list[zlib._Decompress] = [
        zlib.decompressobj(zlib.MAX_WBITS if raw_deflate_fallback else zlib.MAX_WBITS | 16)
    ]
    started: list[bool] = [False]

    def decode(data: bytes, max_length: int) -> bytes:
        try:
            out = state[0].decompress(data, max_length)
        except zlib.error:
            if raw_deflate_fallback and not started[0]:  # "deflate" sent raw, as some servers do
                state[0] = zlib.decompressobj(-zlib.MAX_WBITS)
                started[0] = True
                return decode(data, max_length)
            raise AnswerRefused(f"body is not valid {codings[0]}") from None
        started[0] = True
        return out

    return decode


def decode_whole(body: bytes, content_encoding: str, max_bytes: int) -> bytes:
    """A body already held whole (bounded on the wire by the transport), decoded as
    :func:`read_body` decodes one that arrives in a single chunk: the same bounds, the same
    :class:`AnswerRefused` messages."""
    decode = _decoder(content_encoding)
    if len(body) > max_bytes:
        raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
    if decode is None:
        return body
    out = decode(body, max_bytes + 1)
    if len(out) > max_bytes:
        raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
    return out


async def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a streamed ``response``, decoded, never more than ``max_bytes`` held.

    Raises :class:`AnswerRefused` when the body on the wire or after decoding passes the
    bound, or does not decode as labelled; the response is closed either way.
    """
    try:
        already = response.content  # read before it came here (httpx.MockTransport in tests)
    except httpx.ResponseNotRead:
        pass
    else:
        if len(already) > max_bytes:
            raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
        return already
    decode = _decoder(response.headers.get("Content-Encoding", ""))
    parts: list[bytes] = []
    held = wire = 0
    try:
        async for chunk in response.aiter_raw():
            wire += len(chunk)
            if wire > max_bytes:  # compressed data never shrinks much below its input here
                raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
            out = chunk if decode is None else decode(chunk, max_bytes - held + 1)
            held += len(out)
            if held > max_bytes:
                raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
            parts.append(out)
    finally:
        await response.aclose()
    return b"".join(parts)
