"""The one TOML reader import: the stdlib's tomllib, or tomli (the same code) before 3.11."""

from __future__ import annotations

import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["MAX_LINE_DOTS", "TOO_DEEP", "TOO_MANY_DOTS", "loads", "tomllib"]

#: What to say when tomllib gives up on nesting (it recurses, and raises RecursionError).
TOO_DEEP = "values nested too deeply"

#: Dots outside strings on one line beyond which a document is refused before tomllib reads
#: it: tomllib is quadratic in the parts of a dotted key (``a.a.a…b = 1``: 16 kB took 0.8 s
#: and 270 MB, 100 kB more than 4 GB). 2,000 parts cost it ~50 ms; no real key has so many.
MAX_LINE_DOTS = 2000
TOO_MANY_DOTS = f"a line with more than {MAX_LINE_DOTS} dots outside strings (a dotted key?)"

# One-line strings: what a dot inside them is not part of a key (nor is one in a comment,
# which starts at the first "#" once they are set aside).
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')


def loads(text: str) -> dict[str, Any]:
    """:func:`tomllib.loads`, refusing first (``TOMLDecodeError``) a document with a line of
    more than :data:`MAX_LINE_DOTS` dots outside its strings.

    Counted by hand, not with tomllib's own reading, because that reading is what must not
    run: a document of fewer dots than the bound is read at once; otherwise only its lines
    of more dots are looked at, strings set aside (a line inside a multi-line string is
    counted as written: refused too, at that size).
    """
    if text.count(".") > MAX_LINE_DOTS:
        for line in text.splitlines():
            if (
                line.count(".") > MAX_LINE_DOTS
                and _STRINGS.sub("", line).partition("#")[0].count(".") > MAX_LINE_DOTS
            ):
                raise tomllib.TOMLDecodeError(TOO_MANY_DOTS)
    result: dict[str, Any] = tomllib.loads(text)
    return result
