"""The service's settings: flags over ``SBOM_ENRICH_*`` twins, and their hand-off to workers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SettingsError
from ..findings.kinds import DEFAULT_FAIL_ON
from ..status.settings import ClientSettings, parse_whole_number

DEFAULT_MAX_BODY = 50 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_BATCH = 1000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Carries the settings to uvicorn's worker processes (they import the app by name).
CONFIG_ENV = "SBOM_ENRICH_SERVE_CONFIG"

#: Serve flags and their environment twins (documented in docs/deploy.md).
SERVE_ENV_TWINS: Mapping[str, str] = {
    "--host": "SBOM_ENRICH_HOST",
    "--port": "SBOM_ENRICH_PORT",
    "--workers": "SBOM_ENRICH_WORKERS",
    "--max-body": "SBOM_ENRICH_MAX_BODY",
    "--request-timeout": "SBOM_ENRICH_REQUEST_TIMEOUT",
    "--cache-url": "SBOM_ENRICH_CACHE_URL",
}

_SIZE = re.compile(r"(\d+)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class ServiceSettings:
    """Everything one service process needs; the defaults are the documented ones."""

    client: ClientSettings = field(default_factory=ClientSettings)
    #: Policy for requests that do not say ``fail_on`` / ``allow_incomplete``.
    fail_on: frozenset[str] = DEFAULT_FAIL_ON
    allow_incomplete: bool = False
    alternatives_files: tuple[Path, ...] = ()
    #: None: diskcache in ``client.cache_dir``; ``redis://...``: shared Redis.
    cache_url: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_batch: int = DEFAULT_MAX_BATCH
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1

    def to_json(self) -> str:
        data = asdict(self)
        data["fail_on"] = sorted(self.fail_on)
        data["alternatives_files"] = [str(p) for p in self.alternatives_files]
        client = data["client"]
        client["cache_dir"] = str(self.client.cache_dir) if self.client.cache_dir else None
        client["allowed_indexes"] = list(self.client.allowed_indexes)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServiceSettings:
        data: dict[str, Any] = json.loads(text)
        client = dict(data.pop("client"))
        client["cache_dir"] = Path(client["cache_dir"]) if client["cache_dir"] else None
        client["allowed_indexes"] = tuple(client["allowed_indexes"])
        data["fail_on"] = frozenset(data["fail_on"])
        data["alternatives_files"] = tuple(Path(p) for p in data["alternatives_files"])
        return cls(client=ClientSettings(**client), **data)


def parse_size(name: str, value: str) -> int:
    """``52428800``, ``50M``, ``50MB`` or ``50MiB`` → bytes (K, M and G are binary units)."""
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise SettingsError(f"{name}: expected a size like 50M or 1048576, got {value!r}")
    number = int(match[1]) * _UNITS[(match[2] or "")[:1].lower()]
    if number < 1:
        raise SettingsError(f"{name}: must be at least 1 byte")
    return number


def parse_port(name: str, value: str | int) -> int:
    return parse_whole_number(name, value, 0, 65535, "a port number")


def parse_workers(name: str, value: str | int) -> int:
    return parse_whole_number(name, value, 1, 64)


def parse_cache_url(name: str, value: str) -> str:
    from ..status.cache.redis import is_redis_url

    if not is_redis_url(value.strip()):
        raise SettingsError(
            f"{name}: expected a redis://, rediss:// or unix:// URL (leave it unset for the "
            "disk cache)"
        )
    return value.strip()
