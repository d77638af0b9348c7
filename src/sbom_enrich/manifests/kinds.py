"""The one table of manifest kinds (file-name rule → parser), file discovery and decoding."""

from __future__ import annotations

import codecs
import errno
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

from .._files import read_regular_file
from .locks import is_lock_file, lock_format, parse_lock_text
from .pyproject import parse_pyproject_text
from .requirements import parse_requirements_text
from .spans import ParsedManifest

__all__ = [
    "MANIFEST_KINDS",
    "ManifestKind",
    "decode_manifest",
    "discover_manifests",
    "kind_of",
    "manifest_kind",
    "parse_as_named",
    "parse_manifest",
    "parse_manifest_file",
    "read_manifest_bytes",
]

#: Largest manifest or lock file read (a 2,000-package uv.lock is about 1 MB): an include of
#: /dev/zero or of a huge file costs one problem, not all memory.
MAX_MANIFEST_BYTES = 64 * 2**20

_NOT_REQUIREMENTS_IN = frozenset({"manifest", "makefile", "configure", "setup"})


def _posix(path: str | PurePath) -> PurePosixPath:
    # Backslashes too, so a Windows path given as a string is judged by its last component.
    return PurePosixPath(str(path).replace("\\", "/"))


def _is_lock(path: PurePosixPath) -> bool:
    return is_lock_file(path.name)


def _is_pyproject(path: PurePosixPath) -> bool:
    return path.name.lower() == "pyproject.toml"


def _is_requirements(path: PurePosixPath) -> bool:
    """``*requirements*.txt`` (so also ``dev-requirements.txt``), ``requirements/*.txt``,
    ``*.in`` and ``constraints*.txt``; names compare case-insensitively (Windows, macOS)."""
    name = path.name.lower()
    if name.endswith(".in"):
        stem = name[: -len(".in")]
        # pip-tools inputs are plain names (requirements.in, dev.in); MANIFEST.in, Makefile.in
        # and templates like setup.py.in or config.h.in are something else entirely.
        return stem not in _NOT_REQUIREMENTS_IN and "." not in stem
    return name.endswith(".txt") and (
        "requirements" in name
        or name.startswith("constraints")
        or path.parent.name.lower() == "requirements"
    )


@dataclass(frozen=True)
class ManifestKind:
    """A kind of manifest: which file names are one, and how its text is parsed.

    ``encoding_marks``: a UTF-16/32 byte order mark names the encoding (pip reads requirements
    files so; TOML and lock files are UTF-8). ``in_editor``: the language server handles it
    (lock files too: their diagnostics offer no edit, the file is the tool's to write).
    ``toml``: the editor's edits and code actions use TOML quoting.
    """

    name: str
    matches: Callable[[PurePosixPath], bool]
    parse: Callable[[str, str], ParsedManifest]  # (file name, text)
    encoding_marks: bool
    in_editor: bool
    toml: bool


REQUIREMENTS = ManifestKind(
    "requirements", _is_requirements, lambda _, text: parse_requirements_text(text), True, True,
    False,
)  # fmt: skip
PYPROJECT = ManifestKind(
    "pyproject", _is_pyproject, lambda _, text: parse_pyproject_text(text), False, True, True
)
#: First match wins. A new manifest format is one parser module and one row here.
MANIFEST_KINDS: tuple[ManifestKind, ...] = (
    ManifestKind("lock", _is_lock, parse_lock_text, False, True, False),
    PYPROJECT,
    REQUIREMENTS,
)


def kind_of(path: str | PurePath) -> ManifestKind | None:
    """The kind ``path``'s name says, or ``None``: not a manifest."""
    posix = _posix(path)
    return next((kind for kind in MANIFEST_KINDS if kind.matches(posix)), None)


def manifest_kind(path: str | PurePath) -> str | None:
    """``"requirements"``, ``"pyproject"``, ``"lock"`` or ``None`` (no manifest), by the name."""
    kind = kind_of(path)
    return kind.name if kind else None


def parse_manifest(path: str | PurePath, text: str) -> ParsedManifest | None:
    """Parse ``text`` as the manifest kind ``path`` names; ``None`` when it is no manifest."""
    kind = kind_of(path)
    return kind.parse(_posix(path).name, text) if kind else None


def _kind_named(posix: PurePosixPath) -> ManifestKind:
    return kind_of(posix) or (PYPROJECT if posix.suffix.lower() == ".toml" else REQUIREMENTS)


def parse_as_named(path: str | PurePath, text: str) -> ParsedManifest:
    """Parse a file named on the command line or by an include: its kind; else a ``.toml``
    file is pyproject-shaped (``pyproject-dev.toml``: TOML is never a requirements file);
    else requirements (pip reads ``-r base.txt`` whatever its name)."""
    posix = _posix(path)
    return _kind_named(posix).parse(posix.name, text)


def reading_of(path: str | PurePath) -> str:
    """How :func:`parse_as_named` reads ``path``, by its name: its kind, a lock by its format.
    Two names of one file (a symlink) are two readings when these differ."""
    posix = _posix(path)
    return lock_format(posix.name) or _kind_named(posix).name


def is_misnamed_pylock(path: str | PurePath) -> bool:
    """A ``pylock.*.toml`` name PEP 751 does not allow (``pylock.prod.linux.toml``): by its
    name no lock file, it would be read as pyproject-shaped TOML."""
    name = _posix(path).name.lower()
    return name.startswith("pylock.") and name.endswith(".toml") and lock_format(name) is None


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

    TOML and lock files are UTF-8. Any other file is read as a requirements file, as pip
    decodes it: a UTF-8, UTF-16 or UTF-32 byte order mark names its encoding (Windows
    PowerShell 5 writes ``pip freeze > requirements.txt`` as UTF-16), else UTF-8.
    """
    if (kind_of(path) or REQUIREMENTS).encoding_marks:
        for bom, encoding in _BOMS:
            if data.startswith(bom):
                return data[len(bom) :].decode(encoding, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def read_manifest_bytes(
    path: Path, limit: int = MAX_MANIFEST_BYTES, *, regular_only: bool = False
) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them: OSError (EFBIG) beyond.

    ``regular_only``: anything but a regular file (a FIFO that never ends or never opens, a
    device) is refused, judged on what was opened (:func:`read_regular_file`); a file a
    hostile manifest includes is one.
    """
    if regular_only:
        return read_regular_file(path, limit)
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit // 2**20} MB")
    return data


def parse_manifest_file(path: str | PurePath) -> ParsedManifest | None:
    """Read (see :func:`decode_manifest`) and parse a manifest; ``None`` when it is no manifest."""
    if kind_of(path) is None:
        return None
    return parse_manifest(path, decode_manifest(path, read_manifest_bytes(Path(path))))


def discover_manifests(directory: Path) -> list[Path]:
    """The manifests and lock files in ``directory`` and its ``requirements/`` folder, sorted;
    not deeper."""
    found: list[Path] = []
    for folder in (directory, directory / "requirements"):
        if folder.is_dir():
            found.extend(
                path
                for path in sorted(folder.iterdir())
                if path.is_file() and kind_of(path) is not None
            )
    return found
