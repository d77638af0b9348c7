"""Bom-refs the enricher adds (for ``--quarantined-as-vulnerability``): unique, and the BOM's
refs gathered once per document, not once per ref added (which made a large run quadratic)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sbom_enrich.enrich import load_sbom
from sbom_enrich.enrich.json_sbom import JsonSbom
from sbom_enrich.enrich.xml_sbom import XmlSbom

COUNT = 300


def _json_sbom() -> bytes:
    components: list[dict[str, Any]] = [
        # Already holds what the second copy of p0 would be given.
        {"type": "library", "name": "x", "bom-ref": "pkg:pypi/p0@1#2"},
    ]
    components += [
        {"type": "library", "name": f"p{i % 100}", "purl": f"pkg:pypi/p{i % 100}@1"}
        for i in range(COUNT)
    ]
    services = [{"name": "s", "bom-ref": "pkg:pypi/p1@1"}]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": components,
        "services": services,
    }
    return json.dumps(document, indent=2).encode()


def test_json_refs_are_unique_and_the_bom_is_scanned_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sbom = load_sbom(_json_sbom())
    assert isinstance(sbom, JsonSbom)
    scans = 0
    original = JsonSbom._components

    def counting(self: JsonSbom) -> Any:
        nonlocal scans
        scans += 1
        return original(self)

    components = sbom.pypi_components()
    monkeypatch.setattr(JsonSbom, "_components", counting)
    refs = [sbom.ensure_bom_ref(component) for component in components]
    monkeypatch.undo()
    assert scans == 1
    assert len(set(refs)) == COUNT
    assert "pkg:pypi/p0@1#2" not in refs  # the author's
    assert "pkg:pypi/p1@1" not in refs  # a service's
    assert refs[0] == "pkg:pypi/p0@1" and refs[100] == "pkg:pypi/p0@1#3"
    written = json.loads(sbom.to_bytes())
    assert [c.get("bom-ref") for c in written["components"][1:]] == refs


def _xml_sbom() -> bytes:
    components = [
        '    <component type="library" bom-ref="pkg:pypi/p0@1#2"><name>x</name></component>'
    ]
    components += [
        f'    <component type="library"><name>p{i % 100}</name>'
        f"<purl>pkg:pypi/p{i % 100}@1</purl></component>"
        for i in range(COUNT)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
        "  <components>\n" + "\n".join(components) + "\n  </components>\n"
        '  <services><service bom-ref="pkg:pypi/p1@1"><name>s</name></service></services>\n'
        "</bom>\n"
    ).encode()


class _CountingRoot:
    """The root element, with its ``xpath`` calls counted (lxml's own class cannot be
    patched)."""

    def __init__(self, root: Any) -> None:
        self.root, self.calls = root, 0

    def xpath(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.root.xpath(*args, **kwargs)


def test_xml_refs_are_unique_and_the_bom_is_searched_once() -> None:
    sbom = load_sbom(_xml_sbom())
    assert isinstance(sbom, XmlSbom)
    components = sbom.pypi_components()
    root = sbom._root
    counting = _CountingRoot(root)
    sbom._root = counting  # type: ignore[assignment]
    try:
        refs = [sbom.ensure_bom_ref(component) for component in components]
    finally:
        sbom._root = root
    assert counting.calls == 1
    assert len(set(refs)) == COUNT
    assert "pkg:pypi/p0@1#2" not in refs  # the author's
    assert "pkg:pypi/p1@1" not in refs  # a service's
    assert refs[0] == "pkg:pypi/p0@1" and refs[100] == "pkg:pypi/p0@1#3"
