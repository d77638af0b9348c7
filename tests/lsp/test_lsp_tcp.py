"""`sbom-enrich-lsp --tcp HOST:PORT`: the debugging transport answers a real LSP handshake."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from listening import reserve_port


def _connection(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        return None


def start_listening(
    port: int, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """``--tcp`` on ``port``, held by the caller (listening.reserve_port), and a connection.

    pygls binds the port it is given (it cannot take port 0 and say which it got); asyncio's
    server binds it beside the reservation (SO_REUSEADDR), and nothing else can take it
    meanwhile. (Something else listening there would fail the handshake's serverInfo check.)
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "lsp", "--tcp", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while server.poll() is None:
        if (sock := _connection(port)) is not None:
            return server, sock
        if time.monotonic() > deadline:
            server.kill()
            break
        time.sleep(0.1)
    _, stderr = server.communicate()
    raise AssertionError(f"the server never listened: {stderr.decode(errors='replace')}")


def send(sock: socket.socket, message: dict[str, object]) -> None:
    body = json.dumps(message).encode()
    sock.sendall(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def receive(sock: socket.socket, buffer: bytearray) -> dict[str, object]:
    while b"\r\n\r\n" not in buffer:
        buffer.extend(sock.recv(65536))
    header, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += sock.recv(65536)
    buffer[:] = rest[length:]
    message: dict[str, object] = json.loads(rest[:length])
    return message


def test_tcp_mode_answers_initialize_and_exits_on_request(tmp_path: Path) -> None:
    env = {**os.environ, "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    with reserve_port() as held:
        server, sock = start_listening(held.getsockname()[1], env)
    try:
        buffer = bytearray()
        with sock:
            params = {"processId": None, "rootUri": None, "capabilities": {}}
            send(sock, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
            reply = receive(sock, buffer)
            while "id" not in reply:  # notifications (log messages) may come first
                reply = receive(sock, buffer)
            result = reply["result"]
            assert isinstance(result, dict)
            assert result["serverInfo"]["name"] == "sbom-enrich-lsp"
            assert result["capabilities"]["hoverProvider"]
            send(sock, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
            send(sock, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
            reply = receive(sock, buffer)
            while reply.get("id") != 2:
                reply = receive(sock, buffer)
            send(sock, {"jsonrpc": "2.0", "method": "exit"})
        server.wait(timeout=20)
        stdout = server.stdout.read() if server.stdout else b""
        assert stdout == b""  # the protocol went over TCP; stdout stays silent
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
