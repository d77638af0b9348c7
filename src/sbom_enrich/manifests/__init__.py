"""Pure parsers for requirements files, pyproject.toml and lock files, with exact spans.

Which file is which kind, and which parser reads it, is one table: :data:`MANIFEST_KINDS` in
``kinds.py``. ``check.py`` reads a set of manifests (following includes) into findings.
"""

from __future__ import annotations

from .kinds import (
    MANIFEST_KINDS,
    ManifestKind,
    decode_manifest,
    discover_manifests,
    kind_of,
    manifest_kind,
    parse_as_named,
    parse_manifest,
    parse_manifest_file,
    read_manifest_bytes,
)
from .locks import is_lock_file, parse_lock_text
from .pyproject import parse_pyproject_text
from .requirements import parse_requirements_text
from .spans import IgnoreComment, Include, ManifestProblem, ParsedManifest, Requirement, Span

__all__ = [
    "IgnoreComment",
    "MANIFEST_KINDS",
    "Include",
    "ManifestKind",
    "ManifestProblem",
    "ParsedManifest",
    "Requirement",
    "Span",
    "decode_manifest",
    "discover_manifests",
    "is_lock_file",
    "kind_of",
    "manifest_kind",
    "parse_as_named",
    "parse_lock_text",
    "parse_manifest",
    "parse_manifest_file",
    "parse_pyproject_text",
    "parse_requirements_text",
    "read_manifest_bytes",
]
