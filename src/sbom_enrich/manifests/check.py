"""`sbom-enrich check`: find and read manifests, follow their includes, make findings."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from .._toml import loads as toml_loads
from ..errors import CheckError, SettingsError
from ..findings.alternatives import AlternativesCatalog, offered_alternatives
from ..findings.graph import DependencyGraph, chains_to
from ..findings.kinds import MISSING_INCLUDE
from ..findings.model import (
    OTHER_INDEX,
    ChainStep,
    Finding,
    Ignored,
    Location,
    OtherIndex,
    Problem,
)
from ..status.model import ProjectStatus, StatusRecord, utc_now
from ..status.settings import ClientSettings, parse_index_url
from ..status.untrusted import MAX_URL_LENGTH, clean_text
from ..status.urls import normalize_index_url, redact_url
from .kinds import (
    decode_manifest,
    discover_manifests,
    is_misnamed_pylock,
    kind_of,
    parse_as_named,
    read_manifest_bytes,
    reading_of,
)
from .locks import lock_format, manifest_dependencies
from .pyproject import project_indexes
from .spans import ManifestProblem, ParsedManifest, Requirement, Span, without_bom

__all__ = [
    "CheckError",
    "IndexPlan",
    "Manifest",
    "ManifestSet",
    "findings_for",
    "is_url_include",
    "namesake_told",
    "read_manifests",
    "url_include_message",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url_include(path: str) -> bool:
    """Whether a ``-r``/``-c`` line names a URL: pip fetches it, a run never does."""
    return _URL.match(path) is not None


def url_include_message(path: str) -> str:
    """Why a URL include's requirements are not checked (credentials and query removed)."""
    return (
        f"not following the URL include {clean_text(redact_url(path), 300)}: its requirements "
        "are not checked (pip fetches it; a run never does: download it and name the file)"
    )


#: Files one run reads because a ``-r``/``-c`` line names them. A project has a few dozen; a
#: hostile repository could chain thousands (each read, parsed and its names looked up).
MAX_INCLUDED_FILES = 1000

_ALLOWABLE_INDEX = re.compile(r"^https?://[^?#\s]+$", re.IGNORECASE)
INLINE_IGNORE_REASON = "'# sbom-enrich: ignore[name]' comment"


@dataclass(frozen=True)
class Manifest:
    """One manifest read: how to name it in reports, and what the parser found."""

    display: str
    parsed: ParsedManifest
    #: A pdm.lock's indexes, from the pyproject.toml beside it: the lock names none.
    beside_indexes: tuple[str, ...] = ()


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
        """Canonical names to look up (direct references and ignored lines left out; a lock's
        remote entries in: see :attr:`Requirement.remote`)."""
        return {
            r.canonical_name for m in self.manifests for r in m.parsed.requirements if r.looked_up
        }

    def lock_indexes(self) -> set[str]:
        """The indexes lock files name for their packages (normalized, as written)."""
        return {
            normalize_index_url(r.index_url)
            for m in self.manifests
            for r in m.parsed.requirements
            if r.index_url and not r.off_index and not r.ignored
        }

    def wanted(
        self, plan: IndexPlan, *, namesakes: bool = True, remote: bool = True
    ) -> dict[str, set[str]]:
        """``{index: canonical names}``: each package on the index ``plan`` asks for it, and
        (``namesakes``) the name of each one a lock sends elsewhere on the configured index
        too; (``remote``) with the names of packages from a URL, a VCS or find-links."""
        wanted: dict[str, set[str]] = {}
        for manifest in self.manifests:
            for requirement in manifest.parsed.requirements:
                if requirement.looked_up and (remote or requirement.remote is None):
                    index = plan.asked_on(requirement)
                    if index is not None:
                        wanted.setdefault(index, set()).add(requirement.canonical_name)
                    if namesakes and plan.lock_named(requirement) is not None:
                        wanted.setdefault(plan.configured, set()).add(requirement.canonical_name)
        return wanted


@dataclass(frozen=True)
class IndexPlan:
    """Which index a run asks for each package, from its lock entry and the configuration.

    A package whose lock entry names an index that neither ``--index-url`` nor
    ``--allow-index`` names (:meth:`lock_named`) is asked there only with ``lock_indexes``
    (the default; the language server's ``lockIndexes``), and its name is asked on the
    configured index as well: a lock, from a pull request say, can send a name the
    configured index quarantined to an index of its own that says it is fine.
    """

    route: Callable[[str | None], str]
    #: The configured index, normalized.
    configured: str
    #: The configured index and the ``--allow-index`` ones, as ``route`` spells them.
    vouched: frozenset[str]
    lock_indexes: bool = True

    @classmethod
    def of(cls, configured: str, allowed: Sequence[str], *, lock_indexes: bool = True) -> IndexPlan:
        route = index_router(configured, allowed)
        configured = normalize_index_url(configured)
        vouched = frozenset({configured, *(route(url) for url in allowed)})
        return cls(route, configured, vouched, lock_indexes)

    def lock_named(self, requirement: Requirement) -> str | None:
        """The index ``requirement``'s lock entry names, when the configuration does not."""
        return None if requirement.off_index else self.unvouched(requirement.index_url)

    def unvouched(self, lock_index: str | None) -> str | None:
        """The index a lock entry naming ``lock_index`` is asked on, when the configuration
        names neither it nor its credentials (``monitor`` asks by a stored usage's index)."""
        if not lock_index:
            return None
        index = self.route(lock_index)
        return None if index in self.vouched else index

    def asked_on(self, requirement: Requirement) -> str | None:
        """The index asked for ``requirement``'s own record; None: none (lock indexes off)."""
        index = self.route(requirement.index_url)
        if not self.lock_indexes and index not in self.vouched:
            return None
        return index


def other_indexes(wanted: Mapping[str, Iterable[str]], plan: IndexPlan) -> tuple[OtherIndex, ...]:
    """The indexes ``wanted`` asks besides the configured one, each with its projects and
    whether a lock file or the configuration named it (credentials removed). A lock's index
    that no run may ask (not http(s), a query: :func:`is_allowable_lock_index`) is not one:
    its packages are reported not checked, never as answered "also" there."""
    return tuple(
        OtherIndex(
            clean_text(redact_url(index), MAX_URL_LENGTH),
            "allow-index" if index in plan.vouched else "lock",
            tuple(sorted(names)),
        )
        for index, names in sorted(wanted.items())
        if index != plan.configured and (index in plan.vouched or is_allowable_lock_index(index))
    )


def index_router(configured: str, known: Iterable[str] = ()) -> Callable[[str | None], str]:
    """Which index to ask for a package whose lock entry names ``lock_index`` (or none).

    None: the configured index. A lock index that is the configured one, or one of ``known``
    (``--allow-index``), once credentials are set aside, is asked with that URL, so with its
    credentials; any other is asked as the lock writes it (``~/.netrc`` still applies by host).
    """
    configured = normalize_index_url(configured)
    by_bare = {
        redact_url(normalize_index_url(url)): normalize_index_url(url)
        for url in (*known, configured)
    }

    routed: dict[str, str] = {}  # a lock names a handful of indexes, 2,000 times over

    def route(lock_index: str | None) -> str:
        if not lock_index:
            return configured
        index = routed.get(lock_index)
        if index is None:
            normalized = normalize_index_url(lock_index)
            index = routed[lock_index] = by_bare.get(redact_url(normalized), normalized)
        return index

    return route


def lock_allowed(
    settings: ClientSettings, lock_indexes: Iterable[str], route: Callable[[str | None], str]
) -> ClientSettings:
    """``settings`` also allowing the http(s) indexes the user's lock files name (CLI only).

    The service never reads lock files: there only configured indexes are asked. An index
    with a query or fragment, or not http(s), stays refused (its packages are unknown).
    """
    extra = tuple(
        routed for url in sorted(lock_indexes) if is_allowable_lock_index(routed := route(url))
    )
    if not extra:
        return settings
    return msgspec.structs.replace(settings, allowed_indexes=(*settings.allowed_indexes, *extra))


def is_allowable_lock_index(url: str) -> bool:
    """Whether an index a lock file names may be asked: an http(s) URL with a host and a
    valid port, no query or fragment. Anything else stays refused (its packages unknown): an
    unparseable one made the client's allowed-origin table raise (exit 5, "a bug")."""
    if not _ALLOWABLE_INDEX.match(url):
        return False
    # Not httpx.URL (stricter about IDNA hosts): a run answered from the cache must not
    # import httpx (issue 16); a host httpx refuses fails its lookups, one by one (unknown).
    try:
        parse_index_url("lock index", url)
        (urlsplit(url).hostname or "").encode("idna")  # nameprep: no bidi override, say
    except (SettingsError, UnicodeError, ValueError):
        return False
    return True


def index_warnings(manifests: ManifestSet, index_url: str) -> tuple[str, ...]:
    """One warning per other index a requirements file names: its statuses are not checked there.

    pip would install from that index (``--index-url``/``--extra-index-url``), while every
    status comes from ``index_url``; environment-variable forms are left alone.
    """
    configured = redact_url(normalize_index_url(index_url))
    warnings: list[str] = []
    for manifest in manifests.manifests:
        # A lock file's packages are looked up on the index each entry names; a pdm.lock
        # names none, and the pyproject.toml beside it says where pdm takes them from.
        is_lock = manifest.parsed.graph is not None
        urls = manifest.beside_indexes if is_lock else manifest.parsed.index_urls
        names = "names no index; the pyproject.toml beside it names" if is_lock else "names"
        named = {redact_url(normalize_index_url(url)) for url in urls}
        warnings.extend(
            f"{manifest.display}: {names} the index {clean_text(url, 200)}, but statuses come "
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
    """``path`` relative to ``base`` in POSIX spelling when it lies below it, else absolute
    (``base`` itself too: ``-r .`` named ".", which a reader cannot find)."""
    resolved = _resolved(path)
    try:
        relative = resolved.relative_to(_resolved(base))
    except ValueError:
        return resolved.as_posix()
    return relative.as_posix() if relative.parts else resolved.as_posix()


def _location(display: str, span: Span) -> Location:
    return Location(display, span.line + 1, span.start + 1, span.end + 1)


def project_root(folder: Path) -> Path:
    """The work tree ``folder`` is in (the nearest folder above it with ``.git`` or ``.hg``),
    else ``folder`` itself: what the checked files may lead to (:func:`read_manifests`)."""
    start = _resolved(folder)
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists() or (candidate / ".hg").exists():
            return candidate
    return start


def read_manifests(
    paths: Sequence[Path],
    base: Path,
    read_text: Callable[[Path], str] | None = None,
    boundary: Path | None = None,
    *,
    included_at: Location | None = None,
    already_read: Sequence[Path] = (),
) -> ManifestSet:
    """Read ``paths`` and, once each, the files their ``-r``/``-c`` lines name.

    Includes are resolved against the including file's folder, as pip does; a URL is not
    fetched and, like a missing included file, is a reported problem. A named
    path that cannot be read raises :class:`CheckError`.

    What the checked files lead to stays inside ``boundary`` (default ``base``; the CLI passes
    :func:`project_root`, so ``-r ../common.txt`` in a monorepo's subfolder is read): an
    include, or a symlink below ``base``, that resolves outside is not read (a problem; a
    named path: :class:`CheckError`). Every line of a file that is no manifest comes back
    quoted in a problem, and a pull request could otherwise add
    ``requirements.txt -> ~/.netrc`` (or ``-r /proc/self/environ``) and read the CI runner's
    secrets in the report.

    ``included_at``: ``paths`` are what the ``-r``/``-c`` line there names, and are read as
    included files (the language server follows an open document's includes so; the document
    itself, read from the editor, is in ``already_read``, which no include reads again).
    """
    # A byte order mark is not a column (editors and code scanning skip it).
    read = read_text or (lambda p: decode_manifest(p, read_manifest_bytes(p)))
    # The manifest beside a lock is named by no one: only a regular file is read, judged on
    # what was opened (a FIFO put there would hang the run; a look first was a race).
    read_beside = read_text or (
        lambda p: decode_manifest(p, read_manifest_bytes(p, regular_only=True))
    )
    seen: set[tuple[Path, str]] = {(_resolved(p), reading_of(p)) for p in already_read}
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    warnings: list[str] = []
    queue = deque([(p, included_at) for p in paths])
    #: Each include as written, from its folder: the same line 100,000 times is resolved once.
    queued: set[Path] = set()
    #: The named files that pin what a pyproject.toml may leave to its build backend: its
    #: lock, its requirements files (not the files a pyproject includes: those fill a field).
    pinning: list[str] = []
    inside = _resolved(boundary if boundary is not None else base)
    included = 0
    while queue:
        path, included_at = queue.popleft()
        # Once for each way a file is named to be read: read once for any, a pyproject.toml
        # symlinked to a requirements file was read as TOML (in which -r="extra.txt" is a
        # key), and the requirements file itself, found next, was skipped as already read.
        key = _resolved(path)
        if (key, reading := reading_of(path)) in seen:
            continue
        seen.add((key, reading))
        display = display_path(path, base)
        if included_at is not None:
            included += 1
            if included > MAX_INCLUDED_FILES:
                # One problem for all that is left, not one per file: the run is incomplete.
                rest = [q for q in queue if q[1] is not None]
                queue = deque(q for q in queue if q[1] is None)
                more = f" and {len(rest)} more queued" if rest else ""
                problems.append(
                    Problem(
                        f"included file {display}{more}: not read, this run already read "
                        f"{MAX_INCLUDED_FILES} files that -r/-c lines name (the limit)",
                        included_at,
                        MISSING_INCLUDE,
                    )
                )
                continue
        leads_out = not key.is_relative_to(inside) and (
            included_at is not None or path.absolute().is_relative_to(base.absolute())
        )
        if leads_out:
            reason = f"it leads outside {inside.as_posix()} (a symlink or an include); not read"
            if included_at is None:
                raise CheckError(f"cannot read {display}: {reason}")
            problems.append(
                Problem(f"included file {display}: {reason}", included_at, MISSING_INCLUDE)
            )
            continue
        try:
            if included_at is not None and read_text is None:
                # A file names it: a FIFO or a device (-r /dev/zero) would never end.
                text = decode_manifest(path, read_manifest_bytes(path, regular_only=True))
            else:
                text = read(path)
        except (OSError, ValueError) as error:  # ValueError: a NUL byte in an included name
            if isinstance(error, FileNotFoundError):
                reason = "no such file"
            elif isinstance(error, IsADirectoryError) or _is_directory(path):
                reason = "a directory, not a file"  # the reader says "not a regular file"
            else:
                reason = (isinstance(error, OSError) and error.strerror) or str(error)
            if included_at is None:
                raise CheckError(f"cannot read {display}: {reason}") from None
            problems.append(
                Problem(f"included file {display}: {reason}", included_at, MISSING_INCLUDE)
            )
            continue
        if is_misnamed_pylock(path):
            # Read as a pyproject-shaped TOML file (its kind by name), it held no dependency
            # table and passed with nothing checked.
            reason = (
                "PEP 751 names a lock file pylock.toml or pylock.<name>.toml, with no dot in "
                "<name>; rename it"
            )
            if included_at is None:
                raise CheckError(f"cannot read {display}: {reason}")
            # Included: that file is not checked; the rest of the run goes on.
            problems.append(
                Problem(f"included file {display}: {reason}", included_at, MISSING_INCLUDE)
            )
            continue
        parsed = parse_as_named(path, text)
        if included_at is None and _not_a_manifest(path, parsed):
            raise CheckError(
                f"cannot read {display}: not a requirements file, pyproject.toml or lock file "
                f"({SUPPORTED})"
            )
        if parsed.graph is not None and not parsed.graph.knows_direct:
            parsed = replace(parsed, graph=direct_from_beside(path, parsed.graph, read_beside))
        if included_at is None and parsed.kind != "pyproject":
            pinning.append(display)
        beside = indexes_beside(path, read_beside) if lock_format(path.name) == "pdm" else ()
        manifests.append(Manifest(display, parsed, beside))
        problems.extend(_problem(display, p) for p in parsed.problems)
        warnings.extend(
            f"{_location(display, w.span)}: {clean_text(w.message, 300)}" for w in parsed.warnings
        )
        for include in parsed.includes:
            where = _location(display, include.span)
            if is_url_include(include.path):
                # Unread, its requirements are unchecked: a file of only this line checked
                # nothing and passed. A problem, as a missing include is (exit 3).
                problems.append(Problem(url_include_message(include.path), where, MISSING_INCLUDE))
                continue
            target = path.parent / include.path
            if target not in queued:
                queued.add(target)
                queue.append((target, where))
    for manifest in manifests:
        for unseen in manifest.parsed.dynamic_unseen:
            if not pinning:
                # Only pyproject files, and dependencies none of them holds: a gate that
                # passed would pass what it never saw.
                problems.append(_problem(manifest.display, unseen))
                continue
            more = f" and {len(pinning) - 3} more" if len(pinning) > 3 else ""
            warnings.append(
                f"{_location(manifest.display, unseen.span)}: {clean_text(unseen.message, 300)}"
                f" (this run relies on {', '.join(pinning[:3])}{more} to pin them)"
            )
    return ManifestSet(tuple(manifests), tuple(problems), tuple(warnings))


def _is_directory(path: Path) -> bool:
    """Whether ``path`` is a directory now (a message's word only: what was read decided)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


SUPPORTED = (
    "supported: requirements*.txt, *.in, constraints*.txt, pyproject.toml, uv.lock, "
    "pylock.toml, poetry.lock, pdm.lock, Pipfile.lock"
)


def _not_a_manifest(path: Path, parsed: ParsedManifest) -> bool:
    """A file named on the command line, of no known kind, of which not one line is a
    requirement: a package-lock.json or Cargo.lock, say. One line, not a problem per line."""
    return (
        kind_of(path) is None
        and not parsed.requirements
        and not parsed.includes
        and bool(parsed.problems)
    )


def direct_from_beside(
    lock: Path, graph: DependencyGraph, read: Callable[[Path], str]
) -> DependencyGraph:
    """``graph`` with its direct dependencies taken from the manifest beside the lock.

    poetry.lock, pdm.lock, pylock.toml and Pipfile.lock do not say which packages the project
    asked for: its pyproject.toml (or Pipfile) does. Without one, direct stays unknown.
    """
    for beside in ("pyproject.toml", "Pipfile"):
        path = lock.parent / beside
        try:
            text = read(path)  # a regular file only (read_manifests' reader says so)
        except (OSError, ValueError):
            continue
        names, root = manifest_dependencies(beside, text)
        if names:
            return graph.with_direct(names, (root,) if root else ())
    return graph


def indexes_beside(lock: Path, read: Callable[[Path], str]) -> tuple[str, ...]:
    """The indexes pdm installs from, as the pyproject.toml beside a pdm.lock names them."""
    path = lock.parent / "pyproject.toml"
    try:
        data = toml_loads(without_bom(read(path)))  # a regular file only, as above
    except (OSError, ValueError, RecursionError):  # unreadable: no indexes to warn about
        return ()
    return project_indexes(data, ("pdm",))


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
    records: Mapping[tuple[str, str], StatusRecord],
    catalog: AlternativesCatalog,
    plan: IndexPlan,
) -> CheckedRequirements:
    """One finding per requirement line, located; direct references and ignored lines aside.

    ``records``: by (index, canonical name), for what ``manifests.wanted(plan)`` asked. A
    package ``plan`` does not ask is a refused finding (not checked); one a lock sends to an
    index the configuration does not name gets a second finding when the configured index
    says its name is quarantined, or could not say (:func:`namesake_finding`). A lock
    file's findings say whether they are direct, and a noteworthy transitive one the
    shortest chain that pulls it in.
    """
    findings: list[Finding] = []
    ignored: list[Ignored] = []
    skipped: list[str] = []
    for manifest in manifests.manifests:
        first = len(findings)
        graph = manifest.parsed.graph
        is_direct = graph.is_direct if graph is not None else (lambda name: None)
        for unnamed in manifest.parsed.unnamed:
            where = _location(manifest.display, unnamed.span)
            skipped.append(f"{where}: {clean_text(unnamed.text, 200)} {unnamed.why}")
        for requirement in manifest.parsed.requirements:
            where = _location(manifest.display, requirement.name_span)
            if requirement.url is not None and requirement.remote is None:
                skipped.append(f"{where}: {requirement.name} is a direct reference")
                continue
            if requirement.source is not None and requirement.remote is None:
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
            direct = is_direct(requirement.canonical_name)
            index = plan.asked_on(requirement)
            if index is None:
                record = not_asked_record(requirement, plan)
                finding = _finding(requirement, record, catalog, where, direct)
                findings.append(msgspec.structs.replace(finding, refused=True, facts=None))
            else:
                record = records[(index, requirement.canonical_name)]
                findings.append(_finding(requirement, record, catalog, where, direct))
            if plan.lock_named(requirement) is not None:
                namesake = records[(plan.configured, requirement.canonical_name)]
                if namesake_told(namesake, record if index is not None else None):
                    findings.append(namesake_finding(requirement, namesake, where, direct))
        if graph is not None:
            findings[first:] = with_chains(findings[first:], manifest)
    return CheckedRequirements(tuple(findings), tuple(ignored), tuple(skipped))


def with_chains(findings: Sequence[Finding], lock: Manifest) -> list[Finding]:
    """``findings`` of one lock file (already marked direct or not), each noteworthy transitive
    one given the chain that pulls it in (each step located at its name in the lock)."""
    graph = lock.parsed.graph
    if graph is None or not graph.knows_direct:
        return list(findings)
    transitive = {f.record.name for f in findings if f.direct is False and f.noteworthy}
    chains = chains_to(graph, transitive)
    if not chains:
        return list(findings)
    where = {
        r.canonical_name: _location(lock.display, r.name_span) for r in lock.parsed.requirements
    }
    marked = []
    for finding in findings:  # replace() only the few with a chain: it costs ~20 µs each
        chain = chains.get(finding.record.name) if finding.direct is False else None
        if chain:
            via = tuple(ChainStep(name, where.get(name)) for name in chain)
            finding = msgspec.structs.replace(finding, via=via)
        marked.append(finding)
    return marked


def not_asked_record(requirement: Requirement, plan: IndexPlan) -> StatusRecord:
    """``unknown`` for a package whose lock names an index this run does not ask."""
    shown = clean_text(redact_url(plan.route(requirement.index_url)), MAX_URL_LENGTH)
    return StatusRecord(
        name=requirement.canonical_name,
        status=ProjectStatus.UNKNOWN,
        index_url=shown,
        checked_at=utc_now(),
        reason=(
            f"not asked: its lock entry names the index {shown}, and lock indexes are off "
            "(--allow-index it to ask it)"
        ),
    )


def namesake_told(namesake: StatusRecord, own: StatusRecord | None) -> bool:
    """Whether the configured index's answer ``namesake``, about the name of a package a lock
    sends to another index (:meth:`IndexPlan.lock_named`), is told: a quarantine always; a
    failed lookup only beside the entry's own answer ``own`` (None: not asked, lock indexes
    off), when that did not fail too — beside its own failure (offline, say) or refusal it
    would tell nothing new. ``check``, the language server and ``monitor`` decide by this."""
    return namesake.status is ProjectStatus.QUARANTINED or (
        namesake.failed and own is not None and not own.failed
    )


def namesake_finding(
    requirement: Requirement, record: StatusRecord, where: Location, direct: bool | None
) -> Finding:
    """What the configured index says of the name of a package a lock installs from another
    index. Shown (and counted) only when it matters: a quarantine fails the gate (malware
    under that name, where a resolver that is not pinned to the lock's index would take it:
    dependency confusion); a failed lookup leaves the run incomplete. Anything else is a
    namesake's business (a private package's public twin) and is left out."""
    return Finding(
        name=requirement.name,
        version=requirement.pinned_version,
        record=record,
        location=where,
        direct=direct,
        off_index=OTHER_INDEX,
    )


def _finding(
    requirement: Requirement,
    record: StatusRecord,
    catalog: AlternativesCatalog,
    where: Location,
    direct: bool | None = None,
) -> Finding:
    version = requirement.pinned_version
    # A remote entry's file is not the index's: whether the index yanked or lists that
    # version says nothing about it (a private fork's version is never listed).
    facts = record.version_facts(version) if version and requirement.remote is None else None
    return Finding(
        name=requirement.name,
        version=version,
        record=record,
        facts=facts,
        alternatives=offered_alternatives(
            catalog, requirement.canonical_name, from_index=not requirement.off_index
        ),
        location=where,
        direct=direct,
        off_index=requirement.remote,
    )


def manifest_paths(files: Iterable[str], directory: Path) -> list[Path]:
    """The paths named on the command line (a directory: the manifests found in it), or the
    manifests found in ``directory``."""
    named: list[Path] = []
    for name in files:
        path = Path(name)
        named.extend(discover_manifests(path) if path.is_dir() else [path])
    return named if files else discover_manifests(directory)
