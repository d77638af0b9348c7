"""Index servers nobody here wrote, on 127.0.0.1, serving one static PEP 503/792 tree.

Each runs in a process of its own, on a port it takes itself and names where it can (port 0;
pypiserver and devpi-server cannot say which they took, and are given one this process holds
until they stop: listening.reserve_port): Python's
``http.server`` (as shipped, and as a ``ThreadingHTTPServer`` with a listen backlog of 5 and
50 ms per page), pypiserver, waitress (its 100-connection cap), proxpi (a caching proxy,
Flask's threaded server, in front of http.server) and devpi-server (a mirror index, waitress,
in front of http.server). Run as a script to start one of the in-house-launched ones:
``python tests/realservers.py KIND --root DIR --port N`` (0: any free port; it prints the one
it took).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from listening import ProcessOutput, reserve_port

HERE = Path(__file__).resolve().parent
KINDS = ("backlog5", "http.server", "pypiserver", "waitress", "proxpi", "devpi")
STATUSES = ("active",) * 16 + ("archived", "deprecated", "quarantined", "active")


def project_names(n: int) -> list[str]:
    """``n`` names of letters only (pypiserver guesses name/version from file names)."""
    names = []
    for i in range(n):
        letters = ""
        number = i
        while True:
            letters = chr(ord("a") + number % 26) + letters
            number //= 26
            if not number:
                break
        names.append(f"proj-{letters}")
    return names


def page(name: str, status: str) -> bytes:
    """A PEP 503 page at API 1.4 with its PEP 792 status marker and a few files."""
    links = "".join(
        f'<a href="../../packages/{name}-{v}.tar.gz">{name}-{v}.tar.gz</a><br>\n'
        for v in ("0.1", "0.2", "1.0")
    )
    return (
        "<!DOCTYPE html><html><head>"
        '<meta name="pypi:repository-version" content="1.4">'
        f'<meta name="pypi:project-status" content="{status}">'
        f"<title>Links for {name}</title></head><body><h1>Links for {name}</h1>\n{links}"
        "</body></html>\n"
    ).encode()


def write_tree(root: Path, names: Iterable[str]) -> dict[str, str]:
    """``root/simple/<name>/index.html``, the root page listing them (PEP 503) and
    ``root/packages/<name>-1.0.tar.gz`` (empty)."""
    statuses = {}
    (root / "packages").mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        status = STATUSES[i % len(STATUSES)]
        statuses[name] = status
        directory = root / "simple" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "index.html").write_bytes(page(name, status))
        (root / "packages" / f"{name}-1.0.tar.gz").write_bytes(b"")
    # A mirror (devpi) learns which projects exist from the root page; http.server's own
    # directory listing spells each link "proj-a/", which is no project name.
    links = "".join(f'<a href="{name}/">{name}</a>\n' for name in sorted(statuses))
    (root / "simple" / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4">'
        f"<title>Simple index</title></head><body>\n{links}</body></html>\n"
    )
    return statuses


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


#: How each server says where it listens, when told port 0 (pypiserver says ":0", and
#: devpi-server names port 0 as its URL: both get a port held for them instead).
_LISTENING = {
    "http.server": re.compile(rb"Serving HTTP on \S+ port (\d+)"),
    "backlog5": re.compile(rb"listening on port (\d+)"),
    "waitress": re.compile(rb"listening on port (\d+)"),
    "proxpi": re.compile(rb"Running on http://127\.0\.0\.1:(\d+)"),
}


@contextlib.contextmanager
def running(kind: str, root: Path, delay: float = 0.05) -> Iterator[str]:
    """Start server ``kind`` on ``root``; yields its simple index URL; stops it after."""
    if kind in ("proxpi", "devpi"):
        front = _proxpi if kind == "proxpi" else _devpi
        with running("http.server", root) as upstream, front(upstream, root) as url:
            yield url
        return
    if kind == "pypiserver":
        # Its own command line and server (waitress through Bottle), on a port held here:
        # waitress binds it beside the reservation (SO_REUSEADDR).
        with reserve_port() as held:
            port = held.getsockname()[1]
            command = [sys.executable, "-m", "pypiserver", "run", "-p", str(port)]
            process = subprocess.Popen(
                [*command, "-i", "127.0.0.1", str(root / "packages")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=root,
            )
            try:
                wait_for_port(port, process)
                yield f"http://127.0.0.1:{port}/simple/"
            finally:
                _stop(process)
        return
    if kind == "http.server":
        command = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
        command += ["--directory", str(root)]
    else:
        command = [sys.executable, __file__, kind, "--root", str(root), "--port", "0"]
        command += ["--delay", str(delay)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root)
    try:
        port = ProcessOutput(process, process.stdout, _LISTENING[kind]).port(30)
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _proxpi(upstream: str, root: Path) -> Iterator[str]:
    """proxpi (PROXPI_INDEX_URL: ``upstream``) on Flask's threaded server; its index URL."""
    command = [sys.executable, "-m", "flask", "--app", "proxpi.server", "run"]
    command += ["--host", "127.0.0.1", "--port", "0"]
    env = {
        **os.environ,
        "PROXPI_INDEX_URL": upstream,
        "PROXPI_CACHE_DIR": str(root.parent / f"{root.name}-proxpi-cache"),
    }
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=root, env=env
    )
    try:
        port = ProcessOutput(process, process.stderr, _LISTENING["proxpi"]).port(30)
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/index/"
    finally:
        _stop(process)


@contextlib.contextmanager
def _devpi(upstream: str, root: Path) -> Iterator[str]:
    """devpi-server (waitress, 50 threads) with one mirror index of ``upstream``; its URL.

    The index is made the way an administrator makes one, through devpi's HTTP API: log in
    as root, then ``PUT /root/<index>`` with ``type: mirror``. No root/pypi mirror, so
    nothing reaches for pypi.org.

    Its port is held here until it stops (listening.reserve_port; waitress binds it beside
    the reservation): told port 0, waitress takes a free one, but devpi still names
    ``http://127.0.0.1:0`` as the URL it serves at.
    """
    with reserve_port() as held:
        port = held.getsockname()[1]
        serverdir = root.parent / f"{root.name}-devpi-{port}"
        bindir = Path(sys.executable).parent
        subprocess.run(
            [str(bindir / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi"]
            + ["--root-passwd", "secret"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        command = [str(bindir / "devpi-server"), "--serverdir", str(serverdir)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root
        )
        try:
            wait_for_port(port, process, seconds=120)  # it starts in 1-10 s
            base = f"http://127.0.0.1:{port}"
            login = _devpi_call(f"{base}/+login", "POST", {"user": "root", "password": "secret"})
            token = base64.b64encode(f"root:{login['result']['password']}".encode()).decode()
            config = {"type": "mirror", "mirror_url": upstream}
            _devpi_call(f"{base}/root/mirror", "PUT", config, {"X-Devpi-Auth": token})
            yield f"{base}/root/mirror/+simple/"
        finally:
            _stop(process)


def _devpi_call(
    url: str, method: str, body: dict[str, str], headers: dict[str, str] | None = None
) -> Any:
    request = urllib.request.Request(  # noqa: S310 (our own server on 127.0.0.1)
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json"}
        | (headers or {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def serve_backlog5(root: Path, port: int, delay: float) -> None:
    """Stdlib ThreadingHTTPServer, listen backlog 5, ``delay`` per page, HTTP/1.0 as shipped."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Slow(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            time.sleep(delay)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Backlog5(ThreadingHTTPServer):
        request_queue_size = 5

    server = Backlog5(("127.0.0.1", port), partial(Slow, directory=str(root)))
    print(f"listening on port {server.server_address[1]}", flush=True)
    server.serve_forever()


def serve_waitress(root: Path, port: int, delay: float) -> None:
    """waitress at its defaults (100 connections, 4 threads), ``delay`` per page."""
    import waitress

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        target = (root / path.lstrip("/") / "index.html").resolve()
        time.sleep(delay)
        if root.resolve() not in target.parents or not target.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        body = target.read_bytes()
        start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        )
        return [body]

    server = waitress.create_server(app, host="127.0.0.1", port=port)
    print(f"listening on port {server.effective_port}", flush=True)
    server.run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("backlog5", "waitress"))
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    os.chdir(args.root)
    if args.kind == "backlog5":
        serve_backlog5(args.root, args.port, args.delay)
    else:
        serve_waitress(args.root, args.port, args.delay)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
