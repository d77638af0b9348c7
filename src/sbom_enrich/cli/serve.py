"""``sbom-enrich serve``: its flags, their environment twins, and starting uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import AlternativesError, SettingsError, UsageError
from ..service.config import (
    CONFIG_ENV,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_BATCH,
    DEFAULT_NOT_FOUND_TTL,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
    SERVE_ENV_TWINS,
    ServiceSettings,
    check_tls,
    parse_allowed_hosts,
    parse_cache_url,
    parse_max_batch,
    parse_port,
    parse_rate_limit,
    parse_size,
    parse_workers,
)
from ..status.settings import parse_bool, parse_timeout
from .event_loop import chosen_loop
from .invocation import COMMAND_HELP, Invocation
from .options import RunOptions, add_client_options, add_maintenance_options, resolve_options

logger = logging.getLogger(__name__)
#: Seconds uvicorn waits for requests in flight after SIGTERM, beyond the request timeout.
SHUTDOWN_GRACE = 5.0


def add_parser(commands: Any) -> None:
    """Register ``serve`` on the CLI's subparsers (with the shared index and cache flags)."""
    serve: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help=COMMAND_HELP["serve"],
        description="Serve POST /v1/enrich, GET /v1/projects/{name}, POST /v1/projects:batch, "
        "/healthz, /metrics and /docs. Each flag has an SBOM_ENRICH_* twin (docs/deploy.md). "
        "With --maintenance, answers also carry each project's maintenance verdict.",
    )
    group = serve.add_argument_group("service")
    group.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    group.add_argument("--port", help=f"port (default {DEFAULT_PORT})")
    # Its twin named here: the lookup commands' --workers has another (ENV_TWINS).
    twin = SERVE_ENV_TWINS["--workers"]
    group.add_argument("--workers", help=f"worker processes (default 1) [env: {twin}]")
    group.add_argument("--max-body", help="largest SBOM accepted, e.g. 50M (default 50M)")
    group.add_argument("--request-timeout", help="seconds per request (default 60)")
    group.add_argument(
        "--header-timeout",
        help=f"seconds to send a request's headers (default {DEFAULT_HEADER_TIMEOUT:g})",
    )
    group.add_argument(
        "--cache-url", help="redis://host:port/db to share the cache between replicas"
    )
    group.add_argument(
        "--max-batch",
        help=f"most names in one POST /v1/projects:batch (default {DEFAULT_MAX_BATCH})",
    )
    group.add_argument(
        "--rate-limit",
        help="requests plus index lookups per client and minute; 0: none "
        f"(default {DEFAULT_RATE_LIMIT})",
    )
    group.add_argument(
        "--not-found-ttl",
        help=f"seconds a not-found answer stays cached (default {DEFAULT_NOT_FOUND_TTL:g})",
    )
    group.add_argument(
        "--fail-on", help="default policy for requests without ?fail_on= (default quarantined)"
    )
    group.add_argument(
        "--allow-incomplete",
        action="store_true",
        default=None,
        help="default: verdict passed instead of incomplete when lookups failed",
    )
    access = serve.add_argument_group("access")
    access.add_argument(
        "--token-file",
        help="bearer tokens, one per line (# comments); requests without one get 401",
    )
    access.add_argument(
        "--no-auth",
        action="store_true",
        default=None,
        help="listen beyond loopback without tokens (only behind something that authenticates)",
    )
    access.add_argument(
        "--allowed-hosts",
        help="host names requests may use besides localhost and loopback addresses, comma "
        "separated (a reverse proxy's); checked always on loopback, elsewhere once given",
    )
    access.add_argument(
        "--metrics-auth",
        action="store_true",
        default=None,
        help="/metrics needs a token too (default: open, like /healthz)",
    )
    tls = serve.add_argument_group("TLS (or terminate TLS in a reverse proxy: docs/deploy.md)")
    tls.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS")
    tls.add_argument("--tls-key", help="PEM private key of --tls-cert")
    add_client_options(serve)
    # Answers then carry a "maintenance" field; the forges' tokens come from the environment.
    add_maintenance_options(serve)


def _pick(args: argparse.Namespace, env: Mapping[str, str], flag: str) -> str | None:
    value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
    return str(value) if value is not None else env.get(SERVE_ENV_TWINS[flag]) or None


def service_settings(
    args: argparse.Namespace, options: RunOptions, env: Mapping[str, str]
) -> ServiceSettings:
    """Flags over twins over defaults; raises SettingsError with one line on a bad value."""
    changes: dict[str, Any] = {
        "client": options.client,
        "fail_on": options.fail_on,
        "allow_incomplete": options.allow_incomplete,
        "alternatives_files": options.alternatives_files,
        "repository": options.repository,
        "stale_policy": options.stale_policy,
    }
    parsers: dict[str, tuple[str, Callable[[str, str], Any]]] = {
        "--host": ("host", lambda _name, value: value),
        "--port": ("port", parse_port),
        "--workers": ("workers", parse_workers),
        "--max-body": ("max_body", parse_size),
        "--request-timeout": ("request_timeout", parse_timeout),
        "--cache-url": ("cache_url", parse_cache_url),
        "--token-file": ("token_file", lambda _name, value: Path(value)),
        "--no-auth": ("no_auth", parse_bool),
        "--metrics-auth": ("metrics_auth", parse_bool),
        "--tls-cert": ("tls_cert", lambda _name, value: Path(value)),
        "--tls-key": ("tls_key", lambda _name, value: Path(value)),
        "--max-batch": ("max_batch", parse_max_batch),
        "--rate-limit": ("rate_limit", parse_rate_limit),
        "--not-found-ttl": ("not_found_ttl", parse_timeout),
        "--header-timeout": ("header_timeout", parse_timeout),
        "--allowed-hosts": ("allowed_hosts", parse_allowed_hosts),
    }
    for flag, (field_name, parse) in parsers.items():
        value = _pick(args, env, flag)
        if value is not None:
            changes[field_name] = parse(flag, value)
    return replace(ServiceSettings(), **changes)


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """Serve until SIGINT/SIGTERM; requests in flight finish first (graceful shutdown)."""
    options = resolve_options(args, invocation.env)
    env = invocation.env
    from ..service.access import check_exposure, load_tokens

    try:
        settings = service_settings(args, options, env)
        tokens = load_tokens(settings.token_file) if settings.token_file else ()
        check_exposure(settings.host, bool(tokens), settings.no_auth)
        check_tls(settings.tls_cert, settings.tls_key)
    except SettingsError as error:
        raise UsageError(str(error)) from None
    try:
        import uvicorn

        from ..service.app import create_app
        from ..service.connections import uvicorn_options
    except ImportError as error:
        raise UsageError(
            f"serve needs the serve extra ({error.name} is missing): "
            "pip install 'sbom-enrich[serve]'"
        ) from None
    try:
        app = create_app(settings)
    except (AlternativesError, SettingsError) as error:
        raise UsageError(str(error)) from None
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "lifespan": "on",
        "timeout_graceful_shutdown": settings.request_timeout + SHUTDOWN_GRACE,
        "log_level": "info",
        "access_log": getattr(args, "verbose", 0) >= 1,
        # The loop the CLI's lookups would run on (uvicorn's own "auto" would take uvloop
        # whenever it can be imported, even with SBOM_ENRICH_EVENT_LOOP=asyncio).
        "loop": chosen_loop(options.event_loop),
        **uvicorn_options(settings),
    }
    if settings.workers == 1:
        uvicorn.run(app, **common)
    else:
        # Workers import the app by name, so the settings travel in the environment.
        os.environ[CONFIG_ENV] = settings.to_json()
        uvicorn.run(
            "sbom_enrich.service.app:create_app_from_environment",
            factory=True,
            workers=settings.workers,
            **common,
        )
    return 0
