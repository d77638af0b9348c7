"""A fake forge on 127.0.0.1: GitHub (GraphQL + REST), GitLab v4, Gitea v1 and PyPI's JSON API.

Answer shapes follow the published API docs: GitHub REST ``GET /repos/{owner}/{repo}``
(``full_name``, ``archived``, ``pushed_at``; a renamed repository answers 301 to
``/repositories/{id}``; 404 ``{"message": "Not Found"}``), GitHub GraphQL (``data.rN`` null with
an error of ``type: NOT_FOUND`` and ``path: ["rN"]``; 401 without a token), GitLab
``GET /projects/:id`` (``path_with_namespace``, ``archived``, ``last_activity_at``) and Gitea
``GET /repos/{owner}/{repo}`` (``full_name``, ``archived``, ``updated_at``). Rate limits as
GitHub sends them: 403 with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (epoch s).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import httpx

_ALIAS = re.compile(r"(r\d+): repository\(owner: \$(o\d+), name: \$(n\d+)\)")


@dataclass
class FakeRepo:
    archived: bool = False
    pushed_at: str = "2026-11-01T10:00:00Z"
    committed_at: str | None = "2026-11-01T09:00:00Z"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeForge:
    """``github``/``gitlab``/``gitea``: repositories by lowercased path ("owner/name")."""

    github: dict[str, FakeRepo] = field(default_factory=dict)
    gitlab: dict[str, FakeRepo] = field(default_factory=dict)
    gitea: dict[str, FakeRepo] = field(default_factory=dict)
    #: old path → new path (GitHub answers 301 to /repositories/{id}).
    renamed: dict[str, str] = field(default_factory=dict)
    #: old path → an absolute Location anywhere (a hostile or misconfigured forge).
    redirect_elsewhere: dict[str, str] = field(default_factory=dict)
    #: PyPI JSON API: name → the whole answer.
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    graphql: bool = True
    latency: float = 0.0
    #: Requests allowed before answering 403 rate-limited (None: unlimited).
    rate_limit: int | None = None
    rate_reset_in: float = 3600.0
    #: Answer the next N requests with 429 and this Retry-After (sent as latin-1 bytes).
    too_many: int = 0
    retry_after: str = "1"
    #: path → raw (status, body bytes) answers, for hostile or broken forges.
    raw: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    #: While set and not released, every request waits (up to 30 s) before it is answered:
    #: a test can see what happens before any forge answer arrives, without timing.
    hold: threading.Event | None = None
    #: Path prefix → an event the requests under it wait for (up to 30 s): one repository
    #: held while the others are answered.
    held: dict[str, threading.Event] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, prefix: str) -> int:
        return sum(1 for seen in self.seen if seen.path.startswith(prefix))

    def __enter__(self) -> FakeForge:
        forge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                forge._handle(self, b"")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                forge._handle(self, self.rfile.read(length))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- answers ---------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, dict(handler.headers.items())))
            served = len(self.seen)
            limited = self.rate_limit is not None and served > self.rate_limit
            too_many = self.too_many > 0
            if too_many:
                self.too_many -= 1
        if self.hold is not None:
            self.hold.wait(30)
        for prefix, event in list(self.held.items()):
            if handler.path.startswith(prefix):
                event.wait(30)
        if self.latency:
            time.sleep(self.latency)
        if handler.path in self.raw:
            status, payload = self.raw[handler.path]
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        if too_many:
            self._send(handler, 429, {"message": "slow down"}, {"Retry-After": self.retry_after})
            return
        if limited:
            reset = str(int(time.time() + self.rate_reset_in))
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            self._send(handler, 403, {"message": "API rate limit exceeded"}, headers)
            return
        status, answer, headers = self._route(handler.command, handler.path, body, handler)
        self._send(handler, status, answer, headers)

    def _route(
        self, method: str, path: str, body: bytes, handler: BaseHTTPRequestHandler
    ) -> tuple[int, Any, dict[str, str]]:
        not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        if method == "POST" and path == "/github/graphql":
            if not self.graphql:
                return 404, not_found, {}
            if not handler.headers.get("Authorization"):
                return 401, {"message": "This endpoint requires you to be authenticated."}, {}
            return 200, self._graphql(json.loads(body)), {}
        match = re.fullmatch(r"/github/repos/([^/]+)/([^/]+)", path)
        if match:
            key = f"{unquote(match[1])}/{unquote(match[2])}".lower()
            if key in self.redirect_elsewhere:
                return (
                    301,
                    {"message": "Moved Permanently"},
                    {"Location": self.redirect_elsewhere[key]},
                )
            if key in self.renamed:
                new = self.renamed[key]
                return (
                    301,
                    {"message": "Moved Permanently"},
                    {"Location": f"{self.url}/github/repositories/{list(self.github).index(new)}"},
                )
            return self._repo(self.github.get(key), key, "github")
        match = re.fullmatch(r"/github/repositories/(\d+)", path)
        if match:
            key = list(self.github)[int(match[1])]
            return self._repo(self.github[key], key, "github")
        match = re.fullmatch(r"/gitlab/api/v4/projects/([^/]+)", path)
        if match:
            key = unquote(match[1]).lower()
            return self._repo(self.gitlab.get(key), key, "gitlab")
        match = re.fullmatch(r"/gitea/api/v1/repos/([^/]+)/([^/]+)", path)
        if match:
            key = f"{match[1]}/{match[2]}".lower()
            return self._repo(self.gitea.get(key), key, "gitea")
        match = re.fullmatch(r"/pypi/([^/]+)/json", path)
        if match and match[1] in self.projects:
            return 200, self.projects[match[1]], {}
        return 404, not_found, {}

    def _repo(self, repo: FakeRepo | None, key: str, forge: str) -> tuple[int, Any, dict[str, str]]:
        if repo is None:
            return (
                404,
                {"message": "Not Found"}
                if forge != "gitlab"
                else {"message": "404 Project Not Found"},
                {},
            )
        if forge == "gitlab":
            return (
                200,
                {
                    "id": 3,
                    "path_with_namespace": key,
                    "web_url": f"https://gitlab.com/{key}",
                    "archived": repo.archived,
                    "last_activity_at": repo.pushed_at,
                },
                {},
            )
        if forge == "gitea":
            return (
                200,
                {
                    "id": 7,
                    "full_name": key,
                    "html_url": f"https://codeberg.org/{key}",
                    "archived": repo.archived,
                    "updated_at": repo.pushed_at,
                },
                {},
            )
        return (
            200,
            {
                "id": 1296269,
                "full_name": key,
                "html_url": f"https://github.com/{key}",
                "archived": repo.archived,
                "pushed_at": repo.pushed_at,
                "default_branch": "main",
            },
            {"X-RateLimit-Remaining": "59", "X-RateLimit-Reset": str(int(time.time() + 3600))},
        )

    def _graphql(self, request: dict[str, Any]) -> dict[str, Any]:
        variables = request.get("variables") or {}
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for alias, owner_var, name_var in _ALIAS.findall(request["query"]):
            key = f"{variables[owner_var]}/{variables[name_var]}".lower()
            key = self.renamed.get(key, key)  # GraphQL follows renames itself
            repo = self.github.get(key)
            if repo is None:
                data[alias] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [alias],
                        "locations": [{"line": 1, "column": 1}],
                        "message": f"Could not resolve to a Repository with the name '{key}'.",
                    }
                )
                continue
            target = {"committedDate": repo.committed_at} if repo.committed_at else None
            data[alias] = {
                "nameWithOwner": key,
                "isArchived": repo.archived,
                "pushedAt": repo.pushed_at,
                "defaultBranchRef": {"target": target} if target else None,
            }
        data["rateLimit"] = {"cost": 1, "remaining": 4999, "resetAt": "2026-12-06T09:00:00Z"}
        answer: dict[str, Any] = {"data": data}
        if errors:
            answer["errors"] = errors
        return answer

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, answer: Any, headers: dict[str, str]
    ) -> None:
        payload = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)


class ForgeRouter(httpx.AsyncBaseTransport):
    """An httpx transport that sends named origins to the fake forge: a test can configure
    ``https://gitlab.example.org/api/v4`` (or leave gitlab.com as it is) and no request
    leaves the machine. Records each request as it was meant (URL and headers).

    ``routes``: URL prefix (``https://gitlab.example.org``) → base URL on the fake
    (``f"{forge.url}/gitlab"``); the longest prefix wins. Loopback URLs pass through; anything
    else fails to connect.
    """

    def __init__(self, routes: Mapping[str, str]) -> None:
        self.routes = dict(routes)
        self.asked: list[tuple[str, dict[str, str]]] = []
        self._inner = httpx.AsyncHTTPTransport()

    def origins(self) -> list[str]:
        return [str(httpx.URL(url).copy_with(path="/", query=None))[:-1] for url, _ in self.asked]

    def headers_for(self, prefix: str) -> list[dict[str, str]]:
        return [headers for url, headers in self.asked if url.startswith(prefix)]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        self.asked.append((str(url), {k.lower(): v for k, v in request.headers.items()}))
        whole = str(url)
        prefix = max((key for key in self.routes if whole.startswith(key)), key=len, default=None)
        if prefix is None:
            if url.host in {"127.0.0.1", "localhost"}:
                return await self._inner.handle_async_request(request)
            raise httpx.ConnectError(f"{whole} is not routed in this test", request=request)
        target = httpx.URL(self.routes[prefix] + whole[len(prefix) :])
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        routed = httpx.Request(request.method, target, headers=headers, content=request.content)
        return await self._inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self._inner.aclose()
