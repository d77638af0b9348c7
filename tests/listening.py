"""Ports for test servers: a server process on port 0 saying which it took; a port held."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

#: What uvicorn logs once it listens (with the port it was given, or the one it took for 0).
UVICORN_LISTENING = re.compile(rb"Uvicorn running on https?://\S+:(\d+) ")


class ProcessOutput:
    """Reads one output stream of ``process`` to its end in a thread, and finds in it the
    port the server says it listens on.

    A port picked free beforehand (bind port 0, close, hand the number over) can be taken by
    anything else on the machine before the server binds it; the server binding port 0 itself
    cannot lose it.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        stream: IO[bytes] | None,
        pattern: re.Pattern[bytes] = UVICORN_LISTENING,
    ) -> None:
        assert stream is not None, "the stream must be a pipe"
        self._process = process
        self._pattern = pattern
        self._chunks: list[bytes] = []
        self._port: int | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            with self._changed:
                self._chunks.append(line)
                if self._port is None and (found := self._pattern.search(line)) is not None:
                    self._port = int(found.group(1))
                self._changed.notify_all()
        stream.close()
        with self._changed:
            self._changed.notify_all()

    def port(self, limit: float = 60.0) -> int:
        """The port the server announced; fails with what it wrote if it ended or never did."""
        deadline = time.monotonic() + limit
        with self._changed:
            while self._port is None:
                if not self._thread.is_alive():
                    raise AssertionError(
                        b"".join(self._chunks).decode(errors="replace") or "the server ended"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError("the server never said where it listens")
                self._changed.wait(0.5)
            return self._port

    def text(self) -> bytes:
        """All it wrote, once the process has ended (call after wait/kill)."""
        self._thread.join(30)
        with self._changed:
            return b"".join(self._chunks)


def reserve_port(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1:``port`` (0: a free one), never listening: connections
    there are refused until a server listens there, and the port is nobody else's while it
    is held.

    For a server that cannot take port 0 and say which it took (redis-server, pypiserver,
    devpi-server, pygls), start it on the held port and keep holding it: Linux lets a
    socket bind and listen beside a bound, non-listening one when both set SO_REUSEADDR
    (redis, waitress and asyncio's servers set it) or both SO_REUSEPORT (the same user),
    while a bind without either fails, and the kernel never hands a held port to a bind of
    port 0 or to an outgoing connection (tests/test_listening.py holds it to that). A port
    probed free and let go instead can be taken by anything before the server binds it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def nginx_listeners(count: int) -> tuple[list[socket.socket], dict[str, str]]:
    """``count`` sockets listening on free loopback ports, for an nginx to inherit, and the
    environment that tells it so (its ``NGINX`` variable, as in its binary upgrade): nginx
    cannot take port 0 and say which, and a port picked free and let go could be taken
    before it binds. Its ``listen 127.0.0.1:PORT`` directives then use these sockets. Start
    it with ``pass_fds`` of their descriptors, then close them here."""
    listeners = [socket.create_server(("127.0.0.1", 0), backlog=511) for _ in range(count)]
    return listeners, {"NGINX": "".join(f"{sock.fileno()};" for sock in listeners)}


def wait_for_pid(process: subprocess.Popen[bytes], pid_file: Path, limit: float = 15.0) -> None:
    """Until nginx wrote its pid file (it has the inherited sockets: connections made now wait
    in their queue for its worker); fails with its stderr if it ended first."""
    deadline = time.monotonic() + limit
    while not pid_file.exists():
        if process.poll() is not None:
            stderr = process.stderr.read() if process.stderr is not None else b""
            raise AssertionError(f"nginx exited: {stderr.decode(errors='replace')}")
        if time.monotonic() > deadline:
            raise AssertionError("nginx did not start")
        time.sleep(0.02)
