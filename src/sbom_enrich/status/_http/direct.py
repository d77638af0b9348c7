"""One GET of an index page: straight to PlainHTTPTransport when httpx's client adds nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from .client import NetrcOverTLS
from .limits import (
    AnswerRefused,
    check_declared_length,
    check_head,
    decode_whole,
    read_body,
)
from .plain import QUEUED_EXTENSION, PlainHTTPTransport, checked_headers

#: httpx's own logger: an index GET that skips httpx still logs its "HTTP Request:" line there.
httpx_logger = logging.getLogger("httpx")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: A path httpx sends exactly as written: no percent sign, query, fragment or character it
#: would quote, no "." or ".." segment it would remove (project pages: ``/simple/<name>/``).
_VERBATIM_PATH = re.compile(r"(?:/(?!\.\.?(?:/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]*)+")
#: Origins (spellings of them) whose route is remembered; redirects may add a few.
MAX_ROUTES = 64


class HeaderLookup(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """An index's answer to one GET: status, headers, and the body decoded and bounded
    (empty for a redirect, whose body is never read)."""

    status_code: int
    headers: HeaderLookup
    body: bytes
    #: HTTP/1.x with neither a length nor chunks: the body ended with the connection, so a
    #: cut looks like an end (RFC 9112 section 6.3); only the page itself can tell.
    framed_by_close: bool = False


def framed_by_close(headers: HeaderLookup) -> bool:
    """Whether an HTTP/1.x answer with ``headers`` is framed by the end of the connection."""
    if headers.get("Content-Length") is not None:
        return False
    return "chunked" not in (headers.get("Transfer-Encoding") or "").lower()


class AnswerHeaders:
    """Response headers as httpx.Headers reads them (case-insensitive; repeats joined with
    ", "; values decoded as ASCII, else UTF-8, else Latin-1, judged over all of them), without
    building one per answer: a dict by name on the first lookup, one decode per value read."""

    __slots__ = ("_by_name", "_encoding", "_items")

    def __init__(self, items: list[tuple[bytes, bytes]]) -> None:
        self._items = items  # (name as sent, value), as h11's raw_items() gives them
        self._by_name: dict[bytes, list[bytes]] | None = None
        self._encoding: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        by_name = self._by_name
        if by_name is None:
            by_name = self._by_name = {}
            for name, value in self._items:
                name = name.lower()
                if name in by_name:
                    by_name[name].append(value)
                else:
                    by_name[name] = [value]
        values = by_name.get(key.lower().encode("ascii"))
        if values is None:
            return default
        encoding = self._encoding or self._judge_encoding()
        if len(values) == 1:
            return values[0].decode(encoding)
        return ", ".join(value.decode(encoding) for value in values)

    def _judge_encoding(self) -> str:
        # Joined by a line feed (never in a value, and no part of a UTF-8 sequence): valid
        # as a whole exactly when every value is.
        joined = b"\n".join([value for _, value in self._items])
        for encoding in ("ascii", "utf-8"):
            try:
                joined.decode(encoding)
            except UnicodeDecodeError:
                continue
            self._encoding = encoding
            return encoding
        self._encoding = "iso-8859-1"
        return self._encoding


@dataclass(frozen=True, slots=True)
class _Route:
    """Where GETs to one origin go without httpx's client: the transport and what to send."""

    transport: PlainHTTPTransport
    key: tuple[str, str, int]
    shown: str  # the origin as httpx prints it (its log line)
    host: bytes
    auth: dict[tuple[str, str] | None, bytes | None]  # credentials -> Authorization value
    #: The whole header block of a GET without If-None-Match, per Authorization value.
    blocks: dict[bytes | None, Sequence[tuple[bytes, bytes]]]


class IndexGetter:
    """GETs index pages for the status client, one hop at a time (it follows redirects).

    httpx's client spends ~0.1 ms a lookup on what an index GET does not need: a ``Request``
    with its URL parsed, the auth and redirect generators, a streamed ``Response``. When the
    client would hand the request to :class:`PlainHTTPTransport` anyway (no proxy for the
    origin, no event hooks, auth none, ``~/.netrc`` or the index URL's own credentials, a
    path httpx sends as written), the GET goes straight to it with the same headers, the same
    Authorization, timeouts and queue accounting, and the same bounds on the answer; anything
    else goes through httpx as before.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        headers: httpx.Headers,
        timeouts: dict[str, float | None],
        max_bytes: int,
    ) -> None:
        self.http = http
        self._headers = headers  # the client's own with the lookup's Accept on top
        self._raw_headers = headers.raw
        self._timeouts = timeouts
        self._max_bytes = max_bytes
        self._routes: dict[str, _Route | None] = {}

    async def get(
        self,
        url: str,
        etag: str | None,
        credentials: tuple[str, str] | None,
        on_queued: Callable[[float], None] | None,
    ) -> Answer:
        """GET ``url`` (no credentials in it) with ``If-None-Match: etag``; never follows a
        redirect. Raises httpx's errors and :class:`AnswerRefused` as the httpx path does."""
        prefix, path = _split(url)
        route = self._route(prefix) if path is not None else None
        if route is None or self.http.is_closed:
            return await self._through_httpx(url, etag, credentials, on_queued)
        assert path is not None
        authorization = self._authorization(route, prefix, credentials)
        headers = route.blocks.get(authorization) if etag is None else None
        if headers is None:
            block = [(b"Host", route.host), *self._raw_headers]
            if etag is not None:
                block.append((b"If-None-Match", etag.encode("ascii")))  # as httpx.Headers does
            if authorization is not None:
                block.append((b"Authorization", authorization))
            headers = block
            if etag is None and len(route.blocks) < 4:
                headers = route.blocks[authorization] = checked_headers(block)
        response, body = await route.transport.send_bodiless(
            "GET", route.key, path.encode("ascii"), headers, self._timeouts, on_queued
        )
        status = response.status_code
        if httpx_logger.isEnabledFor(logging.INFO):
            httpx_logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                "GET",
                route.shown + path,
                "HTTP/1.1",
                status,
                response.reason.decode("ascii", errors="ignore"),
            )
        found = AnswerHeaders(response.headers.raw_items())
        if status in REDIRECT_STATUSES:
            location = found.get("Location")
            if location is not None:
                try:  # as httpx's client reads a redirect, even one it will not follow
                    httpx.URL(location)
                except httpx.InvalidURL as error:
                    raise httpx.RemoteProtocolError(
                        f"Invalid URL in location header: {error}."
                    ) from None
            return Answer(status, found, b"")
        check_declared_length(found.get("Content-Length"), self._max_bytes)
        body = decode_whole(body, found.get("Content-Encoding", ""), self._max_bytes)
        return Answer(status, found, body, framed_by_close(found))

    async def _through_httpx(
        self,
        url: str,
        etag: str | None,
        credentials: tuple[str, str] | None,
        on_queued: Callable[[float], None] | None,
    ) -> Answer:
        headers = self._headers
        if etag is not None:
            headers = headers.copy()
            headers.update({"If-None-Match": etag})
        # httpx.Request itself, not build_request: that merges the client's headers, cookies
        # and timeout into every request; here they are merged once per client. The URL is
        # absolute (no base_url) and no cookie is ever kept.
        request = httpx.Request(
            "GET",
            url,
            headers=headers,
            extensions={QUEUED_EXTENSION: on_queued, "timeout": self._timeouts},
        )
        # None would switch off the client's own auth (~/.netrc); the default keeps it.
        auth: Any = (
            httpx.USE_CLIENT_DEFAULT if credentials is None else httpx.BasicAuth(*credentials)
        )
        # Never httpx's own redirect handling (the composed client is made to follow them,
        # for other sources): it follows 20 hops anywhere before our rule sees one.
        response = await self.http.send(request, auth=auth, stream=True, follow_redirects=False)
        if response.status_code in REDIRECT_STATUSES:
            await response.aclose()
            return Answer(response.status_code, response.headers, b"")
        try:
            check_head(response, self._max_bytes)
        except AnswerRefused:
            await response.aclose()
            raise
        return Answer(
            response.status_code,
            response.headers,
            await read_body(response, self._max_bytes),
            response.http_version != "HTTP/2" and framed_by_close(response.headers),
        )

    def _route(self, prefix: str) -> _Route | None:
        if prefix in self._routes:
            return self._routes[prefix]
        route = self._find_route(prefix)
        if len(self._routes) < MAX_ROUTES:
            self._routes[prefix] = route
        return route

    def _find_route(self, prefix: str) -> _Route | None:
        direct_transport = getattr(self.http, "direct_transport", None)
        if direct_transport is None or "@" in prefix:  # credentials in a redirect's URL
            return None
        try:
            url = httpx.URL(prefix + "/")
        except (httpx.InvalidURL, ValueError):
            return None
        transport = direct_transport(url)
        if not isinstance(transport, PlainHTTPTransport) or self.http.event_hooks.get("request"):
            return None
        if self.http.event_hooks.get("response") or not _plain_auth(self.http.auth):
            return None
        scheme = url.scheme
        key = (scheme, url.host, url.port or (80 if scheme == "http" else 443))
        return _Route(transport, key, str(url)[:-1], url.netloc, {}, {})

    def _authorization(
        self, route: _Route, prefix: str, credentials: tuple[str, str] | None
    ) -> bytes | None:
        """The Authorization httpx would add: the URL's credentials, else the client's auth
        (``~/.netrc``, whose rule looks at the origin alone), worked out once per origin."""
        if credentials in route.auth:
            return route.auth[credentials]
        auth = self.http.auth if credentials is None else httpx.BasicAuth(*credentials)
        value: bytes | None = None
        if auth is not None:
            flow = auth.sync_auth_flow(httpx.Request("GET", prefix + "/"))
            value = dict(next(flow).headers.raw).get(b"Authorization")
            flow.close()
        if len(route.auth) < 4:
            route.auth[credentials] = value
        return value


def _plain_auth(auth: httpx.Auth | None) -> bool:
    """Whether ``auth`` adds at most an Authorization that depends on the origin alone."""
    return auth is None or type(auth) in (NetrcOverTLS, httpx.NetRCAuth, httpx.BasicAuth)


def _split(url: str) -> tuple[str, str | None]:
    """(``scheme://authority``, the path when httpx would send it as written, else None)."""
    start = url.find("://")
    slash = url.find("/", start + 3) if start > 0 else -1
    if slash < 0:
        return url, None
    path = url[slash:]
    return url[:slash], path if _VERBATIM_PATH.fullmatch(path) else None
