"""Distil a PEP 691 (JSON) or PEP 503 (HTML) project page with PEP 792 markers into a record."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from packaging.version import Version

from ..errors import PageError
from .model import PEP792_STATUSES, ProjectStatus, StatusRecord, parse_rfc3339
from .untrusted import clean_text

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT_HEADER = f"{JSON_CONTENT_TYPE}, {HTML_CONTENT_TYPE};q=0.2, text/html;q=0.01"

#: The first Simple API version that can carry project status markers (PEP 792).
STATUS_API_VERSION = (1, 4)
MAX_STATUS_LENGTH = 64

_SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")


@dataclass(frozen=True)
class DistFile:
    """The facts kept about one file on a project page."""

    filename: str
    yanked: bool = False
    yank_reason: str = ""
    #: As the index wrote it (PEP 700: ``yyyy-mm-ddThh:mm:ss.ffffffZ``); parsed only when needed.
    upload_time: str | None = None


@dataclass(frozen=True)
class ProjectPage:
    """A parsed page before it is reduced to a :class:`StatusRecord`."""

    api_version: str | None
    status: str | None
    reason: str | None
    files: tuple[DistFile, ...] = ()
    versions: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def parse_api_version(text: str | None) -> tuple[int, int] | None:
    """``"1.4"`` → ``(1, 4)``; ``None`` or junk → ``None``."""
    if not text:
        return None
    parts = str(text).strip().split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
    return major, minor


def is_json_content_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.endswith("+json") or media == "application/json"


def parse_page(body: bytes, content_type: str) -> ProjectPage:
    """Parse either form, chosen by the response's ``Content-Type``."""
    if is_json_content_type(content_type):
        return parse_json_page(body)
    return parse_html_page(body)


def parse_json_page(body: bytes) -> ProjectPage:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise PageError(f"index sent invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise PageError("index sent JSON that is not a project page")
    meta = data.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    api_version = meta.get("api-version")
    status: Any = None
    reason: Any = None
    marker = data.get("project-status")
    if isinstance(marker, dict):
        status = marker.get("status")
        reason = marker.get("reason")
    elif isinstance(marker, str):
        status = marker
    if status is None and "project-status" in meta:
        # The short-lived spec erratum put the markers under "meta".
        erratum = meta.get("project-status")
        status = erratum.get("status") if isinstance(erratum, dict) else erratum
        reason = meta.get("project-status-reason", reason)
    if reason is None and isinstance(data.get("project-status-reason"), str):
        reason = data["project-status-reason"]
    files: list[DistFile] = []
    raw_files = data.get("files")
    if isinstance(raw_files, list):
        files.extend(f for f in (_json_file(item) for item in raw_files) if f is not None)
    versions: tuple[str, ...] | None = None
    raw_versions = data.get("versions")
    if isinstance(raw_versions, list):
        versions = tuple(str(v) for v in raw_versions if isinstance(v, (str, int, float)))
    return ProjectPage(
        api_version=str(api_version) if api_version is not None else None,
        status=status if isinstance(status, str) else None,
        reason=reason if isinstance(reason, str) else None,
        files=tuple(files),
        versions=versions,
    )


def _json_file(item: Any) -> DistFile | None:
    if not isinstance(item, dict):
        return None
    filename = item.get("filename")
    if not isinstance(filename, str):
        return None
    yanked_value = item.get("yanked", False)
    yanked = bool(yanked_value)
    yank_reason = yanked_value if isinstance(yanked_value, str) else ""
    raw_time = item.get("upload-time")
    return DistFile(filename, yanked, yank_reason, raw_time if isinstance(raw_time, str) else None)


class _PageHTMLParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.files: list[DistFile] = []
        self._anchor: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            attributes = dict(attrs)
            name, content = attributes.get("name"), attributes.get("content")
            if name and content is not None:
                self.meta[name.lower()] = content
        elif tag == "a":
            self._anchor = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            anchor = self._anchor
            self._anchor = None
            filename = "".join(self._text).strip()
            if not filename:
                href = anchor.get("href") or ""
                filename = href.split("#", 1)[0].rsplit("/", 1)[-1]
            if not filename:
                return
            yanked = "data-yanked" in anchor
            reason = anchor.get("data-yanked") or ""
            self.files.append(DistFile(filename, yanked, reason))


def parse_html_page(body: bytes) -> ProjectPage:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    parser = _PageHTMLParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception as error:  # html.parser is lenient; anything it raises means junk
        raise PageError(f"index sent unreadable HTML: {error}") from None
    meta = parser.meta
    return ProjectPage(
        api_version=meta.get("pypi:repository-version"),
        status=meta.get("pypi:project-status"),
        reason=meta.get("pypi:project-status-reason"),
        files=tuple(parser.files),
    )


def version_from_filename(filename: str) -> str | None:
    """The version part of a wheel, sdist or egg file name (lenient, no validation)."""
    lowered = filename.lower()
    if lowered.endswith((".whl", ".egg")):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 3 else None
    for suffix in _SDIST_SUFFIXES:
        if lowered.endswith(suffix):
            stem = filename[: -len(suffix)]
            if "-" in stem:
                return stem.rsplit("-", 1)[1]
            return None
    return None


def _parsed(version: str) -> Version | None:
    try:
        return Version(version)
    except ValueError:  # InvalidVersion, or an int past Python's 4,300-digit limit
        return None


def _latest(versions: Iterable[str], fully_yanked: set[str]) -> str | None:
    candidates = [(v, p) for v in versions if v not in fully_yanked and (p := _parsed(v))]
    if not candidates:
        return None
    stable = [(v, p) for v, p in candidates if not p.is_prerelease]
    return max(stable or candidates, key=lambda pair: pair[1])[0]


def _latest_upload(times: Iterable[str]) -> datetime | None:
    """The newest upload time. PEP 700's fixed UTC format sorts as text, so only the newest
    string is parsed; anything else (another offset, no ``Z``) is parsed one by one."""
    texts = list(times)
    if not texts:
        return None
    candidates = [max(texts)] if all(t.endswith("Z") for t in texts) else texts
    parsed = [moment for moment in map(_parse_time, candidates) if moment is not None]
    return max(parsed) if parsed else None


def _parse_time(text: str) -> datetime | None:
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def to_record(
    page: ProjectPage, *, name: str, index_url: str, checked_at: datetime
) -> StatusRecord:
    """Reduce a parsed page to the record every front end reads (applies DESIGN's rules)."""
    api = parse_api_version(page.api_version)
    common: dict[str, Any] = {"name": name, "index_url": index_url, "checked_at": checked_at}
    if api is not None and api[0] >= 2:
        return StatusRecord(
            status=ProjectStatus.UNKNOWN,
            api_version=page.api_version,
            error=f"index speaks Simple API {page.api_version}, which this version cannot read",
            **common,
        )
    reason = clean_text(page.reason) if page.reason else None
    raw_status = clean_text(page.status, MAX_STATUS_LENGTH).lower() if page.status else None
    if raw_status is None:
        # An index before 1.4 cannot express status; absence means active only from 1.4 on.
        can_express = api is not None and api >= STATUS_API_VERSION
        status = ProjectStatus.ACTIVE if can_express else ProjectStatus.UNKNOWN
    elif raw_status in PEP792_STATUSES:
        status = ProjectStatus(raw_status)
    else:
        status = ProjectStatus.UNKNOWN
        reason = f"index reported an unrecognised status {raw_status!r}" + (
            f": {reason}" if reason else ""
        )
    file_versions: dict[str, list[DistFile]] = {}
    # Splitting every file name is only needed to find fully yanked versions, or to list the
    # versions when the index did not (a big project has thousands of files).
    need_versions = page.versions is None or any(d.yanked for d in page.files)
    for dist in page.files if need_versions else ():
        version = version_from_filename(dist.filename)
        if version is not None:
            file_versions.setdefault(version, []).append(dist)
    yanked: dict[str, str] = {}
    for version, dists in file_versions.items():
        if all(d.yanked for d in dists):
            reasons = [d.yank_reason for d in dists if d.yank_reason]
            yanked[version] = clean_text(reasons[0]) if reasons else ""
    versions = page.versions
    if versions is None and file_versions:
        versions = tuple(file_versions)
    if versions is None and status is ProjectStatus.QUARANTINED:
        versions = ()
    latest_upload = _latest_upload(d.upload_time for d in page.files if d.upload_time)
    return StatusRecord(
        status=status,
        reason=reason or None,
        api_version=page.api_version,
        versions=versions,
        yanked=yanked,
        latest_version=_latest(versions or (), set(yanked)),
        latest_upload=latest_upload,
        **common,
    )
