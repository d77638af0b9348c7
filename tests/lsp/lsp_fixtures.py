"""Status records and text helpers shared by the language-server unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from lsprotocol import types

from lsp.positions import from_client_column
from sbom_enrich.manifests import ParsedManifest, Requirement, Span, parse_manifest
from sbom_enrich.status.model import ProjectStatus, StatusRecord

INDEX = "https://index.example/simple/"
CHECKED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def record(name: str, status: ProjectStatus | str, **fields: Any) -> StatusRecord:
    fields.setdefault("index_url", INDEX)
    fields.setdefault("checked_at", CHECKED)
    return StatusRecord(name=name, status=ProjectStatus(status), **fields)


def requirement(name: str, name_span: Span, section: str, **fields: Any) -> Requirement:
    """A parsed requirement as the manifest parsers would give it, plain unless told otherwise."""
    values: dict[str, Any] = {
        "canonical_name": name,
        "specifier": "",
        "pinned_version": None,
        "version_span": None,
        "extras": (),
        "marker": None,
        "url": None,
        "ignored": False,
        "text_span": name_span,
    }
    values.update(fields)
    return Requirement(name=name, name_span=name_span, section=section, **values)


def manifest_of(text: str, path: str = "requirements.txt") -> ParsedManifest:
    """``text`` parsed as the manifest ``path`` names."""
    parsed = parse_manifest(path, text)
    assert parsed is not None
    return parsed


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def apply_edits(text: str, edits: Sequence[types.TextEdit], encoding: str) -> str:
    """Apply LSP edits (non-overlapping) to ``text`` the way an editor would."""
    lines = lines_of(text)

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[: position.line])
        if position.line >= len(lines):
            return before
        column = from_client_column(lines[position.line], position.character, encoding)
        return before + column

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[::-1]:
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text
