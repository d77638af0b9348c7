"""A client that sends its whole body before reading (urllib) sees the 413, not a reset."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servicekit import serve_process

from indexserver import IndexServer

#: Far more than the kernel's socket buffers hold, so the server must read it to let the
#: client finish sending.
LARGE = 32 * 1024 * 1024


def chunks() -> Iterator[bytes]:
    for _ in range(LARGE // 2**20):
        yield b" " * 2**20


@pytest.mark.parametrize(
    ("path", "chunked"),
    [("/v1/enrich", False), ("/v1/projects:batch", False), ("/v1/enrich", True)],
    ids=["enrich", "batch", "enrich-chunked"],
)
def test_urllib_sees_the_413_for_a_large_body(
    index_server: IndexServer, tmp_path: Path, path: str, chunked: bool
) -> None:
    args = ["--index-url", index_server.url, "--cache-dir", str(tmp_path / "cache")]
    with serve_process([*args, "--max-body", "1K"]) as service:
        request = urllib.request.Request(
            service.url + path,
            data=chunks() if chunked else b" " * LARGE,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)  # noqa: S310 - a local test server
        error = refused.value
        assert error.code == 413
        assert error.headers["Connection"] == "close"
        assert "1024 bytes" in json.loads(error.read())["error"]
        # The connection was dropped, not the service: the next client is served.
        with urllib.request.urlopen(service.url + "/healthz", timeout=30) as health:  # noqa: S310
            assert health.status == 200
