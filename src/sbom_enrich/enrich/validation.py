"""Schema validation of CycloneDX bytes with cyclonedx-python-lib (imported only when used)."""

from __future__ import annotations

import functools
from typing import Any

_MAX_MESSAGE = 300


@functools.cache
def _validator(fmt: str, spec_version: str) -> Any:
    # Imported here: cyclonedx and its schema tooling take a noticeable time to import, and
    # most runs never validate.
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from cyclonedx.validation import make_schemabased_validator

    output_format = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    return make_schemabased_validator(output_format, SchemaVersion.from_version(spec_version))


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _message(error: Any, fmt: str) -> str:
    data = getattr(error, "data", None)
    if fmt == "json" and data is not None and hasattr(data, "message"):
        where = "/".join(str(part) for part in getattr(data, "absolute_path", ()))
        return _one_line(f"{where or '(root)'}: {data.message}")
    if fmt == "xml" and data is not None and hasattr(data, "line"):
        return _one_line(f"line {data.line}: {data.message}")
    return _one_line(str(error))


def validate_sbom(data: bytes, fmt: str, spec_version: str) -> list[str]:
    """Schema errors of a CycloneDX document (one line each); ``[]`` when it is valid.

    ``fmt`` is "json" or "xml"; ``spec_version`` is "1.3".."1.7".
    """
    if fmt == "json":
        text = data.decode("utf-8-sig")
    elif fmt == "xml":
        from sbom_enrich.enrich.xml_sbom import parse_for_validation, xml_text

        # The library parses str re-encoded as UTF-8, so a declaration naming another
        # encoding would be misread: hand it the root element without a declaration.
        text = xml_text(parse_for_validation(data))
    else:
        raise ValueError(f"unknown SBOM format {fmt!r}")
    errors = _validator(fmt, spec_version).validate_str(text, all_errors=True)
    if errors is None:
        return []
    return [_message(error, fmt) for error in errors]
