"""Where a project's repository is: forge URLs from untrusted text, validated and normalised."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "Forge",
    "ForgeEndpoint",
    "ForgeTable",
    "RepoRef",
    "candidates_from_project_urls",
    "parse_forge_url",
    "unrecognised_host",
]

#: Longest URL looked at; real repository URLs are far shorter.
MAX_URL_LENGTH = 400
#: GitLab nests groups; deeper paths than this are not taken for a repository.
MAX_GITLAB_DEPTH = 10


class Forge(str, enum.Enum):
    """The API families we can ask (Forgejo and Codeberg speak Gitea's API)."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RepoRef:
    """One repository on one forge host, its path as validated segments (never raw text)."""

    forge: Forge
    host: str
    path: tuple[str, ...]

    @property
    def url(self) -> str:
        """The normalised web URL, rebuilt from the validated parts."""
        return f"https://{self.host}/{'/'.join(self.path)}"

    @property
    def key(self) -> str:
        """Cache and coalescing key: forges treat owner and name case-insensitively."""
        return f"{self.forge.value}:{self.host}/{'/'.join(self.path).lower()}"

    @property
    def owner(self) -> str:
        return "/".join(self.path[:-1])

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass(frozen=True)
class ForgeEndpoint:
    """Where repositories of one web host are asked about, and with which token."""

    forge: Forge
    api_url: str  # no trailing slash
    token: str | None = None

    def __repr__(self) -> str:  # never show the token
        token = "set" if self.token else "none"
        return f"ForgeEndpoint({self.forge.value}, {self.api_url!r}, token={token})"


@dataclass(frozen=True)
class ForgeTable:
    """Known forge web hosts (lowercase) → their API endpoint. Only these hosts are accepted."""

    hosts: Mapping[str, ForgeEndpoint]

    def endpoint(self, ref: RepoRef) -> ForgeEndpoint | None:
        return self.hosts.get(ref.host)


# GitHub: owner 1-39 of [A-Za-z0-9-], no leading hyphen; repository names [A-Za-z0-9._-].
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_GITLAB_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
#: First path segments of github.com pages that are not owners.
_GITHUB_NOT_OWNERS = frozenset(
    {
        "about", "apps", "collections", "contact", "customer-stories", "enterprise",
        "events", "explore", "features", "issues", "login", "marketplace", "new",
        "notifications", "orgs", "pricing", "pulls", "search", "security", "settings",
        "site", "sponsors", "topics", "trending", "users",
    }
)  # fmt: skip
_SCP_LIKE = re.compile(r"git@([A-Za-z0-9.-]+):(.+)")
_SCHEMES = frozenset({"https", "http", "git+https", "git+http", "git", "ssh", "git+ssh"})


def parse_forge_url(text: object, forges: ForgeTable) -> RepoRef | None:
    """The repository a URL names, or ``None`` unless it is a well-formed URL on a known forge.

    Conservative on purpose: the text comes from SBOMs and index metadata that anyone can
    write. The host must be one of ``forges`` exactly (no user part, no port, no lookalike),
    every path segment must match the forge's naming rules (no ``%``, ``..``, backslashes),
    and the result is rebuilt from the validated parts; the input is never used as-is.
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > MAX_URL_LENGTH or not text.isascii() or not text.isprintable():
        return None
    if any(char in text for char in " \\%\"'<>^`{|}"):
        return None
    scp = _SCP_LIKE.fullmatch(text)
    if scp:
        host, path = scp[1], scp[2]
    else:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme.lower() not in _SCHEMES or port is not None:
            return None
        user = parts.username
        if parts.password is not None or (user is not None and user != "git"):
            return None
        netloc_host = parts.netloc.rsplit("@", 1)[-1]
        host, path = netloc_host, parts.path
        if ":" in netloc_host:
            return None
    host = host.lower().rstrip(".")
    endpoint = forges.hosts.get(host)
    if endpoint is None:
        return None
    segments = [segment for segment in path.split("/") if segment]
    if any(segment in {".", ".."} for segment in segments):
        return None
    path_parts = repo_path(endpoint.forge, segments)
    if path_parts is None:
        return None
    return RepoRef(endpoint.forge, host, path_parts)


def _strip_git(segment: str) -> str:
    return segment[:-4] if segment.lower().endswith(".git") else segment


def repo_path(forge: Forge, segments: list[str]) -> tuple[str, ...] | None:
    if forge is Forge.GITLAB:
        if "-" in segments:  # /group/project/-/issues: the project ends before "-"
            segments = segments[: segments.index("-")]
        if not 2 <= len(segments) <= MAX_GITLAB_DEPTH:
            return None
        segments = [*segments[:-1], _strip_git(segments[-1])]
        if not all(_GITLAB_SEGMENT.fullmatch(s) and not s.endswith(".") for s in segments):
            return None
        return tuple(segments)
    if len(segments) < 2:
        return None
    owner, name = segments[0], _strip_git(segments[1])
    if forge is Forge.GITHUB:
        if owner.lower() in _GITHUB_NOT_OWNERS or not _GITHUB_OWNER.fullmatch(owner):
            return None
    elif not _REPO_NAME.fullmatch(owner):
        return None
    if not _REPO_NAME.fullmatch(name) or name in {".", ".."}:
        return None
    return (owner, name)


#: project_urls labels that name the source, most telling first (matched lowercased,
#: punctuation and spaces removed, like PyPI's own label normalisation).
_SOURCE_LABELS = (
    "source", "sourcecode", "repository", "code", "github", "gitlab", "git",
    "homepage", "home", "issues", "bugtracker", "tracker", "changelog", "documentation",
)  # fmt: skip


def _label_rank(label: str) -> int:
    folded = re.sub(r"[^a-z]", "", label.lower())
    try:
        return _SOURCE_LABELS.index(folded)
    except ValueError:
        return len(_SOURCE_LABELS)


def candidates_from_project_urls(
    project_urls: Mapping[str, object] | None, home_page: object
) -> list[str]:
    """URL strings from index metadata, in the order they are tried (source links first)."""
    ranked: list[tuple[int, int, str]] = []
    for position, (label, url) in enumerate((project_urls or {}).items()):
        if isinstance(label, str) and isinstance(url, str):
            ranked.append((_label_rank(label), position, url))
    ranked.sort()
    urls = [url for _, _, url in ranked]
    if isinstance(home_page, str):
        urls.append(home_page)
    return urls


def first_repository(candidates: Iterable[object], forges: ForgeTable) -> RepoRef | None:
    """The first candidate that is a well-formed forge URL."""
    for candidate in candidates:
        ref = parse_forge_url(candidate, forges)
        if ref is not None:
            return ref
    return None


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}")


def unrecognised_host(candidates: Iterable[object], forges: ForgeTable) -> str | None:
    """The host of the first URL-looking candidate that is on no configured forge, or None.

    Only to say *why* no repository was found: the host is validated (letters, digits, dots,
    hyphens) before it is shown, and it is never asked anything — an unknown host is never
    guessed to be a GitLab or a Gitea.
    """
    for candidate in candidates:
        if not isinstance(candidate, str) or len(candidate) > MAX_URL_LENGTH:
            continue
        try:
            parts = urlsplit(candidate.strip())
        except ValueError:
            continue
        host = (parts.hostname or "").rstrip(".")
        if parts.scheme.lower() not in _SCHEMES or not _HOST.fullmatch(host):
            continue
        if host not in forges.hosts and parts.path.strip("/"):
            return host
    return None
