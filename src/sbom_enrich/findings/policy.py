"""The policy file (``[tool.sbom-enrich]`` or ``.sbom-enrich.toml``) and applying its ignores."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from ..errors import AlternativesError, PolicyError
from ..status.model import canonical, is_project_name
from ..status.untrusted import clean_text
from .alternatives import Alternative, AlternativesCatalog, parse_entries
from .kinds import parse_fail_on
from .model import Finding, Ignored

__all__ = [
    "POLICY_FILE",
    "IgnoreRule",
    "Policy",
    "PolicyError",
    "apply_ignores",
    "find_policy_file",
    "load_policy",
    "parse_policy",
]

#: The stand-alone policy file, read from the current directory before pyproject.toml.
POLICY_FILE = ".sbom-enrich.toml"
_KEYS = frozenset({"fail-on", "index-url", "alternatives", "ignore", "maintenance", "lock-indexes"})
_IGNORE_KEYS = frozenset({"name", "version", "reason", "until"})
_OUR_TABLE = re.compile(
    r'^\s*\[\[?\s*tool\s*\.\s*(?:"sbom-enrich"|sbom-enrich)\s*[.\]]', re.MULTILINE
)


class IgnoreRule(msgspec.Struct, frozen=True):
    """Leave ``name`` (any version, or just ``version``) out of the verdict, for ``reason``."""

    name: str
    reason: str
    version: str | None = None
    until: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        """True after ``until`` (the ignore applies through that whole day)."""
        return self.until is not None and today > self.until

    def matches(self, finding: Finding) -> bool:
        if canonical(self.name) != finding.record.name:
            return False
        if self.version is None:
            return True
        return finding.version is not None and _same_version(self.version, finding.version)


class Policy(msgspec.Struct, frozen=True):
    """What a policy file says; ``None`` fields were not set there."""

    origin: str = ""
    fail_on: frozenset[str] | None = None
    index_url: str | None = None
    #: ``maintenance = true``: ask the repository source too (off unless a file says so).
    maintenance: bool | None = None
    #: ``lock-indexes = false``: ``check`` asks no index a lock file names (only the
    #: configured and the allowed ones), as the language server's ``lockIndexes``.
    lock_indexes: bool | None = None
    ignores: tuple[IgnoreRule, ...] = ()
    #: Alternatives by canonical name; an empty tuple removes the shipped suggestion.
    alternatives: Mapping[str, tuple[Alternative, ...]] = msgspec.field(
        default_factory=lambda: MappingProxyType({})
    )

    def catalog_with(self, catalog: AlternativesCatalog) -> AlternativesCatalog:
        """``catalog`` with this policy's entries on top (an empty list removes an entry)."""
        return catalog.overlay(self.alternatives) if self.alternatives else catalog


def _same_version(one: str, other: str) -> bool:
    if one == other:
        return True
    from packaging.version import Version

    try:
        return Version(one) == Version(other)
    except ValueError:  # InvalidVersion, or an int past Python's 4,300-digit limit
        return False


def find_policy_file(directory: Path) -> Path | None:
    """``.sbom-enrich.toml``, else a pyproject.toml with a ``[tool.sbom-enrich]`` table."""
    standalone = directory / POLICY_FILE
    if standalone.is_file():
        return standalone
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            text = pyproject.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if "sbom-enrich" not in text and "\\u" not in text and "\\U" not in text:
            # No key can spell our table's name (only a quoted key's escapes could hide it):
            # most projects' pyproject.toml, not parsed (tomllib ~2 ms + ~1 ms per 100 lines).
            return None
        from .._toml import loads, tomllib  # only with a file to read (~3 ms of every start)

        try:
            document = loads(text)
        except (tomllib.TOMLDecodeError, RecursionError):
            # Not our file to judge unless it holds our table (a broken one is the user's build
            # tool's business); when it does, load_policy reports it rather than dropping the
            # gate it sets.
            return pyproject if _OUR_TABLE.search(text) else None
        tool = document.get("tool")
        if isinstance(tool, dict) and "sbom-enrich" in tool:
            return pyproject
    return None


def load_policy(path: Path) -> Policy:
    """Read a policy file: pyproject.toml (its ``[tool.sbom-enrich]``) or top-level keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_policy(text, str(path), in_pyproject=path.name == "pyproject.toml")


def parse_policy(text: str, origin: str, *, in_pyproject: bool = False) -> Policy:
    """Parse policy TOML; ``in_pyproject``: the keys sit under ``[tool.sbom-enrich]``."""
    from .._toml import TOO_DEEP, loads, tomllib

    try:
        document: dict[str, Any] = loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _fail(origin, f"invalid TOML: {error}") from None
    except RecursionError:  # tomllib recurses per nested array
        raise _fail(origin, f"invalid TOML: {TOO_DEEP}") from None
    where = origin
    if in_pyproject:
        where = f"{origin} [tool.sbom-enrich]"
        tool = document.get("tool", {})
        table = tool.get("sbom-enrich", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise _fail(where, "must be a table")
        document = table
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        expected = ", ".join(sorted(_KEYS))
        raise _fail(where, f"unknown key {unknown[0]!r} (expected {expected})")
    fail_on = None
    if "fail-on" in document:
        value = document["fail-on"]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if any(not v.strip() or "," in v for v in value):
                # [""] was joined into "" and read as none: a gate switched off by a typo.
                raise _fail(
                    where,
                    "'fail-on' entries must be single words (an empty one, or a comma, is not)",
                )
            value = ",".join(value) or "none"
        if not isinstance(value, str):
            raise _fail(where, "'fail-on' must be a string or a list of strings")
        try:
            fail_on = parse_fail_on(value)
        except ValueError as error:
            raise _fail(where, str(error).replace("--fail-on", "'fail-on'")) from None
    index_url = document.get("index-url")
    if index_url is not None and not isinstance(index_url, str):
        raise _fail(where, "'index-url' must be a string")
    maintenance = document.get("maintenance")
    if maintenance is not None and not isinstance(maintenance, bool):
        raise _fail(where, "'maintenance' must be true or false")
    lock_indexes = document.get("lock-indexes")
    if lock_indexes is not None and not isinstance(lock_indexes, bool):
        raise _fail(where, "'lock-indexes' must be true or false")
    return Policy(
        origin=origin,
        fail_on=fail_on,
        index_url=index_url,
        maintenance=maintenance,
        lock_indexes=lock_indexes,
        ignores=_parse_ignores(document.get("ignore", []), where),
        alternatives=_parse_alternatives(document.get("alternatives", {}), where),
    )


def _fail(origin: str, problem: str) -> PolicyError:
    return PolicyError(clean_text(f"{origin}: {problem}", limit=300))


def _parse_ignores(items: object, where: str) -> tuple[IgnoreRule, ...]:
    if not isinstance(items, list):
        raise _fail(where, "'ignore' must be a list of tables ([[ignore]] entries)")
    rules = []
    for number, item in enumerate(items, start=1):
        here = f"{where} ignore {number}"
        if not isinstance(item, dict):
            raise _fail(here, "must be a table with 'name' and 'reason'")
        unknown = sorted(set(item) - _IGNORE_KEYS)
        if unknown:
            raise _fail(here, f"unknown key {unknown[0]!r}")
        name, reason, version = item.get("name"), item.get("reason"), item.get("version")
        if not isinstance(name, str) or not is_project_name(name):
            raise _fail(here, "'name' must be a project name")
        if not isinstance(reason, str) or not clean_text(reason, 200):
            raise _fail(here, f"{name}: 'reason' must be a non-empty string (say why)")
        if version is not None and (not isinstance(version, str) or not version.strip()):
            raise _fail(here, f"{name}: 'version' must be a string such as \"1.2.3\"")
        rules.append(
            IgnoreRule(
                name=name,
                reason=clean_text(reason, 200),
                version=version.strip() if isinstance(version, str) else None,
                until=_parse_until(item.get("until"), f"{here} ({name})"),
            )
        )
    return tuple(rules)


def _parse_until(value: object, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(where, "'until' must be a date such as 2025-12-31")


def _parse_alternatives(table: object, where: str) -> Mapping[str, tuple[Alternative, ...]]:
    """Entries in the shipped catalog's shape, checked by the catalog's own parser."""
    if not isinstance(table, dict):
        raise _fail(where, "'alternatives' must be a table of NAME = { alternatives = [...] }")
    try:
        return MappingProxyType(parse_entries(table, f"{where} alternatives"))
    except AlternativesError as error:
        raise PolicyError(str(error)) from None


def apply_ignores(
    findings: Iterable[Finding], rules: Iterable[IgnoreRule], today: dt.date
) -> tuple[tuple[Finding, ...], tuple[Ignored, ...], tuple[str, ...]]:
    """Split findings into kept and ignored; warn about every expired rule.

    An ignore only hides a finding that is worth reporting (a clean active answer needs no
    excuse); an expired rule hides nothing.
    """
    rules = tuple(rules)
    live = [r for r in rules if not r.expired(today)]
    if not live:  # nothing to match: no finding need be asked whether it is noteworthy
        return tuple(findings), (), _expired_warnings(rules, today)
    kept: list[Finding] = []
    ignored: list[Ignored] = []
    for finding in findings:
        rule = next((r for r in live if r.matches(finding)), None) if finding.noteworthy else None
        if rule is None:
            kept.append(finding)
            continue
        ignored.append(
            Ignored(
                name=finding.name,
                version=finding.version,
                reason=rule.reason,
                status=finding.status.value,
                location=finding.location,
                until=rule.until.isoformat() if rule.until else None,
            )
        )
    return tuple(kept), tuple(ignored), _expired_warnings(rules, today)


def _expired_warnings(rules: Iterable[IgnoreRule], today: dt.date) -> tuple[str, ...]:
    return tuple(
        f"the ignore for {rule.name}{f' {rule.version}' if rule.version else ''} expired on "
        f"{rule.until} and no longer applies (reason was: {rule.reason})"
        for rule in rules
        if rule.expired(today)
    )
