"""Why an SBOM cannot be enriched: the enrich package's exception tree."""

from __future__ import annotations


class SbomError(Exception):
    """The input is not an SBOM we can enrich; ``str(e)`` is one line for the user."""

    def __init__(self, message: str) -> None:
        # The CLI prints str(e) as a single stderr line, and messages may quote parser
        # output or document text: fold every whitespace run so no newline gets through.
        super().__init__(" ".join(message.split()))


class UnsupportedSpecError(SbomError):
    """The CycloneDX spec version is outside 1.3-1.7."""


class UnsafeXmlError(SbomError):
    """The XML document declares a DTD or entities; refused, never expanded."""
