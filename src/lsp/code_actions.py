"""Quick fixes for one dependency: switch to a suggested alternative, or silence it (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types

from sbom_enrich.alternatives import Alternative
from sbom_enrich.manifests import Requirement, Span

from .diagnostics import to_range

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


def _edit(
    line: int, start: int, end: int, new_text: str, lines: Sequence[str], encoding: str
) -> types.TextEdit:
    return types.TextEdit(
        range=to_range(Span(line, start, end), lines, encoding), new_text=new_text
    )


def _is_poetry(requirement: Requirement) -> bool:
    return bool(_POETRY_SECTION.match(requirement.section))


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


def replace_edits(
    requirement: Requirement, alternative: Alternative, lines: Sequence[str], encoding: str
) -> list[types.TextEdit]:
    """Rename to ``alternative``, keeping extras and markers and dropping the version constraint.

    The constraint is dropped because versions of one project say nothing about another's.
    """
    name = requirement.name_span
    line_text = lines[name.line].rstrip("\r\n") if name.line < len(lines) else ""
    edits = [_edit(name.line, name.start, name.end, alternative.name, lines, encoding)]
    spec = specifier_span(requirement, line_text)
    if spec is not None:
        new_text = '"*"' if _is_poetry(requirement) else ""
        edits.append(_edit(spec.line, spec.start, spec.end, new_text, lines, encoding))
    return edits


def _stands_alone(requirement: Requirement, line_text: str) -> bool:
    """True when the dependency is the only thing on its line (besides quotes, comma, comment)."""
    span = requirement.text_span
    if span is None:
        return False
    before = line_text[: span.start].strip()
    after = line_text[span.end :].strip()
    if _is_poetry(requirement):
        return before == "" and (after == "" or after.startswith("#"))
    after = re.sub(r"^[\"']?[ \t]*,?", "", after).strip()
    return before in {"", '"', "'"} and (after == "" or after.startswith("#"))


def remove_edits(
    requirement: Requirement, lines: Sequence[str], encoding: str
) -> list[types.TextEdit] | None:
    """Delete the dependency's whole line, or ``None`` when it shares the line with other text."""
    line = requirement.name_span.line
    line_text = lines[line].rstrip("\r\n") if line < len(lines) else ""
    if not _stands_alone(requirement, line_text):
        return None
    if line + 1 < len(lines) or lines[line].endswith(("\n", "\r")):
        end = types.Position(line=line + 1, character=0)
    else:
        # The last line has no successor: delete up to its end instead.
        end = to_range(Span(line, 0, len(line_text)), lines, encoding).end
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
    """Append the ignore marker to the dependency's line (or to its existing comment)."""
    if requirement.text_span is None:
        # A requirement continued over several lines: the comment's place is ambiguous.
        return None
    line = requirement.name_span.line
    line_text = lines[line].rstrip("\r\n") if line < len(lines) else ""
    end = len(line_text.rstrip())
    if _comment_start(line_text, toml) is not None:
        new_text = "; sbom-enrich: ignore"
    else:
        new_text = "  " + IGNORE_COMMENT
    return _edit(line, end, end, new_text, lines, encoding)


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
) -> list[types.CodeAction]:
    """Quick fixes for one requirement; ignore is offered only when something is diagnosed."""
    related = list(diagnostics)
    actions: list[types.CodeAction] = []
    for alternative in alternatives:
        if alternative.stdlib:
            removal = remove_edits(requirement, lines, encoding)
            if removal is not None:
                actions.append(
                    _action(
                        f"Remove {requirement.name} (use {alternative.name} from the standard "
                        "library)",
                        uri,
                        removal,
                        related,
                    )
                )
            continue
        actions.append(
            _action(
                f"Replace {requirement.name} with {alternative.name}",
                uri,
                replace_edits(requirement, alternative, lines, encoding),
                related,
                preferred=len(alternatives) == 1,
            )
        )
    if related and not requirement.ignored:
        edit = ignore_edit(requirement, lines, encoding, toml=toml)
        if edit is not None:
            actions.append(
                _action(f"Ignore {requirement.name} (add '{IGNORE_COMMENT}')", uri, [edit], related)
            )
    return actions
