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


#: "scheme://authority", the part of a URL whose spelling RFC 3986 lets us normalise.
_SCHEME_AUTHORITY = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
#: A port as digits; longer than five is no port at all (and int() of thousands of digits raises).
_PORT = re.compile(r"[0-9]{1,5}")


def normalize_index_url(url: str) -> str:
    """The index root in one spelling, with exactly one trailing slash.

    RFC 3986 §6.2.2-6.2.3: scheme and host in lower case, a default or empty port dropped
    (``HTTP://LocalHost:80/simple`` is ``http://localhost/simple/``), so another spelling of an
    index is not another index (a second watched item, a second cache entry). The user info
    (credentials are case-sensitive) and the path (a server may tell case apart) are kept as
    written. Never raises: it runs on untrusted URLs (purl qualifiers, lock files); a URL
    whose authority cannot be read is left as written.
    """
    url = url.strip()
    match = _SCHEME_AUTHORITY.match(url)
    if match is not None:
        scheme = match["scheme"].lower()
        authority = _normal_authority(scheme, match["authority"])
        url = f"{scheme}://{authority}{url[match.end() :]}"
    return url.rstrip("/") + "/"


def _normal_authority(scheme: str, authority: str) -> str:
    userinfo, at, host_port = authority.rpartition("@")  # passwords may hold a raw "@"
    if host_port.startswith("["):
        address, bracket, port_part = host_port[1:].partition("]")
        if not bracket:
            return authority
        # An IPv6 zone id ("%25eth0") names an interface as the system spells it.
        ip, percent, zone = address.partition("%")
        host = f"[{ip.lower()}{percent}{zone}]"
    else:
        name, colon, port = host_port.partition(":")
        host, port_part = name.lower(), f"{colon}{port}"
    port = port_part.removeprefix(":")
    if not port:
        return f"{userinfo}{at}{host}"  # no port, or an empty one ("host:")
    if not port_part.startswith(":") or not _PORT.fullmatch(port):
        return authority  # not a port: such a URL is never asked (settings refuse it)
    number = str(int(port))  # "0080" is port 80
    shown_port = "" if number == _DEFAULT_PORTS.get(scheme) else f":{number}"
    return f"{userinfo}{at}{host}{shown_port}"


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


#: A scp-style git location (``git@github.com:org/repo.git``): remote, though it has no scheme.
_SCP_LIKE = re.compile(r"[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!//)")
_VCS_SCHEMES = frozenset({"git", "hg", "svn", "bzr"})


def remote_kind(url: str) -> str | None:
    """Where a package is installed from, when not from an index: ``git``, ``vcs`` (hg, svn,
    bzr) or ``url`` for a location elsewhere; None for one on this disk (a path, ``file:``,
    ``git+file:``, a Windows drive letter ``C:\\``).

    One reading for every front end (a lock's URL or git source, a direct reference
    ``name @ url``, an SBOM purl's ``vcs_url``/``download_url``): what is remote is asked by
    name on the index, what is local skipped, and ``check`` and ``enrich`` must agree.
    """
    from urllib.parse import urlsplit

    text = url.strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:  # an invalid IPv6 literal: no location to fetch from
        return None
    if not scheme:
        return "git" if _SCP_LIKE.match(text) else None
    vcs, plus, transport = scheme.partition("+")
    if len(scheme) <= 1 or (transport or scheme) == "file":
        return None
    if plus or vcs in _VCS_SCHEMES:  # git+https://, hg+ssh:// (pip's spelling), git://
        return "git" if vcs == "git" else "vcs"
    return "url"
