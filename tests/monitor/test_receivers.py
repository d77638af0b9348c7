"""The test receivers themselves: nothing of one outlives its test, its port stays its own."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
from receivers import HttpReceiver


def test_a_held_answer_ends_when_the_receiver_closes() -> None:
    """A handler holding its answer (``delay``) for a client killed meanwhile used to wake
    after its test, write to the dead connection, and socketserver printed the broken pipe
    into the stderr of whatever test ran then (CI: a `monitor status` run's)."""
    receiver = HttpReceiver().start()
    receiver.delay = 30.0
    before = set(threading.enumerate())
    with socket.create_connection(("127.0.0.1", receiver.port)) as client:
        client.sendall(b"POST /hook HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
        deadline = time.monotonic() + 30
        while not receiver.received:
            assert time.monotonic() < deadline, "the request never arrived"
            time.sleep(0.01)
    receiver.close()
    assert set(threading.enumerate()) <= before  # its handler thread is gone
    assert receiver.errors == []


def test_a_stopped_receiver_refuses_and_keeps_its_port() -> None:
    receiver = HttpReceiver().start()
    try:
        port = receiver.port
        receiver.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.post(receiver.url, json={})
        # Held while down: another socket cannot take it (as one binding port 0 could not).
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
        receiver.start()
        assert receiver.port == port
        assert httpx.post(receiver.url, json={"up": True}).status_code == 200
        assert receiver.events() == [{"up": True}]
    finally:
        receiver.close()
