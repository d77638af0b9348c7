"""Index URLs: normalising, joining project pages, and removing credentials before display."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

PYPI_SIMPLE_URL = "https://pypi.org/simple/"


def normalize_index_url(url: str) -> str:
    """The index root with exactly one trailing slash."""
    url = url.strip()
    return url.rstrip("/") + "/"


def project_page_url(index_url: str, canonical_name: str) -> str:
    """``{index}/{normalized-name}/`` (PEP 503: trailing slash)."""
    return f"{normalize_index_url(index_url)}{canonical_name}/"


def redact_url(url: str) -> str:
    """The URL without user name or password, safe to print, log and write into SBOMs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def project_page_link(index_url: str, canonical_name: str) -> str:
    """A human page for the project: pypi.org's project page for PyPI, else the simple page."""
    root = redact_url(normalize_index_url(index_url))
    if root in {PYPI_SIMPLE_URL, "https://pypi.org/simple/"}:
        return f"https://pypi.org/project/{canonical_name}/"
    return project_page_url(root, canonical_name)
