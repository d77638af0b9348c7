"""PEP 508 requirement strings parsed by packaging, with the offsets of their name and pin."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

_EXTRAS_RE = re.compile(r"[ \t]*\[([^\]]*)\]")
_PIN_RE = re.compile(r"(===|==)[ \t]*")
_WHITESPACE_RE = re.compile(r"\s+")
#: What pip can install from: a URL with a scheme and "//" (http, https, VCS) or a file: URL.
_URL_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|file:)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedRequirementText:
    """What one requirement string says; offsets are indexes into that string."""

    name: str
    name_start: int
    specifier: str
    pinned_version: str | None
    version_start: int | None
    extras: tuple[str, ...]
    marker: str | None
    url: str | None

    @property
    def name_end(self) -> int:
        return self.name_start + len(self.name)

    @property
    def version_end(self) -> int | None:
        if self.version_start is None or self.pinned_version is None:
            return None
        return self.version_start + len(self.pinned_version)


def _allow_only(version: str, specs: list[Specifier]) -> bool:
    """Whether every one of ``specs`` allows ``version`` (the one an exact pin among them
    names), pre-releases included: then it is the only version they allow."""
    for spec in specs:
        if spec.operator in ("==", "===") and spec.version == version:
            continue
        try:
            if not spec.contains(version, prereleases=True):
                return False
        except ValueError:  # no PEP 440 version (InvalidVersion), or past 4,300 digits
            return False
    return True


def problem_message(text: str, error: InvalidRequirement) -> str:
    """One line for a diagnostic: packaging's first line, which names what is wrong."""
    detail = str(error).splitlines()[0] if str(error) else "not a PEP 508 requirement"
    return f"Invalid requirement {text.strip()!r}: {detail}"


@functools.lru_cache(maxsize=8192)
def parse_requirement_text(text: str) -> ParsedRequirementText:
    """Parse ``text`` as PEP 508; raises packaging's InvalidRequirement when it is not.

    Cached: the language server re-parses a whole file on every edit, and all lines but one
    are the same as last time.
    """
    req = PackagingRequirement(text)
    name_start = len(text) - len(text.lstrip(" \t"))
    if text[name_start : name_start + len(req.name)] != req.name:
        # packaging keeps the name as written, so this only guards against a future change.
        name_start = max(text.find(req.name), 0)
    position = name_start + len(req.name)

    extras: tuple[str, ...] = ()
    extras_match = _EXTRAS_RE.match(text, position)
    if extras_match:
        # Keep the written order (packaging holds extras in a set).
        extras = tuple(e.strip() for e in extras_match.group(1).split(",") if e.strip())
        position = extras_match.end()

    marker = str(req.marker) if req.marker is not None else None
    if req.url is not None and _URL_RE.match(req.url) is None:
        # packaging takes any text after "@"; pip then fails on it ("Invalid URL '0.0.1'").
        hint = f" (a version is written {req.name}=={req.url})" if req.url[:1].isdigit() else ""
        raise InvalidRequirement(f"{req.url!r} after '@' is not a URL pip can install{hint}")
    if req.url is not None:
        return ParsedRequirementText(req.name, name_start, "", None, None, extras, marker, req.url)

    semicolon = text.find(";", position)
    spec_end = len(text) if semicolon < 0 else semicolon
    spec_text = text[position:spec_end].strip()
    if spec_text.startswith("(") and spec_text.endswith(")"):
        spec_text = spec_text[1:-1]
    # As written, minus whitespace: packaging would reorder "<3,>=2" and drop parentheses.
    specifier = _WHITESPACE_RE.sub("", spec_text)

    pinned_version: str | None = None
    version_start: int | None = None
    specs = list(req.specifier)
    exact = {
        s.version
        for s in specs
        if s.operator == "===" or (s.operator == "==" and "*" not in s.version)
    }
    if len(exact) == 1 and _allow_only(next(iter(exact)), specs):
        # "==1.0" alone, or beside specifiers that allow 1.0 ("==1.0,<3"): 1.0 is the only
        # version it allows, so it gets the version facts (yanked, not listed); it got none.
        pinned_version = next(iter(exact))
        # The pin that names it: in "==1.*,==1.0.5" the first "==" is the wildcard's.
        version_start = next(
            (
                pin.end()
                for pin in _PIN_RE.finditer(text, position, spec_end)
                if text.startswith(pinned_version, pin.end())
                and not text[pin.end() + len(pinned_version) : spec_end][:1].strip(" \t,)")
            ),
            None,
        )
    return ParsedRequirementText(
        req.name, name_start, specifier, pinned_version, version_start, extras, marker, None
    )


#: Clauses beyond which a specifier set is not judged: the test is quadratic in them (a
#: 15 kB line of 1,500 ``!=`` clauses took 3.5 s, in the editor on every edit); real ones
#: hold a handful.
MAX_JUDGED_CLAUSES = 64


@functools.lru_cache(maxsize=4096)
def allows_no_version(specifier: str) -> bool:
    """Whether the PEP 440 specifier set ``specifier`` (``==2.*,==1.0.5``, ``>2,<1``) allows
    no version at all, pre-releases included; False for one it cannot read (Poetry's ``^1``),
    or does not judge (more than :data:`MAX_JUDGED_CLAUSES` clauses, a version number past
    Python's 4,300-digit limit): a warning is never worth an error for the whole file.

    Each clause allows an interval, less some points or ranges (``!=``); a non-empty
    intersection holds one of its bounds or a version just above one (the bound with a
    segment more than any bound has: ``1.0.0.1`` after ``>1``, two of them to step past a
    ``!=``), or ``0`` when nothing bounds it below. If none of those is allowed, nothing is.
    """
    try:
        specs = list(SpecifierSet(specifier))
        if not 2 <= len(specs) <= MAX_JUDGED_CLAUSES or any(s.operator == "===" for s in specs):
            return False  # one clause always allows something; === compares text
        bounds = [Version(spec.version.removesuffix(".*")) for spec in specs]
        width = max(len(bound.release) for bound in bounds) + 1
        candidates = {Version("0"), *bounds}
        for bound in bounds:
            epoch = f"{bound.epoch}!" if bound.epoch else ""
            padded = (*bound.release, *(0,) * (width - len(bound.release)))
            candidates.update(
                Version(f"{epoch}{'.'.join(map(str, (*padded, last)))}") for last in (1, 2)
            )
        return not any(
            all(spec.contains(candidate, prereleases=True) for spec in specs)
            for candidate in candidates
        )
    except ValueError:  # InvalidSpecifier, InvalidVersion, an int past 4,300 digits
        return False
