"""Index URLs: normalising, joining project pages, and removing credentials before display."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

from .untrusted import MAX_URL_LENGTH, clean_text

PYPI_SIMPLE_URL = "https://pypi.org/simple/"


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine (plain http to it stays
    here: the one rule for passwords, tokens and listening without authentication)."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


# "scheme://" (or "//"), then the authority up to the path, query or fragment. A scheme-less
# "user:token@host/simple" is read as all authority, so its credentials are removed too.
_AUTHORITY = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.-]*://|//)?(?P<authority>[^/?#]*)")
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")


def normalize_index_url(url: str) -> str:
    """The index root with exactly one trailing slash."""
    url = url.strip()
    return url.rstrip("/") + "/"


def project_page_url(index_url: str, canonical_name: str) -> str:
    """``{index}/{normalized-name}/`` (PEP 503: trailing slash)."""
    return f"{normalize_index_url(index_url)}{canonical_name}/"


def redact_url(url: str) -> str:
    """The URL without user name, password, query or fragment: safe to print, log and write
    into SBOMs.

    An index URL never needs a query (settings refuse one), but a purl ``repository_url`` may
    carry one, and a query is where tokens go: it is shown as ``?…`` so the URL still reads
    as different from the bare one. Never raises: it runs on untrusted URLs (purl qualifiers,
    settings) while reporting them.
    """
    # Parsed by hand rather than with urlsplit(), which raises on a bad port or an unclosed
    # IPv6 bracket; slicing also keeps the host, brackets and zone id exactly as written.
    match = _AUTHORITY.match(url)
    if match is None:  # pragma: no cover - the pattern matches every string
        return url
    rest = url[match.end() :]
    cut = _QUERY_OR_FRAGMENT.search(rest)
    if cut is not None:
        rest = f"{rest[: cut.start()]}{cut[0]}…"
    _userinfo, at, host = match["authority"].rpartition("@")  # passwords may hold a raw "@"
    return f"{match['prefix'] or ''}{host if at else match['authority']}{rest}"


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without credentials, (user, password) percent-decoded, or None when it had none).

    Requests go out to the bare URL with the credentials as HTTP Basic auth, so that nothing
    which logs request URLs (httpx logs each one at INFO) can print them.
    """
    match = _AUTHORITY.match(url)
    userinfo, at, _host = match["authority"].rpartition("@") if match else ("", "", "")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    return redact_url(url), (unquote(user), unquote(password))


def project_page_link(index_url: str, canonical_name: str) -> str:
    """A human page for the project: pypi.org's project page for PyPI, else the simple page."""
    # A record's index URL may be a purl's (any text at all): a link is shown, so it is cleaned.
    root = clean_text(redact_url(normalize_index_url(index_url)), MAX_URL_LENGTH)
    if root in {PYPI_SIMPLE_URL, "https://pypi.org/simple/"}:
        return f"https://pypi.org/project/{canonical_name}/"
    return project_page_url(root, canonical_name)


def redact_purl(text: str | None) -> str | None:
    """``text`` (a purl, or a bom-ref that is one) with any qualifier URL redacted.

    ``repository_url=https://user:token@host/simple`` is where a purl carries credentials;
    a report (SARIF goes to code scanning) must not repeat them. Text with no credentials or
    query in a qualifier URL is returned exactly as written.
    """
    if not text or "?" not in text:
        return text
    head, _, rest = text.partition("?")
    qualifiers, hash_mark, subpath = rest.partition("#")
    pairs = []
    for pair in qualifiers.split("&"):
        key, equals, value = pair.partition("=")
        url = unquote(value)
        if "://" in url and redact_url(url) != url:
            value = redact_url(url)  # for people and tools that display it, not to resolve
        pairs.append(f"{key}{equals}{value}")
    return f"{head}?{'&'.join(pairs)}{hash_mark}{subpath}"
