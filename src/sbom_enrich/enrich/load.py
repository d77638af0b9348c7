"""Read an SBOM from bytes, telling CycloneDX JSON from XML by its content."""

from __future__ import annotations

from sbom_enrich.enrich.document import Sbom
from sbom_enrich.enrich.errors import SbomError
from sbom_enrich.enrich.json_sbom import JsonSbom
from sbom_enrich.enrich.xml_sbom import XmlSbom


def detect_format(data: bytes) -> str | None:
    """ "json", "xml", or None, from the first significant character (after a BOM)."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):
        return "xml"  # UTF-16: only XML may use it; JSON must be UTF-8
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<"):
        return "xml"
    return None


def load_sbom(data: bytes, *, source: str = "<input>") -> Sbom:
    """Parse a CycloneDX 1.3-1.7 JSON or XML document for in-place enrichment.

    Raises SbomError (one line, naming ``source``) for anything we cannot enrich.
    """
    if not data.strip():
        raise SbomError(f"{source}: the input is empty")
    fmt = detect_format(data)
    if fmt == "json":
        return JsonSbom.parse(data, source)
    if fmt == "xml":
        return XmlSbom.parse(data, source)
    raise SbomError(f"{source}: not a CycloneDX SBOM (neither JSON nor XML)")
