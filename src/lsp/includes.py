"""A requirements file's ``-r``/``-c`` lines: the files they lead to, read as ``check`` reads
them, and what those files hold, told on the include line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from sbom_enrich.findings.kinds import INVALID_REQUIREMENT, YANKED
from sbom_enrich.findings.model import Location, Problem
from sbom_enrich.manifests import Include, ParsedManifest, Requirement
from sbom_enrich.manifests.check import (
    is_url_include,
    project_root,
    read_manifests,
    url_include_message,
)
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.untrusted import clean_text

from .diagnostics import CODE_PREFIX, NOT_CHECKED, SOURCE, is_checked, lookup_key, to_range
from .lsp_settings import LspSettings

__all__ = [
    "IncludeReader",
    "Included",
    "include_boundary",
    "included_diagnostics",
    "included_keys",
    "not_followed",
    "read_included",
]

#: Names listed in one include diagnostic at most (the rest are counted).
MAX_NAMES = 3
#: Statuses told on an include line, in the order they are told.
TOLD = (
    ProjectStatus.QUARANTINED,
    ProjectStatus.ARCHIVED,
    ProjectStatus.DEPRECATED,
    ProjectStatus.NOT_FOUND,
)
#: Statuses whose index lists the project's versions (so a yanked pin can be told).
_LISTS_VERSIONS = frozenset(
    {ProjectStatus.ACTIVE, ProjectStatus.DEPRECATED, ProjectStatus.ARCHIVED}
)

#: The modification time and size of a file read (None: it could not be stat'ed).
Stamp = tuple[int, int] | None


@dataclass(frozen=True)
class Included:
    """What one ``-r``/``-c`` line leads to: that file, and the files it includes in turn."""

    include: Include
    #: Every requirement read from those files.
    requirements: tuple[Requirement, ...]
    #: What could not be read or followed, one line each ("included file x.txt: no such
    #: file", "other.txt:3: Invalid requirement ...", a URL include).
    problems: tuple[str, ...]
    #: The files read or looked for, and their stamps when read: read again once one changes.
    files: tuple[Path, ...] = ()
    stamps: tuple[Stamp, ...] = ()

    def changed(self) -> bool:
        """Whether one of the files read changed since (a stat() each)."""
        return tuple(map(_stamp, self.files)) != self.stamps


def not_followed(manifest: ParsedManifest, why: str) -> tuple[Included, ...]:
    """Each include of ``manifest`` told not followed, and why (never shown as checked)."""
    return tuple(Included(include, (), (f"not followed: {why}",)) for include in manifest.includes)


def include_boundary(document: Path, workspace_folders: Iterable[Path]) -> Path:
    """The folder what ``document`` includes must stay in: the innermost workspace folder
    holding it, else its project root as ``check`` finds it (the nearest ``.git``)."""
    holding = [folder for folder in workspace_folders if document.is_relative_to(folder)]
    return max(holding, key=lambda f: len(f.parts)) if holding else project_root(document.parent)


def read_included(document: Path, include: Include, boundary: Path) -> Included:
    """The files ``include`` (a line of ``document``) leads to, read as ``check`` reads an
    included file: a problem, never an error, for a file missing, not regular (a FIFO, a
    device), too large, or outside ``boundary``; each file once (an include loop ends);
    ``document`` itself (the editor has its text) never read again; a URL never fetched."""
    if is_url_include(include.path):
        return Included(include, (), (url_include_message(include.path),))
    where = Location(include.path, include.span.line + 1, include.span.start + 1)
    folder = document.parent
    read = read_manifests(
        [folder / include.path], folder, boundary=boundary, included_at=where,
        already_read=[document],
    )  # fmt: skip
    # A URL an included file includes is one of these problems (read_manifests says so).
    problems = [_problem_line(problem, where) for problem in read.problems]
    files = (folder / include.path, *(folder / manifest.display for manifest in read.manifests))
    return Included(
        include,
        tuple(r for manifest in read.manifests for r in manifest.parsed.requirements),
        tuple(problems),
        files,
        tuple(map(_stamp, files)),
    )


def _problem_line(problem: Problem, where: Location) -> str:
    """One line for a problem: where it is, unless it is the include line itself."""
    if problem.location == where:
        return problem.message
    return f"{problem.location.path}:{problem.location.line}: {problem.message}"


def _stamp(path: Path) -> Stamp:
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return found.st_mtime_ns, found.st_size


class IncludeReader:
    """Reads what an open requirements file includes, again only when one of those files
    changes: a stat() of each per analysis, the reads and parses once per change."""

    def __init__(self) -> None:
        self._read: dict[tuple[Path, Include, Path], Included] = {}

    def included(
        self, document: Path, manifest: ParsedManifest, boundary: Path
    ) -> tuple[Included, ...]:
        """What each include line of ``document`` (``manifest``: its editor text) leads to."""
        found = tuple(self._one(document, include, boundary) for include in manifest.includes)
        wanted = {(document, include, boundary) for include in manifest.includes}
        for key in [k for k in self._read if k[0] == document and k not in wanted]:
            del self._read[key]  # an include line edited away, or another boundary
        return found

    def _one(self, document: Path, include: Include, boundary: Path) -> Included:
        key = (document, include, boundary)
        cached = self._read.get(key)
        if cached is not None and not cached.changed():
            return cached
        included = self._read[key] = read_included(document, include, boundary)
        return included

    def forget(self, document: Path) -> None:
        for key in [k for k in self._read if k[0] == document]:
            del self._read[key]


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(clean_text(name, 100) for name in names[:MAX_NAMES])
    return shown + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def included_diagnostics(
    included: Included,
    records: Mapping[str, StatusRecord],
    settings: LspSettings,
    lines: Sequence[str],
    encoding: str,
) -> list[types.Diagnostic]:
    """On the include line: one diagnostic per status its files' packages have (``other.txt:
    2 of 14 packages archived: a, b``), one for yanked pins, one for lookups that failed, and
    one for what could not be read or followed. Packages not answered yet are left out, as on
    a line of the document itself."""
    range_ = to_range(included.include.span, lines, encoding)
    where = clean_text(included.include.path, 200)
    found: list[types.Diagnostic] = []

    def add(code: str, severity: types.DiagnosticSeverity | None, message: str) -> None:
        if severity is not None:
            found.append(
                types.Diagnostic(
                    range=range_, severity=severity, code=code, source=SOURCE, message=message
                )
            )

    if included.problems:
        more = len(included.problems) - 1
        add(
            CODE_PREFIX + INVALID_REQUIREMENT,
            settings.severity_of(INVALID_REQUIREMENT),
            f"{where}: not all of it is checked: {clean_text(included.problems[0], 300)}"
            + (f" (and {more} more)" if more else ""),
        )
    checked = [r for r in included.requirements if is_checked(r, settings)]
    total = len({r.canonical_name for r in checked})
    by_status: dict[ProjectStatus, dict[str, None]] = {}
    failed: dict[str, str] = {}
    yanked: dict[str, None] = {}
    for requirement in checked:
        record = records.get(lookup_key(requirement, settings))
        if record is None:
            continue
        # Installed from a URL or VCS: only a quarantine of its name is told here (the other
        # statuses may be a namesake's: shown in that file, as Information at most).
        remote = requirement.remote is not None
        if not remote or record.status is ProjectStatus.QUARANTINED:
            by_status.setdefault(record.status, {})[requirement.name] = None
        if record.status is ProjectStatus.UNKNOWN and record.error:
            failed.setdefault(requirement.name, record.error)
        pinned = requirement.pinned_version if not remote else None
        if pinned and record.status in _LISTS_VERSIONS and record.version_facts(pinned).yanked:
            yanked[f"{requirement.name}=={pinned}"] = None
    for status in TOLD:
        if names := list(by_status.get(status, ())):
            what = "not on the index" if status is ProjectStatus.NOT_FOUND else status.value
            add(
                CODE_PREFIX + status.value,
                settings.severity_of(status.value),
                f"{where}: {len(names)} of {total} packages {what}: {_names(names)}",
            )
    if yanked:
        add(
            CODE_PREFIX + YANKED,
            settings.severity_of(YANKED),
            f"{where}: pinned versions yanked: {_names(list(yanked))}",
        )
    if failed:
        add(
            NOT_CHECKED,
            types.DiagnosticSeverity.Warning,  # as for the document's own failed lookups
            f"{where}: {len(failed)} of {total} packages could not be checked "
            f"({_names(list(failed))}): {clean_text(next(iter(failed.values())), 200)}",
        )
    return found


def included_keys(includes: Iterable[Included], settings: LspSettings) -> set[str]:
    """The lookup keys of every package the includes lead to."""
    return {
        lookup_key(r, settings)
        for included in includes
        for r in included.requirements
        if is_checked(r, settings)
    }
