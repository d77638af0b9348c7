"""Read an SBOM from bytes, telling CycloneDX JSON from XML by its content."""

from __future__ import annotations

from ..errors import SbomError
from .document import Sbom


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


def _is_utf16_json(data: bytes) -> bool:
    """UTF-16 text whose first significant character opens a JSON object or array."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[2:1024].decode(codec, "ignore").lstrip().startswith(("{", "["))
    if b"\x00" not in data[:2]:
        return False  # ASCII-compatible: UTF-8 (or not JSON at all)
    return any(
        data[:1024].decode(codec, "ignore").lstrip().startswith(("{", "["))
        for codec in ("utf-16-le", "utf-16-be")
    )


def load_sbom(data: bytes, *, source: str = "<input>") -> Sbom:
    """Parse a CycloneDX 1.3-1.7 JSON or XML document for in-place enrichment.

    Raises SbomError (one line, naming ``source``) for anything we cannot enrich.
    """
    if not data or data.isspace():  # not data.strip(): a copy of the whole input
        raise SbomError(f"{source}: the input is empty")
    if _is_utf16_json(data):
        raise SbomError(f"{source}: JSON must be UTF-8 (RFC 8259); this is UTF-16")
    fmt = detect_format(data)
    # Each reader imported with its first document: lxml and the XML reader's regexes cost
    # ~12 ms a JSON run never needs, the JSON reader and its position scanner ~6 ms of an XML run.
    if fmt == "json":
        from .json_sbom import JsonSbom

        return JsonSbom.parse(data, source)
    if fmt == "xml":
        from .xml_sbom import XmlSbom

        return XmlSbom.parse(data, source)
    raise SbomError(f"{source}: not a CycloneDX SBOM (neither JSON nor XML)")
