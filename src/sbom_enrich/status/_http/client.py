"""The shared httpx client: adaptive HTTP/1.1 (plain or TLS) for index pages, httpcore else."""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any
from urllib.request import getproxies

import httpx

from ... import PROJECT_URL, __version__
from ..settings import ClientSettings
from ..urls import is_loopback, redact_url
from .limits import ACCEPT_ENCODING
from .plain import PlainHTTPTransport

logger = logging.getLogger(__name__)

USER_AGENT = f"sbom-enrich/{__version__} (+{PROJECT_URL}) httpx/{httpx.__version__}"

#: Connections per httpcore pool. httpcore rescans every connection of a pool for every
#: request it places, so one pool of 64 connections costs ~4x the CPU of 8 pools of 8
#: (bench/bench_enrich.py); the shards stay behind one AsyncClient.
CONNECTIONS_PER_POOL = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    """Sends each request through the least busy of several small connection pools.

    The pools are made by ``make_shards`` on the first request: a run answered wholly from
    the cache then never imports httpcore nor loads the CA bundle (~60 ms of a warm run).
    """

    def __init__(self, make_shards: Callable[[], list[httpx.AsyncBaseTransport]]) -> None:
        self._make_shards = make_shards
        self._shards: list[httpx.AsyncBaseTransport] | None = None
        self._busy: list[int] = []

    @property
    def built(self) -> bool:
        return self._shards is not None

    def _ready_shards(self) -> list[httpx.AsyncBaseTransport]:
        if self._shards is None:
            shards = self._make_shards()
            if not shards:
                raise ValueError("ShardedTransport needs at least one shard")
            self._shards, self._busy = shards, [0] * len(shards)
        return self._shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        shards = self._ready_shards()
        index = self._busy.index(min(self._busy))
        self._busy[index] += 1
        try:
            return await shards[index].handle_async_request(request)
        finally:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards or ():
            await shard.aclose()


class NetrcOverTLS(httpx.NetRCAuth):
    """``~/.netrc`` credentials, sent in clear (plain http) only to the configured index's
    origin or to a loopback address; the ``default`` entry only to the configured index's host.

    ``.netrc`` names hosts, not schemes or ports: an ``http://`` index on the same host as the
    configured ``https://`` one (a lock file may name one) would otherwise get the password in
    clear over the network. pip and uv send it; a plain-http index the user configured still
    gets it, as they chose that. The ``default`` entry answers for every host: httpx sent it to
    any index a lock file names (a pull request's ``https://attacker.example/simple``).
    """

    def __init__(self, file: str, configured_index: str) -> None:
        super().__init__(file)
        self._configured = httpx.URL(configured_index)

    def _may_send(self, url: httpx.URL) -> bool:
        if url.host != self._configured.host and url.host not in self._netrc_info.hosts:
            return False  # only the default entry would answer
        if url.scheme == "https":
            return True
        if (url.scheme, url.host, url.port) == (
            self._configured.scheme,
            self._configured.host,
            self._configured.port,
        ):
            return True
        return is_loopback(url.host)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._may_send(request.url):
            yield from super().auth_flow(request)
        else:
            yield request


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing an index sets.

    Index pages are public or authenticated by the URL's user part or ~/.netrc; none needs a
    cookie. A jar an index can fill is state it controls: a cookie flood grew the ``Cookie``
    header sent back on every request to 579 KB (60 lookups took 28.6 s instead of 0.85 s).
    Not keeping cookies also spares httpx's urllib bookkeeping (~0.08 ms a response).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class IndexHTTPClient(httpx.AsyncClient):
    """httpx.AsyncClient that never keeps cookies (see :class:`_NoCookies`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = kwargs.get("cookies") or {}

    @property
    def cookies(self) -> httpx.Cookies:
        return self._index_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._index_cookies = _NoCookies(cookies)

    def direct_transport(self, url: httpx.URL) -> PlainHTTPTransport | None:
        """The :class:`PlainHTTPTransport` a bodiless request to ``url`` goes to (no proxy
        is mounted for it, and it takes the scheme), else None. ``direct.IndexGetter`` sends
        index GETs to it without an httpx.Request when nothing else of the client applies."""
        transport = self._transport_for_url(url)
        if isinstance(transport, PlainHTTPTransport) and transport.takes(url.scheme):
            return transport
        return None


class UnusableProxy(httpx.AsyncBaseTransport):
    """Stands for a proxy from the environment that httpx cannot use: each request through it
    fails with the reason, so a lookup says why (``unknown``) instead of the run crashing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ProxyError(self.reason)


def environment_proxies() -> dict[str, str | None]:
    """httpx mount patterns for ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``, as ``trust_env``.

    httpx reads these only when the client builds its own transport; ours is custom, so the
    client gets them as mounts (pattern → proxy URL, or None: go direct). NO_PROXY follows
    curl: ``*`` turns proxies off, a name also matches its subdomains, IPs match exactly.
    """
    found = getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        proxy = found.get(scheme)
        if proxy:
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for host in (entry.strip() for entry in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
            continue
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pattern = host if host.lower() == "localhost" else f"*{host}"
        else:
            pattern = f"[{address}]" if address.version == 6 else str(address)
        mounts[f"all://{pattern}"] = None
    return mounts


#: The index context made by prepare_index_tls, by the CA settings it was made with.
_prepared: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def _ca_settings() -> tuple[str | None, str | None]:
    return os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")


def index_tls_context() -> ssl.SSLContext:
    """The SSL context for index pages over our HTTP/1.1 transport: httpx's (certifi's CAs,
    or SSL_CERT_FILE/SSL_CERT_DIR), ALPN ``http/1.1`` — its own: httpcore sets ALPN h2 on the
    one it is given. The one :func:`prepare_index_tls` made, if the CA settings still match."""
    prepared = _prepared.get(_ca_settings())
    if prepared is not None:
        return prepared
    context = httpx.create_ssl_context(trust_env=True)
    context.set_alpn_protocols(["http/1.1"])
    return context


def prepare_index_tls() -> None:
    """Make the index SSL context now, for this process and the processes it forks.

    Loading certifi's CA bundle takes ~25 ms of CPU (the system store ~38 ms); lookup worker
    processes forked after this start with it loaded instead of each loading it again. A
    context is safe to use across a fork made before any connection or thread.
    """
    key = _ca_settings()
    if key not in _prepared:
        _prepared.clear()
        _prepared[key] = index_tls_context()


def build_http_client(
    settings: ClientSettings, netrc_file: Path | None = None
) -> httpx.AsyncClient:
    """The one shared HTTP client: lean HTTP/1.1 with adaptive connections, polite.

    Index requests (GET/HEAD) go to http and https indexes alike over
    :class:`PlainHTTPTransport` (TLS with ALPN ``http/1.1``). Measured on a real nginx
    offering HTTP/2 (bench/bench_vs_uv.py, 1,000 projects, 50 ms): 1.6 s of CPU against
    2.4-2.5 s through httpcore's HTTP/2 on 16 connections, and its connection count adapts
    to what the server takes. Proxies from the environment, and any other request, go
    through sharded httpcore pools (HTTP/2 when offered). Pools are built on first use.
    """
    auth: httpx.Auth | None = None
    netrc_path = netrc_file if netrc_file is not None else Path.home() / ".netrc"
    if netrc_path.is_file() and "@" not in settings.index_url.split("/")[2]:
        try:
            auth = NetrcOverTLS(str(netrc_path), settings.index_url)
        except Exception as error:  # a broken ~/.netrc must not stop the run
            logger.warning("ignoring %s: %s", netrc_path, error)
    # No pool timeout: a lookup queued for a connection is not yet started (its own timeout
    # runs from when it gets one); the queue moves as fast as the index answers.
    timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0), pool=None)
    try:
        import h2  # noqa: F401

        http2 = True
    except ImportError:
        http2 = False
    shard_count = max(1, -(-settings.concurrency // CONNECTIONS_PER_POOL))
    per_pool = -(-settings.concurrency // shard_count)
    limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
    ssl_contexts: list[Any] = []

    def ssl_context() -> Any:
        # One SSL context for all pools: loading the CA bundle costs ~30 ms each time.
        if not ssl_contexts:
            ssl_contexts.append(httpx.create_ssl_context(trust_env=True))
        return ssl_contexts[0]

    def pools(proxy: str | None) -> Callable[[], list[httpx.AsyncBaseTransport]]:
        def make() -> list[httpx.AsyncBaseTransport]:
            try:
                return [
                    httpx.AsyncHTTPTransport(
                        verify=ssl_context(),
                        http2=http2,
                        limits=limits,
                        trust_env=True,
                        proxy=proxy,
                    )
                    for _ in range(shard_count if proxy is None else 1)
                ]
            except (ImportError, ValueError) as error:  # SOCKS without socksio, odd schemes
                if proxy is None:
                    raise
                return [UnusableProxy(f"proxy {redact_url(proxy)} cannot be used: {error}")]

        return make

    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        pattern: None if proxy is None else ShardedTransport(pools(proxy))
        for pattern, proxy in environment_proxies().items()
    }

    direct = PlainHTTPTransport(
        ShardedTransport(pools(None)),
        limit=settings.concurrency,
        max_body_bytes=settings.max_page_bytes,
        tls=index_tls_context,
    )
    return IndexHTTPClient(
        transport=direct,
        mounts=mounts,
        http2=http2,
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        auth=auth,
        # Proxies come in as mounts above (httpx skips the environment's when given a
        # transport); CA bundles from SSL_CERT_FILE/SSL_CERT_DIR through ssl_context().
        trust_env=True,
    )
