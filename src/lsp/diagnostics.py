"""Turn a parsed manifest plus status records into LSP diagnostics (pure: no server, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

from lsprotocol import types

from sbom_enrich.findings.alternatives import Alternative
from sbom_enrich.findings.kinds import (
    IGNORE_COMMENT,
    INVALID_REQUIREMENT,
    KINDS_BY_CODE,
    MAINTENANCE_KINDS,
    NO_VERSION_ALLOWED,
    STATUS_MEANING,
    VERSION_MISSING,
    YANKED,
)
from sbom_enrich.manifests import ManifestProblem, ParsedManifest, Requirement, Span
from sbom_enrich.manifests.check import (
    IndexPlan,
    index_router,
    is_allowable_lock_index,
    namesake_told,
)
from sbom_enrich.status.maintenance import MaintenanceVerdict
from sbom_enrich.status.model import ProjectStatus, StatusRecord, canonical, utc_now
from sbom_enrich.status.untrusted import MAX_URL_LENGTH, clean_text
from sbom_enrich.status.urls import normalize_index_url, project_page_link, redact_url

from .lsp_settings import LspSettings
from .positions import to_client_column

SOURCE = "sbom-enrich"
CODE_PREFIX = "sbom-enrich/"
_TAGGED = frozenset({ProjectStatus.DEPRECATED, ProjectStatus.ARCHIVED})
#: Statuses for which per-version facts are noise (a quarantined project lists no versions).
_NO_VERSION_FACTS = frozenset({ProjectStatus.QUARANTINED, ProjectStatus.NOT_FOUND})


def to_range(span: Span, lines: Sequence[str], encoding: str) -> types.Range:
    """An LSP range for a single-line code-point span, in the client's position encoding."""
    text = lines[span.line] if 0 <= span.line < len(lines) else ""
    return types.Range(
        start=types.Position(
            line=span.line, character=to_client_column(text, span.start, encoding)
        ),
        end=types.Position(line=span.line, character=to_client_column(text, span.end, encoding)),
    )


def is_checked(requirement: Requirement, settings: LspSettings) -> bool:
    """Whether a requirement gets a status lookup and status diagnostics: one from an index,
    or one installed from a URL or a remote repository (its name asked, as ``check`` asks it:
    :func:`namesake_severity`); a file on this disk or a tool source is not."""
    return not (
        not requirement.looked_up
        or not requirement.canonical_name
        or requirement.canonical_name in settings.ignore
        or locked_elsewhere(requirement, settings) is not None
    )


def locked_elsewhere(requirement: Requirement, settings: LspSettings) -> str | None:
    """The index a lock entry names when the editor does not ask it (credentials removed).

    Like ``sbom-enrich check``, the editor asks each locked package on the index its lock
    entry names (:func:`lookup_key`). It does not when the setting ``lockIndexes`` is off, or
    when that index may not be asked (not http(s), or with a query or fragment): such a
    package is left unchecked and its hover says so — never shown as fine.
    """
    index = lock_index(requirement, settings)
    if index is None or (settings.lock_indexes and is_allowable_lock_index(index)):
        return None
    return redact_url(index)


@lru_cache(maxsize=16)
def _router(configured: str, known: tuple[str, ...]) -> Callable[[str | None], str]:
    return index_router(configured, known)


def lock_index(requirement: Requirement, settings: LspSettings) -> str | None:
    """The index to ask for a locked package when its lock names another than the configured
    one (normalized; with the configured credentials when it is an allowed index), else None."""
    if requirement.index_url is None:
        return None
    client = settings.client
    index = _router(client.index_url, tuple(client.allowed_indexes))(requirement.index_url)
    return None if index == normalize_index_url(client.index_url) else index


def lookup_key(requirement: Requirement, settings: LspSettings) -> str:
    """What the editor looks ``requirement`` up as: its canonical name, for the configured
    index; ``"<name> <index>"`` when its lock entry names another index it asks."""
    index = lock_index(requirement, settings)
    name = requirement.canonical_name
    return name if index is None else f"{name} {index}"


@lru_cache(maxsize=16)
def _plan(configured: str, allowed: tuple[str, ...], lock_indexes: bool) -> IndexPlan:
    return IndexPlan.of(configured, allowed, lock_indexes=lock_indexes)


def namesake_key(requirement: Requirement, settings: LspSettings) -> str | None:
    """The lookup key of ``requirement``'s name on the configured index when its lock entry
    sends it to an index the configuration does not name (``check``'s
    :meth:`IndexPlan.lock_named`), else None.

    As ``check`` does, the editor asks that name there too, whether or not it asks the lock's
    index (``lockIndexes``): a lock, from a pull request say, can send a name the configured
    index quarantined to an index of its own that says it is fine (:func:`namesake_diagnostic`).
    """
    if (
        not requirement.looked_up
        or not requirement.canonical_name
        or requirement.canonical_name in settings.ignore
    ):
        return None
    client = settings.client
    plan = _plan(client.index_url, tuple(client.allowed_indexes), settings.lock_indexes)
    return None if plan.lock_named(requirement) is None else requirement.canonical_name


def lookup_keys(requirement: Requirement, settings: LspSettings) -> tuple[str, ...]:
    """Every key the editor looks ``requirement`` up as: its own (:func:`lookup_key`, when
    :func:`is_checked`) and its name on the configured index (:func:`namesake_key`)."""
    own = (lookup_key(requirement, settings),) if is_checked(requirement, settings) else ()
    namesake = namesake_key(requirement, settings)
    return own if namesake is None else (*own, namesake)


def split_key(key: str) -> tuple[str, str | None]:
    """``(canonical name, index or None for the configured one)`` of a :func:`lookup_key`.

    A canonical project name never holds a space, so the first space ends it.
    """
    name, _, index = key.partition(" ")
    return name, index or None


def surveyed_keys(requirements: Iterable[Requirement], settings: LspSettings) -> set[str]:
    """The lookup keys whose maintenance the editor asks about (setting ``maintenance``): those
    of checked requirements installed from an index. One installed from a URL or VCS has its
    name asked on the index, but the repository the survey finds is the index's project's,
    maybe another project than the one installed: no question for it, as ``check`` and
    ``enrich`` ask none (a requirement of the same name from the index still asks)."""
    return {
        lookup_key(r, settings)
        for r in requirements
        if r.remote is None and is_checked(r, settings)
    }


def names_to_check(manifest: ParsedManifest, settings: LspSettings) -> list[str]:
    """Lookup keys (:func:`lookup_keys`) to look up, each once, in file order."""
    seen: dict[str, None] = {}
    for requirement in manifest.requirements:
        for key in lookup_keys(requirement, settings):
            seen.setdefault(key, None)
    return list(seen)


def namesake_diagnostic(
    requirement: Requirement,
    namesake: StatusRecord,
    settings: LspSettings,
    lines: Sequence[str],
    encoding: str,
) -> types.Diagnostic | None:
    """The configured index's quarantine of the name of a package a lock installs from another
    index (:func:`namesake_key`), on its name, at the severity of a quarantine: ``check`` fails
    on it whatever the lock's index says. Any other status there is a namesake's (a private
    package's public twin) and shows nothing; a failed lookup marks the file not checked
    (:func:`namesake_failure`)."""
    # Told whatever the entry's own answer: a quarantine (a failure is the file's warning).
    if namesake.failed or not namesake_told(namesake, None):
        return None
    severity = settings.severity_of(ProjectStatus.QUARANTINED.value)
    if severity is None:
        return None
    where = clean_text(redact_url(namesake.index_url), 300)
    note = (
        f" (the status on {where}, the configured index, of the name "
        f"{clean_text(requirement.name, 200)}, which this file installs from another index: "
        "a resolver not pinned to that index takes the quarantined project)"
    )
    return _diagnostic(
        range_=to_range(requirement.name_span, lines, encoding),
        severity=severity,
        kind=ProjectStatus.QUARANTINED.value,
        message=status_message(requirement.name, namesake, note=note),
        href=project_page_link(namesake.index_url, requirement.canonical_name),
        name=requirement.canonical_name,
    )


def namesake_failure(
    requirement: Requirement,
    namesake: StatusRecord | None,
    own: StatusRecord | None,
    settings: LspSettings,
) -> bool:
    """Whether the failed lookup of ``requirement``'s name on the configured index leaves its
    file not checked (``check``: incomplete) — only beside its own answer ``own`` that did not
    fail (:func:`namesake_told`)."""
    if namesake is None or not namesake.failed:
        return False
    return namesake_told(namesake, own if is_checked(requirement, settings) else None)


def lookup_failure_message(record: StatusRecord) -> str:
    """The log line telling that lookups fail (sent once per outage, not per dependency)."""
    index = clean_text(redact_url(record.index_url), 300)
    return f"sbom-enrich: cannot get project status from {index}: {clean_text(record.error, 300)}"


#: The lookup error of a lookup that raised instead of answering (logged with its traceback).
CRASHED_LOOKUP_ERROR = "internal error (see the log)"


def crashed_lookup(name: str, index_url: str) -> StatusRecord:
    """The answer for a lookup of ``name`` on ``index_url`` that raised (a bug): a failed
    lookup, as a refused connection's is, so its file is marked not checked, never clean."""
    return StatusRecord(
        name=canonical(name),
        status=ProjectStatus.UNKNOWN,
        index_url=clean_text(redact_url(index_url), MAX_URL_LENGTH),
        checked_at=utc_now(),
        error=CRASHED_LOOKUP_ERROR,
    )


#: The code of the one diagnostic a document gets while the status client cannot be built.
NOT_CHECKED = CODE_PREFIX + "not-checked"


def build_failure_reason(error: BaseException) -> str:
    """One line saying why the status client could not be built. Its text may quote a setting,
    a file or the environment (untrusted, maybe several lines): the sanitiser bounds it."""
    text = clean_text(str(error), 300)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def build_failure_messages(
    reason: str, index_url: str | None, cache_dir: str, *, retried: bool = True
) -> tuple[str, str]:
    """What the editor is told once per failure to build the status client: the message it
    shows (short) and the one it logs (where the client pointed, what happens next);
    ``index_url`` None: no index was to be asked (the one given is invalid); ``retried``:
    the server tries again on its own (not when only a settings change can fix it)."""
    shown = f"sbom-enrich could not start its status client, so no file is checked: {reason}"
    index = "no index" if index_url is None else clean_text(redact_url(index_url), 300)
    again = (
        "it is built again on the next open, edit, save or settings change, and on its own "
        "after 5 s, then twice as long each time up to 5 min"
        if retried
        else "it is built again once the settings change"
    )
    logged = (
        f"sbom-enrich: the status client for {index} "
        f"(cache {clean_text(cache_dir, 300)}) could not be built: {reason}. Open files are "
        f"marked not checked; {again}."
    )
    return shown, logged


def not_checked_diagnostic(reason: str, lines: Sequence[str], encoding: str) -> types.Diagnostic:
    """The document-level warning, on line 0, for a file whose dependencies were not looked up
    because the status client could not be built: without it a push client shows the file
    clean, "could not tell" as "fine". A warning: Information is filtered out by many setups."""
    first = _line(lines, 0).rstrip("\r\n")
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=0, character=to_client_column(first, len(first), encoding)),
        ),
        message=f"sbom-enrich could not check this file: {reason}",
        severity=types.DiagnosticSeverity.Warning,
        source=SOURCE,
        code=NOT_CHECKED,
    )


def lookups_failed_diagnostic(
    failed: Sequence[tuple[str, str]], lines: Sequence[str], encoding: str
) -> types.Diagnostic:
    """:func:`not_checked_diagnostic` for a file whose lookups failed for some dependencies
    (``(name, lookup error)``, in file order): how many, which, and the first one's error."""
    names = [clean_text(name, 100) for name, _ in failed]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    count = "1 lookup" if len(names) == 1 else f"{len(names)} lookups"
    reason = f"{count} failed ({shown}): {clean_text(failed[0][1], 200)}"
    return not_checked_diagnostic(reason, lines, encoding)


#: How a remote requirement (:attr:`Requirement.remote`) is installed, in words.
REMOTE_SOURCES = {
    "url": "a URL",
    "git": "a git repository",
    "vcs": "a version-control repository",
    "find-links": "a find-links directory or a file: index",  # a lock's; picked by name
}


def installed_from(requirement: Requirement) -> str:
    """``a URL``, ``a git repository``: where a remote requirement's files come from."""
    return REMOTE_SOURCES.get(requirement.remote or "", "a remote source")


def namesake_severity(
    requirement: Requirement, kind: str, settings: LspSettings
) -> types.DiagnosticSeverity | None:
    """The severity of ``kind`` on ``requirement``: the setting's, except that a requirement
    installed from a URL or VCS gets Information at most for anything but a quarantine.

    Its name is asked on the index, but the index's project of that name may be another (a
    private package from git named like a public project): its archived, deprecated or
    not-found status is shown, never as a warning a change to this file could answer (its
    repository's state is not shown at all: :func:`maintenance_diagnostic`). A quarantine is
    about any file that claims the name (``check`` fails on that alone for such an entry).
    """
    severity = settings.severity_of(kind)
    if requirement.remote is None or severity is None or kind == ProjectStatus.QUARANTINED.value:
        return severity
    return types.DiagnosticSeverity(max(severity, types.DiagnosticSeverity.Information))


def namesake_note(requirement: Requirement, status: ProjectStatus) -> str:
    """What a status diagnostic on a remote requirement adds: whose status it is."""
    note = (
        f" (the index's status of the name {clean_text(requirement.name, 200)}, which this "
        f"file installs from {installed_from(requirement)}"
    )
    if status is ProjectStatus.QUARANTINED:
        return note + ")"
    return note + ": the index's project of that name may be another one)"


def status_message(
    display_name: str,
    record: StatusRecord,
    alternatives: Iterable[Alternative] = (),
    note: str = "",
) -> str:
    """One plain-words sentence (plus reason and alternatives) for a non-active status;
    ``note`` goes after the reason (whose status it is: :func:`namesake_note`)."""
    display_name = clean_text(display_name, 200)
    status = record.status
    meaning = STATUS_MEANING.get(status, "its status is unusual")
    if status is ProjectStatus.NOT_FOUND:
        text = f"{display_name} is not on the index: {meaning}"
    elif status is ProjectStatus.UNKNOWN:
        text = f"{display_name}: {meaning}"
        if record.error:
            text += f" ({clean_text(record.error, limit=200)})"
    else:
        text = f"{display_name} is {status.value}: {meaning}"
    if record.reason:
        text += f". The index says: {clean_text(record.reason)}"
    text += note
    names = [a.name + (" (standard library)" if a.stdlib else "") for a in alternatives]
    if names:
        text += ". Consider " + " or ".join(names)
    return text


def _diagnostic(
    *,
    range_: types.Range,
    severity: types.DiagnosticSeverity,
    kind: str,
    message: str,
    href: str | None,
    tags: list[types.DiagnosticTag] | None = None,
    name: str | None = None,
) -> types.Diagnostic:
    return types.Diagnostic(
        range=range_,
        severity=severity,
        code=CODE_PREFIX + kind,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SOURCE,
        message=message,
        tags=tags or None,
        data={"name": name, "kind": kind} if name else None,
    )


def requirement_diagnostics(
    requirement: Requirement,
    record: StatusRecord,
    settings: LspSettings,
    lines: Sequence[str],
    encoding: str,
    alternatives: Sequence[Alternative] = (),
) -> list[types.Diagnostic]:
    """Status diagnostic on the name, plus yanked/missing-version diagnostics on the pin.

    A pinned version written nowhere it can be pointed at exactly (a pylock.toml package that
    gives its version only in its files' names, an escaped value, a lock of inline tables) has
    its facts shown on the name: ``check`` reports them, so the editor never drops them.
    """
    found: list[types.Diagnostic] = []
    status = record.status
    severity = namesake_severity(requirement, status.value, settings)
    pinned = requirement.pinned_version
    span = requirement.version_span or requirement.name_span
    # A remote requirement's file is not the index's: whether the index yanked or lists that
    # version says nothing about it (as in ``check``).
    facts_apply = status not in _NO_VERSION_FACTS and requirement.remote is None
    pin = (pinned, span) if pinned and facts_apply else None
    if severity is None and pin is None:
        return found  # most projects are active and unpinned: not even the link is needed
    href = project_page_link(record.index_url, requirement.canonical_name)
    if severity is not None:
        remote = requirement.remote is not None
        note = namesake_note(requirement, status) if remote else ""
        message = status_message(requirement.name, record, alternatives, note)
        # Struck through, a remote one would say this file's package is obsolete.
        tagged = status in _TAGGED and not remote
        found.append(
            _diagnostic(
                range_=to_range(requirement.name_span, lines, encoding),
                severity=severity,
                kind=status.value,
                message=message,
                href=href,
                tags=[types.DiagnosticTag.Deprecated] if tagged else None,
                name=requirement.canonical_name,
            )
        )
    if pin is None:
        return found
    pinned, span = pin
    facts = record.version_facts(pinned)
    version_range = to_range(span, lines, encoding)
    if facts.yanked and (level := settings.severity_of(YANKED)) is not None:
        why = clean_text(facts.yank_reason) if facts.yank_reason else "no reason given"
        found.append(
            _diagnostic(
                range_=version_range,
                severity=level,
                kind=YANKED,
                message=f"{requirement.name} {pinned} was yanked from the index: {why}",
                href=href,
                name=requirement.canonical_name,
            )
        )
    elif facts.missing and (level := settings.severity_of(VERSION_MISSING)) is not None:
        found.append(
            _diagnostic(
                range_=version_range,
                severity=level,
                kind=VERSION_MISSING,
                message=(
                    f"{requirement.name} {pinned} is not listed by the index: it was removed, "
                    "never released, or its files were quarantined"
                ),
                href=href,
                name=requirement.canonical_name,
            )
        )
    return found


def maintenance_diagnostic(
    requirement: Requirement,
    verdict: MaintenanceVerdict,
    settings: LspSettings,
    lines: Sequence[str],
    encoding: str,
) -> types.Diagnostic | None:
    """The ``maintenance`` setting's diagnostic on the name, when the verdict is a finding.

    None for a requirement installed from a URL or VCS: a verdict under its name is the
    index's project's (:func:`surveyed_keys`), never about what this line installs."""
    kind = MAINTENANCE_KINDS.get(verdict.verdict)
    if (
        kind is None
        or requirement.remote is not None
        or (severity := namesake_severity(requirement, kind, settings)) is None
    ):
        return None
    evidence = clean_text("; ".join(verdict.evidence), 300)
    return _diagnostic(
        range_=to_range(requirement.name_span, lines, encoding),
        severity=severity,
        kind=kind,
        message=f"{requirement.name}: {verdict.verdict.value} ({evidence})",
        href=KINDS_BY_CODE[kind].help_uri,
        name=requirement.canonical_name,
    )


#: Parser warnings with a kind (and severity) of their own; every other problem is shown as
#: invalid-requirement.
_WARNING_CODES = frozenset({IGNORE_COMMENT, NO_VERSION_ALLOWED})


def problem_diagnostic(
    problem: ManifestProblem, settings: LspSettings, lines: Sequence[str], encoding: str
) -> types.Diagnostic | None:
    """A diagnostic for text the parser could not read as a requirement, or a parser warning
    (an ignore comment that silences less than it seems to)."""
    kind = problem.code if problem.code in _WARNING_CODES else INVALID_REQUIREMENT
    severity = settings.severity_of(kind)
    if severity is None:
        return None
    return _diagnostic(
        range_=to_range(problem.span, lines, encoding),
        severity=severity,
        kind=kind,
        message=clean_text(problem.message, limit=300),
        href=None,
    )


class DocumentDiagnostics:
    """One document version's diagnostics under one set of settings, rebuilt per requirement.

    A requirement's diagnostics are built again only when its status record is another object
    than last time: while a big file's lookups complete, each publish builds the new answers'
    diagnostics and reuses the thousands of others. Given the builder of the version before
    (same settings and encoding), the requirements an edit left alone keep their diagnostics
    too — the requirements parser hands back the very same objects for unchanged lines, so
    typing in a 3,000-line file builds one line's.

    ``maintenance`` is asked by lookup key (:func:`lookup_key`): a package locked from a
    private index is another project than its namesake on the configured one, and takes
    neither its verdict nor its maintainers' recommendations. ``alternatives`` is asked by
    requirement: one not installed from an index (a URL, VCS, this disk, a tool source) is
    offered none (the server's ``alternatives_for``, by ``offered_alternatives``).
    """

    def __init__(
        self,
        manifest: ParsedManifest,
        settings: LspSettings,
        lines: Sequence[str],
        encoding: str,
        alternatives: Callable[[Requirement], Sequence[Alternative]] = lambda requirement: (),
        maintenance: Callable[[str], MaintenanceVerdict | None] = lambda key: None,
        previous: DocumentDiagnostics | None = None,
    ) -> None:
        self.manifest = manifest
        self.settings = settings
        self.encoding = encoding
        self._lines = lines
        self._alternatives = alternatives
        self._maintenance = maintenance
        self._checked = [r for r in manifest.requirements if is_checked(r, settings)]
        self._keys = [lookup_key(r, settings) for r in self._checked]
        #: Lock entries sent to another index, with the key of their name on the configured one
        #: (:func:`namesake_key`): few, and built again on every call.
        self._namesakes = [
            (r, key) for r in manifest.requirements if (key := namesake_key(r, settings))
        ]
        #: Lookup keys (:func:`lookup_keys`) the document looks up.
        self.names = frozenset((*self._keys, *(key for _, key in self._namesakes)))
        self._problems = [
            diagnostic
            for problem in (*manifest.problems, *manifest.warnings)
            if (diagnostic := problem_diagnostic(problem, settings, lines, encoding)) is not None
        ]
        #: Per checked requirement (by position): the record (and maintenance verdict) its
        #: diagnostics were built from.
        self._built: list[
            tuple[StatusRecord, MaintenanceVerdict | None, list[types.Diagnostic]] | None
        ] = [None] * len(self._checked)
        if (
            previous is not None
            and previous.settings is settings
            and previous.encoding == encoding
            and previous._alternatives == alternatives
        ):
            self._reuse(previous)

    def _reuse(self, previous: DocumentDiagnostics) -> None:
        """Take over the diagnostics of requirements that are the same object on lines of the
        same text (ranges are converted to the client's encoding from that text)."""
        kept = {
            id(requirement): (requirement, built)
            for requirement, built in zip(previous._checked, previous._built, strict=True)
            if built is not None
        }
        old_lines, new_lines = previous._lines, self._lines
        for position, requirement in enumerate(self._checked):
            found = kept.get(id(requirement))
            if found is None or found[0] is not requirement:
                continue
            line = requirement.name_span.line
            version = requirement.version_span
            if _line(new_lines, line) != _line(old_lines, line) or (
                version is not None
                and version.line != line
                and _line(new_lines, version.line) != _line(old_lines, version.line)
            ):
                continue
            self._built[position] = found[1]

    def build(self, records: Mapping[str, StatusRecord]) -> list[types.Diagnostic]:
        """Every diagnostic; names without a record yet are simply left out."""
        found = list(self._problems)
        for position, requirement in enumerate(self._checked):
            record = records.get(self._keys[position])
            if record is None:
                continue
            verdict = self._maintenance(self._keys[position])
            built = self._built[position]
            if built is None or built[0] is not record or built[1] is not verdict:
                suggested = self._alternatives(requirement)
                diagnostics = requirement_diagnostics(
                    requirement, record, self.settings, self._lines, self.encoding, suggested
                )
                if verdict is not None and (
                    extra := maintenance_diagnostic(
                        requirement, verdict, self.settings, self._lines, self.encoding
                    )
                ):
                    diagnostics.append(extra)
                built = self._built[position] = (record, verdict, diagnostics)
            found.extend(built[2])
        for requirement, key in self._namesakes:
            namesake = records.get(key)
            if namesake is not None and (
                diagnostic := namesake_diagnostic(
                    requirement, namesake, self.settings, self._lines, self.encoding
                )
            ):
                found.append(diagnostic)
        return found


def _line(lines: Sequence[str], number: int) -> str:
    return lines[number] if 0 <= number < len(lines) else ""


def manifest_diagnostics(
    manifest: ParsedManifest,
    records: Mapping[str, StatusRecord],
    settings: LspSettings,
    lines: Sequence[str],
    encoding: str,
    alternatives: Mapping[str, Sequence[Alternative]] | None = None,
) -> list[types.Diagnostic]:
    """Every diagnostic for one document; names without a record yet are simply left out.

    ``alternatives``: by lookup key, as given (a caller decides what to offer)."""
    suggested = alternatives or {}

    def alternatives_for(requirement: Requirement) -> Sequence[Alternative]:
        return suggested.get(lookup_key(requirement, settings), ())

    return DocumentDiagnostics(manifest, settings, lines, encoding, alternatives_for).build(records)
