"""Helpers shared by the enrich tests: corpus paths, realistic records, comparable trees."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lxml import etree

from sbom_enrich.enrich import Sbom, enrichment_properties, load_sbom
from sbom_enrich.enrich.json_sbom import RawNumber
from sbom_enrich.enrich.validation import _validator
from sbom_enrich.status.model import ProjectStatus, StatusRecord

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "sboms"
EXTRA = DATA / "sboms-extra"
OLD_SPECS = {
    "bom-examples-laravel-1.1.xml": "1.1",
    "bom-examples-dropwizard.xml": "1.2",
    "bom-examples-juice-shop-1.2.json": "1.2",
}
TOOL_URL = "https://github.com/sbom-enrich/sbom-enrich"
CHECKED = datetime(2026, 11, 21, 14, 52, 7, tzinfo=timezone.utc)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.iterdir())


def supported_files() -> list[Path]:
    return [path for path in corpus_files() if path.name not in OLD_SPECS]


def fake_properties(name: str, version: str | None) -> list[tuple[str, str]]:
    """What a realistic lookup would produce: varied per component, so order matters."""
    record = StatusRecord(
        name=name,
        status=ProjectStatus.ARCHIVED if len(name) % 2 else ProjectStatus.ACTIVE,
        index_url="https://pypi.org/simple/",
        checked_at=CHECKED,
        reason="No longer maintained" if len(name) % 3 == 0 else None,
        versions=("1.0", version or "1.0"),
        yanked={version: "broken wheel"} if version and len(name) % 5 == 0 else {},
        latest_version="9.9.9",
        latest_upload=CHECKED,
    )
    alternatives = ["pycryptodome"] if name.lower() == "pycrypto" else []
    return enrichment_properties(record, record.version_facts(version), alternatives)


def enrich(sbom: Sbom) -> int:
    """Enrich every PyPI component the way the CLI does; returns how many were enriched."""
    components = sbom.pypi_components()
    for component in components:
        sbom.set_properties(component, fake_properties(component.name, component.version))
    sbom.add_tool("sbom-enrich", "0.1.0", TOOL_URL)
    sbom.bump_version()
    return len(components)


def _pairs(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return pairs


def json_structure(data: bytes) -> Any:
    """The document as nested ordered pairs: key order and number spelling count."""
    return json.loads(data, object_pairs_hook=_pairs, parse_float=RawNumber)


def xml_canonical(data: bytes) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.tostring(etree.fromstring(data, parser).getroottree(), method="c14n")


def comparable(data: bytes, fmt: str) -> Any:
    return json_structure(data) if fmt == "json" else xml_canonical(data)


def reset_version(sbom_bytes: bytes, original: bytes) -> Sbom:
    """Reload enriched output with its version set back to the original's (or removed)."""
    sbom = load_sbom(sbom_bytes)
    if sbom.format == "json":
        document = sbom._doc  # type: ignore[attr-defined]
        before = json.loads(original).get("version")
        if before is None:
            del document["version"]
        else:
            document["version"] = before
    else:
        before = etree.fromstring(original).get("version")
        sbom._set_version(before)  # type: ignore[attr-defined]
    return sbom


def tool_names(data: bytes) -> list[str]:
    """Names listed in metadata.tools, legacy or 1.5+ form."""
    sbom = load_sbom(data)
    if sbom.format == "json":
        tools = sbom._doc.get("metadata", {}).get("tools", [])  # type: ignore[attr-defined]
        entries = tools if isinstance(tools, list) else tools.get("components", [])
        return [entry.get("name") for entry in entries]
    root = sbom._root  # type: ignore[attr-defined]
    return [
        (entry.findtext("{*}name") or "").strip()
        for entry in root.iterfind("{*}metadata/{*}tools/{*}tool")
    ] + [
        (entry.findtext("{*}name") or "").strip()
        for entry in root.iterfind("{*}metadata/{*}tools/{*}components/{*}component")
    ]


def json_structure_errors(data: bytes, spec_version: str) -> list[str]:
    """The library's JSON schema check without format checks (its URL check is very slow)."""
    inner = _validator("json", spec_version)._validator.evolve(format_checker=None)
    return [error.message for error in inner.iter_errors(json.loads(data))]
