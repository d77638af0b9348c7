"""Column conversion between code points and UTF-8/UTF-16/UTF-32 code units."""

from __future__ import annotations

import pytest

from lsp.positions import (
    UTF8,
    UTF16,
    UTF32,
    from_client_column,
    normalize_encoding,
    to_client_column,
)

# "é" is 1 UTF-16 unit / 2 UTF-8 bytes; "𝄞" (U+1D11E) is 2 UTF-16 units / 4 UTF-8 bytes.
LINE = 'x = ["é𝄞", "pycrypto"]'
NAME_AT = LINE.index("pycrypto")


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(UTF32, NAME_AT), (UTF16, NAME_AT + 1), (UTF8, NAME_AT + 1 + 3)],
)
def test_name_column_after_non_ascii_text(encoding: str, expected: int) -> None:
    assert to_client_column(LINE, NAME_AT, encoding) == expected
    assert from_client_column(LINE, expected, encoding) == NAME_AT


def test_ascii_lines_are_identical_in_every_encoding() -> None:
    for encoding in (UTF8, UTF16, UTF32):
        assert to_client_column("requests==1", 8, encoding) == 8
        assert from_client_column("requests==1", 8, encoding) == 8


def test_position_inside_a_surrogate_pair_rounds_down_to_the_character() -> None:
    line = "𝄞ab"
    assert from_client_column(line, 1, UTF16) == 0
    assert from_client_column(line, 2, UTF16) == 1


def test_columns_are_clamped_to_the_line() -> None:
    assert to_client_column("é", 5, UTF16) == 1
    assert from_client_column("é", 99, UTF8) == 1
    assert from_client_column("é", -3, UTF8) == 0


def test_unknown_encoding_falls_back_to_utf16() -> None:
    assert normalize_encoding("utf-8") == UTF8
    assert normalize_encoding(None) == UTF16
    assert normalize_encoding("latin-1") == UTF16
