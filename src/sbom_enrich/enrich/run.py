"""Enrich one loaded SBOM in place: look up its PyPI components, write properties, report."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .. import PROJECT_URL, __version__
from ..findings.alternatives import Alternative, AlternativesCatalog, offered_alternatives
from ..findings.kinds import INVALID_COMPONENT
from ..findings.model import SBOM_SUBJECT, Finding, Location, Problem, Report, is_noteworthy
from ..status.client import StatusClient, lookup_records
from ..status.model import (
    STATUS_TEXT,
    ProjectStatus,
    StatusRecord,
    VersionFacts,
    utc_now,
    version_facts,
)
from ..status.settings import ClientSettings
from ..status.untrusted import MAX_URL_LENGTH, clean_text
from ..status.urls import normalize_index_url, redact_url
from . import PypiComponent, Sbom, enrichment_properties
from .document import (
    VULNERABILITY_PREFIX,
    SbomGraph,
    problem_message,
    spec_has_vulnerabilities,
)
from .properties import maintenance_properties, off_index_properties
from .vulnerabilities import quarantine_vulnerability

if TYPE_CHECKING:
    from ..status.repository.survey import MaintenanceAnswer, MaintenanceSurvey

# The maintenance survey (and httpx under it, ~40 ms) is imported only when --maintenance
# gives a run one: a warm, cache-only enrich never needs it.

#: One enriched component: (component, record, version facts, alternatives, the maintenance
#: answer, refused: its purl named an index that is not allowed).
_Enriched = tuple[
    PypiComponent,
    StatusRecord,
    "VersionFacts | None",
    tuple[Alternative, ...],
    "MaintenanceAnswer | None",
    bool,
]


async def survey_components(
    survey: MaintenanceSurvey,
    components: list[PypiComponent],
    records: dict[tuple[str, str], StatusRecord],
    default_index: str,
) -> dict[tuple[str, str], MaintenanceAnswer]:
    """The maintenance answers for the components the index answered, by (index, canonical
    name): a project on another index than the survey's is not judged by its namesake.

    A component installed from a URL or VCS (``off_index``) asks nothing, as in ``check``:
    its name is asked on the index, but the repository the survey would find is the index's
    project's, maybe another project than the one installed (a private package from git).
    A component of the same name installed from the index still asks, with its own URLs.
    """
    from ..status.repository.survey import MaintenanceQuestion

    # One a project on each index: the survey judges the one on its own index, and only it.
    questions: dict[tuple[str, str], MaintenanceQuestion] = {}
    for component in components:
        if (
            component.skip_reason is not None
            or component.problem is not None
            or component.off_index is not None
        ):
            continue
        key = (lookup_index(component, default_index), component.canonical_name)
        record = records.get(key)
        if record is None or key in questions:
            continue
        questions[key] = MaintenanceQuestion(
            name=component.canonical_name,
            status=record.status,
            latest_release=record.latest_upload,
            repository_urls=component.repository_urls,
            index_url=record.index_url,
        )
    answers = await survey.answer(questions.values())
    return {
        key: survey.not_judged(question) if survey.elsewhere(question) else answers[key[1]]
        for key, question in questions.items()
    }


def index_policy(settings: ClientSettings) -> tuple[str, frozenset[str]]:
    """(default index, every index a purl ``repository_url`` may name), both normalized."""
    default_index = normalize_index_url(settings.index_url)
    allowed = {default_index} | {normalize_index_url(url) for url in settings.allowed_indexes}
    return default_index, frozenset(allowed)


def not_allowed_record(name: str, index: str) -> StatusRecord:
    """``unknown`` for a purl that names an index outside the allowed set (no SSRF)."""
    shown = clean_text(redact_url(index), MAX_URL_LENGTH)  # the purl is input: any text at all
    return StatusRecord(
        name=name,
        status=ProjectStatus.UNKNOWN,
        index_url=shown,
        checked_at=utc_now(),
        reason=f"the purl names index {shown}, which is not allowed (see --allow-index)",
    )


#: Statuses whose components get alternatives unless --alternatives-for says otherwise: the
#: ones that call for replacing the project. An active or unknown project needs none.
DEFAULT_ALTERNATIVES_FOR = frozenset({"archived", "deprecated", "quarantined", "not-found"})


#: The catalog of a component whose status --alternatives-for leaves out.
_NO_CATALOG = AlternativesCatalog()


def parse_alternatives_for(text: str, name: str = "--alternatives-for") -> frozenset[str]:
    """``"archived,deprecated"`` -> the set; ``"none"`` or empty -> no alternatives at all.

    Raises ValueError naming ``name`` (the flag or its variable) for an unknown status.
    """
    words = {word.strip().lower() for word in text.split(",") if word.strip()}
    if not words or words == {"none"}:
        return frozenset()
    choices = [status.value for status in ProjectStatus]
    unknown = sorted(words - set(choices))
    if unknown:
        raise ValueError(
            f"{name}: unknown status {', '.join(unknown)[:80]} "
            f"(choose from {', '.join(choices)}, or none)"
        )
    return frozenset(words)


def lookup_index(component: PypiComponent, default_index: str) -> str:
    """The index a component is asked on (normalized; ``default_index`` already is): its
    purl's ``repository_url``, else the default; a component installed from a URL or VCS is
    asked by name on the default (configured) one, as ``check`` asks a lock's URL entry."""
    url = component.repository_url  # nearly always none: the default index
    if url is None or component.off_index is not None:
        return default_index
    return normalize_index_url(url)


def wanted_lookups(
    components: Iterable[PypiComponent], default_index: str, allowed: Collection[str]
) -> dict[str, set[str]]:
    """``{index: {canonical names}}`` the components need, on allowed indexes only."""
    default_index = normalize_index_url(default_index)
    wanted: dict[str, set[str]] = {}
    for component in components:
        if component.skip_reason is None and component.problem is None:
            index = lookup_index(component, default_index)
            if index in allowed:
                names = wanted.get(index)
                if names is None:  # not setdefault: that made an empty set per component
                    names = wanted[index] = set()
                names.add(component.canonical_name)
    return wanted


async def enrich_sbom(
    sbom: Sbom,
    client: StatusClient,
    catalog: AlternativesCatalog,
    *,
    default_index: str,
    allowed: Collection[str],
    on_answer: Callable[[StatusRecord, int, int], None] | None = None,
    alternatives_for: Collection[str] | None = None,
    quarantined_as_vulnerability: bool = False,
    survey: MaintenanceSurvey | None = None,
    known: Mapping[tuple[str, str], StatusRecord] | None = None,
    wanted: Mapping[str, Collection[str]] | None = None,
) -> Report:
    """Look up every PyPI component once per distinct (index, name) and edit ``sbom`` in place.

    A purl ``repository_url`` is followed only when it is in ``allowed`` (normalized index
    URLs); any other gets ``unknown`` with a reason and no request. The tool entry is added and
    the BOM version bumped only when some component was enriched; serializing and the policy
    verdict are the caller's. Alternatives go only to components whose status is in
    ``alternatives_for`` (default DEFAULT_ALTERNATIVES_FOR). With
    ``quarantined_as_vulnerability`` each quarantined project is also listed in
    ``vulnerabilities[]`` (CycloneDX 1.4+; older specs get a warning instead). ``known``:
    records already at hand (the CLI's lookup processes), passed to ``lookup_records``.
    ``wanted``: ``wanted_lookups`` of this SBOM with these indexes, when the caller has
    already worked it out (the CLI does, for its lookup processes).
    """
    started = time.perf_counter()
    default_index = normalize_index_url(default_index)
    components = sbom.pypi_components()
    if wanted is None:
        wanted = wanted_lookups(components, default_index, allowed)
    records = await lookup_records(client, wanted, on_answer=on_answer, known=known)
    answers = (
        await survey_components(survey, components, records, default_index)
        if survey is not None
        else {}
    )
    return apply_records(
        sbom,
        records,
        catalog,
        default_index=default_index,
        answers=answers,
        alternatives_for=alternatives_for,
        quarantined_as_vulnerability=quarantined_as_vulnerability,
        started=started,
    )


def apply_records(
    sbom: Sbom,
    records: Mapping[tuple[str, str], StatusRecord],
    catalog: AlternativesCatalog,
    *,
    default_index: str,
    answers: Mapping[tuple[str, str], MaintenanceAnswer] | None = None,
    alternatives_for: Collection[str] | None = None,
    quarantined_as_vulnerability: bool = False,
    started: float | None = None,
) -> Report:
    """:func:`enrich_sbom` after its lookups: edit ``sbom`` in place with ``records`` (every
    ``(index, canonical name)`` that ``wanted_lookups`` lists, as ``lookup_records`` returns
    them) and the survey's ``answers`` (by the same keys: :func:`survey_components`); no
    I/O. ``started``: when the run began (``perf_counter``), for the report's elapsed time
    (default: now).

    Apart from the lookups so that a caller may run it with the cyclic garbage collector
    paused (the CLI does): it makes only values that live as long as the run.
    """
    if started is None:
        started = time.perf_counter()
    answers = answers or {}
    wanted_alternatives = (
        DEFAULT_ALTERNATIVES_FOR if alternatives_for is None else frozenset(alternatives_for)
    )
    warnings: list[str] = []
    default_index = normalize_index_url(default_index)
    components = sbom.pypi_components()
    # What the input says in our name on a component we do not write (not PyPI, left as
    # written for a problem) is not our word: removed, or the document refused (exit 2).
    sbom.remove_planted()
    skipped_reasons: list[str] = []
    problems: list[Problem] = []
    enriched: list[_Enriched] = []
    noteworthy: list[str | None] = []  # the bom-refs of those worth a chain
    for component in components:
        if component.problem is not None:
            # Left exactly as written and reported; the run is incomplete (exit 3).
            location = Location(sbom.source, component.line or 1)
            problems.append(Problem(problem_message(component), location, INVALID_COMPONENT))
            continue
        if component.skip_reason is not None:
            # The SBOM's subject from its own tree (a VCS or local purl) is the project
            # itself: skipped, but no dependency of it went unchecked.
            # Named: the summary lists the first few, and "vcs" alone said not which.
            pinned = f" {component.version}" if component.version else ""
            reason = f"{component.name}{pinned}: {component.skip_reason}"
            skipped_reasons.append(f"{reason}: {SBOM_SUBJECT}" if component.subject else reason)
            # Never looked up, so it carries no sbom-enrich property of ours: any the input
            # brings (an earlier run's, or planted: "project-status: active" on a quarantined
            # project) would be read from our output as our word.
            sbom.set_properties(component, ())
            continue
        index = lookup_index(component, default_index)
        key = (index, component.canonical_name)
        answered = records.get(key)
        record = answered or not_allowed_record(component.canonical_name, index)
        off_index = component.off_index
        # Installed from a URL or VCS: whether the index yanked or lists that version says
        # nothing of a file it did not serve (a private fork's version is never listed).
        facts = (
            version_facts(record, component.version)
            if component.version and off_index is None
            else None
        )
        # None for a component installed from a URL or VCS: the answer is the index's
        # namesake's (survey_components asks none for it; one from the index may have).
        answer = answers.get(key) if answered is not None and off_index is None else None
        # The catalog for the statuses --alternatives-for names; the maintainers' own
        # recommendations (--maintenance) whatever the status; none for an off-index name
        # (decided there: it may be a namesake's). Most components are active and
        # unsurveyed: no call for them.
        listed = STATUS_TEXT[record.status] in wanted_alternatives
        alternatives = (
            offered_alternatives(
                catalog if listed else _NO_CATALOG,
                component.canonical_name,
                from_index=off_index is None,
                recommended=answer.recommended if answer is not None else (),
            )
            if listed or answer is not None
            else ()
        )
        if is_noteworthy(record, facts, answer.verdict if answer is not None else None):
            noteworthy.append(component.bom_ref)
        if off_index is not None:
            # The index's word on the name, never written as the component's project-status.
            properties = off_index_properties(record, off_index, answered=answered is not None)
        else:
            properties = enrichment_properties(
                record,
                facts,
                [a.name for a in alternatives] if alternatives else (),
                answered=answered is not None,
            )
            if answer is not None:
                properties += maintenance_properties(answer.verdict, answer.recommended)
        sbom.set_properties(component, properties)
        enriched.append((component, record, facts, alternatives, answer, answered is None))
    if quarantined_as_vulnerability:
        warnings += record_quarantine(sbom, enriched)
    findings = _findings(enriched, noteworthy, sbom.dependency_graph())
    if findings:  # nothing enriched (no PyPI component looked up): the BOM stays as it was
        sbom.add_tool("sbom-enrich", __version__, PROJECT_URL)
        sbom.bump_version()
    return Report(
        warnings=tuple(warnings),
        findings=tuple(findings),
        index_url=redact_url(default_index),
        skipped=len(skipped_reasons),
        skipped_reasons=tuple(skipped_reasons),
        other_components=sbom.component_count() - len(components),
        elapsed=time.perf_counter() - started,
        problems=tuple(problems),
    )


def record_quarantine(sbom: Sbom, enriched: Sequence[_Enriched]) -> list[str]:
    """List quarantined projects in ``vulnerabilities[]``; warnings for the summary.

    One entry per project (every component of it in ``affects``, those installed from a URL
    or VCS too: the gate fails on them, and the entry says so), replacing the entries of an
    earlier run. A component without a bom-ref gets one: ``affects`` can point at nothing else.
    A component whose bom-ref is there but unusable (not a non-empty string) keeps it as
    written and is left out of ``affects`` with a warning; a project left with nothing to
    point at gets no entry (a vulnerability affecting nothing would say nothing).
    """
    if not spec_has_vulnerabilities(sbom.spec_version):
        return [
            f"CycloneDX {sbom.spec_version} has no vulnerabilities (1.4+): "
            "--quarantined-as-vulnerability skipped"
        ]
    by_project: dict[str, list[tuple[PypiComponent, StatusRecord]]] = {}
    for component, record, _, _, _, refused in enriched:
        if record.status is ProjectStatus.QUARANTINED and not refused:
            by_project.setdefault(component.canonical_name, []).append((component, record))
    entries = []
    warnings = []
    for name, affected in by_project.items():
        record = affected[0][1]
        refs: list[str] = []
        off_index = 0
        for component, _ in affected:
            ref = sbom.ensure_bom_ref(component)
            if ref is None:
                shown = clean_text(component.purl, MAX_URL_LENGTH)
                warnings.append(
                    f"component {shown!r}: its bom-ref is not a non-empty string (left as "
                    f"written), so vulnerability {VULNERABILITY_PREFIX}{name} cannot name it"
                )
            elif ref not in refs:
                refs.append(ref)
                off_index += component.off_index is not None
        if refs:
            entries.append(quarantine_vulnerability(name, record, tuple(refs), off_index))
        else:
            warnings.append(
                f"vulnerability {VULNERABILITY_PREFIX}{name} not written: no component of it "
                "has a bom-ref it could name"
            )
    sbom.set_vulnerabilities(entries)
    return warnings


def _findings(
    enriched: Sequence[_Enriched], noteworthy: Iterable[str | None], graph: SbomGraph
) -> list[Finding]:
    """One Finding per enriched component, direct or transitive (with its chain, if its
    bom-ref is among the ``noteworthy`` ones) by ``graph``.

    The chains are decided before the findings are made, so each is made once, complete
    (marking made ones with dataclasses.replace was a twentieth of a warm 10,000-component run).
    """
    from ..findings.chains import SbomChains  # with the answers: not before the lookups

    mark = SbomChains(graph.edges, graph.root, graph.names, noteworthy).mark
    findings: list[Finding] = []
    for component, record, facts, alternatives, answer, refused in enriched:
        # A build tool is no dependency of the product: neither direct nor pulled in.
        direct, via = mark(component.bom_ref, component.subject or component.build_tool is not None)
        finding = Finding(
            component.name,
            component.version,
            record,
            facts,
            alternatives,
            component.purl,
            component.bom_ref,
            None,
            component.subject,
            refused,
            direct,
            via,
            answer.verdict if answer is not None else None,
            component.off_index,
            component.build_tool,
        )
        findings.append(finding)
    return findings
