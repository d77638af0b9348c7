"""Pure parsers for requirements files, pyproject.toml and lock files, with exact spans."""

from __future__ import annotations

import codecs
from pathlib import Path, PurePath, PurePosixPath

from .locks import is_lock_file, parse_lock_text
from .pyproject import parse_pyproject_text
from .requirements import parse_requirements_text
from .spans import Include, ManifestProblem, ParsedManifest, Requirement, Span

__all__ = [
    "Include",
    "ManifestProblem",
    "ParsedManifest",
    "Requirement",
    "Span",
    "decode_manifest",
    "is_lock_file",
    "manifest_kind",
    "parse_lock_text",
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
    """Parse ``text`` as the manifest kind ``path`` names (or the lock file it names); ``None``
    when it is neither."""
    name = PurePosixPath(str(path).replace("\\", "/")).name
    if is_lock_file(name):
        return parse_lock_text(name, text)
    kind = manifest_kind(path)
    if kind == "requirements":
        return parse_requirements_text(text)
    if kind == "pyproject":
        return parse_pyproject_text(text)
    return None


# UTF-32 first: the UTF-16 little-endian mark is a prefix of the UTF-32 one (pip's order too).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_manifest(path: str | PurePath, data: bytes) -> str:
    """A manifest's text, byte order mark removed; bad bytes replaced, never an error.

    pyproject.toml is UTF-8 (TOML says so). Any other file is read as a requirements file, as
    pip decodes it: a UTF-8, UTF-16 or UTF-32 byte order mark names its encoding (Windows
    PowerShell 5 writes ``pip freeze > requirements.txt`` as UTF-16), else UTF-8.
    """
    name = PurePosixPath(str(path).replace("\\", "/")).name
    if manifest_kind(path) != "pyproject" and not is_lock_file(name):
        for bom, encoding in _BOMS:
            if data.startswith(bom):
                return data[len(bom) :].decode(encoding, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def parse_manifest_file(path: str | PurePath) -> ParsedManifest | None:
    """Read (see :func:`decode_manifest`) and parse a manifest; ``None`` when it is no manifest."""
    if manifest_kind(path) is None and not is_lock_file(PurePath(path).name):
        return None
    return parse_manifest(path, decode_manifest(path, Path(path).read_bytes()))
