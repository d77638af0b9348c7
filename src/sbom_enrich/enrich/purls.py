"""Recognise PyPI components by their purl and tell whether they came from an index."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from ..status.urls import remote_kind

logger = logging.getLogger(__name__)

SKIP_LOCAL = "local"
#: Installed from a remote source, not an index: the name is asked, the file is not the index's.
OFF_INDEX_URL = "url"
OFF_INDEX_GIT = "git"
OFF_INDEX_VCS = "vcs"

# name[@version] with no percent-escape, qualifier, subpath or namespace.
_SIMPLE_PYPI_PURL = re.compile(r"([A-Za-z0-9._-]+)(?:@([A-Za-z0-9._+!-]+))?")

#: URL schemes of version control systems (``git://``; pip spells them ``git+https://``).

# Hosts that serve index files: a download_url there (some generators add one) is still an
# index download, so it does not make the component a direct-URL install.
_INDEX_FILE_HOSTS = frozenset(
    {"files.pythonhosted.org", "pypi.org", "test.pypi.org", "test-files.pythonhosted.org"}
)


def may_name_pypi(purl: str) -> bool:
    """Whether a purl's spelling may name a PyPI package (``pkg:pypi/``, any case): a test
    for the documents whose readers disagree on which of two purls a component has."""
    return "pypi/" in purl or "pypi/" in purl.lower()


def parse_pypi_purl(
    purl: str, strict: bool = False
) -> tuple[str, str | None, dict[str, str]] | None:
    """``(name as written, version, qualifiers)`` for a ``pkg:pypi/`` purl, else ``None``.

    ``strict``: a ``pkg:pypi/`` purl that cannot be parsed raises ValueError (one line) instead
    of counting as no PyPI purl, so the component is reported rather than silently skipped.
    """
    text = purl.strip()
    scheme, colon, rest = text.partition(":")
    # The purl spec has parsers ignore slashes after "pkg:" (pkg://pypi/...), and a URL scheme
    # is case-insensitive (PKG:); the library accepts the first but not the second.
    rest = rest.lstrip("/")
    if not colon or scheme.lower() != "pkg" or rest[:5].lower() != "pypi/":
        return None
    simple = _SIMPLE_PYPI_PURL.fullmatch(rest, 5)
    if simple is not None:
        # Nothing to decode or split off: what the library answers for these, ~40x faster
        # (purl parsing was a third of a 10,000-component run; tests compare both ways).
        return simple[1], simple[2], {}
    # Imported for the first purl the pattern above cannot read (~2 ms of every start).
    from packageurl import PackageURL

    try:
        # One unnormalized parse: qualifiers come back decoded either way, and normalizing
        # would lowercase the name and swap "_" for "-" (display keeps the user's spelling).
        parsed = PackageURL.from_string("pkg:" + rest, normalize_purl=False)
    except ValueError as exc:
        if strict:
            raise ValueError(f"malformed purl: {str(exc)[:200]}") from None
        logger.warning("ignoring malformed purl %r: %s", text[:200], exc)
        return None
    if str(parsed.type).lower() != "pypi" or not parsed.name:
        if strict:
            raise ValueError("malformed purl: no package name after pkg:pypi/")
        return None
    qualifiers = parsed.qualifiers
    if not isinstance(qualifiers, Mapping):  # the library returns a str only when asked to
        qualifiers = {}
    version = unquote(parsed.version) if parsed.version else None
    return (
        unquote(parsed.name),
        version or None,
        {str(key).lower(): str(value) for key, value in qualifiers.items()},
    )


def skip_reason(qualifiers: Mapping[str, str]) -> str | None:
    """Why a PyPI component is not asked on any index (``local``: a file or checkout on this
    disk), from its purl qualifiers; None when it is asked, from an index or by name
    (:func:`off_index_kind`)."""
    return purl_source(qualifiers)[0]


def off_index_kind(qualifiers: Mapping[str, str]) -> str | None:
    """``url``, ``git`` or ``vcs`` when the purl says the component was installed from a
    remote URL or repository, not an index: its name is still asked (as ``check`` asks a
    lock's URL entry); None otherwise."""
    return purl_source(qualifiers)[1]


def purl_source(qualifiers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(skip reason, off-index kind)`` from a PyPI purl's qualifiers; at most one is set.

    Only purl qualifiers decide: ``vcs_url`` (cyclonedx-py writes it for VCS installs),
    a ``download_url`` off the index file hosts, or a ``file_name`` that is a path or URL rather
    than a bare wheel/sdist file name. External references of type ``vcs`` or
    ``distribution`` are not enough on their own: generators attach the project's repository
    and its PyPI page to ordinary index installs. What is on this disk (a path, ``file:``,
    ``git+file:``) is skipped; what came from elsewhere is off the index.
    """
    vcs_url = qualifiers.get("vcs_url")
    if vcs_url:
        kind = remote_kind(vcs_url)
        if kind is None:
            return SKIP_LOCAL, None
        # A vcs_url is a repository however it is spelled ("https://host/repo.git" too).
        return None, kind if kind != OFF_INDEX_URL else OFF_INDEX_VCS
    download_url = qualifiers.get("download_url")
    if download_url:
        parts = urlsplit(download_url)
        if (parts.hostname or "").lower() not in _INDEX_FILE_HOSTS or "+" in parts.scheme:
            kind = remote_kind(download_url)
            return (SKIP_LOCAL, None) if kind is None else (None, kind)
    file_name = qualifiers.get("file_name")
    if file_name and ("/" in file_name or "\\" in file_name):
        kind = remote_kind(file_name)
        if kind is None or (urlsplit(file_name).hostname or "").lower() in _INDEX_FILE_HOSTS:
            return (SKIP_LOCAL, None) if kind is None else (None, None)
        return None, kind
    return None, None
