"""`sbom-enrich check`: find and read manifests, follow their includes, make findings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckError
from ..findings.alternatives import Alternative
from ..findings.kinds import MISSING_INCLUDE
from ..findings.model import Finding, Ignored, Location, Problem
from ..status.model import StatusRecord
from ..status.untrusted import clean_text
from ..status.urls import normalize_index_url, redact_url
from .kinds import decode_manifest, discover_manifests, parse_as_named
from .spans import ManifestProblem, ParsedManifest, Requirement, Span

__all__ = [
    "CheckError",
    "Manifest",
    "ManifestSet",
    "findings_for",
    "read_manifests",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
INLINE_IGNORE_REASON = "'# sbom-enrich: ignore' comment"


@dataclass(frozen=True)
class Manifest:
    """One manifest read: how to name it in reports, and what the parser found."""

    display: str
    parsed: ParsedManifest


@dataclass(frozen=True)
class ManifestSet:
    """Every manifest of one run (includes followed, each file once) and what went wrong."""

    manifests: tuple[Manifest, ...]
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(m.display for m in self.manifests)

    def names(self) -> set[str]:
        """Canonical names to look up (direct references and ignored lines left out)."""
        return {
            r.canonical_name
            for m in self.manifests
            for r in m.parsed.requirements
            if not r.off_index and not r.ignored
        }


def index_warnings(manifests: ManifestSet, index_url: str) -> tuple[str, ...]:
    """One warning per other index a requirements file names: its statuses are not checked there.

    pip would install from that index (``--index-url``/``--extra-index-url``), while every
    status comes from ``index_url``; environment-variable forms are left alone.
    """
    configured = redact_url(normalize_index_url(index_url))
    warnings: list[str] = []
    for manifest in manifests.manifests:
        named = {redact_url(normalize_index_url(url)) for url in manifest.parsed.index_urls}
        warnings.extend(
            f"{manifest.display}: names the index {clean_text(url, 200)}, but statuses come "
            f"from {configured} (--index-url or SBOM_ENRICH_INDEX_URL to change it)"
            for url in sorted(named - {configured})
            if "${" not in url
        )
    return tuple(warnings)


def _resolved(path: Path) -> Path:
    """``path`` made absolute, symlinks followed where they can be (a loop or a NUL byte in the
    name is found when the file is read, and reported then)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop before 3.13
        return path.absolute()


def display_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` in POSIX spelling when it lies below it, else absolute."""
    try:
        return _resolved(path).relative_to(_resolved(base)).as_posix()
    except ValueError:
        return _resolved(path).as_posix()


def _location(display: str, span: Span) -> Location:
    return Location(display, span.line + 1, span.start + 1, span.end + 1)


def read_manifests(
    paths: Sequence[Path],
    base: Path,
    read_text: Callable[[Path], str] | None = None,
) -> ManifestSet:
    """Read ``paths`` and, once each, the files their ``-r``/``-c`` lines name.

    Includes are resolved against the including file's folder, as pip does; URLs are not
    fetched (a warning says so) and a missing included file is a reported problem. A named
    path that cannot be read raises :class:`CheckError`.
    """
    # A byte order mark is not a column (editors and code scanning skip it).
    read = read_text or (lambda p: decode_manifest(p, p.read_bytes()))
    seen: set[Path] = set()
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    warnings: list[str] = []
    queue: list[tuple[Path, Location | None]] = [(p, None) for p in paths]
    while queue:
        path, included_at = queue.pop(0)
        key = _resolved(path)
        if key in seen:
            continue
        seen.add(key)
        display = display_path(path, base)
        try:
            text = read(path)
        except (OSError, ValueError) as error:  # ValueError: a NUL byte in an included name
            if isinstance(error, FileNotFoundError):
                reason = "no such file"
            else:
                reason = (isinstance(error, OSError) and error.strerror) or str(error)
            if included_at is None:
                raise CheckError(f"cannot read {display}: {reason}") from None
            problems.append(
                Problem(f"included file {display}: {reason}", included_at, MISSING_INCLUDE)
            )
            continue
        parsed = parse_as_named(path, text)
        manifests.append(Manifest(display, parsed))
        problems.extend(_problem(display, p) for p in parsed.problems)
        for include in parsed.includes:
            where = _location(display, include.span)
            if _URL.match(include.path):
                warnings.append(f"{where}: not following the URL include {include.path}")
                continue
            queue.append((path.parent / include.path, where))
    return ManifestSet(tuple(manifests), tuple(problems), tuple(warnings))


def _problem(display: str, problem: ManifestProblem) -> Problem:
    return Problem(problem.message, _location(display, problem.span), problem.code)


@dataclass(frozen=True)
class CheckedRequirements:
    """Findings from a manifest set, and what was left out and why."""

    findings: tuple[Finding, ...]
    ignored: tuple[Ignored, ...]
    skipped_reasons: tuple[str, ...]


def findings_for(
    manifests: ManifestSet,
    records: Mapping[str, StatusRecord],
    alternatives_for: Callable[[str], tuple[Alternative, ...]],
) -> CheckedRequirements:
    """One finding per requirement line, located; direct references and ignored lines aside."""
    findings: list[Finding] = []
    ignored: list[Ignored] = []
    skipped: list[str] = []
    for manifest in manifests.manifests:
        for requirement in manifest.parsed.requirements:
            where = _location(manifest.display, requirement.name_span)
            if requirement.url is not None:
                skipped.append(f"{where}: {requirement.name} is a direct reference")
                continue
            if requirement.source is not None:
                skipped.append(f"{where}: {requirement.name} comes from {requirement.source}")
                continue
            if requirement.ignored:
                ignored.append(
                    Ignored(
                        requirement.name,
                        requirement.pinned_version,
                        INLINE_IGNORE_REASON,
                        location=where,
                    )
                )
                continue
            findings.append(_finding(requirement, records, alternatives_for, where))
    return CheckedRequirements(tuple(findings), tuple(ignored), tuple(skipped))


def _finding(
    requirement: Requirement,
    records: Mapping[str, StatusRecord],
    alternatives_for: Callable[[str], tuple[Alternative, ...]],
    where: Location,
) -> Finding:
    record = records[requirement.canonical_name]
    version = requirement.pinned_version
    return Finding(
        name=requirement.name,
        version=version,
        record=record,
        facts=record.version_facts(version) if version else None,
        alternatives=alternatives_for(requirement.canonical_name),
        location=where,
    )


def manifest_paths(files: Iterable[str], directory: Path) -> list[Path]:
    """The paths named on the command line (a directory: the manifests found in it), or the
    manifests found in ``directory``."""
    named: list[Path] = []
    for name in files:
        path = Path(name)
        named.extend(discover_manifests(path) if path.is_dir() else [path])
    return named if files else discover_manifests(directory)
