"""What the tests' held ports (listening.reserve_port) rely on: the kernel's rules, checked."""

from __future__ import annotations

import errno
import socket

import pytest

from listening import reserve_port


def test_a_server_setting_reuseaddr_listens_on_a_held_port_and_a_plain_bind_cannot() -> None:
    with reserve_port() as held:
        port = held.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):  # held, not listening: refused
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with socket.socket() as plain, pytest.raises(OSError) as taken:
            plain.bind(("127.0.0.1", port))
        assert taken.value.errno == errno.EADDRINUSE
        # As redis-server, waitress and asyncio's servers bind: SO_REUSEADDR only.
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                accepted, _ = server.accept()
                with accepted:
                    client.sendall(b"ping")
                    assert accepted.recv(4) == b"ping"


def test_a_bind_of_port_0_is_never_handed_a_held_port() -> None:
    # 300 ports held, then 10,000 binds of port 0 (500 open at a time, under the usual
    # 1024 open files): were held ports handed out, about 200 of them would be.
    held = [reserve_port() for _ in range(300)]
    try:
        ports = {sock.getsockname()[1] for sock in held}
        handed: set[int] = set()
        for _batch in range(20):
            batch = [socket.socket() for _ in range(500)]
            try:
                for sock in batch:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind(("127.0.0.1", 0))
                    handed.add(sock.getsockname()[1])
            finally:
                for sock in batch:
                    sock.close()
        assert not handed & ports
    finally:
        for sock in held:
            sock.close()
