"""The HTTP enrichment service (``sbom-enrich serve``): a Starlette app run by uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .app import create_app, create_app_from_environment
    from .config import ServiceSettings
    from .openapi import openapi_document

# Loaded on first use (PEP 562): starlette comes with the optional `serve` extra, and the
# settings and the OpenAPI document are useful without it.
_EXPORTS = {
    "create_app": "app",
    "create_app_from_environment": "app",
    "ServiceSettings": "config",
    "openapi_document": "openapi",
}

__all__ = ["ServiceSettings", "create_app", "create_app_from_environment", "openapi_document"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
