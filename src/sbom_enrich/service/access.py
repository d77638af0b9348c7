"""Who may call the service: the Host it is asked by, and bearer tokens checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SettingsError
from ..status.untrusted import clean_text
from ..status.urls import is_loopback
from .config import host_name

if TYPE_CHECKING:  # the CLI reads tokens without the serve extra installed
    from starlette.types import ASGIApp, Receive, Scope, Send

#: A shorter token is too easy to guess; ``secrets.token_urlsafe(32)`` gives 43 characters.
MIN_TOKEN_LENGTH = 16
#: Paths answered without a token: liveness probes cannot send one.
OPEN_PATHS = frozenset({"/healthz"})
#: Where a request's caller identity is kept for the rate limiter (``scope["state"]``).
CLIENT_KEY = "sbom_enrich_client"
#: How a caller with a valid token is named there ("token 3": its line, never the token).
TOKEN_CALLER = "token "


def load_tokens(path: Path, flag: str = "--token-file") -> tuple[str, ...]:
    """The tokens in ``path``: one per line, blank lines and ``#`` comments ignored.

    Raises SettingsError with one line (never showing a token) when the file cannot be read,
    holds no token, or holds a line that cannot be a bearer token.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise SettingsError(f"{flag} {path}: it is a directory") from None
    except OSError as error:
        raise SettingsError(f"{flag} {path}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{flag} {path}: not UTF-8 text") from None
    tokens: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        token = line.strip()
        if not token or token.startswith("#"):
            continue
        if not all("!" <= char <= "~" for char in token):
            raise SettingsError(
                f"{flag} {path}: line {number} is not a token (printable ASCII, no spaces)"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise SettingsError(
                f"{flag} {path}: line {number} is shorter than {MIN_TOKEN_LENGTH} characters "
                "(too easy to guess)"
            )
        tokens.append(token)
    if not tokens:
        raise SettingsError(
            f"{flag} {path}: no tokens in it (one token per line; blank lines and # comments "
            "are ignored)"
        )
    return tuple(tokens)


def check_exposure(host: str, has_tokens: bool, no_auth: bool) -> None:
    """Refuse (SettingsError) to listen beyond loopback without tokens, unless ``--no-auth``."""
    if no_auth and has_tokens:
        raise SettingsError("--no-auth and --token-file contradict each other: give one")
    if not has_tokens and not no_auth and not is_loopback(host):
        raise SettingsError(
            f"--host {host} accepts connections from other machines: give --token-file "
            "(or SBOM_ENRICH_TOKEN_FILE), or --no-auth if something in front authenticates"
        )


def checks_host(listen_host: str, allowed_hosts: Collection[str]) -> bool:
    """Whether requests' Host is checked: always on loopback (a browser on this machine
    can be led there by DNS rebinding), elsewhere only once names are configured."""
    return is_loopback(listen_host) or bool(allowed_hosts)


async def json_error(
    send: Send, status: int, message: str, headers: Collection[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with the service's error shape, ``{"error": message}``, below the app."""
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TrustedHosts:
    """ASGI middleware: ``421`` unless the request's one Host header names this machine's
    loopback (``localhost``, ``127.0.0.0/8``, ``::1``; any port) or one of ``names``.

    A web page on evil.example whose name the attacker then points at 127.0.0.1 (DNS
    rebinding) makes the browser send its requests, and read the answers, as same-origin:
    they carry ``Host: evil.example``. A client that chose the service's address sends a
    name it has; only a browser led there sends another.
    """

    def __init__(
        self, app: ASGIApp, names: Collection[str] = (), open_paths: Collection[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self._names = frozenset(names)
        self._open = frozenset(open_paths)

    def _refusal(self, scope: Scope) -> str | None:
        """Why the request's Host is refused, or None when it is trusted."""
        values = [value for name, value in scope["headers"] if name == b"host"]
        if len(values) != 1:
            return f"{'no' if not values else 'more than one'} Host header"
        text = values[0].decode("latin-1")
        name = host_name(text)
        if name is not None and (is_loopback(name) or name in self._names):
            return None
        return f"Host {clean_text(text, 100)!r} is not a name this service answers to"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await json_error(
            send,
            421,
            f"{refusal}: ask by localhost or 127.0.0.1, or a name the service was started "
            "with in --allowed-hosts (SBOM_ENRICH_ALLOWED_HOSTS)",
        )


def _digest(token: bytes) -> bytes:
    # Equal lengths for compare_digest, whatever the caller sends.
    return hashlib.sha256(token).digest()


def _authorization(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return None


async def unauthorized(scope: Scope, receive: Receive, send: Send) -> None:
    """The ``401`` for a request without a valid bearer token (RFC 6750's challenge)."""
    if _authorization(scope) is None:
        challenge = b'Bearer realm="sbom-enrich"'
        message = "this service needs a token: send Authorization: Bearer <token>"
    else:
        challenge = b'Bearer realm="sbom-enrich", error="invalid_token"'
        message = "the bearer token is not valid"
    await json_error(send, 401, message, [(b"www-authenticate", challenge)])


class BearerAuth:
    """ASGI middleware: ``401`` with ``WWW-Authenticate: Bearer`` unless the request carries
    ``Authorization: Bearer <one of the tokens>``.

    Every token is compared, with :func:`hmac.compare_digest` on SHA-256 digests, whatever
    matched before: the time taken does not tell which token, or how much of one, was right.
    A caller is identified (for the rate limiter) by the number of its token's line, never by
    the token itself, and no token is ever logged.
    """

    def __init__(
        self,
        app: ASGIApp,
        tokens: Collection[str],
        open_paths: Collection[str] = OPEN_PATHS,
        refuse: ASGIApp | None = None,
    ) -> None:
        self.app = app
        #: Answers a request without a valid token (the 401, maybe behind a rate limit).
        self._refuse = refuse or unauthorized
        self._digests = [_digest(token.encode("ascii")) for token in tokens]
        self._open = frozenset(open_paths)

    def _token_number(self, authorization: bytes | None) -> int | None:
        scheme, _, credentials = (authorization or b"").strip().partition(b" ")
        if scheme.lower() != b"bearer" or not credentials.strip():
            return None
        offered = _digest(credentials.strip())
        found = None
        for number, digest in enumerate(self._digests):
            if hmac.compare_digest(offered, digest) and found is None:
                found = number
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        number = self._token_number(_authorization(scope))
        if number is not None:
            scope.setdefault("state", {})[CLIENT_KEY] = f"{TOKEN_CALLER}{number + 1}"
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send)
