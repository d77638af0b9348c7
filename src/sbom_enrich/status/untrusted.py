"""The one sanitiser for text from an index or an input file, and Markdown escaping for it."""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from typing import Any

MAX_REASON_LENGTH = 500
#: Bounds for the other texts an index sends (a lookup-error quotes index text, too).
MAX_ERROR_LENGTH = 300
MAX_VERSION_LENGTH = 100
MAX_API_VERSION_LENGTH = 40
MAX_URL_LENGTH = 300

# C0/C1 controls, DEL, and Unicode format characters (bidi overrides, zero-width joiners)
# that can disguise text in a terminal or an editor.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
# The patterns are compiled on first use (functools.cache): a run whose texts are all plain
# (clean_text's fast path) and that writes no Markdown never needs them (~0.5 ms of a start).


@functools.cache
def _cleaning() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(escape sequences, whitespace runs), for :func:`clean_text`'s slow path.

    Terminal escape sequences (ECMA-48): CSI (ESC [ or U+009B ... final byte), OSC/DCS/SOS/PM/
    APC strings (ESC ] P X ^ _ or their C1 forms, up to BEL or ST), and two-byte ESC sequences.
    Removing only the ESC byte would leave their parameters ("[31m", "]8;;https://...") as
    visible garbage."""
    escape_sequence = re.compile(
        r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
        r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
        r"|\x1b[ -/]*[0-~]?"
    )
    return escape_sequence, re.compile(r"\s+")


@functools.cache
def _markdown() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(special characters, block starts, plain URLs), for the Markdown escaping below.

    Special: only what changes how inline text renders (code, emphasis, links, HTML, entities,
    table cells, strikethrough). Escaping more (".", "-", "(") is harmless in a strict
    CommonMark renderer but shows as backslashes in Neovim, Eglot and ALE hovers and breaks
    GitHub's autolinks. An underscore inside a word cannot open emphasis, so
    "typing_extensions" stays. Block starts: what opens a block (heading, list, quote, setext
    line) when it starts a line. Plain URLs: a URL that renders literally and safely inside a
    Markdown autolink."""
    return (
        re.compile(r"([\\`*\[\]<>|~&])|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"),
        re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$)|-{3,}|\d{1,9}(?=[.)](?:\s|$)))"),
        re.compile(r"https?://[A-Za-z0-9\-._~:/%@+=,;!$'()*\[\]]+"),
    )


def clean_text(text: object, limit: int = MAX_REASON_LENGTH) -> str:
    """Drop control and format characters, fold whitespace, and bound the length.

    The one sanitiser: every string that came from an index, a cache or an input file passes
    here before a terminal, a log line, a report, an SBOM property or hover text. It removes
    whole escape sequences (CSI, OSC incl. OSC 8 links and window titles, DCS...), CR/LF and
    other C0/C1 controls, bidi overrides and isolates, zero-width and private-use characters.
    """
    if not isinstance(text, str):
        text = str(text)
    if limit < 1:
        return ""
    if (
        len(text) <= limit
        and text.isprintable()  # C speed: no Cc/Cf/Co/Cs/Cn/Z* but the plain space
        and "  " not in text
        and not text.startswith(" ")
        and not text.endswith(" ")
    ):
        return text  # the common case (names, versions, most reasons) costs no per-char loop
    escape_sequence, whitespace_run = _cleaning()
    kept = []
    for char in escape_sequence.sub("", text):
        if char.isspace():
            # Tabs, newlines, VT, FF, NEL, U+2028...: keep the word break, lose the layout.
            kept.append(" ")
        elif unicodedata.category(char) not in _UNSAFE_CATEGORIES:
            kept.append(char)
    folded = whitespace_run.sub(" ", "".join(kept)).strip()
    if len(folded) > limit:
        folded = folded[: limit - 1].rstrip() + "…"
    return folded


def visible_text(text: object, limit: int = 100) -> str:
    """``text`` with every character a terminal would not show written as its escape
    (``\\x00``, ``\\u202e``, as ``repr`` writes them), then bounded.

    For an identifier as written (a project name in a purl or a lock): :func:`clean_text`
    drops such characters, and ``evil\\x00`` read ``evil`` — another, valid name. A whole
    terminal escape sequence becomes its first character's escape and ``…`` (``ev\\x1b…il``):
    its parameters (a window title, an OSC 8 link's target) are dropped, as clean_text drops
    them. Printable text is returned as it is (nothing folded, nothing stripped).
    """
    if not isinstance(text, str):
        text = str(text)
    if not text.isprintable():
        escape_sequence, _ = _cleaning()
        text = escape_sequence.sub(lambda match: f"{repr(match[0][0])[1:-1]}…", text)
        text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def escape_markdown(text: str) -> str:
    """Escape Markdown and HTML syntax so index text renders literally, and nothing more.

    Inline syntax is escaped wherever it stands; block syntax only at the start (the text is
    one line after :func:`clean_text`). "1.0", "a-b", "(x)" and URLs stay as written.
    """
    special, block_start, _ = _markdown()
    escaped = special.sub(lambda match: "\\" + match.group(0), text)
    if (block := block_start.match(escaped)) is not None:
        end = block.end()
        if block.group(0)[0].isdigit():
            return escaped[:end] + "\\" + escaped[end:]
        return "\\" + escaped
    return escaped


def markdown_link(url: str) -> str:
    """A URL as a Markdown autolink (``<https://…>``), or escaped text when it is not plain."""
    if _markdown()[2].fullmatch(url):
        return f"<{url}>"
    return escape_markdown(clean_text(url, 300))


#: ``user:password@`` after a URL's ``//``, anywhere in a text.
_CREDENTIALS_IN_TEXT = re.compile(r"(?<=//)[^/@\s]+@")


def without_credentials(text: str) -> str:
    """``text`` with ``user:password@`` removed from every URL in it (a message, a log line
    quoting settings), whatever surrounds the URL."""
    return _CREDENTIALS_IN_TEXT.sub("", text) if "@" in text else text


class CleanLogFormatter(logging.Formatter):
    """Each log line through the one sanitiser, without credentials: log arguments may quote
    an index, a file or a whole protocol message (pygls logs the initialize options, index
    URL and its password among them, at debug). ``limit``: the longest line kept.
    ``tracebacks``: False leaves out the traceback a record carries (the command line's, below
    ``-vv``: one line for a bug, as its exit says); shown, it is without credentials too."""

    def __init__(self, fmt: str, *, limit: int, tracebacks: bool = True) -> None:
        super().__init__(fmt)
        self.limit = limit
        self.tracebacks = tracebacks

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return clean_text(without_credentials(super().formatMessage(record)), self.limit)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return without_credentials(super().formatException(ei)) if self.tracebacks else ""
