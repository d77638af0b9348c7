"""Make index-supplied text (reasons, names) safe to store, print and render as Markdown."""

from __future__ import annotations

import re
import unicodedata

MAX_REASON_LENGTH = 500

# C0/C1 controls, DEL, and Unicode format characters (bidi overrides, zero-width joiners)
# that can disguise text in a terminal or an editor.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
_WHITESPACE_RUN = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def clean_text(text: object, limit: int = MAX_REASON_LENGTH) -> str:
    """Drop control and format characters, fold whitespace, and bound the length."""
    if not isinstance(text, str):
        text = str(text)
    kept = []
    for char in text:
        if char in "\t\n\r":
            kept.append(" ")
        elif unicodedata.category(char) not in _UNSAFE_CATEGORIES:
            kept.append(char)
    folded = _WHITESPACE_RUN.sub(" ", "".join(kept)).strip()
    if len(folded) > limit:
        folded = folded[: limit - 1].rstrip() + "…"
    return folded


def escape_markdown(text: str) -> str:
    """Escape Markdown and HTML syntax so index text renders literally in a hover."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
