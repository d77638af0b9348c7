"""The one table of finding kinds: code, plain meaning, LSP severity, SARIF rule, --fail-on."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from .. import PROJECT_URL
from ..status.maintenance import Maintenance
from ..status.model import ProjectStatus

__all__ = [
    "DEFAULT_FAIL_ON",
    "FAIL_ON_WORDS",
    "IGNORE_COMMENT",
    "DYNAMIC_DEPENDENCIES",
    "INVALID_COMPONENT",
    "INVALID_LOCK",
    "INVALID_REQUIREMENT",
    "INVALID_TOML",
    "KINDS",
    "KINDS_BY_CODE",
    "LSP_DEFAULT_SEVERITY",
    "MAINTENANCE_KINDS",
    "REPO_ARCHIVED",
    "REPO_GONE",
    "MISSING_INCLUDE",
    "NO_VERSION_ALLOWED",
    "SARIF_KINDS",
    "STALE",
    "STATUS_MEANING",
    "VERSION_MISSING",
    "YANKED",
    "FindingKind",
    "parse_fail_on",
    "kinds_table_markdown",
]

STATUS_SPEC = "https://packaging.python.org/en/latest/specifications/project-status-markers/"
WHAT_IT_WRITES = f"{PROJECT_URL}#what-it-writes"


class FindingKind(msgspec.Struct, frozen=True):
    """One thing a run can say about a dependency or a manifest line.

    ``lsp_severity`` is the language server's default (``error``, ``warning``, ``information``,
    ``hint``; ``None``: no diagnostic). ``sarif_level`` is the SARIF rule's default level
    (``None``: no SARIF rule; a result whose kind fails the run's ``--fail-on`` is raised to
    ``error``). ``reported_as`` names the kind whose diagnostic and SARIF rule a problem code
    shares (the manifest problems all show as ``invalid-requirement``).
    """

    code: str
    meaning: str
    lsp_severity: str | None
    sarif_level: str | None
    sarif_name: str
    sarif_short: str
    sarif_full: str
    help_uri: str
    fail_on: bool
    reported_as: str | None = None
    #: False for a kind the language server never meets (an SBOM is not an editor file): no
    #: editor severity setting for it.
    in_editor: bool = True

    @property
    def rule_id(self) -> str:
        return f"sbom-enrich/{self.code}"


def _status(
    status: ProjectStatus,
    meaning: str,
    lsp: str | None,
    sarif: str | None,
    name: str,
    help_uri: str,
) -> FindingKind:
    return FindingKind(
        code=status.value,
        meaning=meaning,
        lsp_severity=lsp,
        sarif_level=sarif,
        sarif_name=name,
        sarif_short=f"Dependency's project is {status.value}",
        sarif_full=f"The package index says the project is {status.value}: {meaning}.",
        help_uri=help_uri,
        fail_on=True,
    )


def _problem(code: str, meaning: str) -> FindingKind:
    # A manifest problem shows as invalid-requirement in the editor and in SARIF (one setting,
    # one rule); its own code is in the message, the JSON report and the text summary.
    return FindingKind(code, meaning, None, None, "", "", "", "", False, INVALID_REQUIREMENT)


YANKED = "yanked"
VERSION_MISSING = "version-missing"
INVALID_REQUIREMENT = "invalid-requirement"
INVALID_TOML = "invalid-toml"
INVALID_LOCK = "invalid-lock"
MISSING_INCLUDE = "missing-include"
DYNAMIC_DEPENDENCIES = "dynamic-dependencies"
INVALID_COMPONENT = "invalid-component"
IGNORE_COMMENT = "ignore-comment"
NO_VERSION_ALLOWED = "no-version-allowed"
REPO_ARCHIVED = "repo-archived"
REPO_GONE = "repo-gone"
STALE = "stale"
MAINTENANCE_DOCS = f"{PROJECT_URL}/blob/main/docs/maintenance.md"


def _maintenance(
    code: str, meaning: str, lsp: str, level: str, name: str, short: str
) -> FindingKind:
    # The second signal (--maintenance, the editor's "maintenance" setting): only present when
    # it is on, so its default editor severities are mild and never an error.
    full = f"{short} ({meaning}); a signal apart from the index's project status."
    return FindingKind(code, meaning, lsp, level, name, short, full, MAINTENANCE_DOCS, True)


# In SARIF rule order (rule indexes are stable); --fail-on lists statuses in ProjectStatus order.
KINDS: tuple[FindingKind, ...] = (
    _status(
        ProjectStatus.QUARANTINED,
        "the index considers it unsafe (for example malware) and serves no files",
        "error",
        "error",
        "QuarantinedProject",
        f"{STATUS_SPEC}#quarantined",
    ),
    _status(
        ProjectStatus.ARCHIVED,
        "its maintainers expect no further releases, including security fixes",
        "warning",
        "warning",
        "ArchivedProject",
        f"{STATUS_SPEC}#archived",
    ),
    _status(
        ProjectStatus.DEPRECATED,
        "its maintainers consider it obsolete, possibly superseded",
        "warning",
        "warning",
        "DeprecatedProject",
        f"{STATUS_SPEC}#deprecated",
    ),
    _status(
        ProjectStatus.NOT_FOUND,
        "the index has no such project; a deleted name can be re-registered by anyone",
        "warning",
        "warning",
        "ProjectNotFound",
        WHAT_IT_WRITES,
    ),
    _status(
        ProjectStatus.UNKNOWN,
        "its status could not be determined",
        None,
        "note",
        "ProjectStatusUnknown",
        WHAT_IT_WRITES,
    ),
    _status(ProjectStatus.ACTIVE, "the index marks it active", None, None, "", STATUS_SPEC),
    FindingKind(
        code=YANKED,
        meaning="every file of the pinned version is yanked (PEP 592)",
        lsp_severity="warning",
        sarif_level="warning",
        sarif_name="YankedVersion",
        sarif_short="Pinned version is yanked",
        sarif_full="Every file of the pinned version is yanked on the index (PEP 592).",
        help_uri="https://packaging.python.org/en/latest/specifications/file-yanking/",
        fail_on=True,
    ),
    FindingKind(
        code=VERSION_MISSING,
        meaning="the index does not list the pinned version: removed, or quarantined",
        lsp_severity="warning",
        sarif_level="warning",
        sarif_name="VersionNotListed",
        sarif_short="Pinned version is not listed by the index",
        sarif_full="The index does not list the pinned version: it was removed, or quarantined.",
        help_uri=WHAT_IT_WRITES,
        fail_on=False,
    ),
    FindingKind(
        code=INVALID_REQUIREMENT,
        meaning="a manifest line that could not be checked, so the run is incomplete",
        # One level everywhere (it was a SARIF warning and an LSP error): the line could not be
        # checked and makes the run incomplete (exit 3), and pip would refuse it too.
        lsp_severity="error",
        sarif_level="error",
        sarif_name="InvalidRequirement",
        sarif_short="Line could not be checked",
        sarif_full=(
            "The line is not a valid requirement (PEP 508), or names a file that is missing."
        ),
        help_uri="https://packaging.python.org/en/latest/specifications/dependency-specifiers/",
        fail_on=False,
    ),
    FindingKind(
        code=IGNORE_COMMENT,
        meaning=(
            "an ignore comment that silences less than it seems to (a bare one on a line of "
            "several dependencies, a name not on its line): a warning, the dependencies are "
            "checked"
        ),
        lsp_severity="warning",
        sarif_level=None,
        sarif_name="",
        sarif_short="",
        sarif_full="",
        help_uri="",
        fail_on=False,
    ),
    FindingKind(
        code=NO_VERSION_ALLOWED,
        meaning=(
            "a version specifier that allows no version (==2.*,==1.0.5; >2,<1): pip and uv "
            "cannot install it; a warning, the project's status is still checked"
        ),
        lsp_severity="warning",
        sarif_level=None,
        sarif_name="",
        sarif_short="",
        sarif_full="",
        help_uri="",
        fail_on=False,
    ),
    _maintenance(
        REPO_ARCHIVED,
        "its source repository is archived on its forge (--maintenance)",
        "information",
        "warning",
        "RepositoryArchived",
        "Dependency's source repository is archived",
    ),
    _maintenance(
        REPO_GONE,
        "its source repository is gone from its forge: deleted, made private, or never "
        "there; the name can be taken (--maintenance)",
        "information",
        "warning",
        "RepositoryGone",
        "Dependency's source repository is gone",
    ),
    _maintenance(
        STALE,
        "no release for years and no commit for months, both (--maintenance; thresholds "
        "configurable)",
        "hint",
        "note",
        "StaleProject",
        "Dependency looks unmaintained",
    ),
    _problem(INVALID_TOML, "pyproject.toml that TOML rejects; its readable part is checked"),
    _problem(INVALID_LOCK, "a lock file, or an entry of one, that could not be read"),
    _problem(MISSING_INCLUDE, "a -r/-c include naming a file that cannot be read"),
    _problem(
        DYNAMIC_DEPENDENCIES,
        "pyproject.toml dependencies its build backend decides when it builds (setup.py, a "
        "plugin), in a run that checks no other file that could pin them",
    ),
    # Its own SARIF rule (the manifest problems' rule speaks of PEP 508 and requirement lines).
    FindingKind(
        code=INVALID_COMPONENT,
        meaning=(
            "an SBOM component that cannot be enriched safely (properties of the wrong shape, a "
            "malformed pkg:pypi purl, a duplicate key): left as written, the rest is enriched"
        ),
        lsp_severity=None,
        sarif_level="error",
        sarif_name="InvalidComponent",
        sarif_short="SBOM component could not be enriched",
        sarif_full=(
            "The SBOM component cannot be enriched safely (properties of the wrong shape, a "
            "malformed pkg:pypi purl, a duplicate key): it is left exactly as written, and the "
            "run is incomplete."
        ),
        help_uri=f"{PROJECT_URL}/blob/main/docs/findings.md",
        fail_on=False,
        in_editor=False,
    ),
)

KINDS_BY_CODE: Mapping[str, FindingKind] = MappingProxyType({k.code: k for k in KINDS})

#: The finding kind of each maintenance verdict that can fail a run.
MAINTENANCE_KINDS: Mapping[Maintenance, str] = MappingProxyType(
    {
        Maintenance.REPOSITORY_ARCHIVED: REPO_ARCHIVED,
        Maintenance.REPOSITORY_GONE: REPO_GONE,
        Maintenance.STALE: STALE,
    }
)

#: What each status means, in plain words, for summaries and hover text.
STATUS_MEANING: Mapping[ProjectStatus, str] = MappingProxyType(
    {status: KINDS_BY_CODE[status.value].meaning for status in ProjectStatus}
)

#: The kinds with a SARIF rule, in rule-index order.
SARIF_KINDS: tuple[FindingKind, ...] = tuple(k for k in KINDS if k.sarif_level is not None)

#: The language server's default severity word per configurable kind (``None``: not shown).
LSP_DEFAULT_SEVERITY: Mapping[str, str | None] = MappingProxyType(
    {k.code: k.lsp_severity for k in KINDS if k.reported_as is None and k.in_editor}
)

#: What ``--fail-on`` accepts besides ``none``: the statuses, then the other fail-on kinds.
FAIL_ON_WORDS: tuple[str, ...] = tuple(s.value for s in ProjectStatus) + tuple(
    k.code for k in KINDS if k.fail_on and k.code not in {s.value for s in ProjectStatus}
)

#: What fails a run when neither a flag, a variable nor a policy file says otherwise.
DEFAULT_FAIL_ON: frozenset[str] = frozenset({ProjectStatus.QUARANTINED.value})


def parse_fail_on(text: str) -> frozenset[str]:
    """``"quarantined,archived"`` → the set; ``"none"`` → empty; raises ValueError when unknown."""
    words = {word.strip().lower() for word in text.split(",") if word.strip()}
    if words == {"none"}:
        return frozenset()
    if "none" in words:
        raise ValueError("--fail-on: none cannot be combined with statuses")
    unknown = sorted(words - set(FAIL_ON_WORDS))
    if unknown or not words:
        choices = ", ".join(FAIL_ON_WORDS)
        raise ValueError(
            f"--fail-on: unknown value {', '.join(unknown) or repr(text)} (choose from {choices}, "
            "or none)"
        )
    return frozenset(words)


def kinds_table_markdown() -> str:
    """The finding-kinds table of docs/findings.md (a test keeps the file equal to this)."""
    rows = [
        "| code | meaning | editor (default) | SARIF level | `--fail-on` word |",
        "|---|---|---|---|---|",
    ]
    for kind in KINDS:
        if kind.reported_as is not None:
            lsp = sarif = f"as `{kind.reported_as}`"
        else:
            lsp = (kind.lsp_severity or "not shown") if kind.in_editor else "not an editor file"
            sarif = kind.sarif_level or "no rule"
        fail_on = "yes" if kind.fail_on else "no"
        rows.append(f"| `{kind.code}` | {kind.meaning} | {lsp} | {sarif} | {fail_on} |")
    return "\n".join(rows) + "\n"
