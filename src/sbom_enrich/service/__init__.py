"""The HTTP enrichment service (``sbom-enrich serve``): a Starlette app run by uvicorn."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return list(__all__)
