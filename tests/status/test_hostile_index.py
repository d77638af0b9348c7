"""What a hostile or broken index can do to one lookup: at most make it unknown, with a reason."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.compose import open_status_client
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.settings import ClientSettings

#: The transport on both event loops the CLI may run (tests/conftest.py).
pytestmark = pytest.mark.both_loops

INDEX = "https://index.test/simple/"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def page(name: str, status: str = "quarantined") -> bytes:
    return json.dumps(
        {
            "meta": {"api-version": "1.4"},
            "name": name,
            "files": [],
            "versions": [],
            "project-status": {"status": status},
        }
    ).encode()


Handler = Callable[[httpx.Request], httpx.Response]


async def ask(
    handler: Handler, *names: str, **options: object
) -> tuple[list[StatusRecord], list[str]]:
    """Look ``names`` up on an index answering with ``handler``; the records and URLs asked."""
    asked: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return handler(request)

    settings = ClientSettings(index_url=INDEX, use_cache=False, retries=0, **options)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        records = [record async for record in client.lookup_many(list(names))]
        await client.aclose()
    return sorted(records, key=lambda r: r.name), asked


def redirect_to(location: str, status: int = 302) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/good/"):
            return httpx.Response(200, headers={"Content-Type": JSON_TYPE}, content=page("good"))
        return httpx.Response(status, headers={"Location": location})

    return handler


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        # pypiserver sends a name it lacks to pypi.org: never credit that answer to our index.
        ("https://pypi.org/simple/private-thing/", "redirect to another origin refused"),
        ("http://index.test/simple/private-thing/", "redirect from https to http refused"),
        ("https://index.test:8443/simple/private-thing/", "redirect to another origin refused"),
        ("", "without a Location"),
        # httpx itself refuses this one while reading the response (RemoteProtocolError).
        ("http://[::1", "Invalid URL in location header"),
        ("/simple/private-thing/", "more than 3 redirects"),  # a loop on one origin
    ],
)
async def test_a_bad_redirect_is_unknown_for_that_lookup_only(location: str, reason: str) -> None:
    records, asked = await ask(redirect_to(location), "private-thing", "good")
    good, bad = records
    assert good.name == "good" and good.status is ProjectStatus.QUARANTINED  # the run goes on
    assert bad.status is ProjectStatus.UNKNOWN
    assert bad.error and reason in bad.error, bad.error
    assert all(url.startswith("https://index.test/") for url in asked)  # never left the index
    assert len(asked) <= 2 + 3  # the loop stops after three hops


async def test_a_redirect_within_the_index_is_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/simple/Some.Thing/":
            return httpx.Response(301, headers={"Location": "/simple/some-thing/"})
        return httpx.Response(200, headers={"Content-Type": JSON_TYPE}, content=page("some-thing"))

    settings = ClientSettings(index_url=INDEX, use_cache=False, retries=0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = StatusClient(http=http, cache=None, settings=settings)
        record = await client.lookup("some-thing")
    assert record.status is ProjectStatus.QUARANTINED


async def test_a_redirect_to_another_allowed_index_is_followed() -> None:
    other = "https://mirror.test/simple/"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "index.test":
            return httpx.Response(302, headers={"Location": f"{other}thing/"})
        return httpx.Response(200, headers={"Content-Type": JSON_TYPE}, content=page("thing"))

    records, asked = await ask(handler, "thing", allowed_indexes=(other,))
    assert records[0].status is ProjectStatus.QUARANTINED
    assert asked == [f"{INDEX}thing/", f"{other}thing/"]


async def test_a_body_labelled_gzip_that_is_not_is_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/good/"):
            body = gzip.compress(page("good"))
        else:
            body = b"this is not gzip"
        return httpx.Response(
            200, headers={"Content-Type": JSON_TYPE, "Content-Encoding": "gzip"}, content=body
        )

    records, _ = await ask(handler, "liar", "good")
    good, liar = records
    assert good.status is ProjectStatus.QUARANTINED
    assert liar.status is ProjectStatus.UNKNOWN and liar.error
    assert "DecodingError" in liar.error


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (JSON_TYPE, json.dumps({"meta": {"api-version": "1.4"}, "projects": []}).encode()),
        (JSON_TYPE, page("someone-else", status="active")),
        ("text/html", b'<meta name="pypi:repository-version" content="1.4"><a href="/a/">a</a>'),
    ],
    ids=["json-root", "json-other-name", "html-root"],
)
async def test_a_page_that_is_not_the_projects_own_is_never_its_status(
    content_type: str, body: bytes
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/good/"):
            return httpx.Response(200, headers={"Content-Type": JSON_TYPE}, content=page("good"))
        return httpx.Response(200, headers={"Content-Type": content_type}, content=body)

    records, _ = await ask(handler, "evil-pkg", "good")
    evil, good = records
    assert good.status is ProjectStatus.QUARANTINED
    assert evil.status is ProjectStatus.UNKNOWN and evil.error, evil


async def test_deeply_nested_json_is_unknown_for_that_lookup_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/good/"):
            return httpx.Response(200, headers={"Content-Type": JSON_TYPE}, content=page("good"))
        body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        return httpx.Response(200, headers={"Content-Type": JSON_TYPE}, content=body)

    records, _ = await ask(handler, "deep", "good")
    deep, good = records
    assert good.status is ProjectStatus.QUARANTINED
    assert deep.status is ProjectStatus.UNKNOWN and deep.error
    assert "nested too deeply" in deep.error


class _Redirector(BaseHTTPRequestHandler):
    """Every page is a 302 to the same path on ``target`` (pypiserver's way with a name it
    lacks: off to pypi.org); ``hits`` records (server, path)."""

    target = ""
    hits: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.target:
            self.hits.append(("index", self.path))
            self.send_response(302)
            self.send_header("Location", f"{self.target}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.hits.append(("elsewhere", self.path))
        body = page(self.path.strip("/").rsplit("/", 1)[-1], "active")
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


async def test_the_real_client_never_follows_a_redirect_off_the_index() -> None:
    # The composed client (CLI, service, editor) is an httpx client made with
    # follow_redirects=True: httpx followed the hop itself, to any origin, before the status
    # client's own redirect rule saw it, and the other origin's "active" was credited to
    # the configured index (the mock-transport tests above use a client that follows none).
    hits: list[tuple[str, str]] = []
    elsewhere = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Elsewhere", (_Redirector,), {"target": "", "hits": hits})
    )
    target = f"http://127.0.0.1:{elsewhere.server_address[1]}"
    index = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Index", (_Redirector,), {"target": target, "hits": hits})
    )
    for server in (elsewhere, index):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{index.server_address[1]}/simple/"
        settings = ClientSettings(index_url=url, use_cache=False, retries=0)
        async with open_status_client(settings) as client:
            record = await client.lookup("private-thing")
    finally:
        for server in (elsewhere, index):
            server.shutdown()
            server.server_close()
    assert record.status is ProjectStatus.UNKNOWN
    assert record.error and "redirect to another origin refused" in record.error
    assert hits == [("index", "/simple/private-thing/")]
