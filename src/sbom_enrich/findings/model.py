"""What a run found, the policy verdict and the exit code: pure values, no I/O."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from ..status.maintenance import Maintenance, MaintenanceVerdict
from ..status.model import STATUS_TEXT, ProjectStatus, StatusRecord, VersionFacts, utc_now
from .alternatives import Alternative
from .kinds import INVALID_REQUIREMENT, MAINTENANCE_KINDS, YANKED


class ExitCode(enum.IntEnum):
    """The documented exit codes (DESIGN.md)."""

    OK = 0
    POLICY = 1
    USAGE = 2
    INCOMPLETE = 3
    #: The run finished but a result (the SBOM, a report file) could not be written.
    OUTPUT = 4
    #: A bug in sbom-enrich: an exception nothing expected. One line; -vv shows the traceback.
    INTERNAL = 5


class Location(msgspec.Struct, frozen=True):
    """Where a dependency is written: a file and a 1-based line, and for manifests the columns.

    ``column``/``end_column`` are 1-based code points, ``end_column`` exclusive; both ``None``
    when only the line is known (an SBOM component, located by its purl).
    """

    path: str
    line: int
    column: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" + (f":{self.column}" if self.column else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column,
        }


#: Where a step made by :meth:`ChainStep.named_later` keeps what names it, until it is named.
_NAMED_BY = "_named_by"


@dataclass(frozen=True)
class ChainStep:
    """One package on the way from the project to a transitive dependency, and where it is."""

    name: str
    location: Location | None = None

    @classmethod
    def named_later(cls, key: str, names: Mapping[str, str]) -> ChainStep:
        """The step ``ChainStep(names.get(key, key))``, its name read from ``names`` when first
        asked for (and then kept): equal to that step in every way.

        An SBOM's chains name a third of its components (a warm 10,000-component XML run:
        3,200 steps), and reading a name from the XML tree was a sixth of the enrichment; the
        summary shows a few dozen of them. ``names`` must not change after: an SBOM's names
        by bom-ref do not (its edits are properties, tools, versions and vulnerabilities).
        """
        step = object.__new__(cls)
        step.__dict__.update({"location": None, _NAMED_BY: (names, key)})
        return step

    if not TYPE_CHECKING:  # a __getattr__ would hide every misspelt attribute from mypy

        def __getattr__(self, attribute: str) -> Any:
            # Only a step made by named_later lacks its name (until first asked for).
            pending = self.__dict__.get(_NAMED_BY) if attribute == "name" else None
            if pending is None:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {attribute!r}"
                )
            names, key = pending
            name = names.get(key, key)
            # Set, then forget what named it (two threads naming it at once both set it).
            self.__dict__["name"] = name
            self.__dict__.pop(_NAMED_BY, None)
            return name

    def __getstate__(self) -> dict[str, Any]:
        # Named now: a copy or a pickle of the step holds its name, never the SBOM's names.
        return {"name": self.name, "location": self.location}


#: :attr:`Finding.off_index` of the configured index's answer about a name that a lock file
#: installs from another index (one the configuration does not name).
OTHER_INDEX = "index"


class Finding(msgspec.Struct, frozen=True):
    """One checked dependency: what was asked, what the index said, what could replace it."""

    name: str
    version: str | None
    record: StatusRecord
    facts: VersionFacts | None = None
    alternatives: tuple[Alternative, ...] = ()
    purl: str | None = None
    bom_ref: str | None = None
    location: Location | None = None
    #: The SBOM's metadata.component: the product itself, not one of its dependencies.
    subject: bool = False
    #: Never asked: its purl names an index the allowed-index rule refuses.
    refused: bool = False
    #: A dependency of the project itself (True), pulled in by one (False), or not known.
    direct: bool | None = None
    #: Why it is here: the shortest chain from the project (a root or a direct dependency) to
    #: it, itself last; empty when direct or when nothing records the edges.
    via: tuple[ChainStep, ...] = ()
    #: The second signal (``--maintenance``): repository state and release age. Separate
    #: from ``record`` (the index's status) and never mixed into it; None when not asked.
    maintenance: MaintenanceVerdict | None = None
    #: Installed from a remote source of this kind (``url``, ``git``: a lock entry; or
    #: :data:`OTHER_INDEX`, an index a lock names), not from the configured index; ``record``
    #: is what the configured index says about the name it installs.
    off_index: str | None = None
    #: An SBOM component that built the product rather than being part of it: where the
    #: SBOM lists it (``metadata.tools`` or ``formulation``). No dependency: ``direct`` None.
    build_tool: str | None = None

    @property
    def status(self) -> ProjectStatus:
        return self.record.status

    @property
    def yanked(self) -> bool:
        return bool(self.facts and self.facts.yanked)

    @property
    def noteworthy(self) -> bool:
        """Worth a line in the summary: anything but a clean active answer."""
        return is_noteworthy(self.record, self.facts, self.maintenance)

    @property
    def maintenance_kind(self) -> str | None:
        """``repo-archived``, ``repo-gone`` or ``stale`` when the maintenance verdict says so."""
        if self.maintenance is None:
            return None
        return MAINTENANCE_KINDS.get(self.maintenance.verdict)

    @property
    def maintenance_verdict(self) -> Maintenance | None:
        return self.maintenance.verdict if self.maintenance is not None else None

    def violates(self, fail_on: frozenset[str]) -> bool:
        if self.off_index is not None:
            return self._namesake_violates(fail_on)
        return (
            STATUS_TEXT[self.record.status] in fail_on
            or (YANKED in fail_on and self.yanked)
            or self.maintenance_kind in fail_on
        )

    def _namesake_violates(self, fail_on: frozenset[str]) -> bool:
        """An entry installed from a URL or VCS: the index's record is of the name it
        installs, which may be another project (a private package's public namesake). Only
        a quarantine is about what is installed (malware found under that name: the likely
        source of a copy elsewhere); archived, deprecated, a repository's state are the
        namesake's and are shown, never a failure a user could fix."""
        return self.record.status is ProjectStatus.QUARANTINED and "quarantined" in fail_on

    def violation_label(self, fail_on: frozenset[str]) -> str:
        """``evil-pkg (quarantined)``, ``requests 2.32.0 (yanked)``: what failed it, and why.

        The version is named when the cause is the version's (a yank), not the project's.
        """
        if self.off_index == OTHER_INDEX:
            return (
                f"{self.name} ({self.status.value} on {self.record.index_url}, installed "
                "from another index)"
            )
        if self.off_index is not None:
            return f"{self.name} ({self.status.value}, installed from a {self.off_index} source)"
        causes: list[str] = [self.status.value] if self.status.value in fail_on else []
        if YANKED in fail_on and self.yanked:
            causes.append(YANKED)
        if self.maintenance_kind is not None and self.maintenance_kind in fail_on:
            causes.append(self.maintenance_kind)
        name = self.name if causes != [YANKED] else f"{self.name} {self.version}"
        return f"{name} ({', '.join(causes)})"


#: A module name, not ``ProjectStatus.ACTIVE``: an enum member read from its class is a
#: Python-level call (~0.3 µs), and this is asked twice for every finding.
_ACTIVE = ProjectStatus.ACTIVE


def is_noteworthy(
    record: StatusRecord, facts: VersionFacts | None, maintenance: MaintenanceVerdict | None
) -> bool:
    """:attr:`Finding.noteworthy` before there is a Finding (the enrich run decides the chains
    first, so that each finding is made once, complete)."""
    return (
        record.status is not _ACTIVE
        or (facts is not None and (facts.yanked or facts.missing))
        or (maintenance is not None and maintenance.verdict in MAINTENANCE_KINDS)
    )


class Problem(msgspec.Struct, frozen=True):
    """A line of a manifest that could not be checked (``code``: invalid-requirement, ...)."""

    message: str
    location: Location
    code: str = INVALID_REQUIREMENT


class Ignored(msgspec.Struct, frozen=True):
    """A dependency the policy (or an inline comment) told us to leave out of the verdict."""

    name: str
    version: str | None
    reason: str
    status: str | None = None  # None: never looked up (an inline ``# sbom-enrich: ignore``)
    location: Location | None = None
    until: str | None = None


class OtherIndex(msgspec.Struct, frozen=True):
    """An index a run asked besides the configured one, and the projects it answered for."""

    #: Credentials removed.
    url: str
    #: ``lock`` (a lock file names it) or ``allow-index`` (the configuration does).
    named_by: str
    #: Canonical names, sorted.
    projects: tuple[str, ...]


class Report(msgspec.Struct, frozen=True, dict=True):
    """Everything one run found; pure data, rendered by the functions below.

    ``kind`` is ``"sbom"`` (``source`` names the SBOM file) or ``"manifests"`` (``files``
    lists the manifests read). ``ignored`` findings are out of ``findings``: they neither count
    nor fail the run. ``warnings`` are one-line notes for the user (an expired ignore, ...).
    """

    findings: tuple[Finding, ...]
    index_url: str
    skipped: int = 0
    skipped_reasons: tuple[str, ...] = ()
    other_components: int = 0
    elapsed: float = 0.0
    created_at: Any = msgspec.field(default_factory=utc_now)
    kind: str = "sbom"
    source: str | None = None
    files: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    warnings: tuple[str, ...] = ()
    #: The indexes asked besides ``index_url`` (``check``: those lock files name).
    other_indexes: tuple[OtherIndex, ...] = ()

    # The tallies below read the fields themselves, not Finding's properties: each is a pass
    # over every finding (10,000 in a large SBOM) for the summary and the exit code.
    def counts(self) -> Counter[str]:
        return Counter([STATUS_TEXT[f.record.status] for f in self.findings])

    @property
    def entries(self) -> int:
        """Findings of what the files list: not the configured index's word on the name of a
        package a lock installs from another index (a second finding of one entry)."""
        return sum(f.off_index != OTHER_INDEX for f in self.findings)

    @property
    def off_index(self) -> int:
        """Findings of names installed from a URL or VCS (their status may be a namesake's:
        counted apart in every summary, beside the status tally that includes them)."""
        return sum(f.off_index is not None for f in self.findings)

    @property
    def yanked(self) -> int:
        return sum(1 for f in self.findings if (facts := f.facts) is not None and facts.yanked)

    @property
    def missing(self) -> int:
        return sum(1 for f in self.findings if (facts := f.facts) is not None and facts.missing)

    @property
    def failed_lookups(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.record.failed)

    @cached_property
    def lookup_outcomes(self) -> tuple[bool, int, tuple[Finding, ...]]:
        """:func:`_lookup_outcomes` of the findings, once: the exit code, the verdict line and
        the JSON report each ask (kept in the instance's ``__dict__``, out of its fields)."""
        return _lookup_outcomes(self.findings)

    def violations(self, fail_on: frozenset[str]) -> tuple[Finding, ...]:
        if not fail_on:  # --fail-on none: nothing can violate it
            return ()
        return tuple(f for f in self.findings if f.violates(fail_on))

    @property
    def projects(self) -> int:
        return len({f.record.name for f in self.findings})


#: Why a lock's own project entry (uv's package at ``.``, a workspace member) is not looked
#: up: it is the code being checked, not a dependency skipped.
PROJECT_ITSELF = "the project itself (a workspace member)"
#: The end of the skip reason of an SBOM's own subject (``metadata.component``) that names
#: no index: the project itself, as a lock's root entry is.
SBOM_SUBJECT = "the SBOM's own subject"


def _lookup_outcomes(findings: tuple[Finding, ...]) -> tuple[bool, int, tuple[Finding, ...]]:
    """(whether a lookup failed, how many were refused, the findings asked and answered) in
    one pass: each pass over ten thousand findings and their records (spread over the heap)
    costs more in reaching them than in what is done with them."""
    failed = False
    refused = 0
    asked: list[Finding] = []
    for finding in findings:
        answered = finding.record.error is None  # not record.failed: no property call
        failed = failed or not answered
        if finding.refused:
            refused += 1
        elif answered:
            asked.append(finding)
    return failed, refused, tuple(asked)


#: Answers that read no project status: an index that cannot express it (unknown, no
#: failure), and a name it does not have.
_NO_STATUS_READ = frozenset({ProjectStatus.UNKNOWN, ProjectStatus.NOT_FOUND})


def unchecked(report: Report) -> tuple[str, ...]:
    """Why a run checked too little to pass, beyond failed lookups: one plain line each.

    A gate that checked nothing must not pass (DESIGN.md, "Honest verdicts"): components the
    allowed-index rule refused; no component with a real answer (every answer from an index
    that cannot express status); every project not-found, the pattern of a wrong index URL.
    """
    reasons: list[str] = []
    _, refused, asked = report.lookup_outcomes
    if refused and report.kind == "manifests":
        reasons.append(
            f"{plural(refused, 'package')} not checked: "
            f"{'its lock entry names' if refused == 1 else 'their lock entries name'} an index "
            "this run does not ask (lock indexes are off; --allow-index URL to ask it)"
        )
    elif refused:
        reasons.append(
            f"{plural(refused, 'component')} not checked: the purl names an index "
            "that is not allowed (see --allow-index)"
        )
    skipped = sum(not r.endswith((PROJECT_ITSELF, SBOM_SUBJECT)) for r in report.skipped_reasons)
    # A lock's remote entries (url, git) are asked by name, but their files are not the
    # index's: only packages installed from an index make a gate that checked something.
    remote = sum(f.off_index is not None for f in report.findings)
    if len(report.findings) == remote and (elsewhere := skipped + remote):
        # Every package from a URL, a path or git: a lock whose one entry is
        # `source = { url = ".../evil-0.0.1.whl" }`, or an SBOM whose every PyPI component
        # has a vcs_url, passed having asked nothing.
        reasons.append(
            f"nothing was checked: {plural(elsewhere, 'package')} "
            f"{'comes' if elsewhere == 1 else 'come'} from a URL, a path, a VCS or find-links "
            f"(not an index) or {'has' if elsewhere == 1 else 'have'} no name to look up, "
            "and no other is listed"
        )
    if remote:  # a private URL wheel's name is not-found on a public index: no hint of a typo
        asked = tuple(f for f in asked if f.off_index is None)
    # not-found says only that a name is missing: beside it, an index that cannot express
    # status still checked nothing (a typo in one name made such a gate pass). all() first:
    # it stops at the first real status (asked on every verdict, over ten thousand findings).
    if all(f.status in _NO_STATUS_READ for f in asked) and any(
        f.status is ProjectStatus.UNKNOWN for f in asked
    ):
        reasons.append(_no_status_read(report.index_url, asked))
    if len(asked) >= 2 and all(f.status is ProjectStatus.NOT_FOUND for f in asked):
        hint = f"every project was not-found on {report.index_url}"
        path = urlsplit(report.index_url).path.rstrip("/")
        if not path.endswith("/simple"):
            hint += f": did you mean {report.index_url.rstrip('/')}/simple/?"
        else:
            hint += ": is the index URL right?"
        reasons.append(hint)
    return tuple(reasons)


def _no_status_read(index_url: str, asked: tuple[Finding, ...]) -> str:
    """Why no answer in ``asked`` (all unknown or not-found) read a status, in true words: an
    index below Simple API 1.4, or statuses this version does not know (``"retired"`` at 1.4
    was said to be "Simple API < 1.4"), or both."""
    too_old = unknown_word = False
    for finding in asked:
        if finding.status is ProjectStatus.UNKNOWN:
            if cannot_express_status(finding.record):
                too_old = True
            else:
                unknown_word = True
    if not unknown_word:
        return (
            f"the index {index_url} cannot express project status (Simple API < 1.4): "
            "nothing was checked"
        )
    if not too_old:
        return (
            f"the index {index_url} sent only project statuses this version does not know "
            "(a newer release may): nothing was checked"
        )
    return (
        f"the index {index_url} sent no status this version can read (statuses it does not "
        "know, and pages below Simple API 1.4): nothing was checked"
    )


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``; ``many`` for irregular plurals (``requirement`` is regular)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def is_incomplete(report: Report) -> bool:
    return bool(report.lookup_outcomes[0] or report.problems or unchecked(report))


def exit_code(report: Report, fail_on: frozenset[str], allow_incomplete: bool) -> ExitCode:
    """Violations win over incomplete. Incomplete: a lookup failed, part of a manifest could
    not be read (an invalid line, invalid TOML, a missing include), or the run checked too
    little (:func:`unchecked`) — a gate must not pass on what it never checked."""
    if report.violations(fail_on):
        return ExitCode.POLICY
    if is_incomplete(report) and not allow_incomplete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def cannot_express_status(record: StatusRecord) -> bool:
    """An answer from an index older than PEP 792 (Simple API < 1.4): unknown, yet no failure."""
    return record.status is ProjectStatus.UNKNOWN and not record.error and not record.reason


def status_note(record: StatusRecord) -> str | None:
    """Why a status is ``unknown`` although the index answered, in words; None otherwise."""
    if not cannot_express_status(record):
        return None
    if record.api_version:
        spoken = f"it speaks Simple API {record.api_version}"
    else:
        spoken = "it sends no Simple API version"
    return f"the index cannot express project status ({spoken}; PEP 792 needs 1.4)"


def noteworthy_findings(
    report: Report, fail_on: frozenset[str], among: Iterable[Finding] | None = None
) -> list[Finding]:
    """Findings worth a line, one per (project, version, place), violations first.

    The place counts only for manifests: an SBOM line shows none, so components sharing a purl
    (each located at its own line for SARIF) would be identical lines. The SBOM's subject
    keeps a line of its own. ``among``: the report's findings that may be noteworthy, in
    order, when the caller has already passed over them all (the text summary's tally).
    """
    located = report.kind == "manifests"
    seen: set[tuple[str, str | None, Location | None, bool, str | None]] = set()
    noteworthy = []
    for finding in report.findings if among is None else among:
        if not is_noteworthy(finding.record, finding.facts, finding.maintenance):
            continue  # most are clean active answers: no key made for them
        where = finding.location if located else None
        # off_index: a lock entry's own answer and the configured index's word on its name
        # are two lines, though both sit at the same place.
        key = (finding.record.name, finding.version, where, finding.subject, finding.off_index)
        if key not in seen:
            seen.add(key)
            noteworthy.append(finding)
    # Violations first, so a long list never hides what failed the build (with no --fail-on
    # nothing violates it, and the sort would keep the order: not asked of each finding).
    if fail_on:
        noteworthy.sort(key=lambda f: not f.violates(fail_on))
    return noteworthy
