"""Values the manifest parsers return, and the mapping from text offsets to line/column spans."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..findings.graph import DependencyGraph
from ..findings.kinds import IGNORE_COMMENT, NO_VERSION_ALLOWED
from ..status.model import canonical
from .pep508 import allows_no_version

#: Line breaks as the Language Server Protocol counts them (not str.splitlines, which also
#: breaks on form feeds and U+2028: that would shift every later line number in the editor).
LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
#: Line breaks str.splitlines, and so pip, honours that the protocol does not count.
PIP_ONLY_BREAK_RE = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class Span:
    """A range within one line: 0-based line, start and exclusive end column in code points."""

    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Requirement:
    """One dependency named in a manifest, with where its parts are written.

    ``name_span`` covers exactly the project name as written (escapes included, when the name
    itself is written with TOML escapes). ``specifier`` is the version constraint as written,
    whitespace removed (Poetry constraints such as ``^1.2`` stay in Poetry syntax).
    ``pinned_version`` is set for a single ``==``/``===`` pin without wildcard, and for a Poetry
    exact version (``"1.2.3"``, ``"=1.2.3"``, ``"==1.2.3"``). ``url`` is set for direct
    references (``name @ url``, Poetry ``git``/``url``/``path``): the index has no status for
    those. ``source`` says where a ``[tool.uv.sources]`` entry or a Poetry ``source = ...`` takes
    the project from instead (a workspace member, a path, git, a URL or another index): the
    configured index has no say about those either. ``text_span`` covers the whole requirement
    (a requirements-file line's requirement text, a TOML string's contents without quotes, a
    Poetry ``key = value`` entry) and is ``None`` when that text spans several lines.
    ``ignored``: an ignore comment (:class:`IgnoreComment`) that silences this dependency by
    name sits at the end of its logical line (requirements files) or on the line of its name or
    of its end (TOML); the bare legacy form only when that line holds no other dependency.
    """

    name: str
    canonical_name: str
    name_span: Span
    specifier: str
    pinned_version: str | None
    version_span: Span | None
    extras: tuple[str, ...]
    marker: str | None
    url: str | None
    ignored: bool
    section: str
    text_span: Span | None
    source: str | None = None
    #: The index a lock file says this package came from (None: the configured index).
    index_url: str | None = None
    #: Installed from a remote source (``url``, ``git``, ``vcs``: a lock entry's, or a direct
    #: reference ``name @ https://…``) or a lock's ``find-links`` directory: off the index,
    #: but its name is still asked on the configured one (an index that quarantined that name
    #: says something about the file); ``source`` or ``url`` says why it is off the index.
    remote: str | None = None

    @property
    def off_index(self) -> bool:
        """Taken from a URL, a path or another index: no status lookup on the configured one."""
        return self.url is not None or self.source is not None

    @property
    def looked_up(self) -> bool:
        """Asked on an index: from one, or a remote lock entry asked by name (:attr:`remote`)."""
        return not self.ignored and (not self.off_index or self.remote is not None)


@dataclass(frozen=True)
class ManifestProblem:
    """Something in the manifest a user should fix; ``code`` is a kind of findings/kinds.py."""

    message: str
    span: Span
    code: str


@dataclass(frozen=True)
class IgnoreComment:
    """A ``# sbom-enrich: ignore[name, ...]`` comment and the dependencies it may silence.

    ``names`` are canonical; ``None`` is the bare legacy ``# sbom-enrich: ignore``, which
    silences the dependency on its line only when that line holds exactly one (else it would
    hide every other name there: a quarantined one too).
    """

    span: Span
    names: tuple[str, ...] | None


@dataclass(frozen=True)
class UnnamedInstall:
    """A requirements line pip installs without a project name to look up: a URL, a path, an
    archive, a VCS checkout, an editable install, or a name held in an environment variable.
    Nothing to ask an index; a run reports it as skipped, never drops it."""

    #: What is installed, as written (``./pkg.whl``, ``${NAME}``), and why it has no name.
    text: str
    why: str
    span: Span


@dataclass(frozen=True)
class Include:
    """A ``-r``/``-c`` line of a requirements file: recorded, never followed."""

    kind: str
    path: str
    span: Span


@dataclass(frozen=True)
class ParsedManifest:
    """Everything the parsers found in one manifest."""

    kind: str
    requirements: tuple[Requirement, ...]
    problems: tuple[ManifestProblem, ...]
    includes: tuple[Include, ...] = ()
    index_urls: tuple[str, ...] = ()
    #: A lock file's dependency graph (None for manifests, which have no edges).
    graph: DependencyGraph | None = None
    #: Every ignore comment, with the names it silences.
    ignore_comments: tuple[IgnoreComment, ...] = ()
    #: Things worth a warning that do not stop a dependency from being checked (code
    #: ``ignore-comment``: an ignore that silences less than it seems to).
    warnings: tuple[ManifestProblem, ...] = ()
    #: pyproject.toml fields listed in ``[project] dynamic`` (``dependencies``,
    #: ``optional-dependencies``) that the build backend fills from a source no reader here
    #: follows (setup.py, a plugin): none of their dependencies is in ``requirements``.
    #: Whether that leaves a run blind is the caller's call (manifests/check.py).
    dynamic_unseen: tuple[ManifestProblem, ...] = ()
    #: Lines installed without a project name (requirements files): skipped, with why.
    unnamed: tuple[UnnamedInstall, ...] = ()


#: The marker in a trailing comment that silences dependencies by name (documented in the
#: README): ``sbom-enrich: ignore[name, other]``; without brackets, the legacy bare form.
IGNORE_MARKER_RE = re.compile(
    r"\bsbom-enrich[ \t]*:[ \t]*ignore\b(?:[ \t]*\[(?P<names>[^\]]*)\])?", re.IGNORECASE
)
_NAME_SEPARATOR_RE = re.compile(r"[\s,]+")


def read_ignore_comment(comment: str, span: Span) -> IgnoreComment | None:
    """The ignore comment ``comment`` (found at ``span``) holds, or ``None`` when it holds no
    ignore marker. Several markers in one comment add up; names are canonicalized."""
    found: set[str] = set()
    bare = False
    matched = False
    for match in IGNORE_MARKER_RE.finditer(comment):
        matched = True
        written = match.group("names")
        if written is None:
            bare = True
        else:
            found.update(canonical(n) for n in _NAME_SEPARATOR_RE.split(written) if n)
    if not matched:
        return None
    return IgnoreComment(span, None if bare and not found else tuple(sorted(found)))


def apply_ignores(
    requirements: Sequence[Requirement],
    comments: Sequence[tuple[IgnoreComment, Sequence[int]]],
) -> tuple[list[Requirement], list[ManifestProblem]]:
    """``requirements`` with ``ignored`` set from ``comments`` (each with the positions of the
    requirements on its line), and a warning for every ignore that silences less than it says.
    """
    silenced: set[int] = set()
    warnings: list[ManifestProblem] = []
    for comment, covered in comments:
        if comment.names is None:
            if len(covered) == 1:
                silenced.update(covered)
            elif covered:
                names = ", ".join(requirements[i].canonical_name for i in covered)
                warnings.append(
                    ManifestProblem(
                        f"a bare '# sbom-enrich: ignore' silences nothing on a line with "
                        f"{len(covered)} dependencies ({names}): name the ones to silence, "
                        f"e.g. '# sbom-enrich: ignore[{requirements[covered[0]].canonical_name}]'",
                        comment.span,
                        IGNORE_COMMENT,
                    )
                )
            continue
        on_line = {requirements[i].canonical_name for i in covered}
        silenced.update(i for i in covered if requirements[i].canonical_name in comment.names)
        warnings.extend(
            ManifestProblem(
                f"sbom-enrich: ignore[{name}] silences nothing: no dependency {name!r} "
                "on this line",
                comment.span,
                IGNORE_COMMENT,
            )
            for name in comment.names
            if name not in on_line
        )
        if not comment.names:
            warnings.append(
                ManifestProblem(
                    "sbom-enrich: ignore[] names no dependency", comment.span, IGNORE_COMMENT
                )
            )
    result = [
        replace(r, ignored=True) if i in silenced and not r.ignored else r
        for i, r in enumerate(requirements)
    ]
    return result, warnings


def without_bom(text: str) -> str:
    """Replace a leading byte order mark by a space, so columns still match the given text."""
    if text.startswith("\ufeff"):
        return " " + text[1:]
    return text


def wide_encoding(text: str) -> str | None:
    """``UTF-16 (a byte order mark)``, ``UTF-32 (NUL bytes)``: how ``text``, read as UTF-8
    (bad bytes replaced), shows it is UTF-16 or UTF-32; None when it does not.

    Windows PowerShell 5 writes ``>``, ``Out-File`` and ``Set-Content -Encoding Unicode`` as
    UTF-16. Read as UTF-8 that is every other character a NUL (no TOML or JSON document has
    one), after two replaced bytes when a byte order mark leads; the parser's first error
    ("key with no value", "Invalid statement") said nothing of that.
    """
    head = text[:4096]
    nuls = head.count("\x00")
    if not nuls or nuls * 3 < len(head):  # a stray NUL is another error, told as such
        return None
    width = "UTF-32" if "\x00\x00\x00" in head else "UTF-16"
    # FF FE / FE FF are no UTF-8: each byte of the mark became one replacement character.
    how = "a byte order mark" if head.strip("\x00").startswith("\ufffd\ufffd") else "NUL bytes"
    return f"{width} ({how})"


class LineIndex:
    """Maps offsets in a text to (line, column), counting line breaks as LSP does."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, text: str) -> None:
        self._starts = [0]
        # Offset of each line's terminator (or the text's end), so spans never cover a newline.
        self._ends: list[int] = []
        for match in LINE_BREAK_RE.finditer(text):
            self._ends.append(match.start())
            self._starts.append(match.end())
        self._ends.append(len(text))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line, offset - self._starts[line]

    def line_end(self, line: int) -> int:
        """Column where ``line``'s content ends."""
        return self._ends[line] - self._starts[line]

    def span(self, start: int, end: int) -> Span:
        """The span from offset ``start`` to ``end``, cut at the end of ``start``'s line."""
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        if end_line != line:
            end_col = self.line_end(line)
        return Span(line, col, max(col, end_col))

    def single_line_span(self, start: int, end: int) -> Span | None:
        """The span from ``start`` to ``end`` when both are on one line, else ``None``."""
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        if end_line != line:
            return None
        return Span(line, col, end_col)


def no_version_warnings(requirements: Sequence[Requirement]) -> list[ManifestProblem]:
    """A warning for each requirement whose specifier allows no version: it was looked up
    unpinned without a word, though pip cannot install it ("Could not find a version that
    satisfies the requirement") and uv says its specifiers "are incompatible"."""
    return [
        ManifestProblem(
            f"{r.name}{r.specifier} allows no version, so pip and uv cannot install it (its "
            "project status is checked, no version's)",
            r.name_span,
            NO_VERSION_ALLOWED,
        )
        for r in requirements
        if r.specifier and not r.ignored and allows_no_version(r.specifier)
    ]
