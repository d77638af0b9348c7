"""build_http_client: environment proxies and NO_PROXY, cookies, and which transport a URL takes."""

from __future__ import annotations

import asyncio
import importlib.util
import json

import httpx
import pytest
from raw_http import Serve, ok, reply, serve

from indexserver import IndexServer
from listening import reserve_port
from sbom_enrich.status._http.client import build_http_client, environment_proxies
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.settings import ClientSettings

__all__ = ["serve"]  # the fixture, used by name

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, {}),
        (
            {"HTTP_PROXY": "proxy:3128", "HTTPS_PROXY": "http://secure:3128"},
            {"http://": "http://proxy:3128", "https://": "http://secure:3128"},
        ),
        ({"ALL_PROXY": "socks5://s:1080"}, {"all://": "socks5://s:1080"}),
        (
            {
                "HTTPS_PROXY": "http://p:1",
                "NO_PROXY": "localhost, 10.0.0.1,::1,.corp.example,pypi.internal,http://x.y",
            },
            {
                "https://": "http://p:1",
                "all://localhost": None,
                "all://10.0.0.1": None,
                "all://[::1]": None,
                "all://*.corp.example": None,
                "all://*pypi.internal": None,
                "http://x.y": None,
            },
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "a.example,*"}, {}),
    ],
)
def test_environment_proxies_follow_httpx_trust_env(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: dict[str, object]
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert environment_proxies() == expected


async def test_http_proxy_from_the_environment_is_used(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is only reachable through the proxy (its host does not even resolve)."""
    page = {"meta": {"api-version": "1.4"}, "name": "nose", "files": []}
    page["project-status"] = {"status": "deprecated", "reason": "via the proxy"}

    async def proxy(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, _h: bytes) -> bool:
        body = json.dumps(page).encode()
        await reply(writer, ok(body, "Content-Type: application/vnd.pypi.simple.v1+json"))
        return True

    server = await serve(proxy)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    settings = ClientSettings(index_url="http://index.invalid/simple/", use_cache=False)
    async with build_http_client(settings) as http:
        record = await StatusClient(http=http, cache=None, settings=settings).lookup("nose")
    assert record.status is ProjectStatus.DEPRECATED and record.reason == "via the proxy"
    # Proxies get the absolute URL as the request target.
    assert server.requests[0].startswith(b"GET http://index.invalid/simple/nose/ HTTP/1.1\r\n")


async def test_no_proxy_goes_direct_and_proxy_failures_are_values(
    index_server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with reserve_port() as held:  # refused, and nobody else's while the lookup asks it
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{held.getsockname()[1]}")
        settings = ClientSettings(index_url=index_server.url, use_cache=False, retries=0)
        async with build_http_client(settings) as http:
            record = await StatusClient(http=http, cache=None, settings=settings).lookup("nose")
    assert record.status is ProjectStatus.UNKNOWN and "ConnectError" in (record.error or "")
    assert index_server.stats.requests == 0  # it went to the (dead) proxy, not the index

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with build_http_client(settings) as http:
        record = await StatusClient(http=http, cache=None, settings=settings).lookup("nose")
    assert record.status is ProjectStatus.DEPRECATED
    assert index_server.stats.requests == 1


async def test_cookies_set_by_the_index_are_never_kept(serve: Serve) -> None:
    """No index page needs a cookie; a jar an index can fill is a flood sent back each time."""
    seen: list[bytes] = []

    async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        seen.append(head)
        cookie = "Set-Cookie: session=abc; Path=/" if len(seen) == 2 else "X-No-Cookie: 1"
        await reply(writer, ok(b"{}", cookie))
        return True

    server = await serve(answer)
    settings = ClientSettings(index_url=server.url + "/simple/", use_cache=False)
    async with build_http_client(settings) as http:
        for _ in range(3):
            await http.get(server.url + "/simple/x/")
        assert dict(http.cookies) == {}
    assert len(seen) == 3 and not any(b"Cookie:" in head for head in seen)


async def test_tls_and_proxied_urls_never_use_the_plain_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    settings = ClientSettings(index_url="https://index.invalid/simple/", use_cache=False)
    async with build_http_client(settings) as http:
        direct = http._transport_for_url(httpx.URL("http://127.0.0.1/"))  # noqa: SLF001
        proxied = http._transport_for_url(httpx.URL("https://index.invalid/"))  # noqa: SLF001
    assert type(direct).__name__ == "PlainHTTPTransport"
    assert proxied is not direct


@pytest.mark.parametrize(
    ("variable", "proxy", "says"),
    [
        ("HTTP_PROXY", "ftp://user:secret@127.0.0.1:9", "Unknown scheme"),
        pytest.param(
            "ALL_PROXY",
            "socks5://user:secret@127.0.0.1:9",
            "socksio",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("socksio") is not None, reason="socksio is installed"
            ),
        ),
    ],
)
async def test_a_proxy_httpx_cannot_use_makes_lookups_unknown_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, variable: str, proxy: str, says: str
) -> None:
    monkeypatch.setenv(variable, proxy)
    settings = ClientSettings(index_url="http://index.invalid/simple/", use_cache=False, retries=0)
    async with build_http_client(settings) as http:
        record = await StatusClient(http=http, cache=None, settings=settings).lookup("nose")
    assert record.status is ProjectStatus.UNKNOWN
    assert "ProxyError" in (record.error or "") and says in (record.error or "")
    assert "secret" not in (record.error or "")  # proxy credentials are never shown
