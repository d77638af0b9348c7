"""Lock files (uv.lock, pylock.toml, poetry.lock, pdm.lock, Pipfile.lock) as locked packages.

Each locked package becomes a :class:`Requirement` pinned to its locked version, with the exact
span of its name. The documents are parsed with tomllib / json, which keep every
``[[package]]`` table apart (the requirements-style line scanner cannot: it was reading
``uv.lock`` as requirements and reporting every line invalid); spans come from a second pass
that finds each package's ``name = "..."`` in document order and is checked against the parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from .._toml import tomllib
from ..findings.kinds import INVALID_LOCK
from .spans import LineIndex, ManifestProblem, ParsedManifest, Requirement, Span, without_bom

__all__ = ["LOCK_FILE_NAMES", "is_lock_file", "parse_lock_text"]

SECTION = "lock"

#: File name (lower case) → the format's reader below.
LOCK_FILE_NAMES = {
    "uv.lock": "uv",
    "pylock.toml": "pylock",
    "poetry.lock": "poetry",
    "pdm.lock": "pdm",
    "pipfile.lock": "pipfile",
}
# PEP 751 also names pylock.<name>.toml files.
_PYLOCK_NAMED = re.compile(r"^pylock\.[^.]+\.toml$")


def lock_format(name: str) -> str | None:
    lowered = name.lower()
    if lowered in LOCK_FILE_NAMES:
        return LOCK_FILE_NAMES[lowered]
    if _PYLOCK_NAMED.match(lowered):
        return "pylock"
    return None


def is_lock_file(name: str) -> bool:
    return lock_format(name) is not None


@dataclass(frozen=True)
class _Locked:
    """One package as a lock file states it, before spans are attached."""

    name: str
    version: str | None
    #: Why the configured index has no say (a path, git, a URL, a workspace member), or None.
    source: str | None
    #: The index the lock took it from, when it says.
    index: str | None


def parse_lock_text(file_name: str, text: str) -> ParsedManifest:
    """The locked packages of ``text``, a lock file of the format ``file_name`` names."""
    text = without_bom(text)
    fmt = lock_format(file_name) or "uv"
    lines = LineIndex(text)
    try:
        document = json.loads(text) if fmt == "pipfile" else tomllib.loads(text)
    except (ValueError, RecursionError) as error:  # TOMLDecodeError and JSONDecodeError
        message = f"not a readable {file_name}: {str(error).splitlines()[0][:200]}"
        return ParsedManifest(SECTION, (), (ManifestProblem(message, Span(0, 0, 0), INVALID_LOCK),))
    if not isinstance(document, dict):
        problem = ManifestProblem(f"{file_name}: not a lock document", Span(0, 0, 0), INVALID_LOCK)
        return ParsedManifest(SECTION, (), (problem,))
    locked = list(_READERS[fmt](document))
    spans = _name_spans(text, lines, fmt)
    requirements: list[Requirement] = []
    seen: set[tuple[str, str | None]] = set()
    indexes: set[str] = set()
    for position, package in enumerate(locked):
        if not package.name:
            continue
        key = (str(canonicalize_name(package.name)), package.version)
        span = (
            spans.get((position, key[0]))
            or spans.get((-1, key[0]))
            or _fallback_span(text, lines, package.name)
        )
        if key in seen:  # pdm lists a package once more per extra: one finding is enough
            continue
        seen.add(key)
        if package.index and package.source is None:
            indexes.add(package.index)
        requirements.append(
            Requirement(
                name=package.name,
                canonical_name=key[0],
                name_span=span,
                specifier=f"=={package.version}" if package.version else "",
                pinned_version=package.version,
                version_span=None,
                extras=(),
                marker=None,
                url=None,
                ignored=False,
                section=SECTION,
                text_span=None,
                source=package.source,
            )
        )
    return ParsedManifest(SECTION, tuple(requirements), (), index_urls=tuple(sorted(indexes)))


# -- per format -------------------------------------------------------------------------------


def _tables(document: Mapping[str, Any], key: str) -> Iterator[Mapping[str, Any]]:
    value = document.get(key)
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _uv(document: Mapping[str, Any]) -> Iterator[_Locked]:
    for package in _tables(document, "package"):
        source = package.get("source")
        source = source if isinstance(source, dict) else {}
        registry = _text(source.get("registry"))
        off_index = None
        if registry is None:
            kind = next(iter(source), None)
            off_index = f"a {kind} source" if kind else "no registry"
            if kind in {"editable", "virtual"}:
                off_index = "the project itself (a workspace member)"
        yield _Locked(_text(package.get("name")) or "", _text(package.get("version")), off_index,
                      registry)  # fmt: skip


def _pylock(document: Mapping[str, Any]) -> Iterator[_Locked]:
    for package in _tables(document, "packages"):
        off_index = next(
            (f"a {kind} source" for kind in ("vcs", "directory", "archive") if kind in package),
            None,
        )
        yield _Locked(_text(package.get("name")) or "", _text(package.get("version")), off_index,
                      _text(package.get("index")))  # fmt: skip


def _poetry(document: Mapping[str, Any]) -> Iterator[_Locked]:
    for package in _tables(document, "package"):
        source = package.get("source")
        off_index, index = None, None
        if isinstance(source, dict):
            kind = _text(source.get("type"))
            if kind in {"legacy", "pypi"}:
                index = _text(source.get("url"))
            elif kind:
                off_index = f"a {kind} source"
        yield _Locked(_text(package.get("name")) or "", _text(package.get("version")), off_index,
                      index)  # fmt: skip


def _pdm(document: Mapping[str, Any]) -> Iterator[_Locked]:
    for package in _tables(document, "package"):
        off_index = next(
            (f"a {kind} source" for kind in ("git", "path", "url", "hg", "svn") if kind in package),
            None,
        )
        yield _Locked(_text(package.get("name")) or "", _text(package.get("version")), off_index,
                      None)  # fmt: skip


def _pipfile(document: Mapping[str, Any]) -> Iterator[_Locked]:
    meta = document.get("_meta")
    sources = meta.get("sources") if isinstance(meta, dict) else None
    by_name = {
        s.get("name"): _text(s.get("url"))
        for s in (sources if isinstance(sources, list) else [])
        if isinstance(s, dict)
    }
    for group in ("default", "develop"):
        packages = document.get(group)
        if not isinstance(packages, dict):
            continue
        for name, entry in packages.items():
            entry = entry if isinstance(entry, dict) else {}
            version = _text(entry.get("version"))
            if version and version.startswith("=="):
                version = version[2:]
            off_index = next(
                (
                    f"a {kind} source"
                    for kind in ("git", "path", "file", "editable")
                    if kind in entry
                ),
                None,
            )
            index = by_name.get(entry.get("index")) if entry.get("index") else None
            yield _Locked(str(name), version, off_index, index)


_READERS = {"uv": _uv, "pylock": _pylock, "poetry": _poetry, "pdm": _pdm, "pipfile": _pipfile}


# -- spans ------------------------------------------------------------------------------------

_TOML_PACKAGE_HEADER = {
    "uv": "package",
    "poetry": "package",
    "pdm": "package",
    "pylock": "packages",
}
_JSON_KEY = re.compile(r'^[ \t]*"(?P<name>[^"\\\n]+)":[ \t]*\{', re.M)
_NAME_LINE = re.compile(r'^[ \t]*name[ \t]*=[ \t]*"(?P<name>[^"\\\n]*)"', re.M)


def _name_spans(text: str, lines: LineIndex, fmt: str) -> dict[tuple[int, str], Span]:
    """(package position, canonical name) → the span of that package's name as written."""
    spans: dict[tuple[int, str], Span] = {}
    if fmt == "pipfile":
        # Pipfile.lock names are JSON object keys, once per group: matched by name, not order.
        for match in _JSON_KEY.finditer(text):
            name = match.group("name")
            if not name.startswith("_") and name not in {"default", "develop"}:
                key = (-1, str(canonicalize_name(name)))
                spans.setdefault(key, lines.span(*match.span("name")))
        return spans
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{_TOML_PACKAGE_HEADER[fmt]}[ \t]*\]\]", re.M)
    starts = [m.end() for m in header.finditer(text)] + [len(text)]
    for position, (start, end) in enumerate(zip(starts, starts[1:], strict=False)):
        found = _NAME_LINE.search(text, start, end)
        if found is not None:
            key = (position, str(canonicalize_name(found.group("name"))))
            spans[key] = lines.span(*found.span("name"))
    return spans


def _fallback_span(text: str, lines: LineIndex, name: str) -> Span:
    """The first place ``name`` is written in quotes, else the file's first line."""
    at = text.find(f'"{name}"')
    if at < 0:
        return Span(0, 0, 0)
    return lines.span(at + 1, at + 1 + len(name))
