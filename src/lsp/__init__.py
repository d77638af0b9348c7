"""sbom-enrich language server: PEP 792 project status in requirements and pyproject files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sbom_enrich._lazy import lazy_exports

if TYPE_CHECKING:
    from .server import SbomEnrichServer, build_server

# Loaded on first use (PEP 562): importing the package must not import pygls, so the pure
# helper modules (diagnostics, hover, code actions) load fast in tests and tools.
_EXPORTS = {"SbomEnrichServer": "server", "build_server": "server"}

__all__ = ["SbomEnrichServer", "build_server"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
