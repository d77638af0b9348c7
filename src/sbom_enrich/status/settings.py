"""Settings shared by every front end, with their ``SBOM_ENRICH_*`` environment twins."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from ..errors import SettingsError
from .untrusted import clean_text
from .urls import PYPI_SIMPLE_URL, normalize_index_url

DEFAULT_CONCURRENCY = 128
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 4
MAX_CONCURRENCY = 256
#: Bound on one project page after decoding, in MiB (``--max-page-mb``). PyPI's largest pages
#: are tens of MB of JSON; the bound keeps a hostile or broken index from filling memory.
DEFAULT_MAX_PAGE_MB = 64
MAX_PAGE_MB_LIMIT = 4096


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("sbom-enrich", appauthor=False))


class ClientSettings(msgspec.Struct, frozen=True):
    """How to reach the index: what the status client needs and nothing else."""

    index_url: str = PYPI_SIMPLE_URL
    cache_dir: Path | None = None  # None: the platform user cache dir
    use_cache: bool = True
    offline: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    #: The most bytes one answer may hold, on the wire and after decoding (gzip).
    max_page_bytes: int = DEFAULT_MAX_PAGE_MB * 1024 * 1024
    #: Indexes a purl ``repository_url`` may point at besides ``index_url`` (SSRF guard).
    allowed_indexes: tuple[str, ...] = ()

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else default_cache_dir()


def _truthy(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"", "0", "false", "no", "off"}:
        return False
    raise SettingsError(f"expected true or false, got {value!r}")


def parse_bool(name: str, value: str) -> bool:
    try:
        return _truthy(value)
    except SettingsError as error:
        raise SettingsError(f"{name}: {error}") from None


def host_and_port(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[::1]:25`` too) as (host, port); None when it is not one. The port is
    ASCII digits, at most five: ``"²".isdigit()`` is True and ``int("²")`` raises, and
    ``int("٢٥")`` is 25."""
    host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    number = int(port)
    return (host.strip("[]"), number) if 0 < number < 65536 else None


def parse_whole_number(
    name: str, value: str | int, low: int, high: int, what: str = "a whole number"
) -> int:
    """An int from ``low`` to ``high``; a SettingsError naming the setting otherwise."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: expected {what}, got {value!r}") from None
    if not low <= number <= high:
        raise SettingsError(f"{name}: must be between {low} and {high}, got {number}")
    return number


def parse_user_path(name: str, value: str | Path) -> Path:
    """``value`` with a leading ``~`` or ``~user`` expanded; a SettingsError naming the setting
    when it cannot be (pathlib raises RuntimeError for ``~nosuchuser``, or ``~`` without a
    home directory: it was exit 5, "internal error")."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        shown = clean_text(str(value), 60)
        raise SettingsError(f"{name}: cannot expand {shown!r} (no such home directory)") from None


def parse_concurrency(name: str, value: str | int) -> int:
    return parse_whole_number(name, value, 1, MAX_CONCURRENCY)


def parse_max_page_bytes(name: str, value: str | int) -> int:
    """``--max-page-mb``: whole MiB from 1 to 4096, returned in bytes."""
    megabytes = parse_whole_number(name, value, 1, MAX_PAGE_MB_LIMIT, "a size in MiB")
    return megabytes * 1024 * 1024


def parse_timeout(name: str, value: str | float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: expected seconds, got {value!r}") from None
    if not 0 < number <= 3600:
        raise SettingsError(f"{name}: must be more than 0 and at most 3600 seconds")
    return number


def parse_index_url(name: str, value: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises on a port that is no number or out of range
    except ValueError:
        # Neither the URL nor urlsplit's message: "https://__token__:pypi-…/simple" (the "@"
        # forgotten) reads as host "__token__" with the token as its port, which both repeat.
        raise SettingsError(
            f"{name}: not a valid URL (a port that is no number, or an unclosed IPv6 bracket; "
            "the URL is not shown: it may hold a password)"
        ) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(f"{name}: expected an http(s) URL, got {redact_for_error(value)!r}")
    stripped = value.strip()
    if not stripped.isprintable() or any(char.isspace() for char in stripped):
        # An ESC or a line break in a URL reached logs raw, and every lookup then failed
        # (httpx refuses such a URL), each as "unknown": refused here, in one line.
        raise SettingsError(
            f"{name}: an index URL cannot hold white space or control characters "
            f"({redact_for_error(value)!r})"
        )
    if "?" in value or "#" in value:
        # Project pages are {index}/{name}/ (PEP 503): a query or fragment cannot survive that
        # join, so every request would hit the root page. The query may hold a token: the
        # message shows the URL only up to it.
        base = redact_for_error(value.split("?", 1)[0].split("#", 1)[0])
        raise SettingsError(
            f"{name}: an index URL cannot carry a query or fragment ({base!r} followed by "
            "'?…' or '#…'); put credentials in the URL's user part or in ~/.netrc"
        )
    return normalize_index_url(value)


def redact_for_error(value: str) -> str:
    from .urls import redact_url

    try:
        return redact_url(value)
    except ValueError:
        return "<unparseable URL>"


def client_settings_from_env(env: Mapping[str, str] | None = None) -> ClientSettings:
    """Settings from ``SBOM_ENRICH_*`` variables; raises :class:`SettingsError` on bad values."""
    env = os.environ if env is None else env
    kwargs: dict[str, object] = {}
    if env.get("SBOM_ENRICH_INDEX_URL"):
        kwargs["index_url"] = parse_index_url("SBOM_ENRICH_INDEX_URL", env["SBOM_ENRICH_INDEX_URL"])
    if env.get("SBOM_ENRICH_CACHE_DIR"):
        kwargs["cache_dir"] = parse_user_path("SBOM_ENRICH_CACHE_DIR", env["SBOM_ENRICH_CACHE_DIR"])
    if env.get("SBOM_ENRICH_NO_CACHE"):
        kwargs["use_cache"] = not parse_bool("SBOM_ENRICH_NO_CACHE", env["SBOM_ENRICH_NO_CACHE"])
    if env.get("SBOM_ENRICH_OFFLINE"):
        kwargs["offline"] = parse_bool("SBOM_ENRICH_OFFLINE", env["SBOM_ENRICH_OFFLINE"])
    if env.get("SBOM_ENRICH_CONCURRENCY"):
        kwargs["concurrency"] = parse_concurrency(
            "SBOM_ENRICH_CONCURRENCY", env["SBOM_ENRICH_CONCURRENCY"]
        )
    if env.get("SBOM_ENRICH_TIMEOUT"):
        kwargs["timeout"] = parse_timeout("SBOM_ENRICH_TIMEOUT", env["SBOM_ENRICH_TIMEOUT"])
    if env.get("SBOM_ENRICH_MAX_PAGE_MB"):
        kwargs["max_page_bytes"] = parse_max_page_bytes(
            "SBOM_ENRICH_MAX_PAGE_MB", env["SBOM_ENRICH_MAX_PAGE_MB"]
        )
    if env.get("SBOM_ENRICH_ALLOWED_INDEXES"):
        kwargs["allowed_indexes"] = tuple(
            parse_index_url("SBOM_ENRICH_ALLOWED_INDEXES", part)
            for part in env["SBOM_ENRICH_ALLOWED_INDEXES"].split(",")
            if part.strip()
        )
    return ClientSettings(**kwargs)  # type: ignore[arg-type]
