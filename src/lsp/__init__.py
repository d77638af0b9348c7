"""sbom-enrich language server: PEP 792 project status in requirements and pyproject files."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import SbomEnrichServer, build_server

# Loaded on first use (PEP 562): importing the package must not import pygls, so the pure
# helper modules (diagnostics, hover, code actions) load fast in tests and tools.
_EXPORTS = {"SbomEnrichServer": "server", "build_server": "server"}

__all__ = ["SbomEnrichServer", "build_server"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return list(__all__)
