"""Plain values every front end shares: project statuses, status records and version facts."""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from itertools import chain
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

if TYPE_CHECKING:
    from packaging.version import Version

from .untrusted import (
    MAX_API_VERSION_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_REASON_LENGTH,
    MAX_URL_LENGTH,
    MAX_VERSION_LENGTH,
    clean_text,
)


class ProjectStatus(str, enum.Enum):
    """What the index says about a project's lifecycle (DESIGN.md status model)."""

    ACTIVE = "active"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"
    QUARANTINED = "quarantined"
    NOT_FOUND = "not-found"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


#: Each status's text, what ``status.value`` gives: a dict lookup at C speed, where the enum's
#: ``value`` property is a Python call (~0.5 µs; several a component in a large run).
STATUS_TEXT: dict[ProjectStatus, str] = {status: status.value for status in ProjectStatus}

#: The statuses PEP 792 defines, as the index spells them.
PEP792_STATUSES = frozenset({"active", "archived", "quarantined", "deprecated"})


#: Texts within the bounds :meth:`StatusRecord.from_json` would cut them to: checked by msgspec
#: in C when a store's entry is decoded straight into a record (a longer one sends the entry to
#: ``from_json``, which cuts it); a record built in Python is not checked against them.
_Url = Annotated[str, msgspec.Meta(max_length=MAX_URL_LENGTH)]
_Reason = Annotated[str, msgspec.Meta(max_length=MAX_REASON_LENGTH)]
_ApiVersion = Annotated[str, msgspec.Meta(max_length=MAX_API_VERSION_LENGTH)]
_Version = Annotated[str, msgspec.Meta(max_length=MAX_VERSION_LENGTH)]
_Error = Annotated[str, msgspec.Meta(max_length=MAX_ERROR_LENGTH)]
#: A time with its offset: a naive one (which from_json reads as UTC) goes to from_json.
_Moment = Annotated[datetime, msgspec.Meta(tz=True)]


class StatusRecord(msgspec.Struct, frozen=True, gc=False):
    """What one index said about one project, distilled: what the cache stores and fronts read.

    ``versions`` is ``None`` when the index gave no way to tell which versions exist
    (no ``versions`` key and no files), so "missing" can never be claimed then.
    ``yanked`` maps a version (as listed) to its yank reason (``""`` when none was given);
    a version counts as yanked when every file of it is yanked (PEP 592).
    ``error`` is set only when the status is ``unknown`` because the lookup failed.

    A msgspec Struct, not a dataclass: a store's entry (:meth:`to_json`'s shape, fields named
    as there) decodes straight into one in C. A warm 10,000-component run reads ten thousand,
    and copying each from a decoded shape into a dataclass was half of reading the cache.
    ``gc=False``: a record holds only strings, times and containers of strings, no cycles.
    """

    name: str
    status: ProjectStatus
    index_url: _Url = msgspec.field(name="index")
    checked_at: _Moment
    reason: _Reason | None = None
    api_version: _ApiVersion | None = None
    versions: tuple[str, ...] | None = None
    yanked: Mapping[str, str] = msgspec.field(default_factory=dict)
    latest_version: _Version | None = None
    latest_upload: _Moment | None = None
    error: _Error | None = None
    from_cache: bool = False
    stale: bool = False

    @property
    def failed(self) -> bool:
        """True when the lookup itself failed (as opposed to an index that cannot tell)."""
        return self.error is not None

    def version_facts(self, version: str | None) -> VersionFacts:
        """What this record says about one version of the project."""
        return version_facts(self, version)

    def as_cached(self, *, stale: bool) -> StatusRecord:
        """This record as read from a store, ``stale`` or fresh: a copy (records are frozen)."""
        return msgspec.structs.replace(self, from_cache=True, stale=stale)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the cache's and ``status --json``'s form)."""
        return {
            "name": self.name,
            "status": self.status.value,
            "index": self.index_url,
            "checked_at": format_rfc3339(self.checked_at),
            "reason": self.reason,
            "api_version": self.api_version,
            "versions": list(self.versions) if self.versions is not None else None,
            "yanked": dict(self.yanked),
            "latest_version": self.latest_version,
            "latest_upload": format_rfc3339(self.latest_upload) if self.latest_upload else None,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, from_cache: bool = False) -> StatusRecord:
        """Inverse of :meth:`to_json`; raises ``KeyError``/``ValueError`` on malformed data.

        Every text is checked again: a cache (Redis shared by replicas, a directory another
        version wrote) is as untrusted as the index the answer came from. What this client
        wrote passes one C-speed check of all its text at once (a warm run reads thousands of
        records); anything else is cleaned field by field.
        """
        index_url = data["index"]
        reason = data.get("reason")
        api_version = data.get("api_version")
        latest_version = data.get("latest_version")
        error = data.get("error")
        versions = data.get("versions")
        yanked = data.get("yanked") or {}
        if not _already_clean(
            index_url, reason, api_version, latest_version, error, versions, yanked
        ):
            index_url = _clean_optional(index_url, MAX_URL_LENGTH)
            reason = _clean_optional(reason, MAX_REASON_LENGTH)
            api_version = _clean_optional(api_version, MAX_API_VERSION_LENGTH)
            latest_version = _clean_optional(latest_version, MAX_VERSION_LENGTH)
            error = _clean_optional(error, MAX_ERROR_LENGTH)
            versions = listed_versions(tuple(map(str, versions))) if versions is not None else None
            yanked = {listed_version(str(k)): clean_text(v) for k, v in yanked.items()}
        status = data["status"]
        latest_upload = data.get("latest_upload")
        return StatusRecord(
            str(data["name"]),
            _STATUSES[status] if status in _STATUSES else ProjectStatus(status),
            index_url,
            _checked_at(str(data["checked_at"])),
            reason,
            api_version,
            tuple(versions) if versions is not None else None,
            dict(yanked),
            latest_version,
            parse_rfc3339(latest_upload) if latest_upload else None,
            error,
            from_cache,
        )


def checked_stored_record(record: StatusRecord, stale: bool, /) -> bool:
    """Whether ``record``, decoded from a store's entry, may be used as it is; if so, it is
    marked (in place: only on a record the decoder has just made, which nobody else holds;
    records are frozen to everyone else) as read from a store, ``stale`` or fresh.

    The decoder has checked every field's type and each text's bound; what is left of
    :meth:`StatusRecord.from_json`'s judgement is whether every text is printable, one
    C-speed test over all of them. False sends the caller to ``from_json``, which cleans.
    """
    reason = record.reason
    api_version = record.api_version
    latest_version = record.latest_version
    error = record.error
    versions = record.versions
    yanked = record.yanked
    texts = record.index_url + (reason or "") + (api_version or "") + (latest_version or "")
    if versions:
        texts += "".join(versions)
    if yanked:
        texts += "".join(yanked) + "".join(yanked.values())
    if not (texts + (error or "")).isprintable():
        return False
    latest_upload = record.latest_upload
    if not in_utc_range(record.checked_at) or not (
        latest_upload is None or in_utc_range(latest_upload)
    ):
        return False  # from_json refuses it (parse_rfc3339): the entry is unreadable
    _force_setattr(record, "from_cache", True)
    _force_setattr(record, "stale", stale)  # whatever the entry said: the clock decides
    return True


_force_setattr = msgspec.structs.force_setattr


#: Stored ``checked_at`` texts already parsed: the records of one run were mostly checked
#: in the same few seconds (a warm 10,000-record read had 8 distinct), and times are values.
_CHECKED_AT: dict[str, datetime] = {}
_CHECKED_AT_KEPT = 256


def _checked_at(text: str) -> datetime:
    moment = _CHECKED_AT.get(text)
    if moment is None:
        moment = parse_rfc3339(text)
        if len(_CHECKED_AT) >= _CHECKED_AT_KEPT:
            _CHECKED_AT.clear()
        _CHECKED_AT[text] = moment
    return moment


#: Status values as stored, to their member without an Enum call per record.
_STATUSES = {status.value: status for status in ProjectStatus}


def _already_clean(
    index_url: object,
    reason: object,
    api_version: object,
    latest_version: object,
    error: object,
    versions: object,
    yanked: object,
) -> bool:
    """Whether every text of a stored record is a printable string within its bound."""
    # Written out, no helper per field: a warm run checks ten thousand records, and five
    # calls, a list and four joins each were two fifths of turning one into a StatusRecord.
    if not (
        (index_url is None or (type(index_url) is str and len(index_url) <= MAX_URL_LENGTH))
        and (reason is None or (type(reason) is str and len(reason) <= MAX_REASON_LENGTH))
        and (
            api_version is None
            or (type(api_version) is str and len(api_version) <= MAX_API_VERSION_LENGTH)
        )
        and (
            latest_version is None
            or (type(latest_version) is str and len(latest_version) <= MAX_VERSION_LENGTH)
        )
        and (error is None or (type(error) is str and len(error) <= MAX_ERROR_LENGTH))
        and (versions is None or type(versions) is list)
        and type(yanked) is dict
    ):
        return False
    texts = (index_url, reason, api_version, latest_version, error)
    try:  # join raises TypeError on anything but strings: no per-item loop in Python
        joined = "".join(chain(filter(None, texts), versions or (), yanked, yanked.values()))
    except TypeError:
        return False
    return joined.isprintable()


def listed_versions(versions: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`listed_version` for each; a list that is all printable (one C-speed check of
    the joined text) is returned as it is: a warm run reads thousands of these."""
    if "".join(versions).isprintable():
        return versions
    return tuple(map(listed_version, versions))


def listed_version(text: str) -> str:
    """A version as the index lists it, cleaned but never cut: it is compared, not only shown
    (every place that shows one bounds it)."""
    return clean_text(text, max(1, len(text)))


def _clean_optional(text: object, limit: int = MAX_REASON_LENGTH) -> str | None:
    return None if text is None else clean_text(text, limit)


class VersionFacts(msgspec.Struct, frozen=True):
    """Per-version signals: yanked (with reason) and missing from the index's listing."""

    version: str
    yanked: bool = False
    yank_reason: str | None = None
    missing: bool = False


#: A release number and nothing else (``1``, ``2.0.10``, ``01.2``): ASCII digits only (``\d``
#: would take other scripts' digits, which PEP 440 does not), no sign, space or ``v``.
_PLAIN_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")

#: What a version compares as under PEP 440, by spelling: a plain release (epoch 0, no pre,
#: post, dev or local part) as its numbers without trailing zeros, any other version as
#: packaging's Version, None for a spelling that is not a version. A large SBOM compares a few
#: dozen spellings thousands of times (a warm 10,000-component run: a thousand records with
#: yanks, 120 distinct spellings).
_KEYS: dict[str, tuple[int, ...] | Version | None] = {}
_KEYS_KEPT = 4096


def _version_key(text: str) -> tuple[int, ...] | Version | None:
    """Equal for two spellings exactly when packaging's Versions of them are (a tuple never
    equals a Version); None when packaging cannot parse it."""
    try:
        return _KEYS[text]
    except KeyError:
        pass
    key: tuple[int, ...] | Version | None
    if _PLAIN_RELEASE.fullmatch(text):
        # Without packaging, which is ~3 ms of import and regex compiling, for what nearly
        # every index lists; packaging compares a release the same way (trailing zeros off).
        try:
            key = _without_trailing_zeros(tuple(map(int, text.split("."))))
        except ValueError:  # a number past Python's 4,300-digit limit: packaging fails too
            key = None
    else:
        key = _parsed_key(text)
    if len(_KEYS) >= _KEYS_KEPT:
        _KEYS.clear()
    _KEYS[text] = key
    return key


def _without_trailing_zeros(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end and not release[end - 1]:
        end -= 1
    return release[:end]


def _parsed_key(text: str) -> tuple[int, ...] | Version | None:
    from packaging.version import Version

    try:
        parsed = Version(text)
    except ValueError:  # InvalidVersion, or an int past Python's 4,300-digit limit
        return None
    if parsed.epoch or parsed.pre or parsed.post is not None or parsed.dev is not None:
        return parsed
    if parsed.local is not None:
        return parsed
    # A plain release spelt otherwise (``v1.0``, `` 1.0 ``, ``0!1.0``): the plain key, so it
    # equals the plain spellings packaging says it equals.
    return _without_trailing_zeros(parsed.release)


#: Read once: an enum member read from its class is a Python-level call (~0.3 µs).
_NOT_FOUND = ProjectStatus.NOT_FOUND


def version_facts(record: StatusRecord, version: str | None) -> VersionFacts:
    """Compare ``version`` with what the index lists, by PEP 440 equality (1.0 == 1.0.0)."""
    if not version:
        return _PLAIN_FACTS.get("") or _plain_facts("")
    versions = record.versions
    # Listed as spelled, and no yanks (nearly always): one C-speed scan, no version compared.
    if not record.yanked and (versions is None or version in versions):
        return _PLAIN_FACTS.get(version) or _plain_facts(version)
    # The key of ``version`` is read only when some listed spelling differs from it.
    wanted: tuple[int, ...] | Version | None = None
    read = False
    yank_reason: str | None = None
    yanked = False
    for listed, reason in record.yanked.items():
        if listed != version:
            if not read:
                wanted, read = _version_key(version), True
            if wanted is None or _version_key(listed) != wanted:
                continue
        yanked = True
        yank_reason = reason or None
        break
    missing = False
    if versions is not None and record.status is not _NOT_FOUND and version not in versions:
        if not read:
            wanted = _version_key(version)
        missing = wanted is None or wanted not in map(_version_key, versions)
    return VersionFacts(version, yanked, yank_reason, missing)


#: The facts of a listed, unyanked version, by version: values, so shared (a large SBOM has
#: many components at "1.0.0"; one made per component was a tenth of version_facts).
_PLAIN_FACTS: dict[str, VersionFacts] = {}
_PLAIN_FACTS_KEPT = 4096


def _plain_facts(version: str) -> VersionFacts:
    facts = _PLAIN_FACTS.get(version)
    if facts is None:
        facts = VersionFacts(version)
        if len(_PLAIN_FACTS) >= _PLAIN_FACTS_KEPT:
            _PLAIN_FACTS.clear()
        _PLAIN_FACTS[version] = facts
    return facts


#: A project name as PEP 508 and the core metadata spec allow it (also the service's OpenAPI
#: pattern). Matched with ``fullmatch``: ``re.match`` with ``$`` lets a trailing newline
#: through ("requests\n").
PROJECT_NAME_PATTERN = "^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"
_PROJECT_NAME = re.compile(PROJECT_NAME_PATTERN)
#: No spec bounds the length; real names are far shorter, and a name becomes a URL path.
MAX_PROJECT_NAME_LENGTH = 200


def is_project_name(name: str) -> bool:
    """Whether ``name`` is a valid project name, so it may become part of an index URL."""
    return len(name) <= MAX_PROJECT_NAME_LENGTH and _PROJECT_NAME.fullmatch(name) is not None


#: Valid project names already canonical (lowercase, single dashes between), one a line.
_CANONICAL_NAME = f"[a-z0-9](?:[a-z0-9-]{{0,{MAX_PROJECT_NAME_LENGTH - 2}}}[a-z0-9])?"
_CANONICAL_LINES = re.compile(f"{_CANONICAL_NAME}(?:\n{_CANONICAL_NAME})*")


def all_canonical_project_names(names: Sequence[str]) -> bool:
    """Whether every one of ``names`` is a valid project name (:func:`is_project_name`) that
    :func:`canonical` leaves as it is: one regex over their joined text. What an SBOM's
    lookups ask for (canonical names); canonical() and is_project_name() of each of a warm
    run's ten thousand cost three times as much. False (check each) for any other name, and
    for none at all."""
    joined = "\n".join(names)
    return (
        "--" not in joined
        # No name holds a line break, so the lines are the names.
        and joined.count("\n") == len(names) - 1
        and _CANONICAL_LINES.fullmatch(joined) is not None
    )


#: PEP 503's rule (runs of ``-_.`` become one ``-``), as packaging.utils.canonicalize_name
#: spells it. Not imported from there: packaging.utils imports packaging.tags (~15 ms of every
#: start, for one regex).
_DASH_RUN = re.compile(r"-{2,}")


def canonical(name: str) -> str:
    """PEP 503 normalized name: the key for caches and URLs (display keeps the user's spelling)."""
    # Each separator made a dash, then runs of dashes folded: the same as one substitution of
    # ``[-_.]+``, and the regex runs only for a name that has a run (a fifth of the time; an
    # SBOM names every project several times over).
    text = name.lower().replace("_", "-").replace(".", "-")
    return _DASH_RUN.sub("-", text) if "--" in text else text


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` and whole seconds, e.g. ``2026-11-21T14:52:00Z``; a year
    before 1000 with its four digits (``0999-…``: strftime wrote ``999-…``, no RFC 3339)."""
    if moment.tzinfo is timezone.utc and moment.year >= 1000:
        # What the fields below give, at a third of their cost (two per enriched component):
        # isoformat's first 19 characters are the same fields, microseconds cut off.
        return moment.isoformat()[:19] + "Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    utc = moment.astimezone(timezone.utc)  # parse_rfc3339 refuses what would overflow here
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


#: Whether ``datetime.fromisoformat`` reads a ``Z`` itself (Python 3.11+).
_ISO_Z = sys.version_info >= (3, 11)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 time (``Z`` accepted on 3.10); naive times are UTC.

    ValueError, as for any malformed time, for one that names no instant of UTC's years 1 to
    9999 (``0001-01-01T00:30:00+01:00``): an index or a store may send it, and writing it in
    UTC (every property, report and notice does) overflowed, an internal error for the run.
    """
    if _ISO_Z and len(text) == 20 and text[19] == "Z" and text[10] == "T":
        # The form format_rfc3339 writes (two per stored record): read as it is, without
        # the copies below; 3.11 gives the same UTC time for "Z" as for "+00:00".
        return datetime.fromisoformat(text)
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    elif not in_utc_range(moment):
        raise ValueError(f"{text[:40]!r} is before year 1 or after year 9999 in UTC")
    return moment


def in_utc_range(moment: datetime) -> bool:
    """Whether an aware ``moment`` can be written in UTC (years 1 to 9999 there)."""
    if moment.tzinfo is timezone.utc or 1 < moment.year < 9999:
        return True
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        return False
    return True
