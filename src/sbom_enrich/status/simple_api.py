"""Distil a PEP 691 (JSON) or PEP 503 (HTML) project page with PEP 792 markers into a record.

JSON pages are decoded by msgspec into the few fields read (``_JsonPage``), which skips the
rest in C: the nginx bench's 1,000 pages (23 MB) in ~32 ms of CPU against ~178 ms by
``json.loads`` (orjson: ~127 ms; bench/bench_json_pages.py); a cold run's CPU fell 7-9%
(paired runs, docs/connections.md). Anything msgspec refuses goes to ``json`` as before.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from packaging.version import InvalidVersion, Version

from ..errors import PageError
from .model import (
    PEP792_STATUSES,
    ProjectStatus,
    StatusRecord,
    canonical,
    listed_version,
    listed_versions,
    parse_rfc3339,
)
from .untrusted import MAX_API_VERSION_LENGTH, clean_text

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT_HEADER = f"{JSON_CONTENT_TYPE}, {HTML_CONTENT_TYPE};q=0.2, text/html;q=0.01"

#: The first Simple API version that can carry project status markers (PEP 792).
STATUS_API_VERSION = (1, 4)
#: The newest Simple API version this client knows. A newer minor version is read as this one
#: with a warning; a newer major version is an error (PEP 629).
KNOWN_API_VERSION = (1, 4)
MAX_STATUS_LENGTH = 64

#: Archive suffixes of sdists and bdist_dumb files (distutils' formats and what PyPI accepted).
_ARCHIVE_SUFFIXES = (
    *(".tar.gz", ".tar.bz2", ".tar.xz", ".tar.lzma", ".tar.lz", ".tar.z", ".tar"),
    *(".tgz", ".tbz", ".tbz2", ".txz", ".tlz", ".zip"),
)
_SEPARATOR_RUN = re.compile(r"[-_.]+")
#: distutils' platform names as they end a bdist_dumb/wininst/msi version ("1.0.win32").
_PLATFORM_SUFFIX = re.compile(
    r"\.(?:aix|cygwin|darwin|linux|macosx|solaris|sunos|win|freebsd|openbsd|netbsd)"
    r"[-.A-Za-z0-9_]*$",
    re.IGNORECASE,
)
_PYTHON_TAG_SUFFIX = re.compile(r"-py\d+(?:\.\d+)?$")
#: An RPM's "-release.arch.rpm" tail ("foo-1.0-1.noarch.rpm", "foo-1.0-1.src.rpm").
_RPM_RELEASE_ARCH = re.compile(r"-[^-]+\.[A-Za-z0-9._]+\.rpm$", re.IGNORECASE)


@dataclass(frozen=True)
class YankedFile:
    """A yanked file on a project page, with the reason given (``""`` when none)."""

    filename: str
    reason: str = ""


@dataclass(frozen=True)
class ProjectPage:
    """A parsed page before it is reduced to a :class:`StatusRecord`.

    Files are kept as plain names, not one object each: a big project lists thousands, and
    all a record needs of most of them is the version in the name (and only when the index
    sends no ``versions`` list, or some file is yanked).
    """

    api_version: str | None
    status: str | None
    reason: str | None
    #: Every file's name, in page order (yanked ones too).
    filenames: tuple[str, ...] = ()
    #: The yanked files, in page order, with their reasons.
    yanked_files: tuple[YankedFile, ...] = ()
    #: Upload times as the index wrote them (PEP 700: ``yyyy-mm-ddThh:mm:ss.ffffffZ``);
    #: parsed only when needed.
    upload_times: tuple[str, ...] = ()
    versions: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The project the page says it is for: JSON ``name``, or an HTML title "Links for NAME".
    project: str | None = None
    #: The page is the index's list of projects (its root), not one project's page.
    project_list: bool = False
    #: Why the status markers cannot be read (malformed, or several that disagree); None if fine.
    status_problem: str | None = None


#: A version part: ASCII digits, as PEP 629 writes them. int() also took "١" (Arabic-Indic
#: digits: "١.٤" read as 1.4, a page with no marker "active"), "1_0" (10: a major version this
#: client refuses), signs and spaces.
_VERSION_PART = re.compile(r"[0-9]{1,9}")


def parse_api_version(text: str | None) -> tuple[int, int] | None:
    """``"1.4"`` → ``(1, 4)``; ``"1"`` → ``(1, 0)``; ``None`` or junk → ``None`` (no version
    read: such a page cannot express status unless it carries a marker)."""
    if not text:
        return None
    parts = str(text).strip(" \t\n\r\f").split(".")
    if not all(_VERSION_PART.fullmatch(part) for part in parts[:2]):
        return None
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def _first_media_type(content_type: str) -> tuple[str, str]:
    """(media type, its parameters) of the first type in ``content_type``.

    A repeated header arrives joined ("text/html, text/html", nginx add_header twice): the
    first one is the type, as pip reads it, whatever the others say.
    """
    media, _, parameters = content_type.split(",", 1)[0].partition(";")
    return media.strip().lower(), parameters


def is_json_content_type(content_type: str) -> bool:
    media = _first_media_type(content_type)[0]
    return media.endswith("+json") or media == "application/json"


#: The HTML forms of a Simple API page (PEP 691), as pip and uv accept them.
_HTML_TYPES = frozenset({"text/html", "application/vnd.pypi.simple.v1+html"})


def parse_page(body: bytes, content_type: str, *, framed_by_close: bool = False) -> ProjectPage:
    """Parse either form, chosen by the response's ``Content-Type``.

    Any other type (``application/octet-stream``, ``text/plain``, none) is no page: a PEP 691
    JSON page sent as one was read as HTML holding no version, so "cannot express status",
    no failure, and a run around it passed. pip and uv refuse such answers too. So is an
    empty body. ``framed_by_close``: the body ended with the connection (HTTP/1.x with no
    length and no chunks), so only the page itself can tell that it is whole.
    """
    if not body.strip():
        raise PageError("index sent an empty page")
    if is_json_content_type(content_type):
        return parse_json_page(body)
    media, parameters = _first_media_type(content_type)
    if media not in _HTML_TYPES:
        shown = clean_text(media, 100) or "no Content-Type"
        raise PageError(f"index sent {shown}, not a Simple API page (HTML or JSON)")
    return parse_html_page(body, charset=_charset(parameters), framed_by_close=framed_by_close)


def _charset(parameters: str) -> str | None:
    """The ``charset`` of a media type's parameters (``; charset="utf-16"``), if named."""
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").strip() or None
    return None


class _JsonFile(msgspec.Struct):
    """The fields of a PEP 691 file entry this client reads; msgspec skips the rest in C."""

    filename: Any = None
    yanked: Any = None
    upload_time: Any = msgspec.field(default=None, name="upload-time")


class _JsonPage(msgspec.Struct):
    """The fields of a PEP 691 page this client reads, as :func:`json.loads` would give them.

    Absent and ``null`` differ where the parser asks whether a key is there (``UNSET``).
    """

    name: Any = None
    meta: Any = None
    files: list[_JsonFile] | None | UnsetType = UNSET
    versions: Any = None
    project_status: Any = msgspec.field(default=UNSET, name="project-status")
    project_status_reason: Any = msgspec.field(default=None, name="project-status-reason")
    #: Only whether it is there: the root page's list of every project is not decoded.
    projects: msgspec.Raw | UnsetType = UNSET


_PAGE_DECODER = msgspec.json.Decoder(_JsonPage)


def _decode_fast(body: bytes) -> _JsonPage | None:
    """The page's fields by msgspec, or None when :func:`_decode_stdlib` must read it.

    None for whatever msgspec refuses or reads unlike ``json``: NaN and Infinity, a number
    past a float, lone surrogates, a byte order mark or UTF-16/32 (which :func:`_in_utf8`
    has already turned to UTF-8 for a page), nesting past its depth, a
    top level that is no object, a ``files`` that is no list of objects; and a body that is
    not all UTF-8 (``json`` rejects the whole page; msgspec does not check skipped strings).
    The slow path then gives exactly the answer or the error of before. What msgspec reads
    that ``json`` did not: an integer past Python's 4,300 digits in a field that is not read,
    and nesting a level or two deeper (docs/hostile-index.md).
    """
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return _PAGE_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None


def _decode_stdlib(body: bytes) -> _JsonPage:
    """The page's fields by :func:`json.loads` (the reference the fast path is held to)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise PageError(f"index sent invalid JSON: {error}") from None
    except RecursionError:  # a few hundred kB of "[[[[..." is enough
        raise PageError("index sent JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise PageError("index sent JSON that is not a project page")
    files: list[_JsonFile] | None | UnsetType = UNSET
    if isinstance(raw_files := data.get("files"), list):
        files = [
            _JsonFile(item.get("filename"), item.get("yanked"), item.get("upload-time"))
            for item in raw_files
            if type(item) is dict  # an entry that is not an object is no file
        ]
    elif "files" in data:
        files = None
    return _JsonPage(
        name=data.get("name"),
        meta=data.get("meta"),
        files=files,
        versions=data.get("versions"),
        project_status=data.get("project-status", UNSET),
        project_status_reason=data.get("project-status-reason"),
        projects=msgspec.Raw() if "projects" in data else UNSET,
    )


def _in_utf8(body: bytes) -> bytes:
    """``body`` in UTF-8, read as :func:`json.loads` reads bytes (a UTF-8 byte order mark,
    UTF-16 or UTF-32 told by the first bytes; RFC 8259 section 8.1 asks for UTF-8, and PEP 691
    names no encoding). Every check on the bytes (repeated status keys) then sees the keys
    the decoders see: in UTF-16 a repeated ``"project-status"`` hid from them."""
    encoding = json.detect_encoding(body)
    if encoding == "utf-8":
        return body
    try:  # lone surrogates survive both ways, as they do through json.loads
        return body.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    except UnicodeDecodeError as error:
        raise PageError(f"index sent invalid JSON: {error}") from None


def parse_json_page(body: bytes) -> ProjectPage:
    body = _in_utf8(body)
    data = _decode_fast(body)
    if data is None:
        data = _decode_stdlib(body)
    meta = data.meta
    if not isinstance(meta, dict):
        meta = {}
    project = data.name
    if project is not None and not isinstance(project, str):
        raise PageError("index sent a project page whose name is not a string")
    api_version = meta.get("api-version")
    markers = _StatusMarkers()
    if data.project_status is not UNSET:
        marker = data.project_status
        markers.add_json(marker, "project-status")
        if isinstance(marker, dict):
            markers.add_reason(marker.get("reason"))
    if "project-status" in meta:
        # The short-lived spec erratum put the markers under "meta".
        markers.add_json(meta["project-status"], "meta.project-status")
        markers.add_reason(meta.get("project-status-reason"))
    markers.add_reason(data.project_status_reason)
    if _may_repeat_status(body):
        # Both decoders keep the last of duplicate keys: "archived" then "active" read as
        # active. Only a page that could hold duplicates pays for the slower second parse.
        try:
            duplicates = _duplicate_keys(body)
        except (ValueError, RecursionError):
            # msgspec read a page json cannot (an integer past 4,300 digits, deeper
            # nesting): the json path's own error, as before msgspec, not a traceback.
            _decode_stdlib(body)
            raise PageError("index sent JSON this client cannot read") from None
        for key, values in duplicates.items():
            markers.add_duplicates(key, values)
    if data.files is None:
        # PEP 691: "files" is a list. A page that spoils it is not one to read "no status" on.
        markers.doubt_active("a project page whose files is not a list")
    filenames, yanked_files, upload_times = _json_files(
        data.files if isinstance(data.files, list) else []
    )
    versions: tuple[str, ...] | None = None
    raw_versions = data.versions
    if isinstance(raw_versions, list):
        versions = tuple(str(v) for v in raw_versions if isinstance(v, (str, int, float)))
    return ProjectPage(
        api_version=str(api_version) if api_version is not None else None,
        status=markers.status(),
        reason=markers.reason,
        status_problem=markers.problem(),
        filenames=filenames,
        yanked_files=yanked_files,
        upload_times=upload_times,
        versions=versions,
        project=project,
        # PEP 691's root page has "projects" and no "files": never read it as a project page.
        project_list=data.projects is not UNSET and data.files is UNSET,
    )


_STATUS_KEYS = frozenset({"project-status", "status", "project-status-reason"})
#: Past this many ``status"`` in one page, count the two keys outright.
_STATUS_SCAN_LIMIT = 8


def _may_repeat_status(body: bytes) -> bool:
    """True when ``"project-status"`` or ``"status"`` occurs twice or more in ``body`` (and
    at times when it may not: a quote that closes one string and opens the next).

    One pass over the page for ``status"``, which ends both, instead of a count of each
    (two passes over megabytes): each hit is told apart by what precedes it.
    """
    if b"\\u00" in body:
        # A key spelled in escapes ("st\\u0061tus") decodes to the same key but hides from
        # the byte scan below: read such a page again (any escape of an ASCII letter).
        return True
    found = body.find(b'status"')
    project_status = status = 0
    for _ in range(_STATUS_SCAN_LIMIT):
        if found < 0:
            return False
        if found >= 1 and body[found - 1] == 0x22:  # '"status"'
            status += 1
        elif found >= 9 and body.startswith(b'"project-', found - 9):
            project_status += 1
        if status > 1 or project_status > 1:
            return True
        found = body.find(b'status"', found + 7)
    return body.count(b'"project-status"') > 1 or body.count(b'"status"') > 1


def _duplicate_keys(body: bytes) -> dict[str, list[Any]]:
    """Status keys that appear more than once in one JSON object, with all their values."""
    found: dict[str, list[Any]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, list[Any]] = {}
        for key, value in pairs:
            if key in _STATUS_KEYS:
                seen.setdefault(key, []).append(value)
        for key, values in seen.items():
            if len(values) > 1:
                found.setdefault(key, []).extend(values)
        return dict(pairs)

    json.loads(body, object_pairs_hook=pairs_hook)
    return found


class _StatusMarkers:
    """Every status marker a page carries, so that disagreeing or malformed ones are seen.

    A project has exactly one status (PEP 792): two markers that disagree, or one that is not
    a non-empty string, say nothing reliable. Either is a failed lookup, never "active".
    """

    def __init__(self) -> None:
        self.values: list[str] = []
        self.malformed: list[str] = []
        self.reason: str | None = None
        self.page_doubt: str | None = None

    def add(self, value: object, where: str) -> None:
        if isinstance(value, str) and value.strip():
            self.values.append(value)
        else:
            shown = value if isinstance(value, str) else json.dumps(value)[:40]
            self.malformed.append(f"{where} {shown!r}")

    def add_json(self, marker: object, where: str) -> None:
        if isinstance(marker, dict):
            # {} or {"reason": ...}: a marker that names no status (fail closed, not active).
            self.add(marker.get("status"), f"{where}.status")
        else:
            self.add(marker, where)  # a bare string is the lenient form; anything else is junk

    def add_reason(self, reason: object) -> None:
        if self.reason is None and isinstance(reason, str):
            self.reason = reason

    def add_duplicates(self, key: str, values: list[Any]) -> None:
        if key == "project-status-reason":
            return
        for value in values:
            if isinstance(value, dict):
                if key == "project-status":
                    self.add(value.get("status"), "a repeated project-status")
            else:
                self.add(value, f"a repeated {key}")

    def distinct(self) -> list[str]:
        return sorted({clean_text(v, MAX_STATUS_LENGTH).lower() for v in self.values})

    def status(self) -> str | None:
        return self.values[0] if self.values else None

    def doubt_active(self, why: str) -> None:
        """The page is too broken to vouch for "active": a failed lookup unless a status says
        otherwise (a malformed page that says "quarantined" still says it)."""
        if all(clean_text(v, MAX_STATUS_LENGTH).lower() == "active" for v in self.values):
            self.page_doubt = why

    def problem(self) -> str | None:
        if self.page_doubt is not None:
            return f"index sent {self.page_doubt}"
        if self.malformed:
            return f"index sent a malformed project status: {clean_text(self.malformed[0], 80)}"
        distinct = self.distinct()
        if len(distinct) > 1:
            return f"index sent conflicting project statuses: {', '.join(distinct)}"
        return None


def _json_files(
    items: list[_JsonFile],
) -> tuple[tuple[str, ...], tuple[YankedFile, ...], tuple[str, ...]]:
    """(every file name, the yanked files, the upload times) of a JSON page's ``files``.

    One loop with no object of ours per file: a page of thousands of files spent more on a
    frozen dataclass per file than on decoding the JSON. An entry without a string
    ``filename`` is no file (one that is not an object never became a ``_JsonFile``).
    """
    filenames: list[str] = []
    yanked: list[YankedFile] = []
    times: list[str] = []
    for item in items:
        filename = item.filename
        if type(filename) is not str:
            continue
        filenames.append(filename)
        yanked_value = item.yanked
        if yanked_value:
            reason = yanked_value if isinstance(yanked_value, str) else ""
            yanked.append(YankedFile(filename, reason))
        raw_time = item.upload_time
        if type(raw_time) is str and raw_time:
            times.append(raw_time)
    return tuple(filenames), tuple(yanked), tuple(times)


#: A page's own end: ``</html>`` (any case, white space before its ">"), then only white
#: space and comments (PyPI's pages end ``</html>\n<!--SERIAL 123-->``).
_HTML_END = re.compile(r"</html\s*>(?:\s|<!--.*?-->)*\Z", re.IGNORECASE | re.DOTALL)
#: How much of a page's end is searched for it (a trailing comment is short).
_HTML_END_TAIL = 4096


def _html_text(body: bytes, charset: str | None) -> str:
    """The page as text: by its byte order mark, else by the charset it is labelled with (as
    pip decodes a page), else UTF-8 or, failing that, Latin-1 (every ASCII byte, and so every
    tag and status word, reads the same in both).

    A page in UTF-16 or EBCDIC read as Latin-1 showed no tag at all: "the index cannot
    express status" (an answer, no failure) for a page that said quarantined. A charset this
    client cannot decode the page in is a failed lookup, and so is a text that cannot be
    markup in the charset assumed (NUL characters: UTF-16/32; not one "<").
    """
    shown = "its byte order mark's"
    if body.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", body[len(codecs.BOM_UTF8) :]  # the BOM wins (WHATWG)
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # Python's codec reads the BOM's byte order and drops it
    elif charset is not None:
        shown = repr(clean_text(charset, 40))
        try:
            codec = codecs.lookup(charset)
        except (LookupError, ValueError):  # ValueError: a label with a NUL in it
            codec = None
        # Not every codec is a charset: "rot13" and "base64" transform, they do not decode.
        if codec is None or not getattr(codec, "_is_text_encoding", True):
            raise PageError(f"index sent HTML in a charset this client cannot read ({shown})")
        encoding = codec.name
        if encoding == "utf-16":
            encoding = "utf-16-le"  # no BOM: WHATWG reads the label "utf-16" as UTF-16LE
        elif encoding == "ascii":
            encoding = "latin-1"  # WHATWG reads "us-ascii" as windows-1252: any byte is read
    else:
        encoding = "utf-8"
    if encoding == "utf-8":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
    else:
        try:
            text = body.decode(encoding)
        except UnicodeError:
            raise PageError(
                f"index sent HTML that does not decode as its charset ({shown})"
            ) from None
    if "\0" in text:
        raise PageError("index sent HTML holding NUL characters (UTF-16 or UTF-32 unlabelled?)")
    if "<" not in text:
        raise PageError("index sent HTML without a single tag (in a charset it did not name?)")
    return text


def parse_html_page(
    body: bytes, *, charset: str | None = None, framed_by_close: bool = False
) -> ProjectPage:
    text = _html_text(body, charset)
    # A page cut short reads as one without the markers after the cut: active. JSON cannot
    # end early unnoticed; HTML can, so the page must show its own end where the framing
    # does not (html.parser would read a cut tag as text).
    if text.rfind("<") > text.rfind(">"):
        raise PageError("index sent HTML that ends inside a tag (cut short?)")
    if framed_by_close and _HTML_END.search(text[-_HTML_END_TAIL:]) is None:
        raise PageError(
            "index sent HTML that ended with the connection before </html>, with no length "
            "or chunks to show it whole (cut short?)"
        )
    from .html_page import PageHTMLParser  # html.parser: only for an HTML page (~3 ms)

    parser = PageHTMLParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception as error:  # html.parser is lenient; anything it raises means junk
        raise PageError(f"index sent unreadable HTML: {error}") from None
    if parser.problems:
        raise PageError(f"index sent {parser.problems[0]}")
    versions = sorted({clean_text(v, MAX_API_VERSION_LENGTH) for v in parser.versions})
    if len(versions) > 1:
        raise PageError(f"index sent conflicting Simple API versions: {', '.join(versions)}")
    meta = parser.meta
    markers = _StatusMarkers()
    for status in parser.statuses:
        markers.add(status, "pypi:project-status")
    markers.add_reason(meta.get("pypi:project-status-reason"))
    return ProjectPage(
        api_version=meta.get("pypi:repository-version"),
        status=markers.status(),
        reason=markers.reason,
        status_problem=markers.problem(),
        filenames=tuple(parser.filenames),
        yanked_files=tuple(parser.yanked_files),
        project=parser.project(),
        project_list=parser.directory_links > 0 and not parser.filenames,
    )


def version_from_filename(filename: str, project: str | None = None) -> str | None:
    """The version a distribution file's name carries, as spelled there; None if it has none.

    Wheels are split at their hyphens, which PEP 427 reserves for separating the parts:
    :func:`packaging.utils.parse_wheel_filename` also parses every tag into a frozenset:
    18 µs a name against 1.3 µs, 36 ms for the 2,000 wheels of one 4,000-file page
    (bench/bench_parse_page.py), to learn nothing more about the version. A PEP 625 sdist
    of an unknown project goes through :func:`packaging.utils.parse_sdist_filename`.
    packaging has no parser for what else real indexes hold, so that is split here
    (pypi-simple does the same, but pulls in requests, pydantic and BeautifulSoup; it is
    this parser's test oracle): sdists with a hyphen in the version (``foo-1.1.0-rc1.tar.gz``:
    the part after the project's name, when ``project`` is known), bdist_dumb archives
    (``foo-2.0.linux-x86_64.tar.gz`` is 2.0), eggs, Windows installers (``.exe``, ``.msi``)
    and ``.rpm`` files.
    """
    lowered = filename.lower()
    if lowered.endswith(".whl"):
        parts = filename[:-4].split("-")  # name-version[-build]-python-abi-platform
        return parts[1] if len(parts) in (5, 6) and parts[1] else None
    if lowered.endswith(".egg"):
        parts = filename[:-4].split("-")  # name-version[-pyX.Y[-platform]], no other hyphens
        return parts[1] if len(parts) >= 2 and parts[1] else None
    if lowered.endswith(".rpm"):
        stem = _RPM_RELEASE_ARCH.sub("", filename)
        return _split_version(stem, project) if stem != filename else None
    if lowered.endswith((".exe", ".msi")):
        stem = _PYTHON_TAG_SUFFIX.sub("", filename[:-4])
        return _split_version(stem, project, platform=True)
    suffix = next((x for x in _ARCHIVE_SUFFIXES if lowered.endswith(x)), None)
    if suffix is None:
        return None
    stem = filename[: -len(suffix)]
    if project is None and suffix in (".tar.gz", ".zip") and not _PLATFORM_SUFFIX.search(stem):
        # Imported here: packaging.utils brings packaging.tags, which a run seldom needs.
        from packaging.utils import InvalidSdistFilename, parse_sdist_filename

        try:
            parse_sdist_filename(filename)
        except (InvalidSdistFilename, InvalidVersion, ValueError):
            pass
        else:
            return stem.rpartition("-")[2]  # as spelled: packaging splits at the last "-"
    return _split_version(stem, project, platform=True)


def _split_version(stem: str, project: str | None, *, platform: bool = False) -> str | None:
    """The version in ``name-version``: after the project's name when that prefix is found,
    else the right-most part that is a valid version, else the last part (lenient)."""
    candidates: list[str] = []
    if project is not None:
        wanted = canonical(project)
        for at, char in enumerate(stem):
            if char == "-" and _SEPARATOR_RUN.sub("-", stem[:at]).lower() == wanted:
                candidates.append(stem[at + 1 :])
                break
    if not candidates:
        dashes = [at for at, char in enumerate(stem) if char == "-"]
        candidates = [stem[at + 1 :] for at in reversed(dashes)]
    if not candidates:
        return None
    for candidate in candidates:
        if platform:
            # bdist_dumb and bdist_wininst/msi: "2.0.linux-x86_64", "1.0.win-amd64". Tried
            # first: a local version would swallow it ("1.0+local.7.linux-x86_64" is valid).
            stripped = _PLATFORM_SUFFIX.sub("", candidate)
            if stripped != candidate and _parsed(stripped) is not None:
                return stripped
        if _parsed(candidate) is not None:
            return candidate
    return candidates[0] or None


def _parsed(version: str) -> Version | None:
    try:
        return Version(version)
    except ValueError:  # InvalidVersion, or an int past Python's 4,300-digit limit
        return None


def version_key(version: str) -> Version | str:
    """What identifies a version: 2.0 and 2.0.0 are one (PEP 440); junk is its own text."""
    return _parsed(version) or version


#: A plain release number ("1.2.10"): PEP 440 orders these as their numbers with trailing
#: zeros dropped, so they need no Version object to be compared. ASCII digits only (``\d``
#: would take other scripts' digits, which Version reads differently); bounded, as int() is.
_PLAIN_RELEASE = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18}){0,15}")


def _latest(
    versions: Iterable[str],
    fully_yanked: set[Version | str],
    key_of: Callable[[str], Version | str],
) -> str | None:
    """The newest version that is not fully yanked, preferring final releases (as pip does).

    Most listed versions are plain release numbers: the newest of those is found by their
    numbers, and only it and the other spellings (pre-, post- and dev-releases, epochs,
    local versions, junk) are parsed, instead of every version of a project with thousands.
    """
    listed = list(versions)
    numbered: list[tuple[tuple[int, ...], int]] = []  # (release numbers, -position)
    others: list[int] = []  # positions of every other spelling
    for position, version in enumerate(listed):
        if _PLAIN_RELEASE.fullmatch(version):
            numbered.append((tuple(map(int, version.split("."))), -position))
        else:
            others.append(position)
    best_plain = _newest_plain(listed, numbered, fully_yanked, key_of)
    positions = others if best_plain is None else sorted([*others, best_plain])
    candidates = [
        (v, p)
        for v in map(listed.__getitem__, positions)
        if isinstance(p := key_of(v), Version) and p not in fully_yanked
    ]
    if not candidates:
        return None
    stable = [(v, p) for v, p in candidates if not p.is_prerelease]
    return max(stable or candidates, key=lambda pair: pair[1])[0]


def _newest_plain(
    listed: list[str],
    numbered: list[tuple[tuple[int, ...], int]],
    fully_yanked: set[Version | str],
    key_of: Callable[[str], Version | str],
) -> int | None:
    """Where the newest plain release number that is not fully yanked is listed (the first
    of equal ones: 1.0 and 1.0.0 are one version, and max() kept the first); None if none.

    ``numbered`` holds each plain release's numbers and its position, negated (so that the
    greatest pair is the first listed of equal numbers). The numbers order versions as PEP 440
    does once trailing zeros are dropped; as written they refine that order (1.0.0 > 1.0 > 1),
    so the newest as written is in the newest class.
    """
    if not numbered:
        return None
    newest: tuple[tuple[int, ...], int] | None = None
    if not fully_yanked:
        newest = max(numbered)
    else:
        for pair in sorted(numbered, reverse=True):
            if key_of(listed[-pair[1]]) not in fully_yanked:
                newest = pair
                break
    if newest is None:
        return None
    numbers, position = newest
    if numbers[-1] != 0 or len(numbers) == 1:
        return -position  # no shorter spelling of it can be listed (1.2 has none, 1.0 has 1)
    release = list(numbers)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    size = len(release)
    wanted = tuple(release)
    return -max(
        negated
        for numbers, negated in numbered
        if numbers[:size] == wanted and not any(numbers[size:])
    )


#: An upload time as PyPI writes it (PEP 700): ``YYYY-MM-DDTHH:MM:SS``, a fraction or not, and
#: ``Z``. Fixed-width fields in falling order of weight: times written in one such shape (the
#: digits differ, nothing else) sort as text in time order.
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z")
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")


def _latest_upload(times: Iterable[str]) -> datetime | None:
    """The newest upload time. When every time is written in one shape of PyPI's form (see
    :data:`_UTC_TIME`), only the newest string is parsed; anything else (``…00Z`` sorts
    after ``…00.5Z``; another offset or separator; text that is no time) is parsed one by one.
    """
    texts = list(times)
    if not texts:
        return None
    if _one_utc_shape(texts):
        newest = _parse_time(max(texts))
        if newest is not None:
            return newest
    parsed = [moment for moment in map(_parse_time, texts) if moment is not None]
    return max(parsed) if parsed else None


def _one_utc_shape(texts: list[str]) -> bool:
    """Whether every text is the first one's shape, with digits in other places, and that
    shape is :data:`_UTC_TIME`'s (a check at C speed: ~0.15 µs a time)."""
    if not _UTC_TIME.fullmatch(texts[0]):
        return False
    try:
        joined = "\n".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return False
    shape = texts[0].encode("ascii").translate(_DIGITS_AS_ZERO)
    return joined.translate(_DIGITS_AS_ZERO) == b"\n".join([shape] * len(texts))


def _parse_time(text: str) -> datetime | None:
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


_warned_newer: set[tuple[str, str | None]] = set()


def _warn_newer_minor(index_url: str, api_version: str | None) -> None:
    """PEP 629: a client SHOULD warn about a newer minor version; once per index and version."""
    if (index_url, api_version) in _warned_newer:
        return
    _warned_newer.add((index_url, api_version))
    known = ".".join(map(str, KNOWN_API_VERSION))
    logger.warning(
        "index %s speaks Simple API %s, newer than the %s this version knows: read as %s",
        index_url,
        api_version,
        known,
        known,
    )


def page_owner_problem(page: ProjectPage, name: str) -> str | None:
    """Why ``page`` is not ``name``'s page (one line), or None when nothing says otherwise."""
    if page.project_list:
        return "index sent its list of projects, not the project's page"
    wanted = canonical(name)
    if page.project is not None:
        if canonical(page.project) != wanted:
            return f"index sent the page of another project ({clean_text(page.project, 100)!r})"
        return None
    # No name or title (a bare HTML page): its links must be of this project, or some of them.
    prefix = wanted + "-"
    if page.filenames and not any(
        _SEPARATOR_RUN.sub("-", filename).lower().startswith(prefix) for filename in page.filenames
    ):
        shown = clean_text(page.filenames[0], 100)
        return f"index sent a page whose files are all another project's (such as {shown!r})"
    return None


def _yanked_versions(
    page: ProjectPage,
    name: str,
    versions: tuple[str, ...] | None,
    key_of: Callable[[str], Version | str],
) -> tuple[dict[str, str], set[Version | str], tuple[str, ...]]:
    """(yanked version → reason, the keys of the fully yanked versions, the versions the file
    names carry when the index sent no list).

    A version is yanked when every file of it is (PEP 592). Splitting every file name is
    needed only when some file is yanked, or to list the versions when the index did not: a
    page that lists its versions and yanks nothing (most of them) costs nothing here.
    """
    if versions is not None and not page.yanked_files:
        return {}, set(), ()
    # Each distinct version spelling is parsed once (key_of caches): a wheel and an sdist
    # share one.
    files_of: dict[Version | str, int] = {}
    spelled: dict[Version | str, str] = {}
    for filename in page.filenames:
        version = version_from_filename(filename, name)
        if version is not None:
            key = key_of(version)
            files_of[key] = files_of.get(key, 0) + 1
            spelled.setdefault(key, version)
    yanked_of: dict[Version | str, int] = {}
    reasons: dict[Version | str, list[str]] = {}
    for dist in page.yanked_files:
        version = version_from_filename(dist.filename, name)
        if version is not None:
            key = key_of(version)
            yanked_of[key] = yanked_of.get(key, 0) + 1
            reasons.setdefault(key, []).extend([dist.reason] if dist.reason else [])
    fully_yanked = {key for key, count in yanked_of.items() if count == files_of.get(key)}
    if fully_yanked and versions is not None:
        # Named as the list spells them ("2.0" for foo-2.0.0.tar.gz): the list's spellings
        # are parsed only on a page with a fully yanked version.
        spelled.update((key_of(v), v) for v in versions)
    yanked: dict[str, str] = {}
    for key in files_of:  # page order, as the files came
        if key in fully_yanked:
            reason = reasons.get(key)
            yanked[listed_version(spelled[key])] = clean_text(reason[0]) if reason else ""
    from_files = tuple(spelled[key] for key in files_of) if versions is None else ()
    return yanked, fully_yanked, from_files


def to_record(
    page: ProjectPage, *, name: str, index_url: str, checked_at: datetime
) -> StatusRecord:
    """Reduce a parsed page to the record every front end reads (applies DESIGN's rules)."""
    api = parse_api_version(page.api_version)
    # Index text, kept for display: cleaned here, so no record carries raw index text.
    api_version = clean_text(page.api_version, MAX_API_VERSION_LENGTH) if page.api_version else None
    common: dict[str, Any] = {"name": name, "index_url": index_url, "checked_at": checked_at}
    if (whose := page_owner_problem(page, name)) is not None:
        # An index root, or another project's page (a wrong redirect, a proxy's mix-up): its
        # status is not this project's, and reading no status as "active" would be a lie.
        return StatusRecord(status=ProjectStatus.UNKNOWN, error=whose, **common)
    if api is not None and api[0] == KNOWN_API_VERSION[0] and api > KNOWN_API_VERSION:
        _warn_newer_minor(index_url, api_version)
    if api is not None and api[0] > KNOWN_API_VERSION[0]:
        return StatusRecord(
            status=ProjectStatus.UNKNOWN,
            api_version=api_version,
            error=f"index speaks Simple API {api_version}, which this version cannot read",
            **common,
        )
    if page.status_problem is not None:
        # Malformed or disagreeing markers: the index said something, but not one status.
        return StatusRecord(
            status=ProjectStatus.UNKNOWN, api_version=api_version, error=page.status_problem,
            **common,
        )  # fmt: skip
    written = page.status.strip() if page.status else ""
    if written and not (written.isascii() and written.isprintable()):
        # "active\x00" or "active\u200b" read as active once cleaned: a status is one of
        # PEP 792's words and nothing else, so this marker is malformed (a failed lookup).
        shown = clean_text(written, MAX_STATUS_LENGTH)
        return StatusRecord(
            status=ProjectStatus.UNKNOWN, api_version=api_version,
            error=f"index sent a malformed status marker ({shown!r} with characters no "
            "status holds)",
            **common,
        )  # fmt: skip
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
    versions = page.versions
    if versions is not None:
        versions = listed_versions(versions)
    # Files and the versions list are matched by PEP 440 equality: "2.0" in the list is the
    # version of foo-2.0.0.tar.gz, and a version whose every file is yanked is yanked whatever
    # spelling each file uses.
    keys: dict[str, Version | str] = {}

    def key_of(version: str) -> Version | str:
        # Parsed once per spelling: a wheel and an sdist share one, and so does the list.
        key = keys.get(version)
        if key is None:
            key = keys[version] = version_key(version)
        return key

    yanked, fully_yanked, from_files = _yanked_versions(page, name, versions, key_of)
    if versions is None and from_files:
        versions = listed_versions(from_files)
    if versions is None and status is ProjectStatus.QUARANTINED:
        versions = ()
    latest_upload = _latest_upload(page.upload_times)
    return StatusRecord(
        status=status,
        reason=reason or None,
        api_version=api_version,
        versions=versions,
        yanked=yanked,
        latest_version=_latest(versions or (), fully_yanked, key_of),
        latest_upload=latest_upload,
        **common,
    )
