"""Where a project's repository is and what its forge says about it (the second source)."""

from .cache import RepoCache
from .model import RepoRecord, RepoState
from .project_meta import ProjectMetadata, fetch_project_metadata, read_project_metadata
from .settings import RepositorySettings, project_api_for_index, repository_settings_from_env
from .source import RepositorySource
from .urls import (
    Forge,
    ForgeEndpoint,
    ForgeTable,
    RepoRef,
    candidates_from_project_urls,
    first_repository,
    parse_forge_url,
)

__all__ = [
    "Forge",
    "ForgeEndpoint",
    "ForgeTable",
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
