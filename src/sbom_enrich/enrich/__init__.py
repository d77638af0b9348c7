"""Lossless CycloneDX editing: find PyPI components, write sbom-enrich properties and tool entry.

Exceptions::

    SbomError                  the input cannot be enriched; str(e) is one line (CLI exit 2)
     ├── UnsupportedSpecError  CycloneDX older than 1.3 (no component properties) or newer than 1.7
     ├── UnsafeXmlError        XML with a DOCTYPE or entity declarations (never expanded)
     └── SignedSbomError       signed (JSF / XML Signature) and the policy is to refuse
"""

from ..errors import SbomError, SignedSbomError, UnsafeXmlError, UnsupportedSpecError
from .document import (
    PROPERTY_PREFIX,
    SUPPORTED_SPECS,
    TOOL_NAME,
    VULNERABILITY_PREFIX,
    PypiComponent,
    Sbom,
    VulnerabilityEntry,
    strip_enrichment,
)
from .load import load_sbom
from .properties import enrichment_properties
from .signatures import SIGNATURE_POLICIES, apply_signature_policy
from .validation import missing_validation_modules, validate_sbom

__all__ = [
    "PROPERTY_PREFIX",
    "SIGNATURE_POLICIES",
    "SUPPORTED_SPECS",
    "TOOL_NAME",
    "PypiComponent",
    "Sbom",
    "SbomError",
    "SignedSbomError",
    "UnsafeXmlError",
    "UnsupportedSpecError",
    "VULNERABILITY_PREFIX",
    "VulnerabilityEntry",
    "apply_signature_policy",
    "enrichment_properties",
    "load_sbom",
    "missing_validation_modules",
    "strip_enrichment",
    "validate_sbom",
]
