"""A forgiving TOML scanner that keeps the source offset of every key and decoded string char."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_STOP = frozenset(",]}#\r\n")
#: Arrays and inline tables nested deeper than this are not read (each level is two Python
#: frames: 100 kB of "[[[[" ran out of stack). A real pyproject.toml nests four at most.
MAX_NESTING = 100
_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "e": "\x1b",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\r\n]|\\.)*"|'[^'\r\n]*')"""
_DOTTED_KEY = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
# A line that starts a new statement: used only to recover from an unclosed array or inline
# table while the user is typing, never on a document tomllib accepts.
_STATEMENT_RE = re.compile(
    rf"[ \t]*(?:\[\[?[ \t]*{_DOTTED_KEY}[ \t]*\]\]?[ \t]*(?:#[^\r\n]*)?(?=\r?\n|\r|\Z)"
    rf"|{_DOTTED_KEY}[ \t]*=)"
)


@dataclass(frozen=True)
class KeyPart:
    """One component of a dotted key; offsets cover its text (inside the quotes if quoted)."""

    name: str
    start: int
    end: int
    quoted: bool = False

    @property
    def outer_start(self) -> int:
        """Where the key's text starts, its opening quote included."""
        return self.start - 1 if self.quoted else self.start


@dataclass(frozen=True)
class StringNode:
    """A string value: decoded text, and the source offsets where each decoded char came from.

    ``char_starts[k]``/``char_ends[k]`` delimit the source text that produced decoded char
    ``k`` (an escape such as ``\\u0072`` is one char from six source chars).
    """

    value: str
    start: int  # first content offset, after the opening quotes
    end: int  # offset of the closing quotes (or where an unterminated string stopped)
    char_starts: tuple[int, ...]
    char_ends: tuple[int, ...]
    terminated: bool

    def source_range(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets covering decoded chars ``start:end`` (``end`` exclusive, > start)."""
        return self.char_starts[start], self.char_ends[end - 1]


@dataclass(frozen=True)
class ArrayNode:
    items: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True)
class TableNode:
    """An inline table; its entries' keys are relative to it."""

    entries: tuple[Entry, ...]
    start: int
    end: int


@dataclass(frozen=True)
class OtherNode:
    """A number, boolean, date, or whatever could not be read."""

    start: int
    end: int


Node: TypeAlias = StringNode | ArrayNode | TableNode | OtherNode


@dataclass(frozen=True)
class Entry:
    """``key = value``; at top level the key includes the enclosing table header's parts."""

    key: tuple[KeyPart, ...]
    value: Node
    start: int
    end: int


@dataclass(frozen=True)
class ScannedDocument:
    entries: tuple[Entry, ...]
    comments: tuple[tuple[int, int], ...]  # (start, end) of every comment
    errors: tuple[tuple[str, int], ...]  # (message, offset); the scanner's view, for logs


class _Scanner:
    def __init__(self, text: str, recover: bool) -> None:
        self.text = text
        self.n = len(text)
        self.i = 0
        self.recover = recover
        self.entries: list[Entry] = []
        self.comments: list[tuple[int, int]] = []
        self.errors: list[tuple[str, int]] = []
        self.depth = 0

    # -- whitespace, comments, lines -------------------------------------------------------

    def error(self, message: str) -> None:
        self.errors.append((message, self.i))

    def peek(self) -> str:
        return self.text[self.i] if self.i < self.n else ""

    def skip_blanks(self) -> None:
        text, n, i = self.text, self.n, self.i
        while i < n and text[i] in " \t":
            i += 1
        self.i = i

    def skip_comment(self) -> None:
        if self.peek() == "#":
            start = self.i
            while self.i < self.n and self.text[self.i] not in "\r\n":
                self.i += 1
            self.comments.append((start, self.i))

    def skip_trivia(self) -> None:
        """Whitespace, newlines and comments (inside arrays, and between statements)."""
        while self.i < self.n:
            char = self.text[self.i]
            if char in " \t\r\n":
                self.i += 1
            elif char == "#":
                self.skip_comment()
            else:
                return

    def skip_line(self) -> None:
        while self.i < self.n and self.text[self.i] not in "\r\n":
            if self.text[self.i] == "#":
                self.skip_comment()
                return
            self.i += 1

    def starts_statement(self) -> bool:
        """Whether a new table header or key/value line starts here (recovery only)."""
        if not self.recover:
            return False
        line_start = max(self.text.rfind("\n", 0, self.i), self.text.rfind("\r", 0, self.i)) + 1
        if self.text[line_start : self.i].strip(" \t"):
            return False
        return _STATEMENT_RE.match(self.text, line_start) is not None

    # -- statements ---------------------------------------------------------------------------

    def scan(self) -> ScannedDocument:
        table: tuple[KeyPart, ...] = ()
        while True:
            self.skip_trivia()
            if self.i >= self.n:
                break
            if self.peek() == "[":
                table = self.header()
            else:
                entry = self.key_value(table)
                if entry is not None:
                    self.entries.append(entry)
            self.skip_blanks()
            self.skip_comment()
            if self.i < self.n and self.text[self.i] not in "\r\n" and not self.starts_statement():
                # (An unclosed array stops where a statement starts: that line is kept.)
                self.error("expected the end of the line")
                self.skip_line()
        return ScannedDocument(tuple(self.entries), tuple(self.comments), tuple(self.errors))

    def header(self) -> tuple[KeyPart, ...]:
        double = self.text.startswith("[[", self.i)
        self.i += 2 if double else 1
        key = self.key()
        self.skip_blanks()
        closing = "]]" if double else "]"
        if self.text.startswith(closing, self.i):
            self.i += len(closing)
        else:
            self.error(f"expected {closing!r}")
            self.skip_line()
        return key

    def key(self) -> tuple[KeyPart, ...]:
        parts: list[KeyPart] = []
        while True:
            self.skip_blanks()
            char = self.peek()
            if char in ("'", '"'):
                node = self.string(multiline_allowed=False)
                parts.append(KeyPart(node.value, node.start, node.end, quoted=True))
            elif char and char in _BARE_KEY_CHARS:
                start = self.i
                while self.i < self.n and self.text[self.i] in _BARE_KEY_CHARS:
                    self.i += 1
                parts.append(KeyPart(self.text[start : self.i], start, self.i))
            else:
                self.error("expected a key")
                return tuple(parts)
            self.skip_blanks()
            if self.peek() != ".":
                return tuple(parts)
            self.i += 1

    def key_value(self, prefix: tuple[KeyPart, ...]) -> Entry | None:
        start = self.i
        key = self.key()
        self.skip_blanks()
        if not key or self.peek() != "=":
            if key:
                self.error("expected '='")
            if self.i == start:
                self.i += 1  # always make progress
            self.skip_line()
            return None
        self.i += 1
        self.skip_blanks()
        value = self.value()
        return Entry((*prefix, *key), value, start, self.i)

    # -- values -------------------------------------------------------------------------------

    def value(self) -> Node:
        char = self.peek()
        if char in ("'", '"'):
            return self.string(multiline_allowed=True)
        start = self.i
        if char in ("[", "{"):
            if self.depth >= MAX_NESTING:
                self.error("values nested too deeply")
                self.skip_nested()
                return OtherNode(start, self.i)
            self.depth += 1
            try:
                return self.array() if char == "[" else self.inline_table()
            finally:
                self.depth -= 1
        while self.i < self.n and self.text[self.i] not in _SCALAR_STOP:
            self.i += 1
        while self.i > start and self.text[self.i - 1] in " \t":
            self.i -= 1
        if self.i == start:
            self.error("expected a value")
        return OtherNode(start, self.i)

    def skip_nested(self) -> None:
        """Past the array or inline table that starts here, without reading it: one loop
        over its brackets, strings and comments, so no nesting costs a Python frame.

        Skipping to the end of the line instead left the levels above it open: their
        closing brackets on later lines, and every statement after them, were read as part
        of the value (a pyproject.toml nesting 101 deep under ``[tool.x]`` lost its
        ``[project]`` table). Recovery stops it where a statement starts, as :meth:`array`
        does.
        """
        open_brackets = 0
        while self.i < self.n:
            char = self.text[self.i]
            if char in "[{":
                open_brackets += 1
                self.i += 1
            elif char in "]}":
                open_brackets -= 1
                self.i += 1
                if open_brackets == 0:
                    return
            elif char in ("'", '"'):
                self.string(multiline_allowed=True)
            elif char == "#":
                self.skip_comment()
            else:
                self.i += 1
                if char in "\r\n" and self.starts_statement():
                    return

    def array(self) -> ArrayNode:
        start = self.i
        self.i += 1
        items: list[Node] = []
        while True:
            self.skip_trivia()
            if self.i >= self.n or self.starts_statement():
                self.error("unterminated array")
                break
            if self.peek() == "]":
                self.i += 1
                break
            before = self.i
            items.append(self.value())
            self.skip_trivia()
            char = self.peek()
            if char == ",":
                self.i += 1
            elif char == "]":
                self.i += 1
                break
            elif self.i >= self.n or self.starts_statement():
                self.error("unterminated array")
                break
            else:
                self.error("expected ',' or ']'")
                if self.i == before:
                    self.i += 1
        return ArrayNode(tuple(items), start, self.i)

    def inline_table(self) -> TableNode:
        start = self.i
        self.i += 1
        entries: list[Entry] = []
        while True:
            # Newlines inside inline tables are TOML 1.1; accepting them costs nothing here.
            self.skip_trivia()
            if self.i >= self.n or self.starts_statement():
                self.error("unterminated inline table")
                break
            if self.peek() == "}":
                self.i += 1
                break
            before = self.i
            key = self.key()
            self.skip_blanks()
            if key and self.peek() == "=":
                self.i += 1
                self.skip_blanks()
                value = self.value()
                entries.append(Entry(key, value, before, self.i))
            else:
                self.error("expected 'key = value'")
            self.skip_trivia()
            char = self.peek()
            if char == ",":
                self.i += 1
            elif char == "}":
                self.i += 1
                break
            elif self.i == before:
                self.i += 1
        return TableNode(tuple(entries), start, self.i)

    def string(self, multiline_allowed: bool) -> StringNode:
        text = self.text
        quote = text[self.i]
        multiline = multiline_allowed and text.startswith(quote * 3, self.i)
        self.i += 3 if multiline else 1
        if multiline:
            # A newline right after the opening delimiter is not part of the value.
            if text.startswith("\r\n", self.i):
                self.i += 2
            elif text.startswith("\n", self.i):
                self.i += 1
        start = self.i
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        escapes = quote == '"'
        while True:
            if self.i >= self.n:
                self.error("unterminated string")
                return self.string_node(chars, starts, ends, start, self.i, False)
            char = text[self.i]
            if char == quote:
                if not multiline:
                    end = self.i
                    self.i += 1
                    return self.string_node(chars, starts, ends, start, end, True)
                run = 0
                while self.i + run < self.n and text[self.i + run] == quote:
                    run += 1
                if run >= 3:
                    # Up to two quotes right before the closing delimiter belong to the value.
                    for _ in range(min(run - 3, 2)):
                        chars.append(quote)
                        starts.append(self.i)
                        ends.append(self.i + 1)
                        self.i += 1
                    end = self.i
                    self.i += 3
                    return self.string_node(chars, starts, ends, start, end, True)
                for _ in range(run):
                    chars.append(quote)
                    starts.append(self.i)
                    ends.append(self.i + 1)
                    self.i += 1
                continue
            if char in "\r\n" and not multiline:
                self.error("unterminated string")
                return self.string_node(chars, starts, ends, start, self.i, False)
            if char == "\\" and escapes:
                self.escape(chars, starts, ends, multiline)
                continue
            if char == "\r" and text.startswith("\r\n", self.i):
                chars.append("\n")
                starts.append(self.i)
                ends.append(self.i + 2)
                self.i += 2
                continue
            chars.append(char)
            starts.append(self.i)
            ends.append(self.i + 1)
            self.i += 1

    def escape(self, chars: list[str], starts: list[int], ends: list[int], multiline: bool) -> None:
        text = self.text
        begin = self.i
        code = text[self.i + 1] if self.i + 1 < self.n else ""
        if code in _ESCAPES:
            chars.append(_ESCAPES[code])
            self.i += 2
        elif code in _HEX_ESCAPES:
            digits = text[self.i + 2 : self.i + 2 + _HEX_ESCAPES[code]]
            try:
                if len(digits) != _HEX_ESCAPES[code]:
                    raise ValueError(digits)
                chars.append(chr(int(digits, 16)))
                self.i += 2 + len(digits)
            except (ValueError, OverflowError):
                self.error("invalid escape")
                chars.append("\\")
                self.i += 1
        elif multiline and self.line_ending_backslash():
            # Drop the backslash and all whitespace and newlines after it.
            self.i += 1
            while self.i < self.n and text[self.i] in " \t\r\n":
                self.i += 1
            return
        else:
            self.error("invalid escape")
            chars.append("\\")
            self.i += 1
        starts.append(begin)
        ends.append(self.i)

    def line_ending_backslash(self) -> bool:
        after = self.i + 1
        while after < self.n and self.text[after] in " \t":
            after += 1
        return self.text.startswith(("\n", "\r\n"), after)

    def string_node(
        self,
        chars: list[str],
        starts: list[int],
        ends: list[int],
        start: int,
        end: int,
        terminated: bool,
    ) -> StringNode:
        return StringNode("".join(chars), start, end, tuple(starts), tuple(ends), terminated)


def scan_toml(text: str, recover: bool = False) -> ScannedDocument:
    """Scan ``text``; with ``recover`` an unclosed array or table ends where a new line starts
    a statement (what a half-typed document needs); never raises."""
    return _Scanner(text, recover).scan()


def flatten(entries: tuple[Entry, ...]) -> list[tuple[tuple[KeyPart, ...], Node]]:
    """Every (full key, value) in source order, inline tables' entries included after them."""
    flat: list[tuple[tuple[KeyPart, ...], Node]] = []
    stack: list[tuple[tuple[KeyPart, ...], Entry]] = [((), entry) for entry in reversed(entries)]
    while stack:
        prefix, entry = stack.pop()
        key = (*prefix, *entry.key)
        flat.append((key, entry.value))
        if isinstance(entry.value, TableNode):
            stack.extend((key, child) for child in reversed(entry.value.entries))
    return flat
