"""Fixtures for the service tests: ``make_service`` (uvicorn in a thread) and ``redis_server``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servicekit import MakeService, RedisServer, RunningService, service_settings


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[MakeService]:
    """``make_service(index_url, **settings)``: a started service; each gets its own cache dir
    unless ``cache_dir`` is given. Stopped at teardown."""
    running: list[RunningService] = []

    def make(index_url: str, **changes: Any) -> RunningService:
        changes.setdefault("cache_dir", tmp_path / f"cache-{len(running)}")
        service = RunningService(service_settings(index_url, **changes)).start()
        running.append(service)
        return service

    yield make
    for service in running:
        service.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on a 127.0.0.1 port held for it (skips when scripts/ensure-redis
    could not install it)."""
    try:
        server = RedisServer(tmp_path)
    except FileNotFoundError:
        pytest.skip("redis-server is not installed (scripts/ensure-redis installs it)")
    try:
        yield server.start()
    finally:
        server.close()
