"""Requirements files (pip's format) parsed the way pip reads them, keeping source positions."""

from __future__ import annotations

import bisect
import functools
import optparse
import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from packaging.requirements import InvalidRequirement

from ..findings.kinds import INVALID_REQUIREMENT
from ..status.model import canonical
from ..status.urls import remote_kind
from .pep508 import ParsedRequirementText, parse_requirement_text, problem_message
from .spans import (
    LINE_BREAK_RE,
    PIP_ONLY_BREAK_RE,
    IgnoreComment,
    Include,
    LineIndex,
    ManifestProblem,
    ParsedManifest,
    Requirement,
    Span,
    UnnamedInstall,
    apply_ignores,
    no_version_warnings,
    read_ignore_comment,
    without_bom,
)

SECTION = "requirements"

# pip's rule (pip._internal.req.req_file.COMMENT_RE): "#" at line start or after whitespace,
# so "https://host/pkg.zip#egg=name" keeps its fragment.
# Written as a look-behind: "(^|\s+)#" retried "\s+" from every space of a long run of them
# (a line of 30,000 spaces took 23 s). The comment starts at its "#": the content before it
# is stripped anyway.
_COMMENT_RE = re.compile(r"(?<!\S)#.*$")
_COMMENT_LINE_RE = re.compile(r"\s*#")

# pip's is_url: these schemes make a line a URL (skipped: the index has no status for it).
_URL_RE = re.compile(r"^\s*(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):")
_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"})
_VCS = frozenset({"git", "hg", "svn", "bzr"})
_ARCHIVE_SUFFIXES = (
    ".whl",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
)
#: Most option words read from one line. optparse takes them one at a time from the front of
#: a list (quadratic: 200,000 "--hash" took 44 s); pip-compile writes one per file of a
#: release, a few hundred at most.
MAX_OPTION_WORDS = 10_000
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")
#: Characters of version specifiers, markers and blanks: a local path pip reads holds none.
_REQUIREMENT_ONLY_CHARS = frozenset("=<>!~;, \t")
#: An empty environment marker after ";" (pip drops it: ``requests;`` is ``requests``).
_EMPTY_MARKER_RE = re.compile(r";[ \t]*$")
_ENV_VAR_RE = re.compile(r"\$\{[A-Z0-9_]+\}")  # pip's ENV_VAR_RE


class _OptionError(Exception):
    pass


class _LineOptionParser(optparse.OptionParser):
    """pip's per-line option set; errors raise instead of exiting."""

    def error(self, msg: str) -> NoReturn:
        raise _OptionError(msg)

    def exit(self, status: int = 0, msg: str | None = None) -> NoReturn:
        raise _OptionError(msg or "invalid option")


def _build_option_parser() -> _LineOptionParser:
    # The options pip accepts in requirements files (req_file.SUPPORTED_OPTIONS and
    # SUPPORTED_OPTIONS_REQ); optparse gives the same abbreviation and "-rfile" handling.
    parser = _LineOptionParser(add_help_option=False)
    options: list[tuple[tuple[str, ...], str]] = [
        (("-i", "--index-url", "--pypi-url"), "store"),
        (("--extra-index-url",), "append"),
        (("-c", "--constraint"), "append"),
        (("-r", "--requirement"), "append"),
        (("-e", "--editable"), "append"),
        (("-f", "--find-links"), "append"),
        (("--no-binary",), "append"),
        (("--only-binary",), "append"),
        (("--all-releases",), "append"),
        (("--only-final",), "append"),
        (("--trusted-host",), "append"),
        (("--use-feature",), "append"),
        (("--hash",), "append"),
        (("-C", "--config-settings"), "append"),
        (("--no-index",), "store_true"),
        (("--prefer-binary",), "store_true"),
        (("--require-hashes",), "store_true"),
        (("--no-require-hashes",), "store_true"),
        (("--pre",), "store_true"),
    ]
    for names, action in options:
        long_name = next(name for name in names if name.startswith("--"))
        parser.add_option(*names, dest=long_name[2:].replace("-", "_"), action=action)
    return parser


_OPTION_PARSER = _build_option_parser()


@dataclass(frozen=True)
class _LogicalLine:
    """Physical lines joined like pip's join_lines, with a map back to source offsets."""

    text: str
    piece_starts: tuple[int, ...]  # offset in ``text`` where each piece begins
    piece_sources: tuple[int, ...]  # source offset of each piece's first character

    def source(self, offset: int) -> int:
        piece = bisect.bisect_right(self.piece_starts, offset) - 1
        return self.piece_sources[piece] + offset - self.piece_starts[piece]

    def source_end(self, end: int) -> int:
        """Source offset just after the character before ``end`` (an exclusive end)."""
        if end <= 0:
            return self.source(0)
        return self.source(end - 1) + 1

    def piece_end(self, offset: int) -> int:
        """Where the piece holding ``offset`` ends: a span starting there stays on its line."""
        piece = bisect.bisect_right(self.piece_starts, offset)
        return self.piece_starts[piece] if piece < len(self.piece_starts) else len(self.text)


def _physical_lines(text: str) -> Iterator[tuple[int, str]]:
    start = 0
    for match in LINE_BREAK_RE.finditer(text):
        yield start, text[start : match.start()]
        start = match.end()
    if start < len(text):
        yield start, text[start:]


def _logical_lines(text: str) -> Iterator[_LogicalLine]:
    pieces: list[tuple[int, str]] = []
    for start, line in _physical_lines(text):
        is_comment = _COMMENT_LINE_RE.match(line) is not None
        if not line.endswith("\\") or is_comment:
            if is_comment:
                # pip prefixes a space so the comment is still found once joined.
                pieces.append((start, " "))
            pieces.append((start, line))
            yield _join(pieces)
            pieces = []
        else:
            # pip strips backslashes at both ends (line.strip("\\")).
            lead = len(line) - len(line.lstrip("\\"))
            pieces.append((start + lead, line.strip("\\")))
    if pieces:
        yield _join(pieces)


def _join(pieces: Sequence[tuple[int, str]]) -> _LogicalLine:
    starts: list[int] = []
    sources: list[int] = []
    texts: list[str] = []
    offset = 0
    for source, piece in pieces:
        starts.append(offset)
        sources.append(source)
        texts.append(piece)
        offset += len(piece)
    return _LogicalLine("".join(texts), tuple(starts), tuple(sources))


def _is_url(text: str) -> bool:
    match = _URL_RE.match(text)
    if match is None:
        return False
    scheme = match.group("scheme").lower()
    return scheme in _URL_SCHEMES or scheme.split("+", 1)[0] in _VCS


def _looks_like_path(text: str) -> bool:
    """Whether ``text`` is a local path rather than a requirement pip would reject.

    pip's rule (constructors._looks_like_path, then the file system): text starting with "."
    or holding a path separator is a path when such a directory exists or it names an archive;
    otherwise pip parses it as a requirement and rejects it. A pure parser cannot ask the file
    system, so text that starts like a path (".", "/", "~", a drive letter) is a path, and text
    with "/" or "\\" elsewhere is one only if it holds nothing a requirement would
    (``uvicorn==0.35/0``, or ``requests \\`` with a blank after the backslash, are not).
    """
    if text.startswith((".", "/", "~", "\\")) or _DRIVE_RE.match(text):
        return True
    if "/" not in text and "\\" not in text:
        return False
    return not any(char in _REQUIREMENT_ONLY_CHARS for char in text)


#: Why a URL, path or archive line has no project name to look up.
_NO_NAME = "comes from a URL, a path or a VCS, with no project name"


def _is_name_free(args: str) -> bool:
    """Whether pip would read ``args`` as a URL, local path or archive file, not a name."""
    if _is_url(args):
        return True
    head = args.split(";", 1)[0].strip()
    if _looks_like_path(head.split("@", 1)[0]):
        return True
    return "@" not in head and _without_trailing_extras(head).lower().endswith(_ARCHIVE_SUFFIXES)


def _without_trailing_extras(text: str) -> str:
    """``text`` without a final ``[...]`` holding no "]": the extras of ``pkg.zip[extra]``.

    By hand: the regex "\\[[^\\]]*\\]$" tried every "[" and scanned to the end from each: a line of
    200,000 "[" took over a minute; this is one pass.
    """
    if not text.endswith("]"):
        return text
    opening = text.find("[", text.rfind("]", 0, len(text) - 1) + 1, len(text) - 1)
    return text[:opening] if opening >= 0 else text


def _with_variables(args: str) -> ParsedRequirementText | None:
    """``args`` read with each ``${VAR}`` as a placeholder of its length (pip expands them from
    the environment first); ``None`` when the name itself holds one (the name is unknown here).
    What they make of the version and extras is unknown too: no specifier, no pin, and no extras
    when one is written there."""
    try:
        parsed = parse_requirement_text(_ENV_VAR_RE.sub(lambda m: "0" * len(m.group()), args))
    except InvalidRequirement:
        return None
    first = _ENV_VAR_RE.search(args)
    if first is None or first.start() < parsed.name_end:
        return None
    extras = parsed.extras
    after_name = args[parsed.name_end :].lstrip(" \t")
    if after_name.startswith("[") and "${" in after_name.split("]")[0]:
        extras = ()
    return replace(parsed, specifier="", pinned_version=None, version_start=None, extras=extras)


#: The characters shlex splits words on (its ``whitespace``): pip splits options with shlex.
_SHLEX_SPACE_RE = re.compile(r"[ \t\r\n]+")


def _shlex_words(options: str) -> list[str]:
    """``shlex.split(options)`` of a text with no quote or backslash, at C speed."""
    stripped = options.strip(" \t\r\n")
    return _SHLEX_SPACE_RE.split(stripped) if stripped else []


class _Builder:
    def __init__(self, text: str) -> None:
        self.index = LineIndex(text)
        self.requirements: list[Requirement] = []
        self.problems: list[ManifestProblem] = []
        self.includes: list[Include] = []
        self.index_urls: list[str] = []
        self.extra_index_urls: list[str] = []
        #: Each ignore comment with the requirement on its logical line (none, or one).
        self.ignores: list[tuple[IgnoreComment, list[int]]] = []
        self.unnamed: list[UnnamedInstall] = []

    def span(self, line: _LogicalLine, start: int, end: int) -> Span:
        """Span of ``start:end`` in ``line``, cut where the physical line of ``start`` ends."""
        end = max(start + 1, min(end, line.piece_end(start)))
        return self.index.span(line.source(start), line.source_end(end))

    def single_line_span(self, line: _LogicalLine, start: int, end: int) -> Span | None:
        return self.index.single_line_span(line.source(start), line.source_end(end))

    def problem(self, line: _LogicalLine, start: int, end: int, message: str) -> None:
        self.problems.append(
            ManifestProblem(message, self.span(line, start, end), INVALID_REQUIREMENT)
        )

    def add_line(self, line: _LogicalLine) -> None:
        comment = _COMMENT_RE.search(line.text)
        content_end = comment.start() if comment else len(line.text)
        content = line.text[:content_end]
        start = len(content) - len(content.lstrip())
        end = len(content.rstrip())
        if start >= end:
            if comment is not None:
                self.add_ignore(line, comment.start(), comment.end(), [])
            return
        stripped = content[start:end]
        # pip's break_args_options: args run up to the first space-separated "-" token.
        tokens = stripped.split(" ")
        first_option = next(
            (i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens)
        )
        args = " ".join(tokens[:first_option]).rstrip()
        options_start = start + (len(" ".join(tokens[:first_option])) + 1 if first_option else 0)
        options = line.text[options_start:end] if first_option < len(tokens) else ""

        values = self.parse_options(line, options, options_start, end)
        if values is None:
            return
        found = len(self.requirements)
        if args:
            self.add_requirement(line, start, args)
        else:
            self.add_option_line(line, values, options, options_start, end)
        if comment is not None:
            self.add_ignore(
                line, comment.start(), comment.end(), list(range(found, len(self.requirements)))
            )

    def add_ignore(self, line: _LogicalLine, start: int, end: int, covered: list[int]) -> None:
        """Record the comment at ``start:end`` when it is an ignore comment."""
        hash_at = line.text.index("#", start)
        found = read_ignore_comment(line.text[hash_at:end], self.span(line, hash_at, end))
        if found is not None:
            self.ignores.append((found, covered))

    def parse_options(
        self, line: _LogicalLine, options: str, start: int, end: int
    ) -> optparse.Values | None:
        values = optparse.Values()
        if not options:
            return values
        # shlex is slow on pip-compile's long --hash lines; without quotes or backslashes
        # splitting on its white space gives the same words. Not str.split: it also splits
        # on a no-break space or U+001C, which shlex (and so pip) keeps inside a word: "-r\xa0
        # base.txt" is pip's include of a file named "\xa0base.txt", not of base.txt.
        plain = not any(quote in options for quote in "\"'\\")
        try:
            words = _shlex_words(options) if plain else shlex.split(options)
            if len(words) > MAX_OPTION_WORDS:
                self.problem(line, start, end, f"more than {MAX_OPTION_WORDS} options on one line")
                return None
            _OPTION_PARSER.parse_args(words, values)
        except ValueError as exc:
            self.problem(line, start, end, f"pip cannot split these options: {exc}")
            return None
        except _OptionError as exc:
            self.problem(line, start, end, f"pip rejects this line: {exc}")
            return None
        return values

    def unnamed_at(self, line: _LogicalLine, start: int, text: str, why: str) -> None:
        self.unnamed.append(UnnamedInstall(text, why, self.span(line, start, start + len(text))))

    def add_requirement(self, line: _LogicalLine, start: int, args: str) -> None:
        if _is_name_free(args):
            # Installed from where it says, under whatever name its metadata gives: nothing
            # to ask an index, but never dropped without a word (a gate of only these lines
            # passed, "0 requirements").
            self.unnamed_at(line, start, args, _NO_NAME)
            return
        # pip splits the marker off itself and drops an empty one; packaging would reject it.
        args = _EMPTY_MARKER_RE.sub("", args).rstrip(" \t")
        try:
            parsed = parse_requirement_text(args)
        except InvalidRequirement as exc:
            if _ENV_VAR_RE.search(args) is None:
                self.problem(line, start, start + len(args), problem_message(args, exc))
                return
            found = _with_variables(args)
            if found is None:
                self.unnamed_at(line, start, args, "its name is an environment variable")
                return
            parsed = found
        version_span = None
        if parsed.version_start is not None and parsed.version_end is not None:
            version_span = self.span(line, start + parsed.version_start, start + parsed.version_end)
        self.requirements.append(
            Requirement(
                name=parsed.name,
                canonical_name=canonical(parsed.name),
                name_span=self.span(line, start + parsed.name_start, start + parsed.name_end),
                specifier=parsed.specifier,
                pinned_version=parsed.pinned_version,
                version_span=version_span,
                extras=parsed.extras,
                marker=parsed.marker,
                url=parsed.url,
                ignored=False,
                section=SECTION,
                text_span=self.single_line_span(line, start, start + len(args)),
                remote=remote_kind(parsed.url) if parsed.url is not None else None,
            )
        )

    def add_option_line(
        self, line: _LogicalLine, values: optparse.Values, options: str, start: int, end: int
    ) -> None:
        found: dict[str, Any] = vars(values)
        for kind, dest in (("requirement", "requirement"), ("constraint", "constraint")):
            for path in found.get(dest) or ():
                where = options.rfind(path)
                span = (
                    self.span(line, start + where, start + where + len(path))
                    if where >= 0 and path
                    else self.span(line, start, end)
                )
                self.includes.append(Include(kind, path, span))
        if found.get("index_url"):
            self.index_urls.append(found["index_url"])
        self.extra_index_urls.extend(found.get("extra_index_url") or ())
        for editable in found.get("editable") or ():
            # pip installs a path or a VCS URL there, never a name from an index.
            where = options.rfind(editable)
            self.unnamed_at(line, start + max(where, 0), editable, "is an editable install")

    def result(self) -> ParsedManifest:
        requirements, warnings = apply_ignores(self.requirements, self.ignores)
        return ParsedManifest(
            kind="requirements",
            requirements=tuple(requirements),
            problems=tuple(self.problems),
            includes=tuple(self.includes),
            index_urls=(*self.index_urls, *self.extra_index_urls),
            ignore_comments=tuple(comment for comment, _ in self.ignores),
            warnings=(*warnings, *no_version_warnings(requirements)),
            unnamed=tuple(self.unnamed),
        )


# PIP_ONLY_BREAK_RE: "flask\fevil==6.6.6" is two requirements to pip, so it is two here,
# each placed on the LSP line and column it is written at.

#: Where each physical line of a group is written: (LSP line, column of its first character).
_Places = tuple[tuple[int, int], ...]


def _pip_line_groups(text: str) -> Iterator[tuple[_Places, str]]:
    """:func:`_line_groups` of a text with line breaks only pip honours: the physical lines
    are pip's, each with where it is written."""
    pieces: list[tuple[str, int, int]] = []
    lines = LINE_BREAK_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
        unterminated = len(lines)  # every line ends with a break
    else:
        unterminated = len(lines) - 1  # the last one does not
    for number, line in enumerate(lines):
        column = 0
        for match in PIP_ONLY_BREAK_RE.finditer(line):
            pieces.append((line[column : match.start()], number, column))
            column = match.end()
        # What follows the last break is a line of its own, empty or not, unless nothing
        # ends it ("a\f".splitlines() is ["a"], "a\f\n".splitlines() is ["a", ""]: a
        # backslash before the \f joins that empty line, not the next one).
        if column == 0 or column < len(line) or number < unterminated:
            pieces.append((line[column:], number, column))
    group: list[tuple[str, int, int]] = []
    for piece in pieces:
        group.append(piece)
        if piece[0].endswith("\\") and _COMMENT_LINE_RE.match(piece[0]) is None:
            continue
        yield tuple((n, c) for _, n, c in group), "\n".join(t for t, _, _ in group)
        group = []
    if group:
        yield tuple((n, c) for _, n, c in group), "\n".join(t for t, _, _ in group)


def _placed_at(group: str, places: _Places) -> ParsedManifest:
    """:func:`_parse_group` of ``group``, each span moved to where its line is written."""

    def move(span: Span) -> Span:
        line, column = places[min(span.line, len(places) - 1)]
        return Span(line, span.start + column, span.end + column)

    parsed = _parse_group(group)[0]
    return ParsedManifest(
        kind=parsed.kind,
        requirements=tuple(
            replace(
                r,
                name_span=move(r.name_span),
                version_span=None if r.version_span is None else move(r.version_span),
                text_span=None if r.text_span is None else move(r.text_span),
            )
            for r in parsed.requirements
        ),
        problems=tuple(replace(p, span=move(p.span)) for p in parsed.problems),
        includes=tuple(replace(i, span=move(i.span)) for i in parsed.includes),
        index_urls=parsed.index_urls,
        ignore_comments=tuple(replace(c, span=move(c.span)) for c in parsed.ignore_comments),
        warnings=tuple(replace(w, span=move(w.span)) for w in parsed.warnings),
        unnamed=tuple(replace(u, span=move(u.span)) for u in parsed.unnamed),
    )


def _line_groups(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each run of physical lines pip joins into one logical line
    (a trailing backslash outside a comment continues a line), lines joined by "\\n"."""
    lines = LINE_BREAK_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the text ends with a line break: no line after it
    number = 0
    group: list[str] = []
    for line in lines:
        if line.endswith("\\") and _COMMENT_LINE_RE.match(line) is None:
            group.append(line)
            continue
        if group:
            group.append(line)
            yield number, "\n".join(group)
            number += len(group)
            group = []
        else:
            yield number, line
            number += 1
    if group:
        yield number, "\n".join(group)


@functools.lru_cache(maxsize=16384)
def _parse_group(group: str) -> tuple[ParsedManifest, int]:
    """One logical line parsed on its own (its first physical line is line 0), with how many
    of its index URLs are ``--index-url`` ones (the rest are ``--extra-index-url``).

    A logical line depends on nothing around it (an ignore comment covers its own line only),
    so the file's result is its logical lines' results, moved to where each starts.
    """
    builder = _Builder(group)
    for line in _logical_lines(group):
        builder.add_line(line)
    return builder.result(), len(builder.index_urls)


#: Each logical line's result where it was last placed. The language server parses the whole
#: file again after every edit, and all logical lines but the edited one are the same text at
#: the same line as before: those cost a dictionary look-up (bench/bench_lsp.py --scenario
#: edit). Bounded (about 2 kB per line with its result): emptied past 20,000 lines, which
#: still holds 20 open 500-line files or a 3,000-line one several times.
_PLACED: dict[str, tuple[int, ParsedManifest]] = {}
_PLACED_LIMIT = 20_000


def _placed(group: str, first: int) -> ParsedManifest:
    found = _PLACED.get(group)
    if found is not None and found[0] == first:
        return found[1]
    parsed = _parse_group(group)[0]
    if first:
        parsed = ParsedManifest(
            kind=parsed.kind,
            requirements=tuple(_moved_requirement(r, first) for r in parsed.requirements),
            problems=tuple(_moved_problem(p, first) for p in parsed.problems),
            includes=tuple(replace(i, span=_moved(i.span, first)) for i in parsed.includes),
            index_urls=parsed.index_urls,
            ignore_comments=tuple(
                replace(c, span=_moved(c.span, first)) for c in parsed.ignore_comments
            ),
            warnings=tuple(_moved_problem(w, first) for w in parsed.warnings),
            unnamed=tuple(replace(u, span=_moved(u.span, first)) for u in parsed.unnamed),
        )
    if len(_PLACED) >= _PLACED_LIMIT:
        _PLACED.clear()
    _PLACED[group] = (first, parsed)
    return parsed


def _moved(span: Span, lines: int) -> Span:
    return Span(span.line + lines, span.start, span.end)


def _moved_requirement(requirement: Requirement, lines: int) -> Requirement:
    # The constructor, not dataclasses.replace: three times as fast, and an insertion near the
    # top of a big file moves every requirement below it.
    version, text = requirement.version_span, requirement.text_span
    return Requirement(
        name=requirement.name,
        canonical_name=requirement.canonical_name,
        name_span=_moved(requirement.name_span, lines),
        specifier=requirement.specifier,
        pinned_version=requirement.pinned_version,
        version_span=None if version is None else _moved(version, lines),
        extras=requirement.extras,
        marker=requirement.marker,
        url=requirement.url,
        ignored=requirement.ignored,
        section=requirement.section,
        text_span=None if text is None else _moved(text, lines),
        source=requirement.source,
        index_url=requirement.index_url,
        remote=requirement.remote,
    )


def _moved_problem(problem: ManifestProblem, lines: int) -> ManifestProblem:
    return replace(problem, span=_moved(problem.span, lines))


def parse_requirements_text(text: str) -> ParsedManifest:
    """Parse a requirements file's text; never raises on bad content (problems say what)."""
    text = without_bom(text)
    requirements: list[Requirement] = []
    problems: list[ManifestProblem] = []
    includes: list[Include] = []
    index_urls: list[str] = []
    extra_index_urls: list[str] = []
    ignores: list[IgnoreComment] = []
    warnings: list[ManifestProblem] = []
    unnamed: list[UnnamedInstall] = []
    groups: Iterable[tuple[int | _Places, str]] = (
        _line_groups(text) if PIP_ONLY_BREAK_RE.search(text) is None else _pip_line_groups(text)
    )
    for first, group in groups:
        if not group or group.isspace():
            continue
        found = _placed(group, first) if isinstance(first, int) else _placed_at(group, first)
        if found.requirements:
            requirements.extend(found.requirements)
        if found.unnamed:
            unnamed.extend(found.unnamed)
        if found.problems or found.warnings or found.ignore_comments or found.includes:
            problems.extend(found.problems)
            warnings.extend(found.warnings)
            ignores.extend(found.ignore_comments)
            includes.extend(found.includes)
        if found.index_urls:
            # --index-url values come before --extra-index-url ones, as in one builder.
            primary = _parse_group(group)[1]
            index_urls.extend(found.index_urls[:primary])
            extra_index_urls.extend(found.index_urls[primary:])
    return ParsedManifest(
        kind="requirements",
        requirements=tuple(requirements),
        problems=tuple(problems),
        includes=tuple(includes),
        index_urls=(*index_urls, *extra_index_urls),
        ignore_comments=tuple(ignores),
        warnings=tuple(warnings),
        unnamed=tuple(unnamed),
    )
