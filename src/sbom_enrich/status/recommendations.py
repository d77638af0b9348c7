"""Projects an archived or deprecated project's own description recommends, found conservatively."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .model import canonical, is_project_name

__all__ = ["MAX_RECOMMENDATIONS", "recommended_projects", "verified_recommendations"]

MAX_RECOMMENDATIONS = 5

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?"
#: A name as descriptions write it: bare, in backticks, bold/italic, quotes, or a Markdown
#: link's text ``[name](...)``.
_WRAPPED = rf"(?:\[\s*)?[`*_\"']{{0,3}}({_NAME})[`*_\"']{{0,3}}(?:\s*\]\([^)\s]*\))?"

_PATTERNS = (
    # Links to the index's project pages (pypi.org/project/X, the old pypi.python.org/pypi/X).
    re.compile(
        rf"https?://(?:pypi\.org/project|pypi\.python\.org/pypi)/({_NAME})(?=[/)\s>\]`'\"]|$)"
    ),
    # pip install X (options before the name skipped; the first name only). An option starts
    # with a letter after its dashes: "-{1,2}[A-Za-z-]+" read "--a" two ways, so a description
    # of 40 "--a " and no name took years to reject (backtracking doubled per option).
    re.compile(
        rf"\bpip3?\s+install\s+(?:--?[A-Za-z][A-Za-z-]*\s+)*[`'\"]?({_NAME})", re.IGNORECASE
    ),
    # "use X instead", "please use X instead"
    re.compile(rf"\buse\s+{_WRAPPED}\s+instead\b", re.IGNORECASE),
    # "replaced/superseded by X", "in favo(u)r of X", "migrate/switch/move to X", "renamed to X"
    re.compile(
        rf"\b(?:(?:replaced|superseded|succeeded)\s+by|in\s+fav(?:ou|o)r\s+of|"
        rf"(?:migrate|switch|move|port)\s+to|renamed\s+to|successor\s+is|continued\s+as|"
        rf"has\s+moved\s+to)\s+(?:the\s+)?{_WRAPPED}",
        re.IGNORECASE,
    ),
)

#: Words those phrases are often followed by that are no project a user should switch to.
_NOT_RECOMMENDATIONS = frozenset(
    {
        "a", "an", "the", "this", "that", "it", "its", "our", "your", "their", "another",
        "other", "new", "newer", "latest", "version", "versions", "python", "python3", "pip",
        "github", "gitlab", "pypi", "here", "there", "upstream", "fork", "project", "package",
        "library", "something", "instead", "them", "one", "alternatives", "e", "i", "https",
        "http", "www", "see", "and", "or", "using", "be", "is", "was",
    }
)  # fmt: skip


def recommended_projects(description: str, project: str) -> tuple[str, ...]:
    """Candidate names in the order they appear, at most :data:`MAX_RECOMMENDATIONS`.

    Only unambiguous phrasings count; a name is never the project itself. Candidates still
    have to be verified on the index (:func:`verified_recommendations`): the text is untrusted.
    """
    own = canonical(project) if is_project_name(project) else project
    hits: list[tuple[int, str]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(description):
            name = match.group(1).rstrip(".")
            if (
                is_project_name(name)
                and name.lower() not in _NOT_RECOMMENDATIONS
                and canonical(name) != own
            ):
                hits.append((match.start(), name))
    names: list[str] = []
    seen: set[str] = set()
    for _, name in sorted(hits):
        key = canonical(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
    return tuple(names[:MAX_RECOMMENDATIONS])


def verified_recommendations(
    candidates: Iterable[str], active_on_index: Iterable[str]
) -> tuple[str, ...]:
    """The candidates the index answered ``active`` for (exists and not itself adverse)."""
    active = {canonical(name) for name in active_on_index}
    return tuple(name for name in candidates if canonical(name) in active)
