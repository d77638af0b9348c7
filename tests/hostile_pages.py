"""A hostile index: pages that lie about whose they are or about the project's status.

Each case is a project name served by :class:`HostilePageServer` (a stdlib
``ThreadingHTTPServer`` on 127.0.0.1, a real server) with a fixed body; every case must come
out ``unknown`` with a lookup-error containing ``error``, never ``active``, and cost only its
own lookup. ``fine`` (active) and ``bad-but-honest`` (quarantined) are honest pages next to
them, and ``fine-forever`` (active) is honest with a hostile header that must be ignored. Any
other name answers 404.
"""

from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html"


@dataclass(frozen=True)
class HostilePage:
    content_type: str
    body: bytes
    #: What the lookup-error must say (empty for an honest page).
    error: str = ""
    #: The body's Content-Encoding, if any (the body is sent as given).
    encoding: str = ""
    status: int = 200
    #: More headers, sent as latin-1 bytes (as http.server sends any header).
    headers: tuple[tuple[str, str], ...] = ()


def json_page(name: str, **top: Any) -> bytes:
    doc: dict[str, Any] = {"meta": {"api-version": "1.4"}, "name": name, "files": []}
    doc.update(top)
    return json.dumps(doc).encode()


def html_page(head: str = "", body: str = "") -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4">'
        f"{head}</head><body>{body}</body></html>"
    ).encode()


def _quarantined_html(name: str, encoding: str = "utf-8") -> bytes:
    marker = '<meta name="pypi:project-status" content="quarantined">'
    return html_page(f"<title>Links for {name}</title>{marker}").decode().encode(encoding)


def cut_compressed(name: str, wbits: int) -> bytes:
    """A quarantined HTML page compressed up to its status marker and sync-flushed: no final
    block, no trailer. Every byte inflates, to a page that says nothing of its status."""
    page = html_page(
        f"<title>Links for {name}</title>",
        f'<a href="{name}-1.0.tar.gz">{name}-1.0.tar.gz</a>'
        '<meta name="pypi:project-status" content="quarantined">',
    )
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    cut = page[: page.index(b'<meta name="pypi:project-status"')]
    return packer.compress(cut) + packer.flush(zlib.Z_SYNC_FLUSH)


def _duplicate_statuses(name: str, encoding: str) -> bytes:
    return (
        f'{{"meta": {{"api-version": "1.4"}}, "name": "{name}", "files": [], '
        '"project-status": {"status": "quarantined"}, "project-status": {"status": "active"}}'
    ).encode(encoding)


def _malformed(marker: object) -> HostilePage:
    doc = {"meta": {"api-version": "1.4"}, "name": "x", "files": [], "project-status": marker}
    return HostilePage(JSON_TYPE, json.dumps(doc).encode(), "malformed project status")


def hostile_pages() -> dict[str, HostilePage]:
    """Every case by project name (the JSON ``name`` is fixed up to match where it must)."""
    pages = {
        # Whose page is it?
        "other-name": HostilePage(
            JSON_TYPE, json_page("someone-else", **{"project-status": "active"}), "another project"
        ),
        "json-root": HostilePage(
            JSON_TYPE,
            json.dumps({"meta": {"api-version": "1.4"}, "projects": [{"name": "a"}]}).encode(),
            "list of projects",
        ),
        "html-root": HostilePage(
            HTML_TYPE,
            html_page("<title>Simple index</title>", '<a href="/simple/a/">a</a>'),
            "list of projects",
        ),
        "other-title": HostilePage(
            HTML_TYPE,
            html_page(
                '<title>Links for someone-else</title><meta name="pypi:project-status" '
                'content="active">',
                '<a href="f/someone_else-1.0.tar.gz">someone_else-1.0.tar.gz</a>',
            ),
            "another project",
        ),
        "untitled-other-files": HostilePage(
            HTML_TYPE,
            html_page(body='<a href="f/someone_else-1.0.tar.gz">someone_else-1.0.tar.gz</a>'),
            "another project",
        ),
        # Markers that disagree.
        "two-metas": HostilePage(
            HTML_TYPE,
            html_page(
                '<meta name="pypi:project-status" content="archived">'
                '<meta name="pypi:project-status" content="active">'
            ),
            "conflicting project statuses",
        ),
        "duplicate-attribute": HostilePage(
            HTML_TYPE,
            html_page('<meta name="pypi:project-status" content="quarantined" content="active">'),
            "conflicting project statuses",
        ),
        "duplicate-key": HostilePage(
            JSON_TYPE,
            b'{"meta": {"api-version": "1.4"}, "name": "duplicate-key", "files": [],'
            b' "project-status": {"status": "quarantined"},'
            b' "project-status": {"status": "active"}}',
            "conflicting project statuses",
        ),
        # The same in UTF-16 and UTF-32, which json.loads reads (the byte scan did not).
        "duplicate-key-utf16": HostilePage(
            JSON_TYPE, _duplicate_statuses("duplicate-key-utf16", "utf-16"), "conflicting"
        ),
        "duplicate-key-utf32be": HostilePage(
            JSON_TYPE, _duplicate_statuses("duplicate-key-utf32be", "utf-32-be"), "conflicting"
        ),
        "erratum-disagrees": HostilePage(
            JSON_TYPE,
            json.dumps(
                {
                    "meta": {"api-version": "1.4", "project-status": "active"},
                    "name": "erratum-disagrees",
                    "files": [],
                    "project-status": {"status": "archived"},
                }
            ).encode(),  # fmt: skip
            "conflicting project statuses",
        ),
        # Markers that say nothing readable.
        "status-empty": _malformed(""),
        "status-number": _malformed(7),
        "status-list": _malformed(["archived"]),
        "status-object-empty": _malformed({}),
        "status-null": _malformed(None),
        "status-inner-empty": _malformed({"status": ""}),
        "html-status-empty": HostilePage(
            HTML_TYPE,
            html_page('<meta name="pypi:project-status" content="">'),
            "malformed project status",
        ),
        # A Simple API major version this client cannot read.
        "api-major-2": HostilePage(
            JSON_TYPE,
            json.dumps(
                {
                    "meta": {"api-version": "2.0"},
                    "name": "api-major-2",
                    "files": [],
                    "project-status": "active",
                }
            ).encode(),  # fmt: skip
            "cannot read",
        ),
        # JSON nested deeper than the parser's recursion limit (a traceback before).
        "deep-json": HostilePage(
            JSON_TYPE, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"
        ),
        # Not a Simple API answer: a JSON page that says quarantined, sent as S3's default
        # type or as text, read as HTML holding no version ("cannot express status", no
        # failure, and a run around it passed); no type at all; an empty body.
        "status-octet-json": HostilePage(
            "application/octet-stream",
            json_page("x", **{"project-status": {"status": "quarantined"}}),
            "application/octet-stream, not a Simple API page",
        ),
        "status-text-json": HostilePage(
            "text/plain; charset=utf-8",
            json_page("x", **{"project-status": {"status": "quarantined"}}),
            "text/plain, not a Simple API page",
        ),
        "untyped-html": HostilePage("", html_page(), "no Content-Type, not a Simple API page"),
        "empty-json": HostilePage(JSON_TYPE, b"", "empty page"),
        "empty-html": HostilePage(HTML_TYPE, b" \r\n", "empty page"),
        # A status word with a character no status holds: read as "active" once cleaned.
        "status-nul-active": HostilePage(
            JSON_TYPE,
            json_page("x", **{"project-status": {"status": "active\u0000"}}),
            "malformed status marker",
        ),
        "status-zwsp-active": HostilePage(
            HTML_TYPE,
            html_page('<meta name="pypi:project-status" content="active\u200b">'),
            "malformed status marker",
        ),
        # An HTML page that ends inside a tag (inside its status marker): cut short.
        "cut-in-a-tag": HostilePage(
            HTML_TYPE,
            html_page('<meta name="pypi:project-status" content="quar')[:-27],
            "ends inside a tag",
        ),
        # HTML that cannot be read in the charset it names, or in the one assumed: a
        # quarantined page read as Latin-1 showed no tag ("cannot express status").
        "charset-unknown": HostilePage(
            "text/html; charset=x-no-such", _quarantined_html("charset-unknown"), "cannot read"
        ),
        "utf16-unlabelled": HostilePage(
            HTML_TYPE, _quarantined_html("utf16-unlabelled", "utf-16-le"), "NUL characters"
        ),
        "ebcdic-unlabelled": HostilePage(
            HTML_TYPE, _quarantined_html("ebcdic-unlabelled", "cp500"), "without a single tag"
        ),
        # A compressed page cut short before its marker, with a right Content-Length.
        "gzip-cut": HostilePage(
            HTML_TYPE, cut_compressed("gzip-cut", zlib.MAX_WBITS | 16), "not valid gzip", "gzip"
        ),
        "deflate-cut": HostilePage(
            HTML_TYPE, cut_compressed("deflate-cut", zlib.MAX_WBITS), "not valid deflate", "deflate"
        ),
        # Retry-After values HTTP cannot read on a retried status: "²" is a digit to
        # str.isdigit() but not to float(), a "-0000" date parses naive (TypeError against an
        # aware now): each was exit 5 for the run, a 500 from the service. Each is the
        # usual backoff, and the status stays that lookup's failure.
        "retry-after-superscript": HostilePage(
            "text/plain",
            b"busy",
            "HTTP 503 from the index",
            status=503,
            headers=(("Retry-After", "\u00b2"),),
        ),
        "retry-after-minus-0000": HostilePage(
            "text/plain",
            b"slow down",
            "HTTP 429 from the index",
            status=429,
            headers=(("Retry-After", "Mon, 01 Jan 2024 00:00:00 -0000"),),
        ),
        # Honest pages next to them.
        "fine": HostilePage(JSON_TYPE, json_page("fine", **{"project-status": "active"})),
        # An honest page with a max-age past any float (OverflowError: exit 5 for the run).
        "fine-forever": HostilePage(
            JSON_TYPE,
            json_page("fine-forever", **{"project-status": "active"}),
            headers=(("Cache-Control", "max-age=1" + "0" * 400),),
        ),
        "bad-but-honest": HostilePage(
            JSON_TYPE, json_page("bad-but-honest", **{"project-status": "quarantined"})
        ),
        # Honest JSON under a type joined by a proxy: the first, application/json, is JSON.
        "bad-as-joined-json": HostilePage(
            "application/json, text/html",
            json_page("bad-as-joined-json", **{"project-status": "quarantined"}),
        ),
        # Honest HTML in the charset it is labelled with (pip decodes it so).
        "bad-in-utf16": HostilePage(
            "text/html; charset=utf-16", _quarantined_html("bad-in-utf16", "utf-16")
        ),
        "bad-in-ebcdic": HostilePage(
            "text/html; charset=cp500", _quarantined_html("bad-in-ebcdic", "cp500")
        ),
    }
    fixed = {}
    for name, page in pages.items():
        if name.startswith("status-") and page.content_type == JSON_TYPE:
            doc = json.loads(page.body)
            doc["name"] = name
            body = json.dumps(doc).encode()
            page = replace(page, body=body)
        fixed[name] = page
    return fixed


HOSTILE_NAMES = tuple(n for n, p in hostile_pages().items() if p.error)
#: Honest pages that say quarantined, each in another form (charset) than the rest.
QUARANTINED_NAMES = ("bad-but-honest", "bad-as-joined-json", "bad-in-utf16", "bad-in-ebcdic")


class HostilePageServer:
    """Serves :func:`hostile_pages` at ``/simple/<name>/`` until closed."""

    def __init__(self) -> None:
        pages = hostile_pages()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                name = self.path.removeprefix("/simple/").rstrip("/")
                page = pages.get(name)
                if page is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                if page.content_type:
                    self.send_header("Content-Type", page.content_type)
                if page.encoding:
                    self.send_header("Content-Encoding", page.encoding)
                for header, value in page.headers:
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # quiet tests

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> HostilePageServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
