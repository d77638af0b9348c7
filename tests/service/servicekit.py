"""Runs the real service on uvicorn in a thread on 127.0.0.1, and a real redis-server, for tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from indexserver import IndexServer
from listening import ProcessOutput, reserve_port
from sbom_enrich.service.app import create_app
from sbom_enrich.service.config import ServiceSettings
from sbom_enrich.service.connections import uvicorn_options
from sbom_enrich.status.settings import ClientSettings

MakeIndexServer = Callable[..., IndexServer]


class RunningService:
    """``create_app(settings)`` served by uvicorn on a free loopback port until ``stop()``."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            **uvicorn_options(settings),
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RunningService:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(15)
        self._socket.close()

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)


def service_settings(index_url: str, cache_dir: Path, **changes: Any) -> ServiceSettings:
    """Settings for a test service: the given index, its own cache dir, fast retries."""
    client_changes = {
        key: changes.pop(key) for key in list(changes) if key in ClientSettings.__struct_fields__
    }
    client = ClientSettings(index_url=index_url, cache_dir=cache_dir, retries=1, **client_changes)
    return replace(ServiceSettings(client=client), **changes)


MakeService = Callable[..., RunningService]


class ServeProcess:
    """A real ``python -m sbom_enrich serve`` process: its URL, and its log (stdout and
    stderr: uvicorn's access log goes to stdout) once stopped."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url
        self.log = b""


@contextmanager
def serve_process(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    scheme: str = "http",
    verify: Any = True,
) -> Iterator[ServeProcess]:
    """``sbom-enrich serve ARGS --port 0`` until it answers ``/healthz``; killed at exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", "serve", "--port", "0", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = ProcessOutput(process, process.stdout)
    running = ServeProcess(process, "")
    try:
        running.url = f"{scheme}://127.0.0.1:{output.port(20)}"
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(output.text())
            try:
                if httpx.get(f"{running.url}/healthz", timeout=1, verify=verify).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the service did not come up")
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        running.log = output.text()


class RedisServer:
    """A throwaway ``redis-server`` on a 127.0.0.1 port held for it (no persistence).

    redis-server cannot take port 0 and say which it took (``--port 0`` turns TCP off), and
    the service's Redis is reached over TCP, so the port is held here from before the first
    start until :meth:`close` (listening.reserve_port): redis binds it beside the
    reservation, and while it is down (:meth:`kill`) the port stays nobody else's, so
    :meth:`start` brings it back on the same port. With ``unix_socket`` it listens on that
    socket file instead, and no TCP port at all (``unix://`` URLs).
    """

    def __init__(self, directory: Path, unix_socket: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.binary = binary
        self.directory = directory
        #: Listen on this socket file instead of TCP (``--port 0``: no TCP at all).
        self.unix_socket = unix_socket
        self._held = reserve_port() if unix_socket is None else None
        self.port = int(self._held.getsockname()[1]) if self._held is not None else 0
        self.log = directory / f"redis-{self.port or 'unix'}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}?db=0"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if self.unix_socket is None:
            command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        else:
            command = [self.binary, "--port", "0", "--unixsocket", str(self.unix_socket)]
            command += ["--unixsocketperm", "700"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        command += ["--protected-mode", "no", "--logfile", str(self.log)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with self._connect() as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.kill()
                log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"redis-server did not start:\n{log}")
            time.sleep(0.05)

    def _connect(self) -> socket.socket:
        if self.unix_socket is None:
            return socket.create_connection(("127.0.0.1", self.port), timeout=0.2)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(0.2)
        try:
            conn.connect(str(self.unix_socket))
        except OSError:
            conn.close()
            raise
        return conn

    def kill(self) -> None:
        """Down: connections are refused until :meth:`start` again (same port)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        """Down for good: the port is let go."""
        self.kill()
        if self._held is not None:
            self._held.close()
