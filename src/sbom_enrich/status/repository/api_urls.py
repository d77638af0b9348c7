"""The forges' default API base URLs and the check of a configured one, apart from the rest
of the settings so that the command line's option table imports only these."""

from __future__ import annotations

from urllib.parse import urlsplit

from ...errors import SettingsError

__all__ = [
    "DEFAULT_GITEA_API_URL",
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_GITLAB_API_URL",
    "parse_api_url",
]

DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_GITLAB_API_URL = "https://gitlab.com/api/v4"
DEFAULT_GITEA_API_URL = "https://codeberg.org/api/v1"


def parse_api_url(name: str, value: str) -> str:
    """An http(s) API base URL without query, fragment or credentials (tokens go in env)."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SettingsError(f"{name}: not a valid URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(f"{name}: expected an http(s) URL")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise SettingsError(
            f"{name}: an API URL cannot carry credentials, a query or a fragment "
            "(tokens come from GITHUB_TOKEN, GITLAB_TOKEN, GITEA_TOKEN)"
        )
    return text.rstrip("/")
