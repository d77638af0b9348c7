"""Quick fixes for one dependency: switch to a suggested alternative, or silence it (pure)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types
from packaging.version import InvalidVersion, Version

from sbom_enrich._toml import loads as toml_loads
from sbom_enrich._toml import tomllib
from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.manifests import Requirement, Span, parse_requirements_text
from sbom_enrich.manifests.requirements import SECTION as REQUIREMENTS_SECTION
from sbom_enrich.manifests.spans import IGNORE_MARKER_RE, PIP_ONLY_BREAK_RE
from sbom_enrich.status.model import StatusRecord, canonical

from .diagnostics import to_range
from .positions import from_client_column

IGNORE_COMMENT = "# sbom-enrich: ignore"
#: Poetry dependency tables use the project name as a TOML key, not a PEP 508 string.
_POETRY_SECTION = re.compile(r"^tool\.poetry\.")
_EXTRAS = re.compile(r"[ \t]*\[[^\]]*\]")
# A PEP 508 version specifier as written: operators, versions, commas, blanks, parentheses.
_SPECIFIER = re.compile(
    r"[ \t]*\(?[ \t]*(?:[<>=!~]=?=?)[ \t]*[\w.*+!-]+(?:[ \t]*,[ \t]*"
    r"(?:[<>=!~]=?=?)[ \t]*[\w.*+!-]+)*[ \t]*\)?"
)
_POETRY_VALUE = re.compile(r"[ \t]*=[ \t]*(\"[^\"]*\"|'[^']*')")
_POETRY_VERSION_KEY = re.compile(r"\bversion[ \t]*=[ \t]*(\"[^\"]*\"|'[^']*')")
#: pip's comment pattern: a line it matches ends a backslash continuation.
_PIP_COMMENT = re.compile(r"(^|\s+)#.*$")
#: A comment in a joined requirements line: "#" at its start or after a blank (pip's rule).
_REQUIREMENTS_COMMENT = re.compile(r"(?<!\S)#.*$")


def _edit(
    line: int, start: int, end: int, new_text: str, lines: Sequence[str], encoding: str
) -> types.TextEdit:
    return types.TextEdit(
        range=to_range(Span(line, start, end), lines, encoding), new_text=new_text
    )


def _is_poetry(requirement: Requirement) -> bool:
    return bool(_POETRY_SECTION.match(requirement.section))


def _physical(lines: Sequence[str], line: int) -> str:
    return lines[line].rstrip("\r\n") if 0 <= line < len(lines) else ""


def _continues(text: str) -> bool:
    """Whether pip joins the next physical line to this one (a trailing backslash)."""
    return text.endswith("\\") and _PIP_COMMENT.match(text) is None


def _logical_extent(lines: Sequence[str], line: int) -> tuple[int, int]:
    """First and last physical line of the requirements-file logical line holding ``line``."""
    first = line
    while first > 0 and _continues(_physical(lines, first - 1)):
        first -= 1
    last = line
    while last + 1 < len(lines) and _continues(_physical(lines, last)):
        last += 1
    return first, last


def specifier_span(requirement: Requirement, line_text: str) -> Span | None:
    """Where the version constraint is written on the name's line, or ``None``.

    For PEP 508 text it is the operators and versions after the name and extras; for a Poetry
    entry, the quoted constraint (``"^1.2"`` or ``version = "^1.2"`` in an inline table).
    """
    if not requirement.specifier:
        return None
    name = requirement.name_span
    if _is_poetry(requirement):
        plain = _POETRY_VALUE.match(line_text, name.end)
        if plain is not None:
            return Span(name.line, plain.start(1), plain.end(1))
        keyed = _POETRY_VERSION_KEY.search(line_text, name.end)
        if keyed is not None:
            return Span(name.line, keyed.start(1), keyed.end(1))
        return None
    position = name.end
    extras = _EXTRAS.match(line_text, position)
    if extras is not None:
        position = extras.end()
    found = _SPECIFIER.match(line_text, position)
    if found is None:
        return None
    return Span(name.line, found.start(), len(line_text[: found.end()].rstrip()))


@dataclass(frozen=True)
class Rename:
    """The edits that switch a dependency to another project."""

    edits: list[types.TextEdit]
    #: The requirements line's ``--hash`` options were dropped: they are the old project's
    #: files' hashes, and pip would refuse the new one against them.
    dropped_hashes: bool = False


def replace_edits(
    requirement: Requirement, alternative: Alternative, lines: Sequence[str], encoding: str
) -> Rename | None:
    """Rename to ``alternative``, keeping extras and markers and dropping the version constraint
    (and in a requirements file the ``--hash`` options); ``None`` when it cannot be done safely.

    The constraint is dropped because versions of one project say nothing about another's.
    """
    if requirement.section == REQUIREMENTS_SECTION:
        return _replace_requirements_line(requirement, alternative, lines, encoding)
    name = requirement.name_span
    line_text = lines[name.line].rstrip("\r\n") if name.line < len(lines) else ""
    edits = [_edit(name.line, name.start, name.end, alternative.name, lines, encoding)]
    spec = specifier_span(requirement, line_text)
    if spec is not None:
        new_text = '"*"' if _is_poetry(requirement) else ""
        edits.append(_edit(spec.line, spec.start, spec.end, new_text, lines, encoding))
    return Rename(edits)


def _pip_joined(lines: Sequence[str], first: int, last: int) -> str:
    """Physical lines ``first``..``last`` joined as pip's join_lines joins a logical line."""
    pieces = [_physical(lines, number).strip("\\") for number in range(first, last)]
    end = _physical(lines, last)
    # A comment line ends a continuation; pip puts a blank before it so it stays a comment.
    return "".join([*pieces, f" {end}" if _PIP_COMMENT.match(end) else end])


def _is_hash_option(word: str) -> bool:
    """``--hash``, or an abbreviation optparse (so pip) takes for it (``--ha=...``)."""
    option = word.split("=", 1)[0]
    return len(option) > 2 and "--hash".startswith(option)


def renamed_requirement_line(
    text: str, name: str, new_name: str, marker: str | None, url: str | None
) -> tuple[str, bool] | None:
    """A requirements file's logical line ``text`` (joined) naming ``new_name`` instead of
    ``name``: extras, marker, other options and comment kept; the version constraint (or URL)
    and the ``--hash`` options dropped. With whether hashes were dropped; ``None`` when the
    line is not written as expected."""
    comment = _REQUIREMENTS_COMMENT.search(text)
    content = text[: comment.start()] if comment else text
    lead = len(content) - len(content.lstrip())
    tokens = content.strip().split(" ")
    # pip's break_args_options: the requirement runs up to the first word starting with "-".
    first_option = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    args = " ".join(tokens[:first_option]).rstrip()
    if not args.startswith(name):
        return None
    after_name = len(name)
    extras = _EXTRAS.match(args, after_name)
    kept = args[after_name : extras.end()] if extras else ""
    if url is not None:
        kept += f" ; {marker}" if marker else ""
    elif (semicolon := args.find(";", after_name)) >= 0:
        # From the blank before the ";" on, as written ("pkg>=1 ; python_version<'3'").
        kept += args[max(len(args[:semicolon].rstrip(" \t")), after_name) :]
    options = content[lead + len(args) :]
    try:
        words = shlex.split(options)
    except ValueError:
        return None
    dropped = any(_is_hash_option(word) for word in words)
    if dropped:
        words = [w for i, w in enumerate(words) if not _is_hash_value(words, i)]
        trailing = content[len(content.rstrip()) :] or (" " if comment else "")
        options = (" " + shlex.join(words) if words else "") + trailing
    tail = comment.group() if comment else ""
    return f"{content[:lead]}{new_name}{kept}{options}{tail}", dropped


def _is_hash_value(words: Sequence[str], index: int) -> bool:
    """Whether ``words[index]`` is a ``--hash`` option or the value after one (``--hash X``)."""
    word = words[index]
    if _is_hash_option(word):
        return True
    previous = words[index - 1] if index else ""
    return _is_hash_option(previous) and "=" not in previous


def _replace_requirements_line(
    requirement: Requirement, alternative: Alternative, lines: Sequence[str], encoding: str
) -> Rename | None:
    """The requirements-file rename: the whole logical line rewritten, continuation lines
    (a pin written on one, pip-compile's ``--hash`` lines) included."""
    first, last = _logical_extent(lines, requirement.name_span.line)
    if any(PIP_ONLY_BREAK_RE.search(_physical(lines, n)) for n in range(first, last + 1)):
        return None  # pip splits this line where the editor does not: no safe rewrite
    found = renamed_requirement_line(
        _pip_joined(lines, first, last),
        requirement.name,
        alternative.name,
        requirement.marker,
        requirement.url,
    )
    if found is None:
        return None
    text, dropped = found
    reread = parse_requirements_text(text)
    if reread.problems or [r.canonical_name for r in reread.requirements] != [
        canonical(alternative.name)
    ]:
        return None  # an alternative's name pip would not read as one requirement
    end = to_range(Span(last, 0, len(_physical(lines, last))), lines, encoding).end
    whole = types.Range(start=types.Position(line=first, character=0), end=end)
    return Rename([types.TextEdit(range=whole, new_text=text)], dropped_hashes=dropped)


#: Diagnostic codes on a pinned version that "pin to the latest" fixes.
_PIN_CODES = frozenset({"sbom-enrich/yanked", "sbom-enrich/version-missing"})


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except (InvalidVersion, ValueError):
        return None


def latest_installable(record: StatusRecord, pinned: str) -> str | None:
    """The newest version the index lists and has not yanked, as the index spells it; a final
    release unless the pin is a pre-release or the index has nothing else. ``None`` when there
    is none, or it is the pinned version itself."""
    if not record.versions:
        return None
    yanked = {v for text in record.yanked if (v := _version(text)) is not None}
    candidates = [
        (version, text)
        for text in record.versions
        if (version := _version(text)) is not None and version not in yanked
    ]
    current = _version(pinned)
    wants_pre = current is not None and current.is_prerelease
    finals = [c for c in candidates if not c[0].is_prerelease]
    chosen = max(candidates if wants_pre or not finals else finals, default=None)
    if chosen is None or chosen[0] == current:
        return None
    return chosen[1]


def pin_edit(
    requirement: Requirement, version: str, lines: Sequence[str], encoding: str
) -> types.TextEdit | None:
    """Replace the pinned version (``==X`` or a Poetry exact version) by ``version``."""
    span = requirement.version_span
    if span is None:
        return None
    return _edit(span.line, span.start, span.end, version, lines, encoding)


def _stands_alone(requirement: Requirement, line_text: str) -> bool:
    """True when the dependency is the only thing on its line (besides quotes, comma, comment)."""
    span = requirement.text_span
    if span is None:
        return False
    before = line_text[: span.start].strip()
    after = line_text[span.end :].strip()
    if _is_poetry(requirement):
        return before == "" and (after == "" or after.startswith("#"))
    if requirement.section == REQUIREMENTS_SECTION:
        # A requirements line holds one requirement; what follows it are its own options
        # (--hash), a comment, or a continuation backslash.
        return before == ""
    after = re.sub(r"^[\"']?[ \t]*,?", "", after).strip()
    return before in {"", '"', "'"} and (after == "" or after.startswith("#"))


def remove_edits(
    requirement: Requirement, lines: Sequence[str], encoding: str
) -> list[types.TextEdit] | None:
    """Delete the dependency's whole line, or ``None`` when it shares the line with other text."""
    line = last = requirement.name_span.line
    line_text = _physical(lines, line)
    if not _stands_alone(requirement, line_text):
        return None
    if requirement.section == REQUIREMENTS_SECTION:
        # "mock \" + "    --hash=...": the continuation lines go too, or they are left dangling.
        first, last = _logical_extent(lines, line)
        if first != line:
            return None
    if last + 1 < len(lines) or lines[last].endswith(("\n", "\r")):
        end = types.Position(line=last + 1, character=0)
    else:
        # The last line has no successor: delete up to its end instead.
        end = to_range(Span(last, 0, len(_physical(lines, last))), lines, encoding).end
    return [
        types.TextEdit(
            range=types.Range(start=types.Position(line=line, character=0), end=end), new_text=""
        )
    ]


def _comment_start(line_text: str, toml: bool) -> int | None:
    """Column where a trailing comment starts (outside TOML strings), or ``None``."""
    if not toml:
        found = re.search(r"(?:^|[ \t])#", line_text)
        return None if found is None else line_text.index("#", found.start())
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line_text):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return index
    return None


def ignore_edit(
    requirement: Requirement, lines: Sequence[str], encoding: str, *, toml: bool
) -> types.TextEdit | None:
    """Silence this one dependency by name: ``# sbom-enrich: ignore[name]`` at the end of its
    line, or the name added to an ignore comment already there (never a bare ignore, which
    would silence every other dependency on the line)."""
    if requirement.text_span is None:
        # A requirement continued over several lines: the comment's place is ambiguous.
        return None
    line = requirement.name_span.line
    if not toml:
        # After a trailing backslash the comment would break the continuation: it belongs at
        # the end of the logical line ("pkg==1 \" then "    --hash=..." from pip-compile).
        line = _logical_extent(lines, line)[1]
    line_text = _physical(lines, line)
    end = len(line_text.rstrip())
    name = requirement.canonical_name
    comment = _comment_start(line_text, toml)
    if comment is None:
        return _edit(line, end, end, f"  {IGNORE_COMMENT}[{name}]", lines, encoding)
    marker = IGNORE_MARKER_RE.search(line_text, comment)
    if marker is None:
        return _edit(line, end, end, f"; sbom-enrich: ignore[{name}]", lines, encoding)
    if marker.group("names") is None:
        # A bare ignore on a line of several dependencies silences none of them: name this one.
        return _edit(line, marker.end(), marker.end(), f"[{name}]", lines, encoding)
    close = marker.end() - 1  # the "]"
    separator = ", " if marker.group("names").strip() else ""
    return _edit(line, close, close, f"{separator}{name}", lines, encoding)


def _applied(lines: Sequence[str], edits: Sequence[types.TextEdit], encoding: str) -> str:
    """The document text after ``edits`` (non-overlapping), as an editor would apply them."""
    starts = [0]
    for text in lines:
        starts.append(starts[-1] + len(text))
    document = "".join(lines)

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(document)
        text = lines[position.line]
        return starts[position.line] + from_client_column(text, position.character, encoding)

    ordered = sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))
    for edit in reversed(ordered):
        start, end = offset(edit.range.start), offset(edit.range.end)
        document = document[:start] + edit.new_text + document[end:]
    return document


def _valid_toml(lines: Sequence[str], edits: Sequence[types.TextEdit], encoding: str) -> bool:
    """Whether the edited pyproject.toml still parses (an edit must never break the file)."""
    try:
        toml_loads(_applied(lines, edits, encoding))
    except (tomllib.TOMLDecodeError, RecursionError):
        return False
    return True


def _action(
    title: str,
    uri: str,
    edits: list[types.TextEdit],
    diagnostics: list[types.Diagnostic],
    preferred: bool = False,
) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=diagnostics or None,
        edit=types.WorkspaceEdit(changes={uri: edits}),
        is_preferred=preferred or None,
    )


def code_actions_for(
    requirement: Requirement,
    alternatives: Sequence[Alternative],
    *,
    uri: str,
    lines: Sequence[str],
    encoding: str,
    toml: bool,
    diagnostics: Sequence[types.Diagnostic] = (),
    record: StatusRecord | None = None,
) -> list[types.CodeAction]:
    """Quick fixes for one requirement; ignore is offered only when something is diagnosed.

    ``diagnostics``: this requirement's, on its name or its pinned version; a yanked or unlisted
    pin also gets "Pin to <latest>" when ``record`` lists a newer version that is not yanked.
    """
    related = list(diagnostics)
    actions: list[types.CodeAction] = []
    on_pin = [d for d in related if str(d.code) in _PIN_CODES]
    if on_pin and record is not None and requirement.pinned_version:
        latest = latest_installable(record, requirement.pinned_version)
        edit = pin_edit(requirement, latest, lines, encoding) if latest else None
        if edit is not None and (not toml or _valid_toml(lines, [edit], encoding)):
            actions.append(
                _action(
                    f"Pin {requirement.name} to {latest} (latest not yanked)",
                    uri,
                    [edit],
                    on_pin,
                    preferred=True,
                )
            )
    related_to_name = [d for d in related if d not in on_pin]

    def safe(edits: Sequence[types.TextEdit] | None) -> bool:
        # e.g. a removed array element whose comma starts the next line, or a Poetry key
        # renamed to one the table already has: no action rather than a broken file.
        return edits is not None and (not toml or _valid_toml(lines, edits, encoding))

    for alternative in alternatives:
        if alternative.stdlib:
            removal = remove_edits(requirement, lines, encoding)
            if removal is not None and safe(removal):
                actions.append(
                    _action(
                        f"Remove {requirement.name} (use {alternative.name} from the standard "
                        "library)",
                        uri,
                        removal,
                        related_to_name,
                    )
                )
            continue
        replacement = replace_edits(requirement, alternative, lines, encoding)
        if replacement is None or not safe(replacement.edits):
            continue
        title = f"Replace {requirement.name} with {alternative.name}"
        if replacement.dropped_hashes:
            title += f" (drops {requirement.name}'s hashes: regenerate them)"
        actions.append(
            _action(
                title,
                uri,
                replacement.edits,
                related_to_name,
                preferred=len(alternatives) == 1 and not on_pin,
            )
        )
    if related and not requirement.ignored:
        edit = ignore_edit(requirement, lines, encoding, toml=toml)
        if edit is not None and safe([edit]):
            marker = f"{IGNORE_COMMENT}[{requirement.canonical_name}]"
            actions.append(
                _action(
                    f"Ignore {requirement.name} (add '{marker}')",
                    uri,
                    [edit],
                    related,
                )
            )
    return actions
