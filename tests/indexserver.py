"""A local PEP 503/691/700/792 package index on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import email.utils
import enum
import hashlib
import html
import http
import io
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final
from urllib.parse import unquote

from packaging.version import InvalidVersion, Version

JSON_V1: Final = "application/vnd.pypi.simple.v1+json"
HTML_V1: Final = "application/vnd.pypi.simple.v1+html"
TEXT_HTML: Final = "text/html"
# ProjectSpec.api_version default: serve the project at the server's api_version.
INHERIT: Final = "inherit"
STATUS_STYLES: Final = ("standard", "string", "meta")

_SEPARATORS = re.compile(r"[-_.]+")
_API_VERSION = re.compile(r"^(\d+)\.(\d+)")
_SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")
# Server preference when the client rates several types equally (e.g. "*/*" or no Accept).
_OFFERED = (JSON_V1, HTML_V1, TEXT_HTML)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
}
_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
# Truncated JSON with bytes that are not UTF-8: no lenient parser can turn it into a page.
_GARBAGE = b'{"meta": {"api-version": "1.4"}, "files": [{"filename": "\xff\xfe<html><meta name='


def canonical(name: str) -> str:
    """PEP 503 normalized name."""
    return _SEPARATORS.sub("-", name).lower()


@dataclass
class FileSpec:
    filename: str
    yanked: bool | str = False  # a string is the yank reason
    upload_time: str | None = None  # ISO 8601, served with API >= 1.1
    size: int = 1000
    sha256: str = ""  # empty: derived from the filename (or the content, when there is one)
    requires_python: str | None = None
    #: The file's bytes (a real wheel, see built_wheel): then it is served at its URL, so
    #: resolvers and installers (uv, pdm, poetry, pip) can run against this index.
    content: bytes | None = None

    def __post_init__(self) -> None:
        if not self.sha256:
            data = self.content if self.content is not None else self.filename.encode()
            self.sha256 = hashlib.sha256(data).hexdigest()
        if self.content is not None:
            self.size = len(self.content)


@dataclass
class ProjectSpec:
    name: str  # display name; served at its canonical path
    status: str | None = "active"  # None: send no status at all
    reason: str | None = None
    files: list[FileSpec] = field(default_factory=list)
    versions: list[str] | None = None  # None: derived from files
    status_style: str = "standard"  # "standard" | "string" | "meta" (the spec erratum form)
    latency: float | None = None  # None: the server's latency
    api_version: str | None = INHERIT  # per-project override; None: no version sent

    def __post_init__(self) -> None:
        if self.status_style not in STATUS_STYLES:
            raise ValueError(f"status_style must be one of {STATUS_STYLES}: {self.status_style!r}")


def release(
    name: str,
    version: str,
    *,
    yanked: bool | str = False,
    upload_time: str | None = None,
    wheel: bool = True,
    sdist: bool = True,
    requires_python: str | None = None,
) -> list[FileSpec]:
    """The files of one release, named as modern build tools name them (PEP 427/625)."""
    stem = _SEPARATORS.sub("_", name).lower()
    names = []
    if wheel:
        names.append(f"{stem}-{version}-py3-none-any.whl")
    if sdist:
        names.append(f"{stem}-{version}.tar.gz")
    return [
        FileSpec(n, yanked=yanked, upload_time=upload_time, requires_python=requires_python)
        for n in names
    ]


class Fault(str, enum.Enum):
    RATE_LIMIT = "rate-limit"  # 429 + Retry-After
    UNAVAILABLE = "unavailable"  # 503 + Retry-After
    BAD_GATEWAY = "bad-gateway"  # 502
    GATEWAY_TIMEOUT = "gateway-timeout"  # 504
    SERVER_ERROR = "server-error"  # 500
    RESET = "reset"  # TCP reset, no response
    HANG = "hang"  # never answers until the server stops
    GARBAGE = "garbage"  # 200 with a body that is neither JSON nor HTML


_FAULT_STATUS = {
    Fault.RATE_LIMIT: 429,
    Fault.UNAVAILABLE: 503,
    Fault.BAD_GATEWAY: 502,
    Fault.GATEWAY_TIMEOUT: 504,
    Fault.SERVER_ERROR: 500,
}


@dataclass
class Stats:
    requests: int = 0
    full_responses: int = 0  # 200 with a page body
    metadata: int = 0  # 200 with a wheel's core metadata (PEP 658)
    not_modified: int = 0
    not_found: int = 0
    redirects: int = 0
    faults: int = 0
    unauthorized: int = 0
    bytes_sent: int = 0  # response bodies only
    conditional: int = 0  # requests carrying If-None-Match
    connections: int = 0  # TCP connections accepted (keep-alive check)
    by_project: Counter[str] = field(default_factory=Counter)  # canonical name
    by_status: Counter[int] = field(default_factory=Counter)
    delayed: Counter[str] = field(default_factory=Counter)  # canonical name -> answers delayed
    peak_delayed: int = 0  # most answers held back by the latency at one moment
    user_agents: set[str] = field(default_factory=set)
    accepts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["by_project"] = dict(self.by_project)
        data["delayed"] = dict(self.delayed)
        data["by_status"] = {str(k): v for k, v in self.by_status.items()}
        data["user_agents"] = sorted(self.user_agents)
        return data


# --- rendering (pure) ---------------------------------------------------------------------------


def _api_level(api: str | None) -> tuple[int, int]:
    match = _API_VERSION.match(api) if api else None
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _version_of(filename: str) -> str | None:
    if filename.endswith((".whl", ".egg")):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 2 else None
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            _, sep, version = filename[: -len(suffix)].rpartition("-")
            return version if sep else None
    return None


def wheel_metadata(filename: str) -> bytes | None:
    """A wheel's core metadata (PEP 658), no dependencies; None for anything but a wheel."""
    parts = filename.split("-")
    if not filename.endswith(".whl") or len(parts) < 5:
        return None
    return f"Metadata-Version: 2.1\nName: {parts[0]}\nVersion: {parts[1]}\n".encode()


def file_metadata(f: FileSpec) -> bytes | None:
    """PEP 658 metadata of a listed file: a real wheel's own METADATA, else the stand-in."""
    if f.content is None:
        return wheel_metadata(f.filename)
    with zipfile.ZipFile(io.BytesIO(f.content)) as wheel:
        name = next((n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")), None)
        return wheel.read(name) if name else None


def _metadata_digest(f: FileSpec) -> str | None:
    metadata = file_metadata(f)
    return None if metadata is None else hashlib.sha256(metadata).hexdigest()


def built_wheel(
    name: str,
    version: str,
    requires: Sequence[str] = (),
    *,
    yanked: bool | str = False,
    upload_time: str | None = None,
) -> FileSpec:
    """A real, installable, byte-for-byte reproducible pure-Python wheel (PEP 427) that
    declares ``requires`` (Requires-Dist), for real resolvers to lock against."""
    stem = _SEPARATORS.sub("_", name).lower()
    dist_info = f"{stem}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{stem}/__init__.py": f"__version__ = {version!r}\n".encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: indexserver\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{path},sha256="
        f"{base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}\n"
        for path, data in files.items()
    )
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    filename = f"{stem}-{version}-py3-none-any.whl"
    return FileSpec(filename, yanked=yanked, upload_time=upload_time, content=buffer.getvalue())


def _parsed(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _sorted_versions(versions: Iterable[str]) -> list[str]:
    parsed = {text: _parsed(text) for text in versions}
    invalid = sorted(text for text, v in parsed.items() if v is None)
    valid = sorted((v, text) for text, v in parsed.items() if v is not None)
    return invalid + [text for _, text in valid]


def _file_url(spec: FileSpec) -> str:
    # Relative to the page (PEP 503 allows it), so bodies do not depend on the port.
    h = spec.sha256
    return f"../../packages/{h[:2]}/{h[2:4]}/{h[4:]}/{spec.filename}"


def _served_files(spec: ProjectSpec) -> list[FileSpec]:
    # A quarantined project's files are never served, whatever the spec lists.
    return [] if spec.status == "quarantined" else spec.files


def _served_versions(spec: ProjectSpec) -> list[str]:
    if spec.status == "quarantined":
        return []
    if spec.versions is not None:
        return list(spec.versions)
    return _sorted_versions(v for f in spec.files if (v := _version_of(f.filename)))


def render_json(
    spec: ProjectSpec, api: str | None, serial: int, *, core_metadata: bool = False
) -> bytes:
    level = _api_level(api)
    meta: dict[str, Any] = {}
    if api is not None:
        meta["api-version"] = api
    meta["_last-serial"] = serial
    files = []
    for f in _served_files(spec):
        entry: dict[str, Any] = {
            "filename": f.filename,
            "url": _file_url(f),
            "hashes": {"sha256": f.sha256},
        }
        if f.requires_python is not None:
            entry["requires-python"] = f.requires_python
        if core_metadata and (digest := _metadata_digest(f)) is not None:
            entry["core-metadata"] = {"sha256": digest}
        # PEP 691: a reason must be non-empty; an empty one is plain "yanked".
        entry["yanked"] = f.yanked if isinstance(f.yanked, str) and f.yanked else bool(f.yanked)
        if level >= (1, 1):
            entry["size"] = f.size
            if f.upload_time is not None:
                entry["upload-time"] = f.upload_time
        files.append(entry)
    doc: dict[str, Any] = {"meta": meta, "name": canonical(spec.name), "files": files}
    if level >= (1, 1):
        doc["versions"] = _served_versions(spec)
    if level >= (1, 4) and spec.status is not None:
        if spec.status_style == "standard":
            status: dict[str, str] = {"status": spec.status}
            if spec.reason is not None:
                status["reason"] = spec.reason
            doc["project-status"] = status
        elif spec.status_style == "string":
            doc["project-status"] = spec.status
        else:
            meta["project-status"] = spec.status
            if spec.reason is not None:
                meta["project-status-reason"] = spec.reason
    return json.dumps(doc, separators=(",", ":")).encode()


def render_html(
    spec: ProjectSpec, api: str | None, serial: int, *, core_metadata: bool = False
) -> bytes:
    esc = html.escape
    title = esc(canonical(spec.name))
    lines = ["<!DOCTYPE html>", "<html>", "  <head>"]
    if api is not None:
        lines.append(f'    <meta name="pypi:repository-version" content="{esc(api)}">')
    if _api_level(api) >= (1, 4) and spec.status is not None:
        lines.append(f'    <meta name="pypi:project-status" content="{esc(spec.status)}">')
        if spec.reason is not None:
            lines.append(
                f'    <meta name="pypi:project-status-reason" content="{esc(spec.reason)}">'
            )
    lines += [f"    <title>Links for {title}</title>", "  </head>", "  <body>"]
    lines.append(f"    <h1>Links for {title}</h1>")
    for f in _served_files(spec):
        attrs = f'href="{esc(_file_url(f))}#sha256={f.sha256}"'
        if f.requires_python is not None:
            attrs += f' data-requires-python="{esc(f.requires_python)}"'
        if core_metadata and (digest := _metadata_digest(f)) is not None:
            attrs += f' data-core-metadata="sha256={digest}"'
        if f.yanked is not False:
            reason = f.yanked if isinstance(f.yanked, str) else ""
            attrs += f' data-yanked="{esc(reason)}"'
        lines.append(f"    <a {attrs}>{esc(f.filename)}</a><br />")
    lines += ["  </body>", "</html>", f"<!--SERIAL {serial}-->", ""]
    return "\n".join(lines).encode()


def render_index_json(projects: Sequence[tuple[str, int]], api: str | None) -> bytes:
    meta: dict[str, Any] = {"_last-serial": max((s for _, s in projects), default=0)}
    if api is not None:
        meta = {"api-version": api, **meta}
    items = [{"name": name, "_last-serial": serial} for name, serial in projects]
    return json.dumps({"meta": meta, "projects": items}, separators=(",", ":")).encode()


def render_index_html(projects: Sequence[tuple[str, int]], api: str | None) -> bytes:
    lines = ["<!DOCTYPE html>", "<html>", "  <head>"]
    if api is not None:
        lines.append(f'    <meta name="pypi:repository-version" content="{html.escape(api)}">')
    lines += ["    <title>Simple index</title>", "  </head>", "  <body>"]
    lines += [
        f'    <a href="/simple/{canonical(name)}/">{html.escape(name)}</a>' for name, _ in projects
    ]
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines).encode()


def negotiate(accept: str | None) -> str | None:
    """The offered content type the client rates highest; None when it accepts none of them."""
    if not accept:
        return JSON_V1
    # For each offered type: (specificity, q) of the most specific matching range wins.
    best: dict[str, tuple[int, float]] = {}
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = _ALIASES.get(media.lower(), media.lower())
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        for offered in _OFFERED:
            if media == offered:
                specificity = 2
            elif media == offered.split("/")[0] + "/*":
                specificity = 1
            elif media == "*/*":
                specificity = 0
            else:
                continue
            if offered not in best or specificity > best[offered][0]:
                best[offered] = (specificity, q)
    chosen, chosen_q = None, 0.0
    for offered in _OFFERED:  # first wins ties: the server's preference
        q = best.get(offered, (0, 0.0))[1]
        if q > chosen_q:
            chosen, chosen_q = offered, q
    return chosen


@dataclass
class _Rendered:
    body: bytes
    etag: str


class _Entry:
    """A project as served: its spec, serial and the bodies rendered so far."""

    __slots__ = ("canonical", "rendered", "serial", "spec")

    def __init__(self, spec: ProjectSpec, serial: int) -> None:
        self.spec = spec
        self.canonical = canonical(spec.name)
        self.serial = serial
        self.rendered: dict[tuple[str | None, str], _Rendered] = {}


def _rendered(body: bytes, content_type: str) -> _Rendered:
    digest = hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()[:32]
    return _Rendered(body, f'"{digest}"')


# --- the server -----------------------------------------------------------------------------------


class IndexServer:
    """Serves projects over HTTP/1.1 on its own asyncio loop in a daemon thread.

    Mutations (add, remove, set_status, inject, the attributes) may come from any thread and
    take effect on the next request.
    """

    def __init__(
        self,
        projects: Iterable[ProjectSpec] = (),
        *,
        api_version: str | None = "1.4",
        latency: float = 0.0,
        max_age: int | None = 600,
        html_only: bool = False,
        etag: bool = True,
        auth: tuple[str, str] | None = None,
        retry_after: str = "1",
        host: str = "127.0.0.1",
        port: int = 0,
        core_metadata: bool = False,
    ) -> None:
        self.api_version = api_version
        #: PEP 658: list each wheel's core metadata and serve it at `<file URL>.metadata`, so a
        #: resolver (uv lock) can run against this index; files themselves are never served.
        self.core_metadata = core_metadata
        self.latency = latency
        self._delaying = 0  # answers in their latency sleep right now (for stats.peak_delayed)
        self.max_age = max_age
        self.html_only = html_only
        self.etag = etag
        self.auth = auth
        self.retry_after = retry_after
        self.fault_all: Fault | None = None
        self.stats = Stats()
        self.host = host
        self._port = port
        self._serial = 0
        self._projects: dict[str, _Entry] = {}
        #: Every file ever listed, by file name: served (with its metadata) when it has content.
        self._files: dict[str, FileSpec] = {}
        self._index_cache: dict[tuple[int, str | None, str], _Rendered] = {}
        self._generation = 0
        self._faults: dict[str, deque[Fault]] = {}
        #: Canonical names whose answers wait (after the request is counted) until released.
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._negotiated: dict[str | None, str | None] = {}
        self._date = (0, "")
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._connections: set[asyncio.Task[None]] = set()
        for project in projects:
            self.add(project)

    # --- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("IndexServer is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/simple/"

    def project_url(self, name: str) -> str:
        return f"{self.url}{canonical(name)}/"

    #: Servers started in this process; tests/conftest.py checks none start while collecting.
    starts = 0

    def start(self) -> str:
        if self._thread is not None:
            return self.url
        IndexServer.starts += 1
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # handed to start() in the caller's thread
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="indexserver", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            self._thread = None
            raise errors[0]
        return self.url

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._thread = None
        try:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)

    def __enter__(self) -> IndexServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _open(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(
            self._serve_connection,
            self.host,
            self._port,
            backlog=1024,
            reuse_address=True,
            # A port given: the test may hold it (listening.reserve_port) until this listens.
            reuse_port=self._port != 0,
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None and self._stopping is not None
        self._server.close()
        self._stopping.set()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    # --- mutation

    def add(self, project: ProjectSpec) -> None:
        """Serve a project, replacing one with the same canonical name (the serial changes)."""
        with self._lock:
            self._serial += 1
            entry = _Entry(replace(project, files=list(project.files)), self._serial)
            self._projects[entry.canonical] = entry
            self._files.update((f.filename, f) for f in project.files)
            self._generation += 1

    def remove(self, name: str) -> None:
        with self._lock:
            del self._projects[canonical(name)]
            self._generation += 1

    def set_status(self, name: str, status: str | None, reason: str | None = None) -> None:
        """Change a project's status; like PyPI, this keeps its serial (but not its ETag)."""
        with self._lock:
            old = self._projects[canonical(name)]
            spec = replace(old.spec, status=status, reason=reason)
            self._projects[old.canonical] = _Entry(spec, old.serial)

    def inject(self, name: str, *faults: Fault) -> None:
        """Queue faults: each next request for that project consumes one."""
        with self._lock:
            self._faults.setdefault(canonical(name), deque()).extend(faults)

    def hold(self, name: str) -> None:
        """Hold every answer for ``name`` back, once its request is counted, until
        :meth:`release` (or the server stops): a lookup the test decides when to answer."""
        with self._lock:
            self._held.add(canonical(name))

    def release(self, name: str) -> None:
        with self._lock:
            self._held.discard(canonical(name))

    def reset_stats(self) -> None:
        self.stats = Stats()

    # --- HTTP

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.stats.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                except asyncio.LimitOverrunError:
                    self._write(writer, 431, [], b"request header too large\n", keep_alive=False)
                    return
                request = _parse_request(head)
                if request is None:
                    self._write(writer, 400, [], b"bad request\n", keep_alive=False)
                    return
                method, target, headers, keep_alive = request
                length = headers.get("content-length")
                if length:
                    await reader.readexactly(int(length))
                if not await self._respond(method, target, headers, keep_alive, writer):
                    return
                await writer.drain()
        except (ConnectionError, ValueError):
            return
        except asyncio.CancelledError:
            # stop() cancels open connections; ending normally keeps asyncio's stream callback
            # from logging the cancellation as an error (Python 3.11).
            return
        finally:
            self._connections.discard(task)
            writer.close()

    async def _respond(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        keep_alive: bool,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; False when the connection must be closed."""
        stats = self.stats
        stats.requests += 1
        accept = headers.get("accept")
        stats.accepts.append(accept or "")
        stats.user_agents.add(headers.get("user-agent", ""))
        if_none_match = headers.get("if-none-match")
        if if_none_match is not None:
            stats.conditional += 1
        head_only = method == "HEAD"

        path, _, query = target.partition("?")
        name: str | None = None
        name_is_canonical = False
        if path.startswith("/simple/") and len(path) > len("/simple/"):
            rest = path[len("/simple/") :]
            raw = rest[:-1] if rest.endswith("/") else rest
            if "/" not in raw:
                name = canonical(unquote(raw))
                name_is_canonical = rest == name + "/"
                stats.by_project[name] += 1
        entry = self._projects.get(name) if name is not None else None

        spec = entry.spec if entry is not None else None
        delay = spec.latency if spec is not None and spec.latency is not None else self.latency
        if delay > 0:
            if name is not None:
                stats.delayed[name] += 1
            self._delaying += 1
            stats.peak_delayed = max(stats.peak_delayed, self._delaying)
            try:
                await asyncio.sleep(delay)
            finally:
                self._delaying -= 1
        assert self._stopping is not None
        while name in self._held and not self._stopping.is_set():
            await asyncio.sleep(0.01)  # (a poll: hold and release come from other threads)

        fault = self.fault_all
        if fault is None and name is not None:
            queued = self._faults.get(name)
            if queued:
                fault = queued.popleft()
        if fault is not None:
            return await self._fault(fault, writer, keep_alive, accept)

        if self.auth is not None and not self._authorized(headers.get("authorization")):
            stats.unauthorized += 1
            challenge = [("WWW-Authenticate", 'Basic realm="sbom-enrich test index"')]
            return self._write(writer, 401, challenge, b"unauthorized\n", keep_alive, head_only)
        if method not in ("GET", "HEAD"):
            allow = [("Allow", "GET, HEAD")]
            return self._write(writer, 405, allow, b"method not allowed\n", keep_alive)

        if path == "/simple":
            stats.redirects += 1
            return self._write(writer, 301, [("Location", self.url)], b"", keep_alive, head_only)
        if path == "/simple/":
            content_type = self._content_type(accept)
            if content_type is None:
                return self._write(writer, 406, [], b"not acceptable\n", keep_alive, head_only)
            page = self._index_page(content_type)
            return self._page(
                writer, page, content_type, None, if_none_match, keep_alive, head_only
            )
        if path.startswith("/packages/"):
            served = self._files.get(unquote(path.rsplit("/", 1)[1]))
            if served is not None and served.content is not None:
                extra = [("Content-Type", "application/octet-stream"), *self._cache_headers()]
                return self._write(writer, 200, extra, served.content, keep_alive, head_only)
        if self.core_metadata and path.startswith("/packages/") and path.endswith(".metadata"):
            filename = unquote(path.rsplit("/", 1)[1])[: -len(".metadata")]
            listed = self._files.get(filename)
            metadata = file_metadata(listed) if listed else wheel_metadata(filename)
            if metadata is not None:
                stats.metadata += 1
                extra = [("Content-Type", "application/octet-stream"), *self._cache_headers()]
                return self._write(writer, 200, extra, metadata, keep_alive, head_only)
        if entry is None:
            stats.not_found += 1
            return self._write(
                writer, 404, self._cache_headers(), b"404 Not Found\n", keep_alive, head_only
            )
        if not name_is_canonical:
            stats.redirects += 1
            location = self.project_url(entry.canonical) + (f"?{query}" if query else "")
            extra = [("Location", location), *self._cache_headers()]
            return self._write(writer, 301, extra, b"", keep_alive, head_only)

        content_type = self._content_type(accept)
        if content_type is None:
            return self._write(writer, 406, [], b"not acceptable\n", keep_alive, head_only)
        page = self._project_page(entry, content_type)
        return self._page(
            writer, page, content_type, entry.serial, if_none_match, keep_alive, head_only
        )

    def _page(
        self,
        writer: asyncio.StreamWriter,
        page: _Rendered,
        content_type: str,
        serial: int | None,
        if_none_match: str | None,
        keep_alive: bool,
        head_only: bool,
    ) -> bool:
        extra = [("Content-Type", content_type), ("Vary", "Accept")]
        if self.etag:
            extra.append(("ETag", page.etag))
        extra += self._cache_headers()
        if serial is not None:
            extra.append(("X-PyPI-Last-Serial", str(serial)))
        if self.etag and if_none_match is not None and _etag_matches(if_none_match, page.etag):
            self.stats.not_modified += 1
            extra = [h for h in extra if h[0] != "Content-Type"]
            return self._write(writer, 304, extra, b"", keep_alive, head_only=True, length=False)
        if not head_only:
            self.stats.full_responses += 1
        return self._write(writer, 200, extra, page.body, keep_alive, head_only)

    async def _fault(
        self, fault: Fault, writer: asyncio.StreamWriter, keep_alive: bool, accept: str | None
    ) -> bool:
        self.stats.faults += 1
        if fault is Fault.RESET:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # Linger 0: the close sends RST, which clients see as "connection reset".
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault is Fault.HANG:
            assert self._stopping is not None
            await self._stopping.wait()
            return False
        if fault is Fault.GARBAGE:
            content_type = self._content_type(accept) or JSON_V1
            return self._write(writer, 200, [("Content-Type", content_type)], _GARBAGE, keep_alive)
        status = _FAULT_STATUS[fault]
        extra = [("Retry-After", self.retry_after)] if status in (429, 503) else []
        body = f"{status} {_REASONS[status]}\n".encode()
        return self._write(writer, status, extra, body, keep_alive)

    def _authorized(self, header: str | None) -> bool:
        assert self.auth is not None
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == self.auth

    def _content_type(self, accept: str | None) -> str | None:
        if self.html_only:
            return TEXT_HTML  # like a plain old index: no negotiation at all
        try:
            return self._negotiated[accept]
        except KeyError:
            chosen = self._negotiated[accept] = negotiate(accept)
            return chosen

    def _project_page(self, entry: _Entry, content_type: str) -> _Rendered:
        api = self.api_version if entry.spec.api_version == INHERIT else entry.spec.api_version
        key = (api, content_type)
        page = entry.rendered.get(key)
        if page is None:
            render = render_json if content_type == JSON_V1 else render_html
            page = entry.rendered[key] = _rendered(
                render(entry.spec, api, entry.serial, core_metadata=self.core_metadata),
                content_type,
            )
        return page

    def _index_page(self, content_type: str) -> _Rendered:
        key = (self._generation, self.api_version, content_type)
        page = self._index_cache.get(key)
        if page is None:
            with self._lock:
                projects = sorted((e.spec.name, e.serial) for e in self._projects.values())
            render = render_index_json if content_type == JSON_V1 else render_index_html
            page = _rendered(render(projects, self.api_version), content_type)
            self._index_cache = {key: page}
        return page

    def _cache_headers(self) -> list[tuple[str, str]]:
        if self.max_age is None:
            return []
        return [("Cache-Control", f"max-age={self.max_age}, public")]

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        keep_alive: bool,
        head_only: bool = False,
        length: bool = True,
    ) -> bool:
        self.stats.by_status[status] += 1
        if status == 200 and not headers:
            headers = [("Content-Type", "text/plain")]
        elif status >= 400 and body:
            headers = [("Content-Type", "text/plain; charset=utf-8"), *headers]
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if length:
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"Date: {self._http_date()}")
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        lines += ["", ""]
        head = "\r\n".join(lines).encode("latin-1")
        if head_only or not body:
            writer.write(head)
        else:
            self.stats.bytes_sent += len(body)
            writer.write(head + body)
        return keep_alive


def _parse_request(head: bytes) -> tuple[str, str, dict[str, str], bool] | None:
    """Method, target, lower-cased headers and keep-alive; None when malformed."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            return None
        key = key.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if "transfer-encoding" in headers:
        return None  # request bodies are never needed here; refuse rather than mis-frame
    connection = headers.get("connection", "").lower()
    # HTTP/1.1 keeps connections open unless told otherwise; 1.0 only when asked.
    keep_alive = "close" not in connection if version != "HTTP/1.0" else "keep-alive" in connection
    return method, target, headers, keep_alive


def _etag_matches(if_none_match: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison (RFC 9110 13.1.2).
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


# --- data sets ------------------------------------------------------------------------------------


def default_projects() -> list[ProjectSpec]:
    """The projects of the `index_server` fixture (documented in tests/conftest.py)."""
    return [
        ProjectSpec(
            "requests",
            files=[
                *release("requests", "2.31.0", upload_time="2023-05-22T15:12:42.313790Z"),
                *release(
                    "requests",
                    "2.32.0",
                    upload_time="2024-05-20T15:27:42.134453Z",
                    yanked="Yanked due to conflicts with CVE-2024-35195 mitigation",
                ),
                *release("requests", "2.32.3", upload_time="2024-05-29T15:37:47.027710Z"),
            ],
        ),
        ProjectSpec(
            "pycrypto",
            status="archived",
            files=release("pycrypto", "2.6.1", wheel=False, upload_time="2013-10-17T20:47:16Z"),
        ),
        ProjectSpec(
            "nose",
            status="deprecated",
            reason="Unmaintained since 2015; use pytest",
            files=[
                *release("nose", "1.3.6", yanked=True, upload_time="2015-04-04T23:04:47.000000Z"),
                *release("nose", "1.3.7", upload_time="2015-06-02T09:12:32.000000Z"),
            ],
        ),
        ProjectSpec(
            "evil-pkg",
            status="quarantined",
            reason="Reported as malware",
            files=release("evil-pkg", "0.0.1", upload_time="2025-01-01T00:00:00Z"),
        ),
        ProjectSpec(
            "old-api",
            status="archived",
            api_version="1.0",
            files=release("old-api", "1.0", upload_time="2020-01-01T00:00:00Z"),
        ),
        ProjectSpec(
            "zope.interface",
            files=release("zope.interface", "7.2", upload_time="2024-11-28T08:47:43.000000Z"),
        ),
        ProjectSpec("silent-pkg", status=None, files=release("silent-pkg", "1.0")),
        ProjectSpec("future-pkg", status="retired", files=release("future-pkg", "1.0")),
        ProjectSpec(
            "string-status",
            status="archived",
            status_style="string",
            files=release("string-status", "1.0"),
        ),
        ProjectSpec(
            "meta-status",
            status="deprecated",
            reason="Use requests",
            status_style="meta",
            files=release("meta-status", "1.0"),
        ),
    ]


_WORDS = (
    *("async", "alpha", "json", "yaml", "http", "cloud", "data", "fast", "micro", "py"),
    *("lib", "tiny", "auth", "cache", "crypto", "graph", "image", "test", "log", "net"),
    *("orm", "schema", "sql", "stream", "task", "text", "time", "web", "xml", "zip"),
)


def synthetic_projects(n: int, seed: int = 0) -> list[ProjectSpec]:
    """A deterministic, realistic mix for benchmarks.

    About 90% active, 5% archived, 3% deprecated, 2% quarantined; 1 to 40 releases each (most
    have a few, some many); about 10% have a yanked release; upload times rise per release.
    Canonical names are `<word>-<word>-<i>`; one in ten uses a display spelling that needs
    normalizing (`Json_Cache.7`).
    """
    rng = random.Random(seed)
    projects = []
    for i in range(n):
        first, second = rng.choice(_WORDS), rng.choice(_WORDS)
        name = f"{first}-{second}-{i}"
        if rng.random() < 0.1:
            name = f"{first.title()}_{second.title()}.{i}"
        roll = rng.random()
        status, reason = "active", None
        if roll >= 0.98:
            status = "quarantined"
        elif roll >= 0.95:
            status = "deprecated"
            reason = rng.choice([None, f"Superseded by {second}-next"])
        elif roll >= 0.90:
            status = "archived"
        count = min(40, max(1, int(rng.paretovariate(1.2) * 3)))
        yanked_index = rng.randrange(count) if rng.random() < 0.1 else -1
        t = 1_500_000_000 + rng.randrange(100_000_000)
        files = []
        for r in range(count):
            version = f"{r // 10}.{r % 10}.{rng.randrange(3)}"
            t += rng.randrange(86_400, 86_400 * 120)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{r:06d}Z"
            yanked: bool | str = False
            if r == yanked_index:
                yanked = True if rng.random() < 0.5 else "Broken build"
            files += release(name, version, yanked=yanked, upload_time=stamp)
        projects.append(ProjectSpec(name, status=status, reason=reason, files=files))
    return projects


# --- command line ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="serve N synthetic projects (default: the test set)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-age", default="600", help="Cache-Control max-age; 'none' to omit")
    parser.add_argument("--api-version", default="1.4", help="'none' to send no version")
    parser.add_argument("--html-only", action="store_true")
    parser.add_argument(
        "--core-metadata", action="store_true", help="serve wheels' core metadata (PEP 658)"
    )
    parser.add_argument("--stats-file", help="write the request statistics here (JSON) on exit")
    args = parser.parse_args(argv)

    projects = synthetic_projects(args.synthetic, args.seed) if args.synthetic else None
    server = IndexServer(
        default_projects() if projects is None else projects,
        api_version=None if args.api_version.lower() == "none" else args.api_version,
        latency=args.latency,
        max_age=None if args.max_age.lower() == "none" else int(args.max_age),
        html_only=args.html_only,
        core_metadata=args.core_metadata,
        host=args.host,
        port=args.port,
    )
    # Blocked before the server thread starts (threads inherit the mask), then awaited below.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    print(server.start(), flush=True)
    try:
        signal.sigwait(stop_signals)
    finally:
        server.stop()
        if args.stats_file:
            # CPU time lets a benchmark tell the server's share of the machine from the client's.
            data = {**server.stats.to_json(), "cpu_seconds": round(time.process_time(), 3)}
            with open(args.stats_file, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())


#: The type of the ``make_index_server`` fixture (tests/conftest.py).
MakeIndexServer = Callable[..., IndexServer]
