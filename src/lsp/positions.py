"""Convert columns between Python code points and the client's negotiated LSP position encoding."""

from __future__ import annotations

from typing import Final

UTF8: Final = "utf-8"
UTF16: Final = "utf-16"
UTF32: Final = "utf-32"
ENCODINGS: Final = frozenset({UTF8, UTF16, UTF32})


def _units(char: str, encoding: str) -> int:
    point = ord(char)
    if encoding == UTF16:
        return 2 if point > 0xFFFF else 1
    if encoding == UTF8:
        if point < 0x80:
            return 1
        if point < 0x800:
            return 2
        return 3 if point < 0x10000 else 4
    return 1


def normalize_encoding(encoding: object) -> str:
    """The encoding as one of :data:`ENCODINGS`; UTF-16 (the LSP default) for anything else."""
    text = str(getattr(encoding, "value", encoding) or "").lower()
    return text if text in ENCODINGS else UTF16


def to_client_column(line: str, column: int, encoding: str) -> int:
    """Code-point ``column`` within ``line`` as a count of the encoding's code units."""
    column = max(0, min(column, len(line)))
    if encoding == UTF32 or line.isascii():
        return column
    return sum(_units(char, encoding) for char in line[:column])


def from_client_column(line: str, units: int, encoding: str) -> int:
    """Inverse of :func:`to_client_column`; a position inside a character rounds down to it."""
    if units <= 0:
        return 0
    if encoding == UTF32 or line.isascii():
        return min(units, len(line))
    counted = 0
    for index, char in enumerate(line):
        counted += _units(char, encoding)
        if counted > units:
            return index
    return len(line)
