"""Read a file a team ships (SBOM, manifest, lock file) into a source: the names it uses."""

from __future__ import annotations

from pathlib import Path

from ..enrich import SbomError, load_sbom
from ..errors import InventoryError
from ..manifests import (
    decode_manifest,
    is_lock_file,
    manifest_kind,
    parse_lock_text,
    read_manifest_bytes,
)
from ..manifests import parse_manifest as parse_manifest_text
from ..status.model import canonical, is_project_name
from ..status.untrusted import clean_text
from ..status.urls import normalize_index_url, redact_url
from .model import Source, Usage

__all__ = ["InventoryError", "read_source"]

#: Largest file accepted (an SBOM of a big monorepo is a few MB).
MAX_FILE_BYTES = 64 * 2**20
#: Repository URLs kept per SBOM component (vcs first, then website).
MAX_REPOSITORY_URLS = 4


def read_source(project: str, path: Path) -> Source:
    """The source ``path`` describes, under ``project``; raises :class:`InventoryError`.

    The kind comes from the name (lock files, requirements files, pyproject.toml, as ``check``
    judges them), else from the content (CycloneDX JSON or XML). ``-r`` includes of a
    requirements file are not followed: register each file.
    """
    shown = clean_text(str(path), 300)
    if path.is_dir():
        raise InventoryError(f"{shown}: is a directory")
    try:
        str(path.resolve()).encode("utf-8")
    except UnicodeEncodeError:
        # A name in no UTF-8 (bytes the file system kept as surrogates): the database and
        # every notice store paths as text. It was "internal error (a bug)", exit 5.
        raise InventoryError(f"{shown}: its path is not valid UTF-8; rename it") from None
    try:
        # A regular file only (a FIFO with no writer hung `monitor add` for good), and bounded
        # while reading.
        data = read_manifest_bytes(path, MAX_FILE_BYTES, regular_only=True)
    except IsADirectoryError:
        raise InventoryError(f"{shown}: is a directory") from None
    except OSError as error:
        raise InventoryError(f"cannot read {shown}: {error.strerror or error}") from None
    resolved = str(path.resolve())
    if is_lock_file(path.name):
        parsed = parse_lock_text(path.name, decode_manifest(path, data))
        kind = "lock"
    elif (named := manifest_kind(path)) is not None:
        maybe = parse_manifest_text(path, decode_manifest(path, data))
        assert maybe is not None  # manifest_kind said it is one
        parsed, kind = maybe, named
    else:
        return Source(project, resolved, *_sbom_usages(data, shown))
    if parsed.problems and not parsed.requirements:
        raise InventoryError(f"{shown}: {clean_text(parsed.problems[0].message, 200)}")
    usages = tuple(
        # A lock entry's index is kept (credentials removed): each locked package is watched on
        # the index it came from, as `check` asks it. A requirements file's --index-url lines
        # are not per package: its names are watched on the configured index, as `check` does.
        Usage(r.canonical_name, r.name, r.pinned_version, _index_of(r.index_url))
        for r in parsed.requirements
        if not r.off_index and not r.ignored and is_project_name(r.name)
    )
    problems = tuple(clean_text(p.message, 200) for p in parsed.problems)
    return Source(project, resolved, kind, usages, problems=problems)


def _index_of(repository_url: str | None) -> str | None:
    if not repository_url:
        return None
    try:
        # Never stored with credentials: the pass asks with those configured for the index.
        return redact_url(normalize_index_url(repository_url))
    except ValueError:
        return clean_text(repository_url, 300)  # never asked; reported as another index


def _sbom_usages(data: bytes, shown: str) -> tuple[str, tuple[Usage, ...]]:
    try:
        sbom = load_sbom(data, source=shown)
    except SbomError as error:
        raise InventoryError(
            f"{error} (register CycloneDX SBOMs, requirements files, pyproject.toml or lock files)"
        ) from None
    usages = tuple(
        Usage(
            canonical(c.name),
            c.name,
            c.version,
            _index_of(c.repository_url),
            # Kept for --maintenance passes; bounded, since an SBOM may be hostile.
            tuple(url for url in c.repository_urls[:MAX_REPOSITORY_URLS] if len(url) <= 2000),
        )
        for c in sbom.pypi_components()
        # The SBOM's own subject is usually the team's unpublished project; direct URLs and
        # VCS components come from no index at all (enrich asks their names; the monitor, as
        # for a lock's URL entries, does not). A name no index can have would fail its
        # lookup on every pass (exit 3 forever): it is not watched.
        if c.skip_reason is None
        and c.off_index is None
        and not c.subject
        and is_project_name(c.name)
    )
    return f"cyclonedx-{sbom.format}", usages
