"""A declared Content-Length is read as HTTP's digits: a body too large is refused, junk is not."""

from __future__ import annotations

import httpx
import pytest

from sbom_enrich.status._http.limits import AnswerRefused, check_declared_length, check_head


def answer(content_length: bytes) -> httpx.Response:
    return httpx.Response(200, headers=[(b"Content-Length", content_length)])


@pytest.mark.parametrize(
    "content_length",
    [b"\xb2", "\u0661\u0662".encode(), b"12", b"100", b""],
    ids=["superscript-two", "arabic-indic-12", "12", "at-the-limit", "empty"],
)
def test_a_length_within_the_limit_or_no_number_is_not_refused(content_length: bytes) -> None:
    # "²" (latin-1 0xB2, as an index sends it) is a digit to str.isdigit(): int("²") raised
    # ValueError, and the httpx path left the response open. h11 refuses such a framing first;
    # h2 reads "١٢" as 12. Whatever passes, the body read is bounded anyway.
    check_head(answer(content_length), 100)


@pytest.mark.parametrize("content_length", [b"101", b"9" * 5000, b"0" * 5000 + b"101"])
def test_a_length_past_the_limit_is_refused(content_length: bytes) -> None:
    with pytest.raises(AnswerRefused, match="page larger than 100 bytes"):  # not ValueError
        check_head(answer(content_length), 100)
    with pytest.raises(AnswerRefused):
        check_declared_length(content_length.decode(), 100)
