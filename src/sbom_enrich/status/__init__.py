"""What the package index says about a project: the status client and its values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ..errors import SettingsError
    from .client import StatusClient, lookup_records
    from .compose import build_cache, build_record_store, open_status_client
    from .maintenance import Maintenance, MaintenanceVerdict, StalePolicy, maintenance_verdict
    from .model import ProjectStatus, StatusRecord, VersionFacts, canonical, version_facts
    from .settings import ClientSettings, client_settings_from_env
    from .sources import SimpleApiSource, StatusSource
    from .untrusted import clean_text
    from .urls import PYPI_SIMPLE_URL, normalize_index_url, redact_url

# Loaded on first use (PEP 562): a front end that needs only the model or the text cleaner
# must not pay for importing httpx; the CLI's cold-start import test holds us to that.
_EXPORTS = {
    "StatusClient": "client",
    "lookup_records": "client",
    "build_cache": "compose",
    "build_record_store": "compose",
    "open_status_client": "compose",
    "Maintenance": "maintenance",
    "MaintenanceVerdict": "maintenance",
    "StalePolicy": "maintenance",
    "maintenance_verdict": "maintenance",
    "SimpleApiSource": "sources",
    "StatusSource": "sources",
    "ProjectStatus": "model",
    "StatusRecord": "model",
    "VersionFacts": "model",
    "canonical": "model",
    "version_facts": "model",
    "ClientSettings": "settings",
    "SettingsError": "settings",
    "client_settings_from_env": "settings",
    "clean_text": "untrusted",
    "PYPI_SIMPLE_URL": "urls",
    "normalize_index_url": "urls",
    "redact_url": "urls",
}

__all__ = [
    "ClientSettings",
    "Maintenance",
    "MaintenanceVerdict",
    "SimpleApiSource",
    "StalePolicy",
    "StatusSource",
    "PYPI_SIMPLE_URL",
    "ProjectStatus",
    "SettingsError",
    "StatusClient",
    "StatusRecord",
    "VersionFacts",
    "build_cache",
    "build_record_store",
    "canonical",
    "clean_text",
    "client_settings_from_env",
    "lookup_records",
    "maintenance_verdict",
    "normalize_index_url",
    "open_status_client",
    "redact_url",
    "version_facts",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
