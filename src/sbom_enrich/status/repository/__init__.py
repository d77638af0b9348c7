"""Where a project's repository is and what its forge says about it (the second source)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from .cache import RepoCache
    from .model import RepoRecord, RepoState
    from .project_meta import ProjectMetadata, fetch_project_metadata, read_project_metadata
    from .settings import RepositorySettings, project_api_for_index, repository_settings_from_env
    from .source import RepositorySource
    from .survey import MaintenanceAnswer, MaintenanceQuestion, MaintenanceSurvey
    from .urls import (
        Forge,
        ForgeEndpoint,
        ForgeTable,
        RepoRef,
        candidates_from_project_urls,
        first_repository,
        parse_forge_url,
    )

# Loaded on first use (PEP 562), like the status package: the CLI reads the settings and
# the verdict's model at start-up and must not pay for httpx then.
_EXPORTS = {
    "RepoCache": "cache",
    "RepoRecord": "model",
    "RepoState": "model",
    "ProjectMetadata": "project_meta",
    "fetch_project_metadata": "project_meta",
    "read_project_metadata": "project_meta",
    "RepositorySettings": "settings",
    "project_api_for_index": "settings",
    "repository_settings_from_env": "settings",
    "RepositorySource": "source",
    "MaintenanceAnswer": "survey",
    "MaintenanceQuestion": "survey",
    "MaintenanceSurvey": "survey",
    "Forge": "urls",
    "ForgeEndpoint": "urls",
    "ForgeTable": "urls",
    "RepoRef": "urls",
    "candidates_from_project_urls": "urls",
    "first_repository": "urls",
    "parse_forge_url": "urls",
}

__all__ = [
    "Forge",
    "ForgeEndpoint",
    "ForgeTable",
    "MaintenanceAnswer",
    "MaintenanceQuestion",
    "MaintenanceSurvey",
    "ProjectMetadata",
    "RepoCache",
    "RepoRecord",
    "RepoRef",
    "RepoState",
    "RepositorySettings",
    "RepositorySource",
    "candidates_from_project_urls",
    "fetch_project_metadata",
    "first_repository",
    "parse_forge_url",
    "project_api_for_index",
    "read_project_metadata",
    "repository_settings_from_env",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
