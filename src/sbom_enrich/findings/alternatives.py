"""Maintained replacements for abandoned or superseded projects: shipped catalog + user files."""

from __future__ import annotations

import errno
import functools
import os
import posixpath
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import msgspec

from .._files import read_regular_file
from ..errors import AlternativesError
from ..status.model import canonical, is_project_name
from ..status.untrusted import clean_text

__all__ = [
    "Alternative",
    "AlternativesCatalog",
    "AlternativesError",
    "default_user_file",
    "offered_alternatives",
    "with_recommendations",
]

#: Longest rationale kept from a user file (the shipped file keeps to 120 characters).
MAX_RATIONALE_LENGTH = 200
BUILTIN_RESOURCE = "data/alternatives.toml"

# PEP 508 names (https://packaging.python.org/en/latest/specifications/name-normalization/).
# A standard-library module path such as ``unittest.mock``.
_MODULE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ENTRY_KEYS = frozenset({"alternatives", "source"})
_ALTERNATIVE_KEYS = frozenset({"name", "rationale", "stdlib"})


class Alternative(msgspec.Struct, frozen=True):
    """One suggested replacement for a project."""

    #: PyPI project name as usually spelled, or a standard-library module (``unittest.mock``).
    name: str
    #: One line saying why, safe to print (control characters removed, length bounded).
    rationale: str
    #: True when the replacement ships with Python: drop the dependency instead of renaming it.
    stdlib: bool = False
    #: Who suggests it: ``catalog`` (the curated catalog, a user file or the policy) or
    #: ``maintainers`` (the project's own final description, verified on the index).
    source: str = "catalog"


class AlternativesCatalog(msgspec.Struct, frozen=True):
    """Suggested replacements keyed by PEP 503 canonical project name.

    File format (TOML)::

        [projects.pycrypto]
        alternatives = [
          { name = "pycryptodome", rationale = "Maintained fork with the Crypto API" },
        ]
        source = "https://..."   # where the facts were checked (optional in user files)

    ``stdlib = true`` marks a standard-library module. In :meth:`load`, a user file's entry
    replaces the shipped list for that project, and ``alternatives = []`` removes it.
    """

    _entries: Mapping[str, tuple[Alternative, ...]] = msgspec.field(
        default_factory=lambda: MappingProxyType({})
    )

    def __repr__(self) -> str:
        return f"<AlternativesCatalog: {len(self)} projects>"

    def for_project(self, name: str) -> tuple[Alternative, ...]:
        """The replacements suggested for ``name`` (any spelling); ``()`` when none."""
        entries = self._entries
        if type(entries) is _Deferred:
            return entries.lookup(canonical(name))
        return entries.get(canonical(name), ())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        """Canonical names of the projects that have suggestions, sorted."""
        return iter(sorted(self._entries))

    @classmethod
    def builtin(cls) -> AlternativesCatalog:
        """The catalog shipped in the package (parsed once per process)."""
        return _builtin_catalog()

    @classmethod
    def load(cls, user_files: Sequence[Path] = ()) -> AlternativesCatalog:
        """The shipped catalog overlaid, in order, with ``user_files``.

        Raises :class:`AlternativesError` when a user file is missing or invalid: the user
        files are read and checked now, the shipped one (~15 ms of TOML, needed only once
        answers are in) is parsed when the catalog is first read.
        """
        layers = [_read_file(Path(path)) for path in user_files]
        catalog = cls(_Deferred(lambda: _builtin_catalog()._entries, _builtin_names))
        for layer in layers:
            catalog = catalog.overlay(layer)
        return catalog

    def overlay(self, entries: Mapping[str, tuple[Alternative, ...]]) -> AlternativesCatalog:
        """This catalog with ``entries`` on top: each replaces a project's list; ``()`` removes.

        Merged when first read, so that overlaying does not parse a deferred catalog."""
        below = self._entries

        def merge() -> Mapping[str, tuple[Alternative, ...]]:
            merged = dict(below)
            for name, alternatives in entries.items():
                if alternatives:
                    merged[canonical(name)] = alternatives
                else:
                    merged.pop(canonical(name), None)
            return merged

        return AlternativesCatalog(_Deferred(merge))

    @classmethod
    def from_toml(cls, text: str, origin: str = "<string>") -> AlternativesCatalog:
        """A catalog from TOML text alone (no shipped entries); ``origin`` names it in errors."""
        entries = {k: v for k, v in _parse(text, origin).items() if v}
        return cls(MappingProxyType(entries))


class _Deferred(Mapping[str, tuple[Alternative, ...]]):
    """A read-only mapping built by ``build`` when first read (then kept).

    ``possible``: the keys it may hold, or None when that is not known, worked out cheaply
    when first asked; :meth:`lookup` of any other key answers ``()`` without building it.
    """

    def __init__(
        self,
        build: Callable[[], Mapping[str, tuple[Alternative, ...]]],
        possible: Callable[[], frozenset[str] | None] | None = None,
    ) -> None:
        self._build: Callable[[], Mapping[str, tuple[Alternative, ...]]] | None = build
        self._entries: Mapping[str, tuple[Alternative, ...]] = {}
        self._possible = possible

    def _built(self) -> Mapping[str, tuple[Alternative, ...]]:
        if self._build is not None:
            self._entries = self._build()
            self._build = None
        return self._entries

    def lookup(self, name: str) -> tuple[Alternative, ...]:
        """``self.get(name, ())``, building the mapping only when it may hold ``name``."""
        if self._build is not None and self._possible is not None:
            possible = self._possible()
            if possible is not None and name not in possible:
                return ()
        return self._built().get(name, ())

    def __getitem__(self, name: str) -> tuple[Alternative, ...]:
        return self._built()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def default_user_file() -> Path:
    """Where a user's own catalog lives by default (the CLI decides whether to read it)."""
    return Path(_user_config_dir()) / "alternatives.toml"


def _user_config_dir() -> str:
    """``platformdirs.user_config_dir("sbom-enrich", appauthor=False)``.

    Every run asks (for a file that is rarely there), and importing platformdirs was ~3 ms of
    each. On Linux (not Android) the answer is the XDG rule every platformdirs 4 follows, so it
    is worked out here when the environment leaves no doubt: ``$XDG_CONFIG_HOME`` when it is an
    absolute path, else ``$HOME/.config`` when that variable is unset and ``$HOME`` is absolute.
    Anything else (another platform, a relative or blank variable, no ``$HOME``) is left to
    platformdirs.
    """
    environ = os.environ
    if (
        sys.platform == "linux"
        and not hasattr(sys, "getandroidapilevel")
        and "ANDROID_DATA" not in environ
        and "ANDROID_ROOT" not in environ
    ):
        xdg = environ.get("XDG_CONFIG_HOME")
        if xdg is not None and xdg.startswith("/"):
            return posixpath.join(xdg, "sbom-enrich")
        home = environ.get("HOME", "")
        if xdg is None and home.startswith("/"):
            return posixpath.join(posixpath.expanduser("~/.config"), "sbom-enrich")
    from platformdirs import user_config_dir

    return user_config_dir("sbom-enrich", appauthor=False)


@functools.cache
def _builtin_catalog() -> AlternativesCatalog:
    return AlternativesCatalog.from_toml(_builtin_text(), origin=f"sbom_enrich/{BUILTIN_RESOURCE}")


@functools.cache
def _builtin_text() -> str:
    # Beside this package on disk, read directly; importlib.resources (and zipfile under it,
    # ~3 ms of every start) only for a package that is not a directory (a zip import).
    beside = Path(__file__).parent.parent / BUILTIN_RESOURCE
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    from importlib import resources

    return resources.files("sbom_enrich").joinpath(BUILTIN_RESOURCE).read_text(encoding="utf-8")


@functools.cache
def _builtin_names() -> frozenset[str] | None:
    # Parsing the shipped TOML (and importing tomllib) was ~8 ms of a run that asks the
    # catalog only about projects it does not list: its headers say which ones it may list.
    return possible_names(_builtin_text())


#: A ``[projects.NAME]`` table header with a bare key, and perhaps a comment after it.
_PROJECT_HEADER = re.compile(r"\[projects\.([A-Za-z0-9_-]+)\][ \t]*(?:#.*)?")


def possible_names(text: str) -> frozenset[str] | None:
    """Every canonical name a catalog file's entries can have, read from its lines without
    parsing the TOML; None when the file is not only comments and ``[projects.NAME]`` tables
    (with bare keys), so that this cannot tell.

    Never too few: an entry of such a file is a ``[projects.NAME]`` header (a header is a
    line of its own; a top-level key, which could hold entries, comes before the first one).
    A header-like line inside a multi-line string can only add a name, or give None.
    """
    names: set[str] = set()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        if stripped[0] == "[":
            header = _PROJECT_HEADER.fullmatch(stripped)
            if header is None:
                return None  # [projects], a quoted key, a nested table, an array of tables
            names.add(canonical(header[1]))
        elif not names:
            return None  # a top-level key
    return frozenset(names)


#: The largest alternatives file read (the shipped catalog is ~20 kB).
MAX_FILE_BYTES = 16 * 2**20


def _read_file(path: Path) -> dict[str, tuple[Alternative, ...]]:
    """One file's entries. A path may come from a repository (a policy file's
    ``alternatives``, an editor's workspace settings): only a regular file is opened (a FIFO
    hung the language server, /dev/zero filled its memory), at most :data:`MAX_FILE_BYTES`."""
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise _fail(str(path), "no such file") from None
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.EFBIG):
            raise _fail(str(path), str(exc.strerror)) from None
        raise _fail(str(path), f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(str(path), "not UTF-8 text") from None
    return _parse(text, str(path))


def _fail(origin: str, problem: str) -> AlternativesError:
    return AlternativesError(clean_text(f"{origin}: {problem}", limit=300))


def _parse(text: str, origin: str) -> dict[str, tuple[Alternative, ...]]:
    """Entries of one file by canonical name; an empty tuple means "remove"."""
    from .._toml import TOO_DEEP, loads, tomllib  # imported with the first file to read

    try:
        document = loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(origin, f"invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array
        raise _fail(origin, f"invalid TOML: {TOO_DEEP}") from None
    unknown = sorted(set(document) - {"projects"})
    if unknown:
        raise _fail(origin, f"unknown top-level key {unknown[0]!r} (expected [projects.NAME])")
    return parse_entries(document.get("projects", {}), origin)


def parse_entries(projects: object, origin: str) -> dict[str, tuple[Alternative, ...]]:
    """A ``projects`` table (``NAME = {alternatives = [...]}``) by canonical name, validated;
    an empty tuple means "remove". Raises :class:`AlternativesError` naming ``origin``."""
    if not isinstance(projects, dict):
        raise _fail(origin, "'projects' must be a table of [projects.NAME] tables")
    entries: dict[str, tuple[Alternative, ...]] = {}
    spelled: dict[str, str] = {}
    for key, entry in projects.items():
        where = f"[projects.{clean_text(key, limit=80)}]"
        if not is_project_name(key):
            raise _fail(origin, f"{where}: not a valid project name")
        name = canonical(key)
        if name in entries:
            raise _fail(origin, f"{where}: same project as [projects.{spelled[name]}]")
        spelled[name] = key
        entries[name] = _parse_entry(entry, name, origin, where)
    return entries


def _parse_entry(entry: object, name: str, origin: str, where: str) -> tuple[Alternative, ...]:
    if not isinstance(entry, dict):
        raise _fail(origin, f"{where}: must be a table")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise _fail(origin, f"{where}: unknown key {unknown[0]!r}")
    source = entry.get("source", "")
    if not isinstance(source, str):
        raise _fail(origin, f"{where}: 'source' must be a string")
    items = entry.get("alternatives")
    if not isinstance(items, list):
        raise _fail(origin, f"{where}: 'alternatives' must be a list of tables")
    alternatives: list[Alternative] = []
    for number, item in enumerate(items, start=1):
        alternative = _parse_alternative(item, origin, f"{where} alternative {number}")
        # A stdlib module may share the backport's name (``dataclasses``); that is no loop.
        if not alternative.stdlib and canonical(alternative.name) == name:
            raise _fail(origin, f"{where}: suggests the project itself")
        if any(_same(alternative, seen) for seen in alternatives):
            raise _fail(origin, f"{where}: {alternative.name!r} is listed twice")
        alternatives.append(alternative)
    return tuple(alternatives)


def _parse_alternative(item: object, origin: str, where: str) -> Alternative:
    if not isinstance(item, dict):
        raise _fail(origin, f"{where}: must be a table with 'name' and 'rationale'")
    unknown = sorted(set(item) - _ALTERNATIVE_KEYS)
    if unknown:
        raise _fail(origin, f"{where}: unknown key {unknown[0]!r}")
    name = item.get("name")
    rationale = item.get("rationale")
    stdlib = item.get("stdlib", False)
    if not isinstance(stdlib, bool):
        raise _fail(origin, f"{where}: 'stdlib' must be true or false")
    if not isinstance(name, str):
        raise _fail(origin, f"{where}: 'name' must be a string")
    if not (_MODULE_PATH.fullmatch(name) if stdlib else is_project_name(name)):
        kind = "standard-library module" if stdlib else "project name"
        raise _fail(origin, f"{where}: {clean_text(name, limit=80)!r} is not a valid {kind}")
    if not isinstance(rationale, str):
        raise _fail(origin, f"{where}: 'rationale' must be a string")
    cleaned = clean_text(rationale, limit=MAX_RATIONALE_LENGTH)
    if not cleaned:
        raise _fail(origin, f"{where}: 'rationale' is empty")
    return Alternative(name=name, rationale=cleaned, stdlib=stdlib)


def _same(one: Alternative, other: Alternative) -> bool:
    if one.stdlib or other.stdlib:
        return one.stdlib == other.stdlib and one.name == other.name
    return canonical(one.name) == canonical(other.name)


#: What a maintainers' recommendation says of itself in summaries and reports.
MAINTAINERS_RATIONALE = "recommended by its maintainers (the project's own last description)"


def with_recommendations(
    alternatives: tuple[Alternative, ...], recommended: tuple[str, ...]
) -> tuple[Alternative, ...]:
    """The catalog's alternatives, then the maintainers' own that the catalog lacks."""
    known = {a.name.lower() for a in alternatives}
    extra = tuple(
        Alternative(name, MAINTAINERS_RATIONALE, source="maintainers")
        for name in recommended
        if name.lower() not in known
    )
    return alternatives + extra


def offered_alternatives(
    catalog: AlternativesCatalog,
    name: str,
    *,
    from_index: bool,
    recommended: tuple[str, ...] = (),
) -> tuple[Alternative, ...]:
    """What to suggest in place of a dependency on ``name``: the catalog's alternatives, then
    those the project's maintainers ``recommended`` (:func:`with_recommendations`).

    None at all unless it is installed ``from_index``. One installed from a URL or VCS (an
    off-index finding, ``Finding.off_index``) has its name asked on the index, but the
    index's project of that name may be another one (a private package from git bearing a
    public name): a replacement for that project says nothing of what is installed, and the
    editor's "Replace X with Y" would rewrite the line and drop the URL it comes from. So for
    a file on this disk or a tool source (never asked at all). The one place this is decided,
    for ``check``, ``enrich``, the language server and the service.
    """
    if not from_index:
        return ()
    alternatives = catalog.for_project(name)
    return with_recommendations(alternatives, recommended) if recommended else alternatives
