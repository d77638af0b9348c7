"""Typed language-server settings from initializationOptions, didChangeConfiguration and env."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
from lsprotocol.types import DiagnosticSeverity

from sbom_enrich.errors import SettingsError
from sbom_enrich.findings.kinds import LSP_DEFAULT_SEVERITY
from sbom_enrich.status.model import canonical
from sbom_enrich.status.settings import (
    ClientSettings,
    client_settings_from_env,
    parse_bool,
    parse_index_url,
    parse_user_path,
)

SEVERITY_WORDS: Mapping[str, DiagnosticSeverity | None] = MappingProxyType(
    {
        "error": DiagnosticSeverity.Error,
        "warning": DiagnosticSeverity.Warning,
        "information": DiagnosticSeverity.Information,
        "info": DiagnosticSeverity.Information,
        "hint": DiagnosticSeverity.Hint,
        "none": None,
    }
)

#: Default severity per diagnostic kind, from the kinds table (findings/kinds.py); ``None``
#: shows nothing.
DEFAULT_SEVERITY: Mapping[str, DiagnosticSeverity | None] = MappingProxyType(
    {kind: SEVERITY_WORDS[word] if word else None for kind, word in LSP_DEFAULT_SEVERITY.items()}
)

DEFAULT_DEBOUNCE = 0.3
#: Lookups in flight at once unless SBOM_ENRICH_CONCURRENCY says otherwise. Lower than the
#: batch default: an editor wants the first answers soon (measured in bench/bench_lsp.py: 64
#: delays the first diagnostic by ~100 ms on 2 cores), not the most answers per second.
LSP_CONCURRENCY = 32
#: Where editors nest our settings in didChangeConfiguration (VS Code style) — both accepted.
SECTION_NAMES = ("sbomEnrich", "sbom-enrich", "sbom_enrich")
_KNOWN_KEYS = frozenset(
    {
        "indexUrl",
        "cacheDir",
        "offline",
        "severity",
        "ignore",
        "debounceMs",
        "alternativesFiles",
        "maintenance",
        "lockIndexes",
    }
)
_ENV_NAME = re.compile(r"^(SBOM_ENRICH_[A-Z_]+)")


@dataclass(frozen=True)
class LspSettings:
    """Everything the server reads from settings, with defaults filled in."""

    client: ClientSettings = field(default_factory=ClientSettings)
    severity: Mapping[str, DiagnosticSeverity | None] = field(
        default_factory=lambda: DEFAULT_SEVERITY
    )
    #: Canonical names never diagnosed (a whole-workspace twin of ``# sbom-enrich: ignore``).
    ignore: frozenset[str] = frozenset()
    debounce: float = DEFAULT_DEBOUNCE
    alternatives_files: tuple[Path, ...] = ()
    #: Ask forges about each dependency's repository (hover shows the verdict); off by default.
    maintenance: bool = False
    #: Ask each locked package on the index its lock entry names, as ``check`` does; off:
    #: only ``indexUrl`` is asked and packages locked elsewhere are left unchecked.
    lock_indexes: bool = True
    #: Why no index is asked: the index URL given (``indexUrl``, else its env twin) is invalid.
    #: Not the default index in its place: that sent a private project's names to PyPI and
    #: showed PyPI's answers as the configured index's.
    index_refused: str | None = None

    def severity_of(self, kind: str) -> DiagnosticSeverity | None:
        return self.severity.get(kind, DEFAULT_SEVERITY.get(kind))


@dataclass(frozen=True)
class SettingsResult:
    """Parsed settings plus one line per invalid value (each fell back to its default)."""

    settings: LspSettings
    problems: tuple[str, ...] = ()

    def message(self) -> str | None:
        """The single warning to show the user, or ``None`` when every setting was valid."""
        if not self.problems:
            return None
        refused = self.settings.index_refused
        others = [problem for problem in self.problems if problem != refused]
        parts = [f"{refused} (no index is asked until it is fixed)"] if refused else []
        if others:
            parts.append("defaults used for: " + "; ".join(others))
        return "sbom-enrich: invalid settings: " + "; ".join(parts)


def settings_section(payload: object) -> Mapping[str, Any]:
    """Our settings within an initializationOptions/didChangeConfiguration payload."""
    if not isinstance(payload, Mapping):
        return {}
    for name in SECTION_NAMES:
        nested = payload.get(name)
        if isinstance(nested, Mapping):
            return nested
    return payload


def concerns_us(payload: object) -> bool:
    """Whether a didChangeConfiguration payload holds our settings at all.

    Editors send one payload for every server (Eglot's workspace configuration, for one): a
    payload with only other servers' sections must not reset ours to the defaults.
    """
    if not isinstance(payload, Mapping) or not payload:
        return False
    if any(isinstance(payload.get(name), Mapping) for name in SECTION_NAMES):
        return True
    return any(key in _KNOWN_KEYS for key in payload)


def _from_env(env: Mapping[str, str]) -> ClientSettings | SettingsError:
    try:
        return client_settings_from_env(env)
    except SettingsError as error:
        return error


def env_client_settings(env: Mapping[str, str]) -> tuple[ClientSettings, list[str]]:
    """``client_settings_from_env`` that drops (and reports) each invalid variable."""
    remaining = dict(env)
    problems: list[str] = []
    # Each SettingsError names one variable; retrying without it keeps the valid ones.
    for _ in range(len(remaining) + 1):
        outcome = _from_env(remaining)
        if isinstance(outcome, ClientSettings):
            return outcome, problems
        problems.append(str(outcome))
        match = _ENV_NAME.match(str(outcome))
        if match is None or match.group(1) not in remaining:
            break
        del remaining[match.group(1)]
    return ClientSettings(), problems


def _parse_severity(value: object, problems: list[str]) -> Mapping[str, DiagnosticSeverity | None]:
    merged = dict(DEFAULT_SEVERITY)
    if value is None:
        return DEFAULT_SEVERITY
    if not isinstance(value, Mapping):
        problems.append('severity: expected an object like {"archived": "error"}')
        return DEFAULT_SEVERITY
    for kind, word in value.items():
        if kind not in DEFAULT_SEVERITY:
            problems.append(f"severity: unknown kind {str(kind)[:40]!r}")
            continue
        level = word.strip().lower() if isinstance(word, str) else ""
        if level not in SEVERITY_WORDS:
            problems.append(f"severity.{kind}: expected error, warning, information, hint or none")
            continue
        merged[kind] = SEVERITY_WORDS[level]
    return MappingProxyType(merged)


def _parse_ignore(value: object, problems: list[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        problems.append("ignore: expected a list of project names")
        return frozenset()
    return frozenset(canonical(v) for v in value if v.strip())


def _parse_debounce(value: object, problems: list[str]) -> float:
    if value is None:
        return DEFAULT_DEBOUNCE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 10_000:
        problems.append("debounceMs: expected milliseconds between 0 and 10000")
        return DEFAULT_DEBOUNCE
    return float(value) / 1000.0


def parse_lsp_settings(payload: object, env: Mapping[str, str] | None = None) -> SettingsResult:
    """Settings from a client payload over ``SBOM_ENRICH_*`` env twins over defaults.

    Never raises: each invalid value is reported in ``problems`` and its default used.
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    if payload is not None and not isinstance(payload, Mapping):
        problems.append("settings: expected an object")
    options = settings_section(payload)
    client, env_problems = env_client_settings(env)
    problems.extend(env_problems)
    index_refused = next((p for p in env_problems if p.startswith("SBOM_ENRICH_INDEX_URL")), None)
    if not env.get("SBOM_ENRICH_CONCURRENCY"):
        client = msgspec.structs.replace(client, concurrency=LSP_CONCURRENCY)

    if (index_url := options.get("indexUrl")) is not None:
        try:
            if not isinstance(index_url, str):
                raise SettingsError("indexUrl: expected an http(s) URL")
            client = msgspec.structs.replace(
                client, index_url=parse_index_url("indexUrl", index_url)
            )
            index_refused = None  # the option wins over its env twin
        except SettingsError as error:
            problems.append(str(error))
            index_refused = str(error)
    if (cache_dir := options.get("cacheDir")) is not None:
        if not isinstance(cache_dir, str) or not cache_dir.strip():
            problems.append("cacheDir: expected a directory path")
        elif (directory := _expanded("cacheDir", cache_dir, problems)) is not None:
            client = msgspec.structs.replace(client, cache_dir=directory)
    if (offline := options.get("offline")) is not None:
        if isinstance(offline, bool):
            client = msgspec.structs.replace(client, offline=offline)
        else:
            try:
                client = msgspec.structs.replace(
                    client, offline=parse_bool("offline", str(offline))
                )
            except SettingsError as error:
                problems.append(str(error))
    files = options.get("alternativesFiles")
    alternatives_files: tuple[Path, ...] = ()
    if files is not None:
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            expanded = (_expanded("alternativesFiles", f, problems) for f in files)
            alternatives_files = tuple(path for path in expanded if path is not None)
        else:
            problems.append("alternativesFiles: expected a list of file paths")

    maintenance = _parse_flag(
        "maintenance", options.get("maintenance", env.get("SBOM_ENRICH_MAINTENANCE") or None),
        False, problems,
    )  # fmt: skip
    lock_indexes = _parse_flag("lockIndexes", options.get("lockIndexes"), True, problems)
    settings = LspSettings(
        client=client,
        maintenance=maintenance,
        lock_indexes=lock_indexes,
        severity=_parse_severity(options.get("severity"), problems),
        ignore=_parse_ignore(options.get("ignore"), problems),
        debounce=_parse_debounce(options.get("debounceMs"), problems),
        alternatives_files=alternatives_files,
        index_refused=index_refused,
    )
    return SettingsResult(settings=settings, problems=tuple(problems))


def _expanded(key: str, value: str, problems: list[str]) -> Path | None:
    """``value`` with a leading ``~`` expanded, or None (reported) when it cannot be: pathlib
    raises RuntimeError for ``~nosuchuser`` or without a home directory, which failed the
    initialize and stopped the server."""
    try:
        return parse_user_path(key, value)
    except SettingsError as error:
        problems.append(str(error))
        return None


def _parse_flag(key: str, raw: object, default: bool, problems: list[str]) -> bool:
    """A boolean setting: JSON true/false or a word ``parse_bool`` reads; else ``default``."""
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    try:
        return parse_bool(key, str(raw))
    except SettingsError as error:
        problems.append(str(error))
        return default


def unknown_keys(payload: object) -> list[str]:
    """Keys we do not read (logged, not shown: newer clients may send more)."""
    return sorted(str(k) for k in settings_section(payload) if k not in _KNOWN_KEYS)
