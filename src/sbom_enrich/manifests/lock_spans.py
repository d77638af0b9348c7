"""Where a lock file writes each package: the span of its name and of its locked version.

The documents are parsed by a real TOML or JSON parser (``locks.py``), which keeps no positions;
the spans come from a second pass over the text. A span is exact or absent: a hostile lock
(a ``version = "…"`` line inside a multi-line string or a multi-line inline table, a key written
twice in a Pipfile.lock, escapes in a value) gets no version span rather than a wrong one, and
the editor then shows the version's facts on the package's name.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .spans import LineIndex, Span

__all__ = ["ForwardLines", "Written", "pipfile_entries", "toml_package_tables"]


class ForwardLines:
    """``LineIndex.span`` for offsets asked in document order, without indexing every line.

    Indexing all 30,000 lines of a 2,000-package uv.lock took a third of its parse time
    (bench/bench_locks.py); the names asked for are 2,000, in order, so counting the line
    breaks between one and the next (str.count, in C) is enough. Text with a CR (a lone CR
    also breaks a line for LSP) or a query going backwards uses the full index.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._full = LineIndex(text) if "\r" in text else None
        self._offset = 0
        self._line = 0
        # The line of the last offset: names on one line (a lock of inline tables) must not
        # each search the whole line again (a 4 MB one-line lock took minutes).
        self._line_start = 0
        self._line_end = -1

    def span(self, start: int, end: int) -> Span:
        if self._full is None and start < self._offset:
            self._full = LineIndex(self._text)
        if self._full is not None:
            return self._full.span(start, end)
        text = self._text
        if start > self._line_end:
            breaks = text.count("\n", self._offset, start)
            if breaks:
                self._line += breaks
                self._line_start = text.rfind("\n", self._offset, start) + 1
            line_end = text.find("\n", start)
            self._line_end = len(text) if line_end < 0 else line_end
        self._offset = start
        column = start - self._line_start
        return Span(self._line, column, max(column, min(end, self._line_end) - self._line_start))


@dataclass(frozen=True)
class Written:
    """One package entry as its lock writes it: the name (as decoded) and its span; the
    version, as written, and its span, when the entry writes one that can be pointed at
    exactly (the caller uses it only when it equals the version the parser read)."""

    name: str
    name_span: Span
    version: str | None = None
    version_span: Span | None = None


# -- TOML: uv.lock, poetry.lock, pdm.lock, pylock.toml ---------------------------------------

#: A line that starts a table header (or, in a hostile lock, a line of an array of arrays:
#: taken as the end of the package's own keys, which costs a span, never misplaces one).
_HEADER = re.compile(r"^[ \t]*\[", re.M)
#: A package's ``name`` or ``version`` key with a string value that needs no decoding: a basic
#: string without escapes or a literal string (anything else gets no span).
_KEY_LINE = re.compile(
    r"""^[ \t]*(?P<key>name|version)[ \t]*=[ \t]*"""
    r"""(?:"(?P<basic>[^"\\\r\n]*)"|'(?P<literal>[^'\r\n]*)')""",
    re.M,
)
#: Strings and comments, where brackets and quotes are text; brackets open and close values.
#: Matched in order from a place outside any of them, in a document the TOML parser read.
_STRING_OR_COMMENT = (
    r'"""(?:[^"\\]|\\[\s\S]|""?(?!"))*"{3,5}'
    r"|'''(?:[^']|''?(?!'))*'{3,5}"
    r'|"(?:[^"\\\r\n]|\\.)*"'
    r"|'[^'\r\n]*'"
    r"|#[^\r\n]*"
)
_TEXT = re.compile(_STRING_OR_COMMENT)
_TOKEN = re.compile(_STRING_OR_COMMENT + r"|[\[\]{}]")


def _multiline_strings(text: str) -> tuple[list[int], list[int]] | None:
    """(starts, ends) of the multi-line strings of ``text``; None when it has none (every lock
    the tools write): then no line of it is inside a string."""
    if '"""' not in text and "'''" not in text:
        return None
    starts: list[int] = []
    ends: list[int] = []
    for match in _TEXT.finditer(text):
        if match.group().startswith(('"""', "'''")):
            starts.append(match.start())
            ends.append(match.end())
    return starts, ends


def _in_string(strings: tuple[list[int], list[int]] | None, offset: int) -> bool:
    if strings is None:
        return False
    starts, ends = strings
    at = bisect.bisect_right(starts, offset) - 1
    return at >= 0 and offset < ends[at]


def _own_keys(text: str, start: int, end: int) -> Iterator[re.Match[str]]:
    """The ``name`` and ``version`` lines of the table whose keys are ``text[start:end]``
    that are its own keys: not a line inside a string, nor inside an array or an inline
    table written over several lines (TOML 1.1, which rtoml reads). The values before each
    are walked only up to it (a package's name and version come first in every lock the
    tools write)."""
    tokens = _TOKEN.finditer(text, start, end)
    token = next(tokens, None)
    depth = 0
    for match in _KEY_LINE.finditer(text, start, end):
        at = match.start()
        while token is not None and token.end() <= at:
            bracket = text[token.start()]
            depth += 1 if bracket in "[{" else -1 if bracket in "]}" else 0
            token = next(tokens, None)
        if depth == 0 and (token is None or token.start() >= at):
            yield match


#: What every tool writes first in a package table: its name, then its version, plain.
_NAME_THEN_VERSION = (
    r'[ \t]*\r?\n[ \t]*name[ \t]*=[ \t]*"(?P<name>[^"\\\r\n]*)"[ \t]*\r?\n'
    r'(?P<indent>[ \t]*)version[ \t]*=[ \t]*"(?P<version>[^"\\\r\n]*)"'
)


def toml_package_tables(text: str, lines: ForwardLines, array: str) -> list[Written | None]:
    """Per ``[[array]]`` table, in document order: its name and version as written (None for
    a table whose name is not written plainly). ``array`` is a regular expression."""
    # A table as the tools write it is read by the header's match alone (2,000 of them: 6 ms
    # rather than 40 ms through _table), its version on the line after its name.
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{array}[ \t]*\]\](?:{_NAME_THEN_VERSION})?", re.M)
    strings = _multiline_strings(text)
    headers = [m for m in header.finditer(text) if not _in_string(strings, m.start())]
    ends = [m.start() for m in headers[1:]]
    ends.append(len(text))
    found: list[Written | None] = []
    for match, end in zip(headers, ends, strict=False):  # no header: no table
        name = match.group("name")
        if name is None:
            found.append(_table(text, lines, strings, match.end(), end))
            continue
        name_span = lines.span(match.start("name"), match.end("name"))
        line_start = match.start("indent")
        version_span = Span(
            name_span.line + 1,
            match.start("version") - line_start,
            match.end("version") - line_start,
        )
        found.append(Written(name, name_span, match.group("version"), version_span))
    return found


def _table(
    text: str,
    lines: ForwardLines,
    strings: tuple[list[int], list[int]] | None,
    start: int,
    end: int,
) -> Written | None:
    """The name and version of the package table whose text is ``text[start:end]``, wherever
    in its own keys they are written."""
    # The package's own keys end at the next header (of a sub-table, say).
    own_end = next(
        (
            m.start()
            for m in _HEADER.finditer(text, start, end)
            if not _in_string(strings, m.start())
        ),
        end,
    )
    keys: dict[str, re.Match[str]] = {}
    for match in _own_keys(text, start, own_end):
        keys.setdefault(match.group("key"), match)  # the TOML parser refuses a key twice
        if len(keys) == 2:
            break
    name = keys.get("name")
    if name is None:
        return None
    version = keys.get("version")
    # Asked in document order (a version written before the name is valid TOML).
    located = sorted(
        (m.start(_value(m)), m.end(_value(m)), m.group("key"))
        for m in (name, version)
        if m is not None
    )
    spans = {key: lines.span(begin, finish) for begin, finish, key in located}
    return Written(
        name=name.group(_value(name)),
        name_span=spans["name"],
        version=None if version is None else version.group(_value(version)),
        version_span=spans.get("version"),
    )


def _value(match: re.Match[str]) -> str:
    return "basic" if match.group("basic") is not None else "literal"


# -- JSON: Pipfile.lock ------------------------------------------------------------------------

_JSON_SPACE = re.compile(r"[ \t\n\r]+")
_DECODER = json.JSONDecoder()


def _skip_space(text: str, at: int) -> int:
    found = _JSON_SPACE.match(text, at)
    return at if found is None else found.end()


def _members(text: str, at: int) -> Iterator[tuple[str, int, int, int, int]]:
    """(key, key start, key end, value start, value end) of each member of the JSON object
    whose ``{`` is at ``at``; key offsets are inside its quotes. ValueError or IndexError when
    the text is no object there."""
    i = _skip_space(text, at + 1)
    if text[i] == "}":
        return
    while True:
        if text[i] != '"':
            raise ValueError("no key")
        key, after = _DECODER.raw_decode(text, i)
        colon = _skip_space(text, after)
        if text[colon] != ":":
            raise ValueError("no colon")
        value = _skip_space(text, colon + 1)
        _, value_end = _DECODER.raw_decode(text, value)
        yield key, i + 1, after - 1, value, value_end
        i = _skip_space(text, value_end)
        if text[i] == "}":
            return
        if text[i] != ",":
            raise ValueError("no comma")
        i = _skip_space(text, i + 1)


def pipfile_entries(text: str, lines: ForwardLines) -> dict[tuple[str, str], Written]:
    """(category, package name) → its name and version as a Pipfile.lock writes them.

    A key written twice counts as json reads it: the last one (a package's ``version``, a
    package in its category). The version's span leaves out pipenv's ``==``.
    """
    found: dict[tuple[str, str], Written] = {}
    try:
        top = _skip_space(text, 0)
        if not text.startswith("{", top):
            return found
        for category, _, _, start, _ in _members(text, top):
            if category == "_meta" or not text.startswith("{", start):
                continue
            for name, name_start, name_end, entry, _ in _members(text, start):
                version: str | None = None
                version_at: tuple[int, int] | None = None
                if text.startswith("{", entry):
                    for key, _, _, value, value_end in _members(text, entry):
                        if key != "version":
                            continue
                        version, version_at = _pipfile_version(text, value, value_end)
                name_span = lines.span(name_start, name_end)
                version_span = None if version_at is None else lines.span(*version_at)
                found[(category, name)] = Written(name, name_span, version, version_span)
    except (ValueError, IndexError, RecursionError):
        return found  # what was found before is still exact; the rest falls back
    return found


def _pipfile_version(text: str, start: int, end: int) -> tuple[str | None, tuple[int, int] | None]:
    """The version a ``"version"`` value writes (pipenv's ``==`` left out) and its offsets,
    when it is a string written without escapes."""
    raw = text[start + 1 : end - 1]
    if not text.startswith('"', start) or "\\" in raw:
        return None, None
    skip = 2 if raw.startswith("==") else 0
    return raw[skip:], (start + 1 + skip, end - 1)
