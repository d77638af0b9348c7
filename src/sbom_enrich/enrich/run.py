"""Enrich one loaded SBOM in place: look up its PyPI components, write properties, report."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from .. import PROJECT_URL, __version__
from ..findings.alternatives import AlternativesCatalog
from ..findings.chains import with_sbom_chains
from ..findings.model import Finding, Report
from ..status.client import StatusClient, lookup_records
from ..status.model import ProjectStatus, StatusRecord, utc_now
from ..status.settings import ClientSettings
from ..status.untrusted import MAX_URL_LENGTH, clean_text
from ..status.urls import normalize_index_url, redact_url
from . import Sbom, enrichment_properties


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


async def enrich_sbom(
    sbom: Sbom,
    client: StatusClient,
    catalog: AlternativesCatalog,
    *,
    default_index: str,
    allowed: Collection[str],
    on_answer: Callable[[StatusRecord, int, int], None] | None = None,
) -> Report:
    """Look up every PyPI component once per distinct (index, name) and edit ``sbom`` in place.

    A purl ``repository_url`` is followed only when it is in ``allowed`` (normalized index
    URLs); any other gets ``unknown`` with a reason and no request. The tool entry is added and
    the BOM version bumped; serializing and the policy verdict are the caller's.
    """
    started = time.perf_counter()
    default_index = normalize_index_url(default_index)
    components = sbom.pypi_components()
    wanted: dict[str, set[str]] = {}
    for component in components:
        if component.skip_reason is None:
            index = normalize_index_url(component.repository_url or default_index)
            if index in allowed:
                wanted.setdefault(index, set()).add(component.canonical_name)
    records = await lookup_records(client, wanted, on_answer=on_answer)
    findings: list[Finding] = []
    skipped_reasons: list[str] = []
    for component in components:
        if component.skip_reason is not None:
            skipped_reasons.append(component.skip_reason)
            continue
        index = normalize_index_url(component.repository_url or default_index)
        answered = records.get((index, component.canonical_name))
        record = answered or not_allowed_record(component.canonical_name, index)
        facts = record.version_facts(component.version) if component.version else None
        alternatives = catalog.for_project(component.canonical_name)
        sbom.set_properties(
            component,
            enrichment_properties(record, facts, [a.name for a in alternatives]),
        )
        findings.append(
            Finding(
                name=component.name,
                version=component.version,
                record=record,
                facts=facts,
                alternatives=alternatives,
                purl=component.purl,
                bom_ref=component.bom_ref,
                subject=component.subject,
                refused=answered is None,
            )
        )
    graph = sbom.dependency_graph()
    findings = with_sbom_chains(findings, graph.edges, graph.root, graph.names)
    sbom.add_tool("sbom-enrich", __version__, PROJECT_URL)
    sbom.bump_version()
    return Report(
        findings=tuple(findings),
        index_url=redact_url(default_index),
        skipped=len(skipped_reasons),
        skipped_reasons=tuple(skipped_reasons),
        other_components=sbom.component_count() - len(components),
        elapsed=time.perf_counter() - started,
    )
