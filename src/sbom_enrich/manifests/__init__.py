"""Pure parsers for requirements files and pyproject.toml: names, specifiers and exact spans."""

from __future__ import annotations

from pathlib import Path, PurePath, PurePosixPath

from .pyproject import parse_pyproject_text
from .requirements import parse_requirements_text
from .spans import Include, ManifestProblem, ParsedManifest, Requirement, Span

__all__ = [
    "Include",
    "ManifestProblem",
    "ParsedManifest",
    "Requirement",
    "Span",
    "manifest_kind",
    "parse_manifest",
    "parse_manifest_file",
    "parse_pyproject_text",
    "parse_requirements_text",
]


_NOT_REQUIREMENTS_IN = frozenset({"manifest", "makefile", "configure", "setup"})


def manifest_kind(path: str | PurePath) -> str | None:
    """``"requirements"``, ``"pyproject"`` or ``None`` (not a manifest), judged by the name.

    Requirements files: ``*requirements*.txt`` (so also the common ``dev-requirements.txt``),
    ``requirements/*.txt``, ``*.in`` and ``constraints*.txt``; names compare case-insensitively
    (Windows and macOS file systems).
    """
    # Backslashes too, so a Windows path given as a string is judged by its last component.
    posix = PurePosixPath(str(path).replace("\\", "/"))
    name = posix.name.lower()
    if name == "pyproject.toml":
        return "pyproject"
    if name.endswith(".in"):
        stem = name[: -len(".in")]
        # pip-tools inputs are plain names (requirements.in, dev.in); MANIFEST.in, Makefile.in
        # and templates like setup.py.in or config.h.in are something else entirely.
        if stem in _NOT_REQUIREMENTS_IN or "." in stem:
            return None
        return "requirements"
    if name.endswith(".txt") and (
        "requirements" in name
        or name.startswith("constraints")
        or posix.parent.name.lower() == "requirements"
    ):
        return "requirements"
    return None


def parse_manifest(path: str | PurePath, text: str) -> ParsedManifest | None:
    """Parse ``text`` as the manifest kind ``path`` names; ``None`` when it is no manifest."""
    kind = manifest_kind(path)
    if kind == "requirements":
        return parse_requirements_text(text)
    if kind == "pyproject":
        return parse_pyproject_text(text)
    return None


def parse_manifest_file(path: str | PurePath) -> ParsedManifest | None:
    """Read (UTF-8, bad bytes replaced) and parse a manifest; ``None`` when it is no manifest."""
    if manifest_kind(path) is None:
        return None
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return parse_manifest(path, text)
