"""Who may call the service: bearer tokens from a file, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SettingsError
from ..status.urls import is_loopback

if TYPE_CHECKING:  # the CLI reads tokens without the serve extra installed
    from starlette.types import ASGIApp, Receive, Scope, Send

#: A shorter token is too easy to guess; ``secrets.token_urlsafe(32)`` gives 43 characters.
MIN_TOKEN_LENGTH = 16
#: Paths answered without a token: liveness probes cannot send one.
OPEN_PATHS = frozenset({"/healthz"})
#: Where a request's caller identity is kept for the rate limiter (``scope["state"]``).
CLIENT_KEY = "sbom_enrich_client"


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
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
            scope.setdefault("state", {})[CLIENT_KEY] = f"token {number + 1}"
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send)
