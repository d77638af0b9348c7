"""How to reach the forges: API base URLs, tokens (from the environment only) and limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...errors import SettingsError
from ..settings import parse_bool
from .api_urls import (
    DEFAULT_GITEA_API_URL,
    DEFAULT_GITHUB_API_URL,
    DEFAULT_GITLAB_API_URL,
    parse_api_url,
)
from .urls import Forge, ForgeEndpoint, ForgeTable

__all__ = [
    "DEFAULT_GITEA_API_URL",
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_GITLAB_API_URL",
    "RepositorySettings",
    "parse_api_url",
    "project_api_for_index",
    "repository_settings_from_env",
]

PYPI_JSON_API_URL = "https://pypi.org/pypi"
#: Forges are asked more gently than the index: they rate-limit per token.
DEFAULT_REPO_CONCURRENCY = 16
#: GitHub's GraphQL API takes at most 100 nodes per connection; 100 aliases a query is safe.
GITHUB_BATCH = 100

#: The web host each default API serves (a configured API serves its own host too).
_DEFAULT_HOSTS = {
    Forge.GITHUB: ("github.com", DEFAULT_GITHUB_API_URL),
    Forge.GITLAB: ("gitlab.com", DEFAULT_GITLAB_API_URL),
    Forge.GITEA: ("codeberg.org", DEFAULT_GITEA_API_URL),
}


@dataclass(frozen=True)
class RepositorySettings:
    """What the repository source needs. Tokens are never part of ``repr`` or any message."""

    github_api_url: str = DEFAULT_GITHUB_API_URL
    gitlab_api_url: str = DEFAULT_GITLAB_API_URL
    gitea_api_url: str = DEFAULT_GITEA_API_URL
    github_token: str | None = field(default=None, repr=False)
    gitlab_token: str | None = field(default=None, repr=False)
    gitea_token: str | None = field(default=None, repr=False)
    #: The index's JSON project API (``/pypi/<name>/json``); None: not asked.
    project_api_url: str | None = None
    #: Read archived/deprecated projects' last description for the maintainers' recommendations.
    recommendations: bool = True
    #: Cache only (``--offline``): nothing is asked, uncached repositories are unknown.
    offline: bool = False
    concurrency: int = DEFAULT_REPO_CONCURRENCY
    timeout: float = 30.0
    github_batch: int = GITHUB_BATCH

    def forge_table(self) -> ForgeTable:
        """Web host → API endpoint: the public forges, plus each configured API's own host.

        A configured API on a public forge's API host (``api.github.com``, ``gitlab.com``,
        ``codeberg.org``) is that forge's. Any other GitLab or Gitea/Forgejo URL is a
        self-hosted server: it serves its own web host (without a leading ``api.``), with its
        token, and gitlab.com / codeberg.org repositories still go to their public API,
        without it (the token is the self-hosted server's, and that server would call every
        public repository gone). GitHub likewise: an Enterprise API (``https://HOST/api/v3``,
        or ``https://api.HOST``) serves ``HOST``; any other GitHub API URL (a proxy, a mirror,
        a test server) stands in for api.github.com and serves github.com only. Two APIs that
        claim one host are refused (SettingsError): a repository there could not be told apart.
        """
        hosts: dict[str, ForgeEndpoint] = {}
        claimed: dict[str, str] = {}
        for forge, api_url, token in (
            (Forge.GITHUB, self.github_api_url, self.github_token),
            (Forge.GITLAB, self.gitlab_api_url, self.gitlab_token),
            (Forge.GITEA, self.gitea_api_url, self.gitea_token),
        ):
            endpoint = ForgeEndpoint(forge, api_url.rstrip("/"), token or None)
            default_host, default_api = _DEFAULT_HOSTS[forge]
            own_host = self_hosted_web_host(forge, api_url)
            if own_host is None:  # the public forge's own API, or a stand-in for it
                hosts[default_host] = endpoint
                continue
            hosts[default_host] = ForgeEndpoint(forge, default_api)
            if own_host in claimed:
                raise SettingsError(
                    f"the {claimed[own_host]} and {forge} API URLs both name {own_host}: a "
                    "repository there could not be told apart (give each forge its own host)"
                )
            if own_host in _PUBLIC_HOSTS:
                raise SettingsError(
                    f"the {forge} API URL names {own_host}, which is "
                    f"{_PUBLIC_HOSTS[own_host]}'s public host"
                )
            claimed[own_host] = forge.value
            hosts[own_host] = endpoint
        return ForgeTable(hosts)


#: The public forges' web and API hosts → the forge they belong to.
_PUBLIC_HOSTS = {
    "github.com": "github",
    "api.github.com": "github",
    "gitlab.com": "gitlab",
    "codeberg.org": "gitea",
}


def self_hosted_web_host(forge: Forge, api_url: str) -> str | None:
    """The web host a self-hosted (or Enterprise) API serves; None for a public forge's API
    or, for GitHub, a stand-in for api.github.com (a proxy or test server)."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower().rstrip(".")
    default_api_host = urlsplit(_DEFAULT_HOSTS[forge][1]).hostname
    if not host or host == default_api_host:
        return None
    if forge is Forge.GITHUB:
        enterprise = parts.path.rstrip("/").endswith("/api/v3") or (
            host.startswith("api.") and host.endswith(".ghe.com")
        )
        if not enterprise:
            return None
    return host[4:] if host.startswith("api.") else host


def project_api_for_index(index_url: str) -> str | None:
    """The JSON project API of an index when it is known to have one (PyPI), else None."""
    parts = urlsplit(index_url)
    if parts.hostname in {"pypi.org", "test.pypi.org"}:
        return f"https://{parts.hostname}/pypi"
    return None


def repository_settings_from_env(
    index_url: str, env: Mapping[str, str] | None = None, **overrides: object
) -> RepositorySettings:
    """Tokens and URLs from the environment; ``overrides`` (flags) win over variables."""
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "github_token": env.get("GITHUB_TOKEN") or None,
        "gitlab_token": env.get("GITLAB_TOKEN") or None,
        "gitea_token": env.get("GITEA_TOKEN") or None,
        "project_api_url": project_api_for_index(index_url),
    }
    for key, variable in (
        ("github_api_url", "SBOM_ENRICH_GITHUB_API_URL"),
        ("gitlab_api_url", "SBOM_ENRICH_GITLAB_API_URL"),
        ("gitea_api_url", "SBOM_ENRICH_GITEA_API_URL"),
        ("project_api_url", "SBOM_ENRICH_PROJECT_API_URL"),
    ):
        if env.get(variable):
            values[key] = parse_api_url(variable, env[variable])
    if env.get("SBOM_ENRICH_NO_RECOMMENDATIONS"):
        values["recommendations"] = not parse_bool(
            "SBOM_ENRICH_NO_RECOMMENDATIONS", env["SBOM_ENRICH_NO_RECOMMENDATIONS"]
        )
    values.update({key: value for key, value in overrides.items() if value is not None})
    settings = RepositorySettings(**values)  # type: ignore[arg-type]
    settings.forge_table()  # two APIs on one host: refused now, in one line, not per lookup
    return settings
