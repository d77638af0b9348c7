"""The service under a hostile index: a gzip bomb and an endless drip cost their own lookups,
and an ordinary project is answered while the drip is still going (one client for all)."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from servicekit import MakeService

MIB = 1024 * 1024
JSON_TYPE = b"Content-Type: application/vnd.pypi.simple.v1+json\r\n"


def page(name: str) -> bytes:
    return json.dumps(
        {"meta": {"api-version": "1.4"}, "name": name, "files": [], "versions": [],
         "project-status": {"status": "archived"}}
    ).encode()  # fmt: skip


def gzip_bomb(decompressed: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * MIB
    return b"".join(packer.compress(zeros) for _ in range(decompressed // MIB)) + packer.flush()


@pytest.fixture
async def hostile_index() -> AsyncIterator[tuple[str, list[int]]]:
    """``/simple/bomb/``: 100 MiB of gzip; ``/simple/drip/``: a byte every 50 ms, forever."""
    bomb = gzip_bomb(100 * MIB)
    dripped = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                name = head.split(b" ")[1].rstrip(b"/").rsplit(b"/", 1)[1].decode()
                if name == "bomb":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n" + JSON_TYPE)
                    writer.write(b"Content-Length: %d\r\n\r\n" % len(bomb) + bomb)
                elif name == "drip":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n" + JSON_TYPE)
                    writer.write(b"\r\n")
                    while True:
                        writer.write(b" ")
                        await writer.drain()
                        dripped[0] += 1
                        await asyncio.sleep(0.05)
                else:
                    body = page(name)
                    writer.write(b"HTTP/1.1 200 OK\r\n" + JSON_TYPE)
                    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/simple/", dripped
    server.close()


async def test_hostile_pages_cost_their_own_lookups_and_block_no_one(
    make_service: MakeService, hostile_index: tuple[str, list[int]]
) -> None:
    url, dripped = hostile_index
    service = make_service(url, timeout=3.0, max_page_bytes=1 * MIB, use_cache=False)
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        drip = asyncio.ensure_future(http.get("/v1/projects/drip"))
        while dripped[0] == 0:  # the drip has begun
            await asyncio.sleep(0.01)
        bomb = (await http.get("/v1/projects/bomb")).json()
        fine = (await http.get("/v1/projects/fine")).json()
        assert not drip.done()  # answered while the drip still holds its own lookup
        dripping = (await drip).json()
    assert fine["status"] == "archived" and fine["error"] is None
    assert bomb["status"] == "unknown" and bomb["error"] == "page larger than 1 MiB"
    assert dripping["status"] == "unknown" and dripping["error"] == "timed out after 3 s"
