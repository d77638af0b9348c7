"""Pure translation between HTTP and the domain: media types, query, headers, JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import InvalidName, canonicalize_name

from ..enrich.signatures import SIGNATURE_POLICIES
from ..errors import ApiError, SettingsError
from ..findings.alternatives import Alternative
from ..findings.kinds import parse_fail_on
from ..findings.model import ExitCode, Report
from ..status.maintenance import MaintenanceVerdict
from ..status.model import PROJECT_NAME_PATTERN, ProjectStatus, StatusRecord
from ..status.settings import parse_bool
from ..status.untrusted import clean_text

#: What ``POST /v1/enrich`` accepts, and the format each means.
SBOM_MEDIA_TYPES: Mapping[str, str] = {
    "application/vnd.cyclonedx+json": "json",
    "application/json": "json",
    "application/vnd.cyclonedx+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
}
VERDICTS: Mapping[ExitCode, str] = {
    ExitCode.OK: "passed",
    ExitCode.POLICY: "failed",
    ExitCode.INCOMPLETE: "incomplete",
}
MAX_NAME_LENGTH = 200
#: Longer than any real version; also below int()'s 4300-digit limit, which packaging hits.
MAX_VERSION_LENGTH = 200
#: PEP 508 project names (what ``canonicalize_name(validate=True)`` accepts), for the schema.
NAME_PATTERN = PROJECT_NAME_PATTERN


def error_json(message: str) -> dict[str, str]:
    return {"error": message}


def sbom_media_type(content_type: str | None) -> tuple[str, str]:
    """``Content-Type`` → (media type without parameters, "json" or "xml"); else 415."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = SBOM_MEDIA_TYPES.get(media)
    if fmt is None:
        accepted = ", ".join(SBOM_MEDIA_TYPES)
        shown = clean_text(media, 80) or "none"
        raise ApiError(
            415, f"Content-Type {shown} is not a CycloneDX type (send one of {accepted})"
        )
    return media, fmt


def response_media_type(request_media: str, spec_version: str) -> str:
    """The enriched SBOM goes back in the request's type; CycloneDX's own types name the spec."""
    if request_media.startswith("application/vnd.cyclonedx+"):
        return f"{request_media}; version={spec_version}"
    return request_media


@dataclass(frozen=True)
class EnrichQuery:
    """The policy and output form one enrich request asks for."""

    fail_on: frozenset[str]
    allow_incomplete: bool
    report: bool
    #: What to do with a signed SBOM (``refuse``, ``strip`` or ``keep``), as ``--signatures``.
    signatures: str = "refuse"


#: The query parameters each endpoint takes; any other is refused (422).
ENRICH_PARAMETERS = ("fail_on", "allow_incomplete", "format", "signatures")
PROJECT_PARAMETERS = ("version", "index")
BATCH_FIELDS = ("names", "index")


def query_values(items: Iterable[tuple[str, str]], known: Collection[str]) -> dict[str, str]:
    """The query's parameters by name, each given once and each one of ``known``; else 422.

    Read leniently, a parameter the endpoint does not take (``fail-on``, the CLI's spelling,
    for ``fail_on``) was ignored and a repeated one read as its last value: either way the
    policy applied was not the one asked for, and the verdict passed what the caller (or a
    proxy that checked the first value) meant to fail.
    """
    values: dict[str, str] = {}
    for name, value in items:
        if name not in known:
            shown = clean_text(name, 60)
            spelt = name.replace("-", "_")
            hint = f"did you mean {spelt}? " if spelt in known and spelt != name else ""
            takes = f"it takes {', '.join(known)}" if known else "it takes none"
            raise ApiError(
                422, f"unknown query parameter {shown!r}: {hint}{takes} (nothing was checked)"
            )
        if name in values:
            several = " (a comma list for several statuses)" if name == "fail_on" else ""
            raise ApiError(
                422, f"{name}: given more than once; give it once{several} (nothing was checked)"
            )
        values[name] = value
    return values


def parse_enrich_query(
    items: Iterable[tuple[str, str]], *, fail_on: frozenset[str], allow_incomplete: bool
) -> EnrichQuery:
    """``fail_on``, ``allow_incomplete``, ``format`` and ``signatures`` over the service
    defaults; 422 for a bad value, an unknown parameter or one given twice."""
    params = query_values(items, ENRICH_PARAMETERS)
    try:
        if "fail_on" in params:
            fail_on = parse_fail_on(params["fail_on"])
        if "allow_incomplete" in params:
            allow_incomplete = parse_bool("allow_incomplete", params["allow_incomplete"])
    except (SettingsError, ValueError) as error:
        # The message quotes the caller's text: cleaned and bounded as every other one.
        shown = clean_text(str(error).replace("--fail-on", "fail_on"), 300)
        raise ApiError(422, shown) from None
    form = params.get("format", "sbom")
    if form not in {"sbom", "report"}:
        raise ApiError(422, f"format: expected sbom or report, got {clean_text(form, 40)!r}")
    signatures = params.get("signatures", "refuse")
    if signatures not in SIGNATURE_POLICIES:
        raise ApiError(
            422,
            f"signatures: expected {', '.join(SIGNATURE_POLICIES)}, "
            f"got {clean_text(signatures, 40)!r}",
        )
    return EnrichQuery(fail_on, allow_incomplete, form == "report", signatures)


def verdict_headers(report: Report, code: ExitCode) -> dict[str, str]:
    """The verdict, exit code and counts of an enrich request, for pipelines that read headers.

    The counts are a Structured Field dictionary (RFC 8941): ``active=3, archived=1, ...``.
    """
    counts = report.counts()
    tally = [(status.value, counts.get(status.value, 0)) for status in ProjectStatus]
    tally += [
        ("yanked", report.yanked),
        ("version-missing", report.missing),
        ("skipped", report.skipped),
        ("components", len(report.findings)),
        ("projects", report.projects),
    ]
    return {
        "X-Sbom-Enrich-Verdict": VERDICTS[code],
        "X-Sbom-Enrich-Exit-Code": str(int(code)),
        "X-Sbom-Enrich-Counts": ", ".join(f"{key}={value}" for key, value in tally),
    }


def valid_project_name(name: str) -> str:
    """The name as given when it is a valid project name (PEP 508); else 422."""
    if len(name) > MAX_NAME_LENGTH:
        raise ApiError(422, f"project name longer than {MAX_NAME_LENGTH} characters")
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        raise ApiError(422, f"not a valid project name: {clean_text(name, 100)!r}") from None
    return name


def valid_version(version: str) -> str:
    """A ``?version=`` value of bounded length (any text: it is compared as the index lists it)."""
    if len(version) > MAX_VERSION_LENGTH:
        raise ApiError(422, f"version longer than {MAX_VERSION_LENGTH} characters")
    return version


def record_json(
    record: StatusRecord,
    alternatives: Sequence[Alternative],
    *,
    requested: str | None = None,
    version: str | None = None,
    maintenance: MaintenanceVerdict | None = None,
    recommended: Sequence[str] = (),
) -> dict[str, Any]:
    """A status record as the API returns it: the cache form plus provenance and alternatives.

    ``maintenance`` (the service runs with ``--maintenance``): the second signal, in a field of
    its own — ``status`` stays the index's, whatever the repository says.
    """
    body: dict[str, Any] = {"requested": requested or record.name, **record.to_json()}
    body["from_cache"] = record.from_cache
    body["stale"] = record.stale
    body["alternatives"] = [
        {"name": a.name, "rationale": a.rationale, "stdlib": a.stdlib, "source": a.source}
        for a in alternatives
    ]
    if maintenance is not None:
        body["maintenance"] = {**maintenance.to_json(), "recommended": list(recommended)}
    if version is not None:
        facts = record.version_facts(version)
        # Without the index's list of versions (a failed lookup, not-found, an index that
        # lists none) nothing is known of this one: null, never "not yanked, not missing".
        told = record.versions is not None
        body["version"] = {
            "version": version,
            "yanked": facts.yanked if told else None,
            "yank_reason": facts.yank_reason,
            "missing": facts.missing if told else None,
        }
    return body


def parse_batch(body: bytes, max_names: int) -> tuple[list[str], str | None]:
    """``{"names": [...], "index": "..."?}`` → (names, index); 400 if not JSON, 422 if misshapen."""
    try:
        data = json.loads(body, object_pairs_hook=_unique_keys)
    except _RepeatedKey as repeated:
        raise ApiError(422, f"{repeated.key}: given more than once; give it once") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    except RecursionError:
        raise ApiError(400, "the body is JSON nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("names"), list):
        raise ApiError(422, 'expected a JSON object {"names": ["project", ...]}')
    unknown = [key for key in data if key not in BATCH_FIELDS]
    if unknown:
        # An ignored "allow_index" or "indexes" left the names asked on the default index.
        raise ApiError(
            422,
            f"unknown field {clean_text(unknown[0], 60)!r}: the body takes "
            f"{', '.join(BATCH_FIELDS)} (nothing was checked)",
        )
    names = data["names"]
    if not all(isinstance(name, str) for name in names):
        raise ApiError(422, "names: every name must be a string")
    if not names:
        raise ApiError(422, "names: send at least one name")
    if len(names) > max_names:
        raise ApiError(
            422,
            f"names: {len(names)} names is more than this service's limit of {max_names} per "
            "batch: split the list",
        )
    index = data.get("index")
    if "index" in data and not isinstance(index, str):
        raise ApiError(422, "index: expected a URL string")
    return [valid_project_name(name) for name in names], index


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = clean_text(key, 60)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (json keeps the last of a repeated one)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return data
