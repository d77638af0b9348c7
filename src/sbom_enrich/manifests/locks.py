"""Lock files (uv.lock, pylock.toml, poetry.lock, pdm.lock, Pipfile.lock) as locked packages.

Each locked package becomes a :class:`Requirement` pinned to its locked version, with the exact
span of its name and of its version value (``lock_spans.py``), the index its entry names and
its dependency edges. The documents are parsed with a real TOML parser (rtoml) or json, which
keep every ``[[package]]`` table apart (the requirements-style line scanner cannot); spans come
from a second pass over the text. rtoml, measured on a 2,000-package uv.lock
(bench/bench_locks.py, CPU time): tomlkit 1,050 ms (it keeps positions), tomllib 115-250 ms,
tree-sitter-toml 48 ms to parse alone (every value then read from the tree in Python), mypyc
tomli 40 ms, rtoml 10-13 ms. tree-sitter's recovery from half-typed text is not needed: a lock
is written by a tool, so an unreadable one is one problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import rtoml
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import (
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from .._toml import loads as toml_loads
from ..findings.graph import DependencyGraph
from ..findings.kinds import INVALID_LOCK
from ..findings.model import PROJECT_ITSELF
from ..status.urls import remote_kind
from .lock_spans import ForwardLines, Written, pipfile_entries, toml_package_tables
from .pyproject import parse_pyproject_text
from .spans import (
    ManifestProblem,
    ParsedManifest,
    Requirement,
    Span,
    wide_encoding,
    without_bom,
)

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
    #: Canonical names of what it depends on (every extra and group), where the format says.
    dependencies: tuple[str, ...] = ()
    #: The project itself (a uv workspace member): its dependencies are the direct ones.
    is_root: bool = False
    #: Installed from a remote source of this kind (``url``, ``git``), or from a find-links
    #: directory (:data:`FIND_LINKS`): its name is still asked on the configured index
    #: (Requirement.remote).
    remote: str | None = None
    #: The Pipfile.lock category that holds it (its entry is found by category and name).
    category: str | None = None


def parse_lock_text(file_name: str, text: str) -> ParsedManifest:
    """The locked packages of ``text``, a lock file of the format ``file_name`` names."""
    text = without_bom(text)
    fmt = lock_format(file_name) or "uv"
    if encoding := wide_encoding(text):
        # uv, Poetry, pdm and pipenv read locks as UTF-8 and refuse this one ("stream did not
        # contain valid UTF-8"); the parser's error was "key with no value, expected `=`".
        written = "JSON" if fmt == "pipfile" else "TOML"
        message = f"{file_name} is {encoding}; {written} files must be UTF-8 — convert it"
        return ParsedManifest(SECTION, (), (ManifestProblem(message, Span(0, 0, 0), INVALID_LOCK),))
    lines = ForwardLines(text)
    try:
        document = json.loads(text) if fmt == "pipfile" else rtoml.loads(text)
    except (ValueError, RecursionError) as error:  # TomlParsingError and JSONDecodeError
        message = f"not a readable {file_name}: {str(error).splitlines()[0][:200]}"
        return ParsedManifest(SECTION, (), (ManifestProblem(message, Span(0, 0, 0), INVALID_LOCK),))
    if not isinstance(document, dict):
        problem = ManifestProblem(f"{file_name}: not a lock document", Span(0, 0, 0), INVALID_LOCK)
        return ParsedManifest(SECTION, (), (problem,))
    problems = _pylock_problems(document) if fmt == "pylock" else ()
    defects: list[str] = []
    locked = list(_READERS[fmt](document, defects))
    unframed = _unframed(fmt, document)
    # A gate that silently read nothing of a lock must not pass; what could be read still is.
    if (defects or unframed) and not problems:
        problems = (_lock_problem(file_name, unframed, defects),)
    entries = pipfile_entries(text, lines) if fmt == "pipfile" else {}
    tables = [] if fmt == "pipfile" else toml_package_tables(text, lines, _TOML_PACKAGE_HEADER[fmt])
    fallback = _Fallback(text, lines, {p.name for p in locked})
    requirements: list[Requirement] = []
    seen: set[tuple[str, str | None, str | None, str | None]] = set()
    indexes: set[str] = set()
    edges: dict[str, list[str]] = {}
    roots: list[str] = []
    for position, package in enumerate(locked):
        if not package.name:
            continue
        key = (_canonical(package.name) or package.name, package.version)
        if package.dependencies:  # pdm repeats a package per extra, each with its own edges
            edges.setdefault(key[0], []).extend(package.dependencies)
        if package.is_root:
            roots.append(key[0])
        # pdm lists a package once more per extra: one finding is enough. The same version
        # from another source is another package (uv locks torch from two indexes), and a
        # skipped entry (a path) must not hide a registry one of the same name and version.
        entry = (*key, package.source, package.index)
        if entry in seen:
            continue
        seen.add(entry)
        if fmt == "pipfile":
            where = entries.get((package.category or "", package.name))
        else:
            where = tables[position] if position < len(tables) else None
        if where is not None and _canonical(where.name) != key[0]:
            where = None  # a table the text scan placed otherwise than the parser
        index = package.index if package.source is None else None
        if index:
            indexes.add(index)
        requirements.append(
            Requirement(
                name=package.name,
                canonical_name=key[0],
                name_span=fallback.span(package.name) if where is None else where.name_span,
                specifier=f"=={package.version}" if package.version else "",
                pinned_version=package.version,
                version_span=_version_span(where, package.version),
                extras=(),
                marker=None,
                url=None,
                ignored=False,
                section=SECTION,
                text_span=None,
                source=package.source,
                index_url=index,
                remote=package.remote,
            )
        )
    direct = {d for root in roots for d in edges.get(root, ())}
    if fmt == "uv":
        direct.update(_uv_workspace_direct(document))
    graph = DependencyGraph(
        edges={name: tuple(dict.fromkeys(deps)) for name, deps in edges.items()},
        roots=tuple(roots),
        direct=frozenset(direct),
        has_edges=fmt != "pipfile",
    )
    return ParsedManifest(
        SECTION, tuple(requirements), problems, index_urls=tuple(sorted(indexes)), graph=graph
    )


def _pylock_problems(document: dict[str, Any]) -> tuple[ManifestProblem, ...]:
    """One problem when ``document`` is not a PEP 751 lock as packaging reads it.

    packaging.pylock checks every field's type and the lock version, which a scan of names
    cannot; the packages are still read, each as far as it can be, so one bad field costs
    a problem line (the run is incomplete), not the whole file's findings.
    """
    # Imported here: 30-80 ms that a run without a pylock.toml should not pay.
    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    try:
        Pylock.from_dict(document)
    except (PylockValidationError, PylockUnsupportedVersionError) as error:
        message = f"pylock.toml does not follow PEP 751: {str(error)[:200]}"
        return (ManifestProblem(message, Span(0, 0, 0), INVALID_LOCK),)
    return ()


#: Format → (the tool, the key its every lock has, that key's kind, how to name it). Checked
#: against what each tool writes for a project with no dependencies at all: uv writes
#: ``version`` (its only required key beside ``requires-python``; a virtual workspace root
#: with nothing to lock has no ``[[package]]``), poetry ``package = []`` and ``[metadata]``,
#: pdm ``[metadata]``, pipenv ``_meta``. poetry reads ``lock_data["metadata"]`` unchecked.
_FRAME: dict[str, tuple[str, str, type, str]] = {
    "uv": ("uv", "version", int, "an integer 'version'"),
    "poetry": ("poetry", "metadata", dict, "a [metadata] table"),
    "pdm": ("pdm", "metadata", dict, "a [metadata] table"),
    "pipfile": ("pipenv", "_meta", dict, "a '_meta' object"),
}


def _unframed(fmt: str, document: Mapping[str, Any]) -> str | None:
    """Why ``document`` is no lock of its format (None when it is): a zero-byte uv.lock, a
    ``{}`` Pipfile.lock, a file of some other format read "0 packages" and passed."""
    if fmt not in _FRAME:  # pylock: packaging.pylock checks the whole document
        return None
    tool, key, kind, named = _FRAME[fmt]
    value = document.get(key)
    if isinstance(value, kind) and not isinstance(value, bool):
        return _unsourced(document) if fmt == "pipfile" else None
    if not document:
        return f"empty: {tool} writes {named} in every lock"
    found = "none" if value is None else _shape(value)
    return f"not a {tool} lock: {tool} writes {named} in every lock, this one has {found}"


def _unsourced(document: Mapping[str, Any]) -> str | None:
    """Why a Pipfile.lock with packages cannot say where pipenv takes them from: its
    ``_meta.sources`` gives no URL. pipenv writes the sources in every lock; without them it
    installs from the Pipfile's ``[[source]]``, else PyPI — and the packages were asked on
    the configured index without a word."""
    sources = document["_meta"].get("sources")
    if isinstance(sources, list) and any(
        isinstance(s, dict) and _text(s.get("url")) for s in sources
    ):
        return None
    if not any(isinstance(v, dict) and v for k, v in document.items() if k != "_meta"):
        return None  # no package to ask anywhere
    if not isinstance(sources, list):
        stated = _shape(sources)
    else:
        stated = "empty" if not sources else "without a URL"
    return (
        f"'_meta.sources' is {stated}: pipenv writes the index URLs it installs from in every "
        "lock; its packages were asked on the configured index"
    )


def _lock_problem(file_name: str, unframed: str | None, defects: list[str]) -> ManifestProblem:
    """One problem for a lock that is no lock of its format and for every entry it states
    with the wrong shape (the first one named)."""
    parts = [unframed] if unframed else []
    if count := len(defects):
        more = f" and {count - 1} more" if count > 1 else ""
        entries = "entry" if count == 1 else "entries"
        parts.append(f"{count} package {entries} could not be read: {defects[0]}{more}")
    return ManifestProblem(f"{file_name}: {'; '.join(parts)}", Span(0, 0, 0), INVALID_LOCK)


# -- per format -------------------------------------------------------------------------------


def _tables(
    document: Mapping[str, Any], key: str, defects: list[str]
) -> Iterator[Mapping[str, Any]]:
    """The tables of the array ``key``; anything else there is a defect, never silence."""
    value = document.get(key)
    if value is None:
        return
    if not isinstance(value, list):
        defects.append(f"'{key}' is a {type(value).__name__}, not an array of tables")
        return
    for item in value:
        if isinstance(item, dict):
            yield item
        else:
            defects.append(f"a '{key}' item is a {type(item).__name__}, not a table")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _checked(package: Mapping[str, Any], defects: list[str], *keys: str) -> str:
    """The entry's name ("" when it has none); a missing name or a ``name``/``version``/other
    ``keys`` value that is not a string is a defect (the package may still be looked up)."""
    name = _text(package.get("name"))
    if name is None:
        defects.append(f"an entry whose name is {_shape(package.get('name'))}")
        return ""
    for key in ("version", *keys):
        value = package.get(key)
        if value is not None and not isinstance(value, str):
            defects.append(f"{name[:100]!r}: '{key}' is {_shape(value)}")
    return name


def _index_version(
    name: str, value: object, off_index: str | None, defects: list[str]
) -> str | None:
    """The locked version of an entry; one asked on an index without any is a defect: nothing
    then tells whether its release was yanked or removed, and it passed as fine (uv refuses
    a registry entry with no version; a value of the wrong type is already a defect)."""
    version = _text(value)
    if version is None and off_index is None and name and (value is None or value == ""):
        defects.append(
            f"{name[:100]!r}: no 'version', so whether its release was yanked or removed "
            "cannot be told"
        )
    return version


def _shape(value: object) -> str:
    if value is None:
        return "missing"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


_CANONICAL: dict[str, str] = {}


def _canonical(name: object) -> str | None:
    """The canonical name, memoised: a lock names each package once more per dependent."""
    if not isinstance(name, str) or not name:
        return None
    known = _CANONICAL.get(name)
    if known is None:
        if len(_CANONICAL) > 100_000:  # bounded: the language server lives for days
            _CANONICAL.clear()
        known = _CANONICAL[name] = str(canonicalize_name(name))
    return known


def _named_tables(value: object) -> Iterator[str]:
    """Canonical names from an array of ``{ name = ... }`` tables (uv, pylock)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and (name := _canonical(item.get("name"))):
                yield name


def _grouped(value: object) -> Iterator[object]:
    """The arrays of a ``group → array`` table (uv's optional- and dev-dependencies)."""
    if isinstance(value, dict):
        yield from value.values()


def _uv_workspace_direct(document: Mapping[str, Any]) -> Iterator[str]:
    """What a workspace root that is no package asks for: uv writes its requirements and
    dependency groups under ``[manifest]`` (``requirements``, ``dependency-groups.*``)."""
    manifest = document.get("manifest")
    if isinstance(manifest, dict):
        yield from _named_tables(manifest.get("requirements"))
        for listed in _grouped(manifest.get("dependency-groups")):
            yield from _named_tables(listed)


#: uv's source kinds, in the order uv's lock reader tries them (an untagged enum: the first
#: one present wins, so ``{ editable = ".", url = "..." }`` is a URL to uv).
_UV_SOURCES = ("registry", "git", "url", "path", "directory", "editable", "virtual")
#: The kinds uv writes for a workspace member: editable, ``editable = false``, or
#: ``package = false`` (crates/uv-resolver/src/lock/mod.rs, ``from_directory_source_dist``).
_UV_MEMBER_SOURCES = frozenset({"editable", "directory", "virtual"})
#: Sources fetched from elsewhere at install time, not from the checkout: a lock entry of one
#: is not installed from an index, but the name it installs is asked on the configured one.
#: A hostile lock hid a name the index quarantined behind ``source = { url = ... }``.
_REMOTE = frozenset({"url", "git", "vcs", "hg", "svn", "bzr"})
#: A registry that is no URL (a path) or a file: URL.
_LOCAL_REGISTRY = re.compile(r"^(?![A-Za-z][A-Za-z0-9+.-]*://)|^file://", re.IGNORECASE)
_LOCAL_FILES = "a local directory of files (uv find-links or a file: index)"
_FILE_URL = re.compile(r"^file:", re.IGNORECASE)
#: The remote kind of a package from such a directory. Not skipped as a path is: the
#: installer picked the wheel by its name among the files, as from an index (uv calls them
#: registries), so the wheel claims that name as one fetched from a URL does, and a lock
#: hid a name the index quarantined by moving the wheel there. Its name is asked on the
#: configured index, as a URL entry's is.
FIND_LINKS = "find-links"


def _uv_source(name: str, source: object, defects: list[str]) -> tuple[str | None, str | None]:
    """(the kind of an entry's ``source`` as uv reads it, its text); a source uv would not read
    (none, not a table, no kind or two, a kind's value no text) is a defect."""
    if not isinstance(source, dict):
        defects.append(f"{name[:100]!r}: 'source' is {_shape(source)}")
        return None, None
    kinds = [kind for kind in _UV_SOURCES if kind in source]
    if len(kinds) != 1:  # uv writes exactly one kind in every source
        stated = f"{len(kinds)} kinds ({', '.join(kinds)})" if kinds else "no kind uv writes"
        defects.append(f"{name[:100]!r}: a 'source' of {stated}")
    if not kinds:
        return None, None
    value = _text(source[kinds[0]])
    if value is None:
        defects.append(f"{name[:100]!r}: 'source.{kinds[0]}' is {_shape(source[kinds[0]])}")
    return kinds[0], value


def _uv(document: Mapping[str, Any], defects: list[str]) -> Iterator[_Locked]:
    manifest = document.get("manifest")
    members = manifest.get("members") if isinstance(manifest, dict) else None
    member_names = (
        {n for m in members if (n := _canonical(m))} if isinstance(members, list) else set()
    )
    # uv still reads the array under its old name, ``[[distribution]]`` (a serde alias);
    # both at once is a duplicate field to uv, so no lock it would install from.
    if "package" in document and "distribution" in document:
        defects.append("both 'package' and 'distribution' arrays (uv reads one)")
    tables = (*_tables(document, "package", defects), *_tables(document, "distribution", defects))
    for package in tables:
        name = _checked(package, defects)
        kind, where = _uv_source(name, package.get("source"), defects)
        # A find-links directory (uv writes its path, ``registry = "wheels"``) or a file: index
        # is files on disk, like a path source: no index to ask ("not allowed" misled).
        local = kind == "registry" and where is not None and _LOCAL_REGISTRY.match(where)
        registry = where if kind == "registry" and not local else None
        # The project: a workspace member from a local tree, or (single project, no members
        # listed) the package at "." itself. A name in `members` alone proves nothing: an
        # entry `source = { url = ... }` named there is installed from that URL.
        is_root = (
            kind in _UV_MEMBER_SOURCES and where is not None
            and _canonical(package.get("name")) in member_names
            if member_names
            else kind in {"editable", "virtual"} and where == "."
        )  # fmt: skip
        off_index = None
        if registry is None and where is not None:  # else a defect: asked on the index too
            off_index = PROJECT_ITSELF if is_root else _LOCAL_FILES if local else f"a {kind} source"
        dependencies = [*_named_tables(package.get("dependencies"))]
        for group in (package.get("optional-dependencies"), package.get("dev-dependencies")):
            for listed in _grouped(group):
                dependencies.extend(_named_tables(listed))
        version = _index_version(name, package.get("version"), off_index, defects)
        remote = kind if kind in _REMOTE and off_index is not None and _is_remote(where) else None
        if local:
            remote = FIND_LINKS
        yield _Locked(name, version, off_index,
                      registry, tuple(dict.fromkeys(dependencies)), is_root, remote)  # fmt: skip


def _pylock(document: Mapping[str, Any], defects: list[str]) -> Iterator[_Locked]:
    for package in _tables(document, "packages", defects):
        name = _checked(package, defects, "index")
        kind = next((k for k in ("vcs", "directory", "archive") if k in package), None)
        off_index = f"a {kind} source" if kind else None
        index, remote = _text(package.get("index")), _pylock_remote(kind, package)
        if off_index is None and index is not None and _FILE_URL.match(index):
            # uv exports a find-links directory (or a file: index) as `index = "file:///…"`.
            off_index, index, remote = _LOCAL_FILES, None, FIND_LINKS
        dependencies = tuple(dict.fromkeys(_named_tables(package.get("dependencies"))))
        stated = package.get("version")
        version = _index_version(name, stated or _pylock_file_version(package), off_index, defects)
        yield _Locked(name, version, off_index, index, dependencies, remote=remote)


def _pylock_remote(kind: str | None, package: Mapping[str, Any]) -> str | None:
    """``vcs``, or ``url`` for an archive, fetched by URL; None for one on disk, a directory."""
    source = package.get(kind) if kind in {"vcs", "archive"} else None
    if isinstance(source, dict) and _is_remote(source.get("url")):
        return "url" if kind == "archive" else kind
    return None


def _is_remote(value: object) -> bool:
    """Whether a source's location is elsewhere than on this disk (``https://``, ``ssh://``,
    scp-style ``git@host:repo``): :func:`remote_kind`, shared with direct references and
    SBOM purls so that check and enrich agree."""
    return isinstance(value, str) and bool(value) and remote_kind(value) is not None


def _pylock_file_version(package: Mapping[str, Any]) -> str | None:
    """The version its files' names say: PEP 751 lets a package from an index leave out
    ``version`` (packaging.pylock checks that the names agree with it when it is given)."""
    wheels = package.get("wheels")
    for file in (*(wheels if isinstance(wheels, list) else ()), package.get("sdist")):
        if not isinstance(file, dict):
            continue
        # packaging.pylock's rule: the ``name``, else the last segment of the url or path.
        where = _text(file.get("url")) or _text(file.get("path")) or ""
        try:
            named = _text(file.get("name")) or urlsplit(where).path.rsplit("/", 1)[-1]
            if named.endswith(".whl"):
                return str(parse_wheel_filename(named)[1])
            return str(parse_sdist_filename(named)[1])
        except ValueError:  # a name packaging refuses, "http://[oops/…", 4,300+ digits
            continue
    return None


#: The source types poetry installs from elsewhere than an index (case matters to poetry).
_POETRY_OFF_INDEX = frozenset({"git", "file", "directory", "url"})


def _off_index_marker(
    name: str, entry: Mapping[str, Any], markers: tuple[str, ...], defects: list[str]
) -> tuple[str | None, str | None]:
    """(why an entry with one of ``markers`` (pdm's, pipenv's keys for a VCS, a path, a URL)
    is not asked on the index, its remote kind: ``url`` or the VCS); a marker that is no text
    (``"git": false``) hides nothing: it is a defect, and the package is asked on the index."""
    for kind in markers:
        if kind in entry:
            value = _text(entry[kind])
            if value is None:
                stated = "empty" if entry[kind] == "" else _shape(entry[kind])
                defects.append(f"{name[:100]!r}: '{kind}' is {stated}")
                return None, None
            # pipenv's "file" and pdm's "url" hold a URL (https://…/x.whl) or a file: one.
            remote = "url" if kind in {"file", "url"} else kind
            return f"a {kind} source", remote if remote in _REMOTE and _is_remote(value) else None
    return None, None


def _poetry(document: Mapping[str, Any], defects: list[str]) -> Iterator[_Locked]:
    for package in _tables(document, "package", defects):
        name = _checked(package, defects)
        source = package.get("source")
        off_index, index, remote = None, None, None
        if isinstance(source, dict):
            kind = _text(source.get("type"))
            if kind in _POETRY_OFF_INDEX:
                off_index = f"a {kind} source"
                remote = kind if kind in _REMOTE and _is_remote(source.get("url")) else None
            else:
                # poetry installs every other type from an index (Executor._install): checked
                # there, and a type poetry never writes ("LEGACY") makes the run incomplete.
                index = _text(source.get("url"))
                if kind not in {"legacy", "pypi"}:
                    stated = repr(kind[:40]) if kind else _shape(source.get("type"))
                    defects.append(f"{name[:100]!r}: 'source.type' is {stated}")
                elif kind == "legacy" and index is None:
                    # poetry writes the URL of every legacy source; without it the package
                    # was asked on the configured index, which may not be the one it came from.
                    defects.append(f"{name[:100]!r}: a legacy 'source' with no 'url'")
        elif source is not None:
            defects.append(f"{name[:100]!r}: 'source' is {_shape(source)}")
        listed = package.get("dependencies")
        dependencies = tuple(
            n for key in (listed if isinstance(listed, dict) else {}) if (n := _canonical(key))
        )
        version = _index_version(name, package.get("version"), off_index, defects)
        yield _Locked(name, version, off_index, index, dependencies, remote=remote)


def _pep508_name(text: object) -> str | None:
    """The project a PEP 508 string names (pdm writes its edges that way); None if unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return str(canonicalize_name(PackagingRequirement(text).name))
    except InvalidRequirement:
        return None


_PDM_MARKERS = ("git", "hg", "svn", "bzr", "path", "url")
# pipenv: a VCS, then a file or path (requirement_from_lockfile). ``editable`` is a flag on
# one of those, never a source by itself.
_PIPFILE_MARKERS = ("git", "hg", "svn", "bzr", "file", "path")
#: Top-level Pipfile sections that are no package category (pipenv's NON_CATEGORY_SECTIONS).
_PIPFILE_NOT_CATEGORIES = frozenset({"build-system", "pipenv", "requires", "scripts", "source"})


def _pdm(document: Mapping[str, Any], defects: list[str]) -> Iterator[_Locked]:
    for package in _tables(document, "package", defects):
        name = _checked(package, defects)
        # pdm reads a VCS first, then a path or URL (Requirement.from_req_dict).
        off_index, remote = _off_index_marker(name, package, _PDM_MARKERS, defects)
        listed = package.get("dependencies")
        dependencies = tuple(
            dict.fromkeys(
                n
                for text in (listed if isinstance(listed, list) else [])
                if (n := _pep508_name(text))
            )
        )
        # pdm.lock names no index per package (pdm asks every configured source).
        version = _index_version(name, package.get("version"), off_index, defects)
        yield _Locked(name, version, off_index, None, dependencies, remote=remote)


def _pipfile_categories(document: Mapping[str, Any]) -> tuple[str, ...]:
    """Every package category of a Pipfile.lock: ``default``, ``develop`` and, since pipenv
    2022.10, one more key per custom category of the Pipfile — every key but ``_meta``."""
    return tuple(key for key in document if key != "_meta")


def _pipfile(document: Mapping[str, Any], defects: list[str]) -> Iterator[_Locked]:
    meta = document.get("_meta")
    sources = meta.get("sources") if isinstance(meta, dict) else None
    # Names and URLs as text only: a list where a name belongs is unhashable (a TypeError).
    by_name = {
        _text(s.get("name")): _text(s.get("url"))
        for s in (sources if isinstance(sources, list) else [])
        if isinstance(s, dict)
    }
    first = next(iter(by_name.values()), None)
    for group in _pipfile_categories(document):
        packages = document[group]
        if not isinstance(packages, dict):  # no category pipenv writes, and none to skip
            defects.append(f"'{group[:100]}' is {_shape(packages)}, not an object")
            continue
        for name, entry in packages.items():
            if not isinstance(entry, dict):
                defects.append(f"{name[:100]!r}: the entry is {_shape(entry)}, not an object")
                entry = {}
            defects.extend(
                f"{name[:100]!r}: '{key}' is {_shape(entry[key])}"
                for key in ("version", "index")
                if entry.get(key) is not None and not isinstance(entry[key], str)
            )
            stated = entry.get("version")
            if isinstance(stated, str) and stated.startswith("=="):
                stated = stated[2:]
            off_index, remote = _off_index_marker(name, entry, _PIPFILE_MARKERS, defects)
            version = _index_version(name, stated, off_index, defects)
            # pipenv installs a package from the source its entry names, else the first one
            # (install_search_all_sources is off by default).
            named = _text(entry.get("index"))
            index = by_name.get(named) if named else first
            if named and index is None and off_index is None:
                # Asked on the configured index, it passed as fine from an index pipenv
                # would never take it from.
                defects.append(
                    f"{name[:100]!r}: 'index' names {named[:100]!r}, which '_meta.sources' gives "
                    "no URL for"
                )
            yield _Locked(str(name), version, off_index, index, remote=remote, category=group)


_READERS = {"uv": _uv, "pylock": _pylock, "poetry": _poetry, "pdm": _pdm, "pipfile": _pipfile}


# -- spans ------------------------------------------------------------------------------------


def _version_span(written: Written | None, version: str | None) -> Span | None:
    """Where the entry writes its locked version: only when the text there is the version the
    parser read (never a version read from a file name, never a value it decoded otherwise)."""
    if written is None or version is None or written.version != version:
        return None
    return written.version_span


#: The array of package tables, per TOML lock format (a regular expression).
_TOML_PACKAGE_HEADER = {
    "uv": "(?:package|distribution)",
    "poetry": "package",
    "pdm": "package",
    "pylock": "packages",
}


_QUOTED = re.compile(r'(?="([^"\n]*)")')


class _Fallback:
    """Where a package is named when no ``[[package]]`` table holds it (inline tables): the
    first place its name is written in quotes, else the file's first line.

    One pass over the text for every name, on first need: searching the text once per name
    was quadratic (a 40,000-package lock of inline tables took two minutes to read).
    """

    def __init__(self, text: str, lines: ForwardLines, names: set[str]) -> None:
        self._text, self._lines, self._names = text, lines, names
        self._first: dict[str, int] | None = None

    def span(self, name: str) -> Span:
        if self._first is None:
            self._first = {}
            for match in _QUOTED.finditer(self._text):
                quoted = match.group(1)
                if quoted in self._names and quoted not in self._first:
                    self._first[quoted] = match.start() + 1
        at = self._first.get(name)
        if at is None:
            return Span(0, 0, 0)
        return self._lines.span(at, at + len(name))


# -- what the project itself asks for -----------------------------------------------------


def manifest_dependencies(file_name: str, text: str) -> tuple[frozenset[str], str | None]:
    """(canonical names a project's own manifest depends on, the project's name or None).

    For the lock formats that do not record it: ``pyproject.toml`` (PEP 621 dependencies,
    optional dependencies, dependency groups, Poetry's tables; not build requirements) or a
    ``Pipfile`` (``[packages]``, ``[dev-packages]`` and every custom category table).
    Unreadable text gives no names.
    """
    if file_name == "Pipfile":
        try:
            document = toml_loads(without_bom(text))
        except (ValueError, RecursionError):
            return frozenset(), None
        names = {
            name
            for table, packages in document.items()
            if table not in _PIPFILE_NOT_CATEGORIES and isinstance(packages, dict)
            for key in packages
            if (name := _canonical(key))
        }
        return frozenset(names), None
    parsed = parse_pyproject_text(text)
    names = {
        r.canonical_name
        for r in parsed.requirements
        if r.section != "build-system.requires" and r.canonical_name != "python"
    }
    return frozenset(names), _project_name(text)


def _project_name(text: str) -> str | None:
    try:
        document = toml_loads(without_bom(text))
    except (ValueError, RecursionError):
        return None
    tool = document.get("tool")  # a hostile pyproject.toml may hold any type anywhere
    for table in (document.get("project"), tool.get("poetry") if isinstance(tool, dict) else None):
        if isinstance(table, dict) and (name := _canonical(table.get("name"))):
            return name
    return None
