"""The service's settings: flags over ``SBOM_ENRICH_*`` twins, and their hand-off to workers."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ..errors import SettingsError
from ..findings.kinds import DEFAULT_FAIL_ON
from ..status.maintenance import StalePolicy
from ..status.repository.settings import RepositorySettings
from ..status.settings import ClientSettings, parse_whole_number

DEFAULT_MAX_BODY = 50 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_BATCH = 1000
#: Requests plus names looked up at the index, per caller and minute (cache answers are free).
DEFAULT_RATE_LIMIT = 600
#: How long a not-found answer stays in the cache: long enough to outlive its freshness (at
#: most 120 s), short enough that a flood of random names does not fill Redis for 7 days.
DEFAULT_NOT_FOUND_TTL = 600.0
#: Seconds a client has to send a request's headers (nginx's client_header_timeout is 60 s;
#: one request line and a few headers fit in one packet).
DEFAULT_HEADER_TIMEOUT = 10.0
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
    "--token-file": "SBOM_ENRICH_TOKEN_FILE",
    "--no-auth": "SBOM_ENRICH_NO_AUTH",
    "--metrics-auth": "SBOM_ENRICH_METRICS_AUTH",
    "--tls-cert": "SBOM_ENRICH_TLS_CERT",
    "--tls-key": "SBOM_ENRICH_TLS_KEY",
    "--max-batch": "SBOM_ENRICH_MAX_BATCH",
    "--rate-limit": "SBOM_ENRICH_RATE_LIMIT",
    "--not-found-ttl": "SBOM_ENRICH_NOT_FOUND_TTL",
    "--header-timeout": "SBOM_ENRICH_HEADER_TIMEOUT",
    "--allowed-hosts": "SBOM_ENRICH_ALLOWED_HOSTS",
}

_PATH_FIELDS = ("token_file", "tls_cert", "tls_key")
#: Forge tokens: never written into the worker hand-off (workers read them from their own
#: environment, which they inherit), so they cannot leak through it.
_FORGE_TOKENS = {
    "github_token": "GITHUB_TOKEN",
    "gitlab_token": "GITLAB_TOKEN",
    "gitea_token": "GITEA_TOKEN",
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
    #: Bearer tokens, one per line; None: no authentication (only allowed on loopback).
    token_file: Path | None = None
    #: Listen beyond loopback without tokens (something in front authenticates).
    no_auth: bool = False
    #: ``/metrics`` needs a token too (it is open by default: counts only, no names).
    metrics_auth: bool = False
    #: Host names requests may ask by besides loopback ones (a proxy's); on a loopback
    #: address the Host is always checked, elsewhere only once names are given here.
    allowed_hosts: tuple[str, ...] = ()
    #: PEM certificate chain and private key: uvicorn then speaks HTTPS itself.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Requests plus index lookups per caller (token, else address) and minute; 0: no limit.
    rate_limit: int = DEFAULT_RATE_LIMIT
    #: Seconds a not-found answer is kept in the cache (Redis or disk).
    not_found_ttl: float = DEFAULT_NOT_FOUND_TTL
    #: Seconds to send a request's headers, from the connection's start or the last answer.
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    #: The repository source (``--maintenance``): None while off (the default).
    repository: RepositorySettings | None = None
    stale_policy: StalePolicy = field(default_factory=StalePolicy)

    def to_json(self) -> str:
        data = asdict(self)
        # ClientSettings and StalePolicy are msgspec Structs: asdict copies them whole.
        data["client"] = msgspec.structs.asdict(self.client)
        data["stale_policy"] = msgspec.structs.asdict(self.stale_policy)
        if data["repository"] is not None:
            for name in _FORGE_TOKENS:
                data["repository"].pop(name)
        data["fail_on"] = sorted(self.fail_on)
        data["alternatives_files"] = [str(p) for p in self.alternatives_files]
        for name in _PATH_FIELDS:
            data[name] = str(data[name]) if data[name] else None
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
        data["allowed_hosts"] = tuple(data.get("allowed_hosts", ()))
        data["alternatives_files"] = tuple(Path(p) for p in data["alternatives_files"])
        for name in _PATH_FIELDS:
            data[name] = Path(data[name]) if data.get(name) else None
        repository = data.pop("repository", None)
        if repository is not None:
            tokens: dict[str, Any] = {
                name: os.environ.get(var) or None for name, var in _FORGE_TOKENS.items()
            }
            data["repository"] = RepositorySettings(**{**repository, **tokens})
        data["stale_policy"] = StalePolicy(**data.get("stale_policy", {}))
        return cls(client=ClientSettings(**client), **data)


#: A Host header value: a name or IPv4 address, or a bracketed IPv6 address; then a port.
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::\d{1,5})?")


def host_name(value: str) -> str | None:
    """The host a Host header value names (lower case, port and a final dot dropped), or
    None when it is not ``name[:port]`` nor ``[IPv6]:port``."""
    match = _HOST.fullmatch(value.strip().lower())
    if match is None:
        return None
    name = match["v6"] or match["name"].removesuffix(".")
    return name or None


def parse_allowed_hosts(flag: str, value: str) -> tuple[str, ...]:
    """``a.example,b.example`` (commas or spaces; a port is ignored) → the host names, or
    SettingsError with one line naming the first that is not one."""
    names: list[str] = []
    for item in re.split(r"[,\s]+", value.strip()):
        if not item:
            continue
        name = host_name(item)
        if name is None:
            raise SettingsError(
                f"{flag}: {item!r} is not a host name (a name like sbom-enrich.internal, or "
                "an IP address; no wildcards)"
            )
        names.append(name)
    return tuple(dict.fromkeys(names))


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


def parse_max_batch(name: str, value: str | int) -> int:
    return parse_whole_number(name, value, 1, 10_000)


def parse_rate_limit(name: str, value: str | int) -> int:
    return parse_whole_number(name, value, 0, 1_000_000, "a number per minute (0: no limit)")


def parse_cache_url(name: str, value: str) -> str:
    from ..status.cache.redis import is_redis_url

    if not is_redis_url(value.strip()):
        raise SettingsError(
            f"{name}: expected a redis://, rediss:// or unix:// URL (leave it unset for the "
            "disk cache)"
        )
    return value.strip()


def check_tls(cert: Path | None, key: Path | None) -> None:
    """Both or neither, and a pair that loads: SettingsError with one line otherwise."""
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise SettingsError("--tls-cert and --tls-key go together: give both or neither")
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not os.access(path, os.R_OK) or not path.is_file():
            raise SettingsError(f"{flag} {path}: cannot read it (no such readable file)")
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as error:
        reason = getattr(error, "reason", None) or str(error)
        raise SettingsError(
            f"--tls-cert {cert} / --tls-key {key}: not a usable PEM certificate and key ({reason})"
        ) from None
