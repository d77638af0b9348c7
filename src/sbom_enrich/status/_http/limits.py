"""Bounds on what an index can make one lookup hold: body size after decoding, header count."""

from __future__ import annotations

import zlib

import httpx

from ..answer_values import decimal

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
    check_declared_length(response.headers.get("Content-Length"), max_bytes)


def check_declared_length(content_length: str | None, max_bytes: int) -> None:
    """Refuse a body whose ``Content-Length`` says it is larger than ``max_bytes``.

    Read as HTTP's digits (answer_values.decimal): ``"²".isdigit()`` is True but ``int("²")``
    raises, as ``int()`` of 5,000 digits does. h11 refuses such a length before this sees it,
    but h2 reads ``"١٢"`` as 12; whatever passes the framing, the body read is bounded anyway.
    """
    declared = decimal(content_length or "", max_bytes + 1)
    if declared is not None and declared > max_bytes:
        raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")


class _Inflater:
    """A bounded decoder of one body's coding that also knows whether the body ended whole.

    httpx's own decoders write out everything a chunk inflates to, ~1000x its size (a 4 MB
    gzip bomb became 4 GB); ``zlib``'s ``max_length`` stops at the bound instead. Neither
    they nor a bare ``zlib`` object check that the stream *ended*: a gzip body cut after a
    sync flush inflates to a clean prefix of the page, without the final block or the
    CRC-32/length trailer, and a page cut before its quarantine marker read as ``active``.
    :meth:`finish` refuses that, as :func:`gzip.decompress` does (EOFError).
    """

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._gzip = coding != "deflate"
        self._inflater = self._fresh()
        #: Whether any byte of the body came (an empty body has no coding to check).
        self._fed = False
        #: deflate sent raw (no zlib header), as some servers do: tried once, at the start.
        self._may_be_raw = coding == "deflate"
        #: The stream ended (deflate), or a gzip member ended and only padding or another
        #: member may follow (RFC 1952: a gzip file is a series of members).
        self._ended = False

    def _fresh(self) -> zlib._Decompress:
        return zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)

    def _refuse(self, why: str = "") -> AnswerRefused:
        return AnswerRefused(f"body is not valid {self.coding}" + (f" ({why})" if why else ""))

    def decode(self, data: bytes, max_length: int) -> bytes:
        """What ``data`` inflates to, at most ``max_length`` bytes of it (the caller refuses
        a body that reaches its bound, so input left over then is never needed)."""
        parts: list[bytes] = []
        room = max_length
        while data and room > 0:
            if self._ended:
                if not self._gzip:
                    raise self._refuse("data after its end")
                data = data.lstrip(b"\0")  # zero padding, as gzip(1) and Python's gzip skip
                if not data:
                    break
                self._inflater = self._fresh()  # another member, or garbage zlib refuses
                self._ended = False
            self._fed = True
            try:
                out = self._inflater.decompress(data, room)
            except zlib.error:
                if self._may_be_raw:
                    self._may_be_raw = False
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise self._refuse() from None
            self._may_be_raw = False
            parts.append(out)
            room -= len(out)
            if self._inflater.eof:
                self._ended = True
                data = self._inflater.unused_data
            else:
                data = self._inflater.unconsumed_tail  # only when the output reached the bound
        return b"".join(parts)

    def finish(self) -> None:
        """Refuse a body that stopped before its coding's end (no final block, no trailer)."""
        if self._fed and not self._ended:
            raise self._refuse("cut short")


def _inflater(content_encoding: str) -> _Inflater | None:
    """The bounded decoder for the body's coding (None: identity); AnswerRefused if unknown."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise AnswerRefused("answer in an unsupported Content-Encoding")
    return _Inflater(codings[0])


def decode_whole(body: bytes, content_encoding: str, max_bytes: int) -> bytes:
    """A body already held whole (bounded on the wire by the transport), decoded as
    :func:`read_body` decodes one that arrives in a single chunk: the same bounds, the same
    :class:`AnswerRefused` messages."""
    inflater = _inflater(content_encoding)
    if len(body) > max_bytes:
        raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
    if inflater is None:
        return body
    out = inflater.decode(body, max_bytes + 1)
    if len(out) > max_bytes:
        raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
    inflater.finish()
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
    inflater = _inflater(response.headers.get("Content-Encoding", ""))
    parts: list[bytes] = []
    held = wire = 0
    try:
        async for chunk in response.aiter_raw():
            wire += len(chunk)
            if wire > max_bytes:  # compressed data never shrinks much below its input here
                raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
            out = chunk if inflater is None else inflater.decode(chunk, max_bytes - held + 1)
            held += len(out)
            if held > max_bytes:
                raise AnswerRefused(f"page larger than {describe_size(max_bytes)}")
            parts.append(out)
        if inflater is not None:
            inflater.finish()
    finally:
        await response.aclose()
    return b"".join(parts)
