"""The local test index speaks PEP 503/691/700/792 the way DESIGN.md describes PyPI."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexserver import (
    HTML_V1,
    JSON_V1,
    TEXT_HTML,
    Fault,
    FileSpec,
    IndexServer,
    MakeIndexServer,
    ProjectSpec,
    negotiate,
    release,
    synthetic_projects,
)

ACCEPT = f"{JSON_V1}, {HTML_V1};q=0.2, {TEXT_HTML};q=0.01"
SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "indexserver.py"


def get(server: IndexServer, path: str, accept: str = ACCEPT, **kwargs: Any) -> httpx.Response:
    headers = {"Accept": accept, **kwargs.pop("headers", {})}
    return httpx.get(server.url + path, headers=headers, timeout=5, **kwargs)


def check_pep691(doc: dict[str, Any]) -> None:
    """Fail unless doc has the shape PEP 691 (+ PEP 700) gives a project page."""
    assert isinstance(doc["meta"], dict)
    assert isinstance(doc["name"], str)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", doc["name"]), "name must be normalized"
    assert isinstance(doc["files"], list)
    for f in doc["files"]:
        assert isinstance(f["filename"], str) and isinstance(f["url"], str)
        assert isinstance(f["hashes"], dict)
        assert all(isinstance(v, str) for v in f["hashes"].values())
        assert isinstance(f.get("yanked", False), (bool, str))
        assert f.get("yanked") != ""
        if "size" in f:
            assert isinstance(f["size"], int)
        if "upload-time" in f:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", f["upload-time"])
    if "versions" in doc:
        assert all(isinstance(v, str) for v in doc["versions"])


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name"):
            self.meta[values["name"] or ""] = values.get("content") or ""
        elif tag == "a":
            self.anchors.append(values)


def parse_html(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return parser


# --- content and negotiation


def test_json_page_has_pep691_shape_status_and_yanked_reason(index_server: IndexServer) -> None:
    response = get(index_server, "requests/")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_V1
    doc = response.json()
    check_pep691(doc)
    assert doc["meta"]["api-version"] == "1.4"
    assert doc["project-status"] == {"status": "active"}
    assert doc["versions"] == ["2.31.0", "2.32.0", "2.32.3"]
    yanked = {f["filename"]: f["yanked"] for f in doc["files"]}
    assert yanked["requests-2.32.0.tar.gz"].startswith("Yanked due to conflicts")
    assert yanked["requests-2.31.0.tar.gz"] is False
    assert all("upload-time" in f and f["size"] == 1000 for f in doc["files"])


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (HTML_V1, HTML_V1),
        (TEXT_HTML, TEXT_HTML),
        (f"{JSON_V1};q=0.1, {HTML_V1}", HTML_V1),
        ("*/*", JSON_V1),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
    ],
)
def test_accept_header_picks_the_format(
    index_server: IndexServer, accept: str, expected: str
) -> None:
    response = get(index_server, "nose/", accept=accept)
    assert response.headers["content-type"] == expected
    if expected == JSON_V1:
        check_pep691(response.json())
    else:
        page = parse_html(response.text)
        assert page.meta["pypi:project-status"] == "deprecated"


def test_unacceptable_type_gets_406(index_server: IndexServer) -> None:
    assert get(index_server, "nose/", accept="application/xml").status_code == 406


def test_negotiate_respects_q_values() -> None:
    assert negotiate(None) == JSON_V1
    assert negotiate(f"{TEXT_HTML}, {JSON_V1};q=0.5") == TEXT_HTML
    assert negotiate(f"{JSON_V1};q=0, */*;q=0.1") == HTML_V1
    assert negotiate("text/*") == TEXT_HTML


def test_html_page_has_markers_and_anchors(index_server: IndexServer) -> None:
    response = get(index_server, "requests/", accept=HTML_V1)
    page = parse_html(response.text)
    assert page.meta == {"pypi:repository-version": "1.4", "pypi:project-status": "active"}
    assert len(page.anchors) == 6
    yanked = {
        (a["href"] or "").split("#")[0].rsplit("/", 1)[1]: a.get("data-yanked")
        for a in page.anchors
    }
    assert yanked["requests-2.32.0-py3-none-any.whl"] == (
        "Yanked due to conflicts with CVE-2024-35195 mitigation"
    )
    assert yanked["requests-2.32.3.tar.gz"] is None
    assert all(re.search(r"#sha256=[0-9a-f]{64}$", a["href"] or "") for a in page.anchors)
    nose = parse_html(get(index_server, "nose/", accept=HTML_V1).text)
    assert nose.meta["pypi:project-status-reason"] == "Unmaintained since 2015; use pytest"
    assert [a.get("data-yanked") for a in nose.anchors] == ["", "", None, None]


def test_html_escapes_reason_and_sends_requires_python(make_index_server: MakeIndexServer) -> None:
    evil = 'x"><script>alert(1)</script>'
    files = [FileSpec("p-1.0.tar.gz", requires_python=">=3.8")]
    server = make_index_server([ProjectSpec("p", status="archived", reason=evil, files=files)])
    response = get(server, "p/", accept=HTML_V1)
    assert "<script>" not in response.text
    page = parse_html(response.text)
    assert page.meta["pypi:project-status-reason"] == evil
    assert page.anchors[0]["data-requires-python"] == ">=3.8"
    assert get(server, "p/").json()["files"][0]["requires-python"] == ">=3.8"


def test_core_metadata_is_listed_and_served_only_when_asked(
    make_index_server: MakeIndexServer,
) -> None:
    project = ProjectSpec("Demo_Pkg", files=release("Demo_Pkg", "1.0"))
    plain = make_index_server([project])
    assert all("core-metadata" not in f for f in get(plain, "demo-pkg/").json()["files"])
    assert httpx.get(plain.url.replace("/simple/", "/packages/x.whl.metadata")).status_code == 404

    server = make_index_server([project], core_metadata=True)
    wheel, sdist = get(server, "demo-pkg/").json()["files"]
    assert "core-metadata" not in sdist, "only wheels carry core metadata"
    metadata_url = httpx.URL(server.project_url("demo-pkg")).join(wheel["url"] + ".metadata")
    response = httpx.get(metadata_url, timeout=5)
    assert response.status_code == 200
    assert response.text == "Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n"
    # PEP 658: the listed hash is the metadata file's, so an installer can verify it.
    assert wheel["core-metadata"] == {"sha256": hashlib.sha256(response.content).hexdigest()}
    anchors = parse_html(get(server, "demo-pkg/", accept=HTML_V1).text).anchors
    assert anchors[0]["data-core-metadata"] == f"sha256={wheel['core-metadata']['sha256']}"
    assert "data-core-metadata" not in anchors[1]
    assert server.stats.metadata == 1


def test_html_only_server_ignores_accept(make_index_server: MakeIndexServer) -> None:
    server = make_index_server(html_only=True)
    response = get(server, "pycrypto/", accept=JSON_V1)
    assert response.headers["content-type"] == TEXT_HTML
    assert parse_html(response.text).meta["pypi:project-status"] == "archived"
    server.html_only = False
    assert get(server, "pycrypto/").headers["content-type"] == JSON_V1


@pytest.mark.parametrize(
    ("api_version", "has_versions", "has_status"),
    [(None, False, False), ("1.0", False, False), ("1.1", True, False), ("1.3", True, False)]
    + [("1.4", True, True), ("2.0", True, True)],
)
def test_markers_depend_on_api_version(
    make_index_server: MakeIndexServer,
    api_version: str | None,
    has_versions: bool,
    has_status: bool,
) -> None:
    server = make_index_server(api_version=api_version)
    doc = get(server, "pycrypto/").json()
    check_pep691(doc)
    assert doc["meta"].get("api-version") == api_version
    assert ("versions" in doc) is has_versions
    assert ("size" in doc["files"][0]) is has_versions
    assert ("project-status" in doc) is has_status
    page = parse_html(get(server, "pycrypto/", accept=HTML_V1).text)
    assert page.meta.get("pypi:repository-version") == api_version
    assert ("pypi:project-status" in page.meta) is has_status


def test_api_version_changes_live_and_per_project(index_server: IndexServer) -> None:
    assert "project-status" not in get(index_server, "old-api/").json()
    assert get(index_server, "pycrypto/").json()["project-status"]["status"] == "archived"
    index_server.api_version = "1.1"
    doc = get(index_server, "pycrypto/").json()
    assert doc["meta"]["api-version"] == "1.1" and "project-status" not in doc


def test_status_styles(index_server: IndexServer) -> None:
    assert get(index_server, "string-status/").json()["project-status"] == "archived"
    meta_doc = get(index_server, "meta-status/").json()
    assert "project-status" not in meta_doc
    assert meta_doc["meta"]["project-status"] == "deprecated"
    assert meta_doc["meta"]["project-status-reason"] == "Use requests"
    assert "project-status" not in get(index_server, "silent-pkg/").json()
    assert get(index_server, "future-pkg/").json()["project-status"] == {"status": "retired"}
    with pytest.raises(ValueError, match="status_style"):
        ProjectSpec("x", status_style="bogus")


def test_quarantined_serves_no_files(index_server: IndexServer) -> None:
    doc = get(index_server, "evil-pkg/").json()
    assert doc["files"] == [] and doc["versions"] == []
    assert doc["project-status"] == {"status": "quarantined", "reason": "Reported as malware"}
    page = parse_html(get(index_server, "evil-pkg/", accept=HTML_V1).text)
    assert page.anchors == []
    assert page.meta["pypi:project-status"] == "quarantined"


def test_explicit_versions_and_release_helper(make_index_server: MakeIndexServer) -> None:
    assert [f.filename for f in release("Foo.Bar", "1.0")] == [
        "foo_bar-1.0-py3-none-any.whl",
        "foo_bar-1.0.tar.gz",
    ]
    files = release("foo", "1.10") + release("foo", "1.9", sdist=False)
    server = make_index_server(
        [ProjectSpec("foo", files=files), ProjectSpec("bar", files=files, versions=["9"])]
    )
    assert get(server, "foo/").json()["versions"] == ["1.9", "1.10"]
    assert get(server, "bar/").json()["versions"] == ["9"]


def test_project_list(index_server: IndexServer) -> None:
    doc = get(index_server, "").json()
    assert doc["meta"]["api-version"] == "1.4"
    assert {"name": "zope.interface", "_last-serial": 6} in doc["projects"]
    page = parse_html(get(index_server, "", accept=HTML_V1).text)
    assert {"href": "/simple/zope-interface/"} in page.anchors


# --- HTTP behaviour


def test_etag_revalidation_gives_304_until_status_changes(index_server: IndexServer) -> None:
    first = get(index_server, "pycrypto/")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "max-age=600, public"
    serial = first.headers["x-pypi-last-serial"]
    again = get(index_server, "pycrypto/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    html_page = get(index_server, "pycrypto/", accept=HTML_V1, headers={"If-None-Match": etag})
    assert html_page.status_code == 200, "an ETag belongs to one representation"
    index_server.set_status("pycrypto", "active")
    changed = get(index_server, "pycrypto/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.headers["x-pypi-last-serial"] == serial, "status changes keep the serial"
    assert index_server.stats.not_modified == 1 and index_server.stats.conditional == 3


def test_max_age_none_and_etag_off(make_index_server: MakeIndexServer) -> None:
    server = make_index_server(max_age=None, etag=False)
    response = get(server, "nose/")
    assert "cache-control" not in response.headers and "etag" not in response.headers
    assert get(server, "nose/", headers={"If-None-Match": "*"}).status_code == 200
    server.max_age = 5
    assert get(server, "nose/").headers["cache-control"] == "max-age=5, public"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("Zope.Interface/", "zope-interface/"),
        ("zope_interface/", "zope-interface/"),
        ("requests", "requests/"),
        ("Requests/?x=1", "requests/?x=1"),
    ],
)
def test_non_canonical_path_redirects(index_server: IndexServer, path: str, location: str) -> None:
    response = get(index_server, path)
    assert response.status_code == 301
    assert response.headers["location"] == index_server.url + location
    followed = get(index_server, path, follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["name"] == location.split("/")[0]


def test_index_without_slash_redirects(index_server: IndexServer) -> None:
    response = httpx.get(index_server.url.rstrip("/"), follow_redirects=True)
    assert response.status_code == 200 and response.url == index_server.url


def raw_exchange(server: IndexServer, request: bytes) -> bytes:
    """Send raw bytes; everything the server answers before it closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_raw_http_framing(index_server: IndexServer) -> None:
    assert raw_exchange(index_server, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # HTTP/1.0 without keep-alive: one answer, then the server closes (recv returns b"").
    answer = raw_exchange(index_server, b"GET /simple/nose/ HTTP/1.0\r\nAccept: text/html\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in head
    assert body.startswith(b"<!DOCTYPE html>") and body.endswith(b"</html>\n<!--SERIAL 3-->\n")
    # Two pipelined requests on one connection, the second asking to close.
    two = b"GET /simple/nose/ HTTP/1.1\r\nHost: x\r\n\r\n"
    two += b"GET /simple/nope/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(index_server, two)
    assert answer.count(b"HTTP/1.1 200 ") == 1 and answer.count(b"HTTP/1.1 404 ") == 1


def test_unknown_project_is_404(index_server: IndexServer) -> None:
    response = get(index_server, "does-not-exist/")
    assert response.status_code == 404
    assert len(response.content) < 100
    assert response.headers["cache-control"] == "max-age=600, public"
    assert get(index_server, "a/b/").status_code == 404
    assert index_server.stats.not_found == 2


def test_add_remove_live(index_server: IndexServer) -> None:
    index_server.remove("nose")
    assert get(index_server, "nose/").status_code == 404
    index_server.add(ProjectSpec("Nose", status="archived", files=release("nose", "2.0")))
    doc = get(index_server, "nose/").json()
    assert doc["project-status"] == {"status": "archived"} and doc["versions"] == ["2.0"]


def test_basic_auth(make_index_server: MakeIndexServer) -> None:
    server = make_index_server(auth=("user", "s3cret"))
    anonymous = get(server, "nose/")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic ")
    assert get(server, "nose/", auth=("user", "wrong")).status_code == 401
    assert get(server, "nose/", auth=("user", "s3cret")).status_code == 200
    assert server.stats.unauthorized == 2


def test_keep_alive_reuses_one_connection(index_server: IndexServer) -> None:
    with httpx.Client(headers={"Accept": ACCEPT}) as client:
        for _ in range(5):
            assert client.get(index_server.url + "nose/").status_code == 200
    assert index_server.stats.connections == 1


def test_head_request_has_no_body(index_server: IndexServer) -> None:
    response = httpx.head(index_server.url + "nose/")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 100


# --- faults


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (Fault.RATE_LIMIT, 429),
        (Fault.UNAVAILABLE, 503),
        (Fault.BAD_GATEWAY, 502),
        (Fault.GATEWAY_TIMEOUT, 504),
        (Fault.SERVER_ERROR, 500),
    ],
)
def test_status_faults_are_queued_per_project(
    make_index_server: MakeIndexServer, fault: Fault, status: int
) -> None:
    server = make_index_server(retry_after="7")
    server.inject("Nose", fault, fault)
    first, second = get(server, "nose/"), get(server, "requests/")
    assert first.status_code == status and second.status_code == 200
    assert get(server, "nose/").status_code == status
    assert get(server, "nose/").status_code == 200, "the queue is used up"
    assert (first.headers.get("retry-after") == "7") is (status in (429, 503))
    assert server.stats.faults == 2


def test_fault_all_applies_to_every_request(index_server: IndexServer) -> None:
    index_server.fault_all = Fault.UNAVAILABLE
    assert get(index_server, "nose/").status_code == 503
    assert get(index_server, "").status_code == 503
    index_server.fault_all = None
    assert get(index_server, "nose/").status_code == 200


def test_reset_closes_without_response(index_server: IndexServer) -> None:
    index_server.inject("nose", Fault.RESET)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        get(index_server, "nose/")
    assert get(index_server, "nose/").status_code == 200


def test_hang_times_out_and_stop_still_returns(make_index_server: MakeIndexServer) -> None:
    server = make_index_server()
    server.inject("nose", Fault.HANG)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url + "nose/", timeout=0.3)
    server.stop()  # returns although a handler still hangs (pytest-timeout guards a hang) ...
    with pytest.raises(httpx.ConnectError):  # ... and the port is really closed
        httpx.get(server.url + "nose/", timeout=5)


def test_garbage_is_neither_json_nor_html(index_server: IndexServer) -> None:
    index_server.inject("nose", Fault.GARBAGE, Fault.GARBAGE)
    response = get(index_server, "nose/")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    page = parse_html(get(index_server, "nose/", accept=HTML_V1).content.decode(errors="replace"))
    assert page.meta == {} and page.anchors == []


# --- latency and stats


async def test_latency_is_concurrent(make_index_server: MakeIndexServer) -> None:
    server = make_index_server(latency=0.5)
    async with httpx.AsyncClient(headers={"Accept": ACCEPT}, timeout=30) as client:
        started = time.monotonic()
        responses = await asyncio.gather(*(client.get(server.url + "nose/") for _ in range(10)))
        elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in responses)
    assert elapsed >= 0.5  # a lower bound cannot fail under load
    # Concurrent: answers were held back side by side (counted, not timed).
    assert server.stats.peak_delayed >= 2


def test_per_project_latency_override(make_index_server: MakeIndexServer) -> None:
    server = make_index_server([ProjectSpec("slow", latency=0.3), ProjectSpec("fast")])
    get(server, "fast/")
    started = time.monotonic()
    get(server, "slow/")
    # A lower bound cannot fail under load; which answers were held back is counted, not timed.
    assert time.monotonic() - started >= 0.3
    assert server.stats.delayed == {"slow": 1}


def test_stats_count_what_happened(index_server: IndexServer) -> None:
    sizes = [len(get(index_server, p).content) for p in ("nose/", "requests/", "evil-pkg/")]
    etag = get(index_server, "nose/").headers["etag"]
    get(index_server, "nose/", headers={"If-None-Match": etag, "User-Agent": "probe/1"})
    get(index_server, "Nose/")
    get(index_server, "gone/", accept=TEXT_HTML)
    stats = index_server.stats
    assert (stats.requests, stats.full_responses, stats.not_modified) == (7, 4, 1)
    assert (stats.redirects, stats.not_found, stats.conditional) == (1, 1, 1)
    assert stats.by_project == {"nose": 4, "requests": 1, "evil-pkg": 1, "gone": 1}
    assert stats.user_agents == {f"python-httpx/{httpx.__version__}", "probe/1"}
    assert stats.accepts[-1] == TEXT_HTML and len(stats.accepts) == 7
    assert stats.bytes_sent == 2 * sizes[0] + sum(sizes[1:]) + len(b"404 Not Found\n")
    index_server.reset_stats()
    assert index_server.stats.requests == 0


# --- data sets and command line


def test_synthetic_projects_are_deterministic_and_mixed() -> None:
    projects = synthetic_projects(1000, seed=3)
    assert [p.name for p in projects] == [p.name for p in synthetic_projects(1000, seed=3)]
    assert [p.name for p in projects] != [p.name for p in synthetic_projects(1000, seed=4)]
    statuses = [p.status for p in projects]
    assert 850 < statuses.count("active") < 950
    assert all(statuses.count(s) > 5 for s in ("archived", "deprecated", "quarantined"))
    assert any(f.yanked for p in projects for f in p.files)
    assert len({p.name.lower() for p in projects}) == 1000
    with IndexServer(projects[:50]) as server, httpx.Client(follow_redirects=True) as client:
        for project in projects[:50]:
            response = client.get(server.url + project.name + "/", headers={"Accept": ACCEPT})
            check_pep691(response.json())


def test_cli_serves_until_sigterm_and_writes_stats(tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    command = [sys.executable, str(SERVER_SCRIPT), "--port", "0", "--synthetic", "20"]
    command += ["--latency", "0.01", "--max-age", "none", "--stats-file", str(stats_file)]
    env = {**os.environ, "PYTHONPATH": ""}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/simple/", url)
        listing = httpx.get(url, headers={"Accept": JSON_V1}, timeout=5).json()
        assert len(listing["projects"]) == 20
        response = httpx.get(url + "nope/", timeout=5)
        assert response.status_code == 404 and "cache-control" not in response.headers
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    stats = json.loads(stats_file.read_text())
    assert stats["requests"] == 2 and stats["not_found"] == 1 and stats["cpu_seconds"] > 0
