"""Untrusted index text and index URLs: sanitising, Markdown escaping, credential removal."""

from __future__ import annotations

import re
import unicodedata

import pytest

from sbom_enrich.status.untrusted import (
    MAX_REASON_LENGTH,
    clean_text,
    escape_markdown,
    visible_text,
)
from sbom_enrich.status.urls import (
    PYPI_SIMPLE_URL,
    normalize_index_url,
    project_page_link,
    project_page_url,
    redact_url,
)

# --- clean_text -------------------------------------------------------------------------------


def visible_only(text: str) -> bool:
    return all(unicodedata.category(c) not in {"Cc", "Cf", "Co", "Cs"} for c in text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain reason", "plain reason"),
        ("moved to\tnew-project\r\nsee docs", "moved to new-project see docs"),
        ("  padded   with   runs  ", "padded with runs"),
        ("nul\x00byte and del\x7f", "nulbyte and del"),
        ("bell\x07 and backspace\x08", "bell and backspace"),
        # Bidi overrides and isolates (Trojan Source), zero-width characters.
        ("safe\u202eexe.txt", "safeexe.txt"),
        ("a\u2066b\u2067c\u2068d\u2069e\u202af\u202bg\u202ch\u202di", "abcdefghi"),
        ("zero\u200bwidth\u200d join\ufeff", "zerowidth join"),
        # Whitespace controls keep the word break.
        ("a\x0bb\x0cc\x85d\u2028e\u2029f", "a b c d e f"),
        # Private use and lone surrogates.
        ("pua\ue000 x", "pua x"),
        ("lone\ud800 surrogate", "lone surrogate"),
    ],
)
def test_clean_text_removes_controls_and_folds_whitespace(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("\x1b[2J\x1b[Hcleared", "cleared"),
        ("\x1b[38;5;196mcolour", "colour"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        # OSC 8 hyperlink that would show "click" but point elsewhere.
        ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ here", "click here"),
        ("\x1b]0;window title\x07after", "after"),
        ("\x1bcreset", "reset"),
        ("dangling \x1b[", "dangling"),
    ],
)
def test_clean_text_removes_whole_ansi_sequences(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_output_is_visible_and_single_line() -> None:
    hostile = "".join(chr(c) for c in range(0x00, 0x250)) + "\u202e\u2066\u200b\ufeff\ue000"
    cleaned = clean_text(hostile, limit=10_000)
    assert visible_only(cleaned)
    assert "\n" not in cleaned and "\r" not in cleaned and "\x1b" not in cleaned


def test_clean_text_keeps_ordinary_unicode() -> None:
    assert clean_text("Café — 日本語 ✓ emoji 🐍") == "Café — 日本語 ✓ emoji 🐍"


def test_clean_text_bounds_the_length() -> None:
    long = "word " * 500
    cleaned = clean_text(long)
    assert len(cleaned) == MAX_REASON_LENGTH
    assert cleaned.endswith("…")
    assert len(clean_text(long, limit=20)) <= 20
    assert clean_text("short", limit=20) == "short"
    assert clean_text("exactly10!", limit=10) == "exactly10!"
    assert clean_text("eleven chrs", limit=10) == "eleven ch…"


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_clean_text_small_limits(limit: int) -> None:
    assert len(clean_text("abcdefghij", limit=limit)) <= limit


@pytest.mark.parametrize("limit", [0, -1])
def test_clean_text_non_positive_limit_gives_empty(limit: int) -> None:
    assert clean_text("abcdefghij", limit=limit) == ""


def test_clean_text_length_counts_after_cleaning() -> None:
    # Controls do not use up the budget; the visible text is what is bounded.
    assert clean_text("\x00" * 1000 + "ok", limit=5) == "ok"


def test_clean_text_accepts_non_strings() -> None:
    assert clean_text(42) == "42"
    assert clean_text(None) == "None"


# --- escape_markdown --------------------------------------------------------------------------

ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Characters that start or end inline Markdown/HTML constructs wherever they stand ("!" and
# "(" only act next to "[" and "]", which are escaped).
ACTIVE = set("\\`*[]<>|~&")
# What opens a block only at the start of a line: a heading, quote, list item, thematic break.
BLOCK_START = re.compile(r"(#{1,6}|[-+])(\s|$)|>|---|\d+[.)](\s|$)")


def unescape_commonmark(text: str) -> str:
    """What a CommonMark renderer shows for backslash escapes of ASCII punctuation."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def unescaped_active(text: str) -> list[str]:
    found: list[str] = []
    if BLOCK_START.match(text):
        found.append(text[:1])
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ASCII_PUNCTUATION:
            i += 2
            continue
        # An underscore can open or close emphasis only at a word boundary.
        inner = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        boundary = not inner
        if text[i] in ACTIVE or (text[i] == "_" and boundary):
            found.append(text[i])
        i += 1
    return found


@pytest.mark.parametrize(
    "text",
    [
        "[click](https://evil.example)",
        "![img](x) <img src=x onerror=alert(1)> <script>x</script>",
        "**bold** _em_ `code` ~~strike~~",
        "# heading",
        "- item",
        "+ item",
        "1. item",
        "> quote",
        "| a | b |",
        "&amp; &#x27; &lt;",
        "back\\slash\\",
        "{{ template }}",
        "plain words stay plain",
    ],
)
def test_escape_markdown_renders_literally(text: str) -> None:
    escaped = escape_markdown(text)
    assert unescaped_active(escaped) == []
    assert unescape_commonmark(escaped) == text


def test_escape_markdown_leaves_plain_text_alone() -> None:
    assert escape_markdown("no special characters here") == "no special characters here"


@pytest.mark.parametrize(
    "text",
    ["https://pypi.org/simple/", "2.6.1", "typing_extensions", "a-b (c)! d.e", "1.3.6 (yanked)"],
)
def test_escape_markdown_does_not_over_escape(text: str) -> None:
    # Neovim, Eglot and ALE show every backslash; GitHub breaks autolinks on them.
    assert escape_markdown(text) == text


def test_clean_then_escape_is_safe_for_a_hover() -> None:
    hostile = "\x1b[31m[x](javascript:alert(1))\u202e\n# heading"
    shown = escape_markdown(clean_text(hostile))
    assert "\n" not in shown and "\x1b" not in shown and "\u202e" not in shown
    assert unescaped_active(shown) == []
    assert unescape_commonmark(shown) == "[x](javascript:alert(1)) # heading"


# --- redact_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@example.com/simple/", "https://example.com/simple/"),
        ("https://token@example.com/simple/", "https://example.com/simple/"),
        ("https://:token@example.com/simple/", "https://example.com/simple/"),
        ("https://user:secret@example.com:8443/simple/", "https://example.com:8443/simple/"),
        ("https://user:secret@[::1]/simple/", "https://[::1]/simple/"),
        ("https://user:secret@[::1]:8080/simple/", "https://[::1]:8080/simple/"),
        (
            "http://u:p@[2001:db8::7]:3141/root/pypi/+simple/",
            "http://[2001:db8::7]:3141/root/pypi/+simple/",
        ),
        ("https://u:p@[fe80::1%25eth0]:8080/s/", "https://[fe80::1%25eth0]:8080/s/"),
        ("https://u:p%40ss@example.com/", "https://example.com/"),
        ("https://u:p@ss@example.com/x", "https://example.com/x"),
        # A query is where tokens go (a purl repository_url may carry one): never shown.
        ("https://u:p@Mixed.Case.example/s/?q=1#frag", "https://Mixed.Case.example/s/?…"),
        ("https://example.com/simple/?token=secret/", "https://example.com/simple/?…"),
        ("https://example.com/simple/#token=secret", "https://example.com/simple/#…"),
        ("https://u:p@127.0.0.1:3141/simple/", "https://127.0.0.1:3141/simple/"),
    ],
)
def test_redact_url_removes_credentials(url: str, expected: str) -> None:
    redacted = redact_url(url)
    assert redacted == expected
    assert "secret" not in redacted and "token" not in redacted


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@example.com:notaport/simple/",
        "https://user:secret@example.com:99999/simple/",
        "https://user:secret@[::1/simple/",
    ],
)
def test_redact_url_never_raises_and_still_redacts(url: str) -> None:
    redacted = redact_url(url)
    assert "secret" not in redacted
    assert "user" not in redacted


def test_redact_url_without_scheme() -> None:
    assert redact_url("user:secret@example.com/simple/") == "example.com/simple/"


@pytest.mark.parametrize(
    "url",
    [
        "https://pypi.org/simple/",
        "https://example.com:8443/simple/",
        "https://[::1]:8080/simple/",
        "https://example.com/path/with@sign/",
        "file:///srv/index/",
        "",
    ],
)
def test_redact_url_keeps_urls_without_credentials(url: str) -> None:
    assert redact_url(url) == url


# --- other URL helpers ------------------------------------------------------------------------


def test_normalize_index_url_has_one_trailing_slash() -> None:
    assert normalize_index_url(" https://example.com/simple ") == "https://example.com/simple/"
    assert normalize_index_url("https://example.com/simple///") == "https://example.com/simple/"


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("HTTP://LocalHost:80/simple/", "http://localhost/simple/"),
        ("http://localhost/simple", "http://localhost/simple/"),
        ("HTTPS://PyPI.org:443", "https://pypi.org/"),  # empty path: "/"
        ("https://pypi.org:0443/simple", "https://pypi.org/simple/"),
        ("https://pypi.org:/simple", "https://pypi.org/simple/"),  # an empty port
        ("https://pypi.org:80/simple", "https://pypi.org:80/simple/"),  # not https's default
        ("http://Mirror.Example:8080/Simple/", "http://mirror.example:8080/Simple/"),  # path case
        ("https://User:Pa@SS@Mirror.Example/s", "https://User:Pa@SS@mirror.example/s/"),
        ("http://[FE80::1%25Eth0]:80/s", "http://[fe80::1%25Eth0]/s/"),  # zone id as written
    ],
)
def test_normalize_index_url_gives_each_index_one_spelling(spelling: str, normal: str) -> None:
    # RFC 3986 6.2.2-6.2.3: another spelling of the configured index was another index (a
    # second watched item, a second cache entry, a purl index refused as "not allowed").
    assert normalize_index_url(spelling) == normal


@pytest.mark.parametrize(
    "odd",
    ["http://[::1/simple/", "http://host:99999999/s/", "http://Host:port/s/", "user:t@Host/s/"],
)
def test_normalize_index_url_leaves_what_it_cannot_read_as_written(odd: str) -> None:
    # Purl qualifiers and lock files are untrusted: never raise, never guess.
    assert normalize_index_url(odd) == odd


def test_project_page_url() -> None:
    assert project_page_url("https://example.com/simple", "typed-ast") == (
        "https://example.com/simple/typed-ast/"
    )


def test_project_page_link_for_pypi_and_others() -> None:
    assert project_page_link(PYPI_SIMPLE_URL, "nose") == "https://pypi.org/project/nose/"
    assert project_page_link("https://pypi.org/simple", "nose") == "https://pypi.org/project/nose/"
    assert project_page_link("https://u:p@mirror.example/simple", "nose") == (
        "https://mirror.example/simple/nose/"
    )


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("requests", "requests"),
        (".evil", ".evil"),  # nothing folded or canonicalised
        ("evil\x00", "evil\\x00"),  # clean_text: "evil", another name
        ("ev\x1b[31mil", "ev\\x1b…il"),  # a whole sequence, its parameters dropped
        ("a\u202eb", "a\\u202eb"),
        ("x\r\nforged", "x\\r\\nforged"),
        ("\x1b]8;;https://evil.example/\x1b\\", "\\x1b…"),
    ],
)
def test_visible_text_shows_what_clean_text_would_drop(written: str, shown: str) -> None:
    assert visible_text(written) == shown
    assert visible_text(written).isprintable()


def test_visible_text_is_bounded() -> None:
    assert visible_text("\x00" * 100, 10) == "\\x00\\x00\\…"
