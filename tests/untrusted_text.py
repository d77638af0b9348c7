"""Hostile text for sanitiser tests, and checks that output is safe for a terminal or a log."""

from __future__ import annotations

import unicodedata
from typing import Any

#: Window title, clear screen, an OSC 8 link hiding its target, CR/LF forging a line, an RTL
#: override, a C1 CSI, NEL: what an index (or an input file) may try to print through us.
HOSTILE = (
    "\x1b]0;pwned-title\x07\x1b[2J\x1b[H"
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
    "\r\nforged: policy passed\u202egnp.exe\x9b31m\x85\x00end"
)
#: Payloads that must not survive in any form (inside a removed escape sequence).
HIDDEN = ("pwned-title", "evil.example")


def unsafe_characters(text: str, *, lines: bool = True) -> list[str]:
    """Characters that can drive a terminal or disguise text; newlines count only when
    ``lines`` is False (a multi-line summary legitimately has them)."""
    found = []
    for char in text:
        if char == "\n" and lines:
            continue
        if unicodedata.category(char) in {"Cc", "Cf", "Co", "Cs"}:
            found.append(char)
    return found


def assert_terminal_safe(text: str, *, lines: bool = True) -> None:
    assert not unsafe_characters(text, lines=lines), repr(text)
    for payload in HIDDEN:
        assert payload not in text, text
    assert not any(line.startswith("forged") for line in text.splitlines()), text


def strings_in(value: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every string in a decoded JSON value, keys included, except under the keys in ``skip``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found.append(key)
            if key not in skip:
                found += strings_in(item, skip)
        return found
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item, skip)]
    return []


def assert_json_safe(value: Any, skip: frozenset[str] = frozenset({"purl", "bom_ref"})) -> None:
    for text in strings_in(value, skip):
        assert_terminal_safe(text, lines=False)
