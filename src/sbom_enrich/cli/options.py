"""The shared flags and their resolution, table-driven: flag → env twin → policy file → default."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from ..errors import AlternativesError, PolicyError, SettingsError, UsageError
from ..findings.alternatives import AlternativesCatalog, default_user_file
from ..findings.kinds import DEFAULT_FAIL_ON, FAIL_ON_WORDS, parse_fail_on
from ..findings.policy import Policy, find_policy_file, load_policy
from ..formats import REPORT_FORMATS
from ..status.maintenance import StalePolicy
from ..status.repository.api_urls import (
    DEFAULT_GITEA_API_URL,
    DEFAULT_GITHUB_API_URL,
    DEFAULT_GITLAB_API_URL,
    parse_api_url,
)
from ..status.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_PAGE_MB,
    ClientSettings,
    client_settings_from_env,
    parse_bool,
    parse_concurrency,
    parse_index_url,
    parse_max_page_bytes,
    parse_timeout,
    parse_user_path,
)
from ..status.untrusted import clean_text
from .event_loop import EVENT_LOOP_ENV, fit_descriptor_limit, parse_event_loop

if TYPE_CHECKING:
    from ..status.repository.settings import RepositorySettings

__all__ = [
    "CLIENT_FLAGS",
    "ENV_TWINS",
    "RUN_OPTIONS",
    "ClientFlag",
    "RunOption",
    "RunOptions",
    "add_client_options",
    "add_maintenance_options",
    "add_env_twins_to_help",
    "add_policy_options",
    "add_verbosity_options",
    "load_catalog",
    "resolve_options",
    "resolve_policy",
]


# The --workers flag's numbers and parser live here, not beside the fork (lookup_workers.py):
# that module is imported only by a run that may fork (not an offline one; ~1.5 ms).

#: Names that must go to the network before any worker starts: below it a process's start,
#: its own TLS handshakes and CA bundle cost more than the CPU it saves.
WORKERS_THRESHOLD = 200
#: ``--workers auto`` uses the CPUs this process may run on, at most this many (each worker
#: opens its own connections: more would be less polite for little gain).
MAX_AUTO_WORKERS = 4
MAX_WORKERS = 64


def parse_workers(name: str, text: Any) -> int | None:
    """``auto`` (None: ``lookup_workers.auto_workers`` decides) or a number of processes, 1-64."""
    value = str(text).strip().lower()
    if value == "auto":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(
            f"{name}: expected auto or a number of processes, got {clean_text(value, 40)!r}"
        ) from None
    if not 1 <= number <= MAX_WORKERS:
        raise ValueError(f"{name}: must be auto or 1 to {MAX_WORKERS}")
    return number


def _given(value: object) -> bool:
    return value is not None


class ClientFlag(msgspec.Struct, frozen=True, eq=False):
    """A flag over one ``ClientSettings`` field, whose env twin ``status.settings`` reads.

    ``policy``: the policy file's key for it (a ``Policy`` field, ``-`` spelled ``_``), used
    when neither the flag nor ``env`` is set.
    ``given``: whether the flag's value counts as set (``--index-url ""`` does not).
    """

    dest: str
    flag: str
    env: str
    field: str
    parse: Callable[[str, Any], Any]
    policy: str | None = None
    given: Callable[[Any], bool] = _given


#: The index and cache flags, in the order their values are checked.
CLIENT_FLAGS: tuple[ClientFlag, ...] = (
    ClientFlag(
        "index_url", "--index-url", "SBOM_ENRICH_INDEX_URL", "index_url", parse_index_url,
        policy="index-url", given=bool,
    ),
    ClientFlag(
        "allow_index", "--allow-index", "SBOM_ENRICH_ALLOWED_INDEXES", "allowed_indexes",
        lambda name, urls: tuple(parse_index_url(name, url) for url in urls),
    ),
    ClientFlag("offline", "--offline", "SBOM_ENRICH_OFFLINE", "offline", lambda _, __: True),
    ClientFlag("no_cache", "--no-cache", "SBOM_ENRICH_NO_CACHE", "use_cache", lambda _, __: False),
    ClientFlag(
        "cache_dir", "--cache-dir", "SBOM_ENRICH_CACHE_DIR", "cache_dir", parse_user_path
    ),
    ClientFlag(
        "concurrency", "--concurrency", "SBOM_ENRICH_CONCURRENCY", "concurrency",
        parse_concurrency,
    ),
    ClientFlag("timeout", "--timeout", "SBOM_ENRICH_TIMEOUT", "timeout", parse_timeout),
    ClientFlag(
        "max_page_mb", "--max-page-mb", "SBOM_ENRICH_MAX_PAGE_MB", "max_page_bytes",
        parse_max_page_bytes,
    ),
)  # fmt: skip


def _paths(_: str, text: str) -> list[Path]:
    return [Path(part) for part in text.split(os.pathsep) if part]


def _report_paths(_: str, text: str) -> list[str]:
    return [part for part in text.split(os.pathsep) if part]


def _report_format(name: str, text: str) -> str:
    if text not in REPORT_FORMATS:
        raise ValueError(
            f"{name}: unknown format {clean_text(text, 40)!r} "
            f"(choose from {', '.join(REPORT_FORMATS)})"
        )
    return text


def _signature_policy(name: str, text: str) -> str:
    if text not in ("refuse", "strip", "keep"):
        raise ValueError(
            f"{name}: unknown value {clean_text(text, 40)!r} (choose from refuse, strip, keep)"
        )
    return text


def _alternatives_for(name: str, text: str) -> frozenset[str]:
    from ..enrich.run import parse_alternatives_for  # only when given: the import costs

    return parse_alternatives_for(text, name)


class RunOption(msgspec.Struct, frozen=True, eq=False):
    """A run option: its flag wins, then its env twin, then the policy file's value (``None``:
    not set there), then ``default``. ``parse`` reads the twin's text (with the variable's
    name); ``parse_flag`` the flag's value as argparse left it. A flag or variable counts when
    it is non-empty."""

    dest: str
    flag: str
    env: str
    parse: Callable[[str, str], Any]
    default: Callable[[], Any]
    policy: Callable[[Policy], Any] | None = None
    parse_flag: Callable[[str, Any], Any] = lambda _, value: value


#: The policy and output options, in the order their values are checked.
RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption(
        "fail_on", "--fail-on", "SBOM_ENRICH_FAIL_ON", lambda _, text: parse_fail_on(text),
        lambda: DEFAULT_FAIL_ON, policy=lambda policy: policy.fail_on,
        parse_flag=lambda _, text: parse_fail_on(text),
    ),
    RunOption(
        "report_format", "--report-format", "SBOM_ENRICH_REPORT_FORMAT", _report_format,
        lambda: None,
    ),
    RunOption(
        "allow_incomplete", "--allow-incomplete", "SBOM_ENRICH_ALLOW_INCOMPLETE", parse_bool,
        lambda: False,
    ),
    RunOption("validate", "--validate", "SBOM_ENRICH_VALIDATE", parse_bool, lambda: False),
    RunOption(
        "summary_json", "--summary-json", "SBOM_ENRICH_SUMMARY_JSON",
        lambda _, text: Path(text), lambda: None,
    ),
    RunOption("alternatives", "--alternatives", "SBOM_ENRICH_ALTERNATIVES", _paths, list),
    RunOption("report", "--report", "SBOM_ENRICH_REPORT", _report_paths, list),
    RunOption("quiet", "--quiet", "SBOM_ENRICH_QUIET", parse_bool, lambda: False),
    RunOption(
        "signatures", "--signatures", "SBOM_ENRICH_SIGNATURES", _signature_policy,
        lambda: "refuse",
    ),
    RunOption(
        "alternatives_for", "--alternatives-for", "SBOM_ENRICH_ALTERNATIVES_FOR",
        _alternatives_for, lambda: None, parse_flag=_alternatives_for,
    ),
    RunOption(
        "quarantined_as_vulnerability", "--quarantined-as-vulnerability",
        "SBOM_ENRICH_QUARANTINED_AS_VULNERABILITY", parse_bool, lambda: False,
    ),
    # check: ask no index a lock file names (the language server's lockIndexes = false).
    RunOption(
        "no_lock_indexes", "--no-lock-indexes", "SBOM_ENRICH_NO_LOCK_INDEXES", parse_bool,
        lambda: False,
        policy=lambda policy: None if policy.lock_indexes is None else not policy.lock_indexes,
    ),
    # dest lookup_workers: serve's own --workers (uvicorn processes) is args.workers.
    RunOption(
        "lookup_workers", "--workers", "SBOM_ENRICH_LOOKUP_WORKERS", parse_workers, lambda: None,
        parse_flag=parse_workers,
    ),
)  # fmt: skip


def _positive(name: str, text: str) -> float:
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {clean_text(str(text), 40)!r}") from None
    if not 0 < number <= 100:
        raise ValueError(f"{name}: must be more than 0 and at most 100")
    return number


#: The second signal (--maintenance): off by default, it asks third parties about every
#: dependency. Resolved like RUN_OPTIONS; a separate table so --help groups them.
MAINTENANCE_OPTIONS: tuple[RunOption, ...] = (
    RunOption(
        "maintenance", "--maintenance", "SBOM_ENRICH_MAINTENANCE", parse_bool, lambda: False,
        policy=lambda policy: policy.maintenance,
    ),
    RunOption(
        "github_api_url", "--github-api-url", "SBOM_ENRICH_GITHUB_API_URL", parse_api_url,
        lambda: DEFAULT_GITHUB_API_URL, parse_flag=parse_api_url,
    ),
    RunOption(
        "gitlab_api_url", "--gitlab-api-url", "SBOM_ENRICH_GITLAB_API_URL", parse_api_url,
        lambda: DEFAULT_GITLAB_API_URL, parse_flag=parse_api_url,
    ),
    RunOption(
        "gitea_api_url", "--gitea-api-url", "SBOM_ENRICH_GITEA_API_URL", parse_api_url,
        lambda: DEFAULT_GITEA_API_URL, parse_flag=parse_api_url,
    ),
    RunOption(
        "project_api_url", "--project-api-url", "SBOM_ENRICH_PROJECT_API_URL", parse_api_url,
        lambda: None, parse_flag=parse_api_url,
    ),
    RunOption(
        "no_recommendations", "--no-recommendations", "SBOM_ENRICH_NO_RECOMMENDATIONS",
        parse_bool, lambda: False,
    ),
    RunOption(
        "stale_release_years", "--stale-release-years", "SBOM_ENRICH_STALE_RELEASE_YEARS",
        _positive, lambda: StalePolicy().release_years, parse_flag=_positive,
    ),
    RunOption(
        "stale_commit_months", "--stale-commit-months", "SBOM_ENRICH_STALE_COMMIT_MONTHS",
        _positive, lambda: StalePolicy().commit_months, parse_flag=_positive,
    ),
)  # fmt: skip

_CONFIG_FLAG, _CONFIG_ENV = "--config", "SBOM_ENRICH_CONFIG"

#: Every pipeline flag and its environment twin (the README's table is checked against this:
#: tests/cli/test_cli_options.py).
ENV_TWINS: Mapping[str, str] = {
    **{option.flag: option.env for option in CLIENT_FLAGS},
    **{option.flag: option.env for option in RUN_OPTIONS},
    **{option.flag: option.env for option in MAINTENANCE_OPTIONS},
    _CONFIG_FLAG: _CONFIG_ENV,
}


class RunOptions(msgspec.Struct, frozen=True, eq=False):
    """Flags merged over their environment twins and the policy file."""

    client: ClientSettings
    fail_on: frozenset[str]
    allow_incomplete: bool
    validate: bool
    summary_json: Path | None
    alternatives_files: tuple[Path, ...]
    reports: tuple[str, ...] = ()
    report_format: str | None = None
    policy: Policy = Policy()
    #: The repository source's settings when --maintenance is on, else None.
    repository: RepositorySettings | None = None
    stale_policy: StalePolicy = StalePolicy()
    #: ``-q``: no progress line, and of the summary only the verdict.
    quiet: bool = False
    #: enrich: what to do with a signed SBOM (refuse, strip, keep).
    signatures: str = "refuse"
    #: enrich: statuses that get alternatives (None: the enricher's default set).
    alternatives_for: frozenset[str] | None = None
    #: enrich: list quarantined projects in vulnerabilities[] too.
    quarantined_as_vulnerability: bool = False
    #: Lookup processes for a large cold run (None: auto, the default).
    workers: int | None = None
    #: check: ask each locked package on the index its lock entry names (off: only the
    #: configured and allowed indexes; packages locked elsewhere are not checked).
    lock_indexes: bool = True
    #: The event loop (SBOM_ENRICH_EVENT_LOOP, no flag: event_loop.py).
    event_loop: str = "auto"

    @property
    def lookup_loop(self) -> str:
        """The event loop of ``enrich``, ``check`` and ``status`` lookups: ``event_loop``
        unless the descriptor limit is too low for the connections (``serve`` keeps
        ``event_loop``: uvloop's server outlasts a flood of connections there, asyncio's not).
        """
        return fit_descriptor_limit(self.event_loop, self.client.concurrency)


def resolve_policy(args: argparse.Namespace, env: Mapping[str, str], cwd: Path) -> Policy:
    """``--config``, else ``SBOM_ENRICH_CONFIG``, else the policy file found in ``cwd``."""
    named = getattr(args, "config", None) or (
        Path(env[_CONFIG_ENV]) if env.get(_CONFIG_ENV) else None
    )
    path = named or find_policy_file(cwd)
    if path is None:
        return Policy()
    try:
        return load_policy(path)
    except PolicyError as error:
        raise UsageError(f"policy file {error}") from None


def _client_settings(
    args: argparse.Namespace, env: Mapping[str, str], policy: Policy
) -> ClientSettings:
    client = client_settings_from_env(env)  # the env twins (and the defaults)
    changes: dict[str, Any] = {}
    for option in CLIENT_FLAGS:
        value = getattr(args, option.dest, None)
        if option.given(value):
            changes[option.field] = option.parse(option.flag, value)
        elif option.policy and not env.get(option.env):
            from_policy = getattr(policy, option.policy.replace("-", "_"))
            if from_policy:
                name = f"{policy.origin}: {option.policy}"
                changes[option.field] = option.parse(name, from_policy)
    return replace(client, **changes)


def _run_value(
    option: RunOption, args: argparse.Namespace, env: Mapping[str, str], policy: Policy
) -> Any:
    flag = getattr(args, option.dest, None)
    if flag:
        return option.parse_flag(option.flag, flag)
    if env.get(option.env):
        return option.parse(option.env, env[option.env])
    if option.policy is not None and (from_policy := option.policy(policy)) is not None:
        return from_policy
    return option.default()


def resolve_options(
    args: argparse.Namespace, env: Mapping[str, str], cwd: Path | None = None
) -> RunOptions:
    """Flags win over ``SBOM_ENRICH_*``, which win over the policy file; raises UsageError."""
    policy = resolve_policy(args, env, cwd or Path.cwd())
    try:
        client = _client_settings(args, env, policy)
        values = {option.dest: _run_value(option, args, env, policy) for option in RUN_OPTIONS}
        more = {o.dest: _run_value(o, args, env, policy) for o in MAINTENANCE_OPTIONS}
        repository = _repository_settings(more, client, env)
        event_loop = parse_event_loop(EVENT_LOOP_ENV, env.get(EVENT_LOOP_ENV, ""))
    except (SettingsError, ValueError) as error:
        raise UsageError(str(error)) from None
    files = list(values["alternatives"])
    user_default = default_user_file()
    if user_default.is_file() and user_default not in files:
        files.insert(0, user_default)  # the user's own catalog, under the named files
    return RunOptions(
        client,
        values["fail_on"],
        bool(values["allow_incomplete"]),
        bool(values["validate"]),
        values["summary_json"],
        tuple(files),
        reports=tuple(values["report"]),
        report_format=values["report_format"] or None,
        policy=policy,
        quiet=bool(values["quiet"]),
        signatures=values["signatures"],
        alternatives_for=values["alternatives_for"],
        quarantined_as_vulnerability=bool(values["quarantined_as_vulnerability"]),
        workers=values["lookup_workers"],
        lock_indexes=not values["no_lock_indexes"],
        event_loop=event_loop,
        repository=repository,
        stale_policy=StalePolicy(more["stale_release_years"], more["stale_commit_months"]),
    )


def _repository_settings(
    values: Mapping[str, Any], client: ClientSettings, env: Mapping[str, str]
) -> RepositorySettings | None:
    if not values["maintenance"]:
        return None
    overrides = {
        "github_api_url": values["github_api_url"],
        "gitlab_api_url": values["gitlab_api_url"],
        "gitea_api_url": values["gitea_api_url"],
        "project_api_url": values["project_api_url"],
        "timeout": client.timeout,
        "offline": client.offline,
    }
    if values["no_recommendations"]:
        overrides["recommendations"] = False
    # Only with --maintenance: the forge tables are not needed before a plain run's lookups.
    from ..status.repository.settings import repository_settings_from_env

    return repository_settings_from_env(client.index_url, env, **overrides)


def add_maintenance_options(sub: argparse.ArgumentParser) -> None:
    """The second signal's flags; --help says what is sent where."""
    group = sub.add_argument_group(
        "maintenance (off by default)",
        "--maintenance asks third parties about every dependency: the index's JSON project "
        "API (/pypi/<name>/json on PyPI) for project URLs and, for archived or deprecated "
        "projects, the last description; and the forge of each repository (GitHub, GitLab, "
        "Gitea/Forgejo/Codeberg) for archived state and last commit. Only project names and "
        "repository owner/name paths are sent, with GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN "
        "when set (never printed).",
    )
    group.add_argument(
        "--maintenance",
        action="store_true",
        default=None,
        help="judge each dependency's repository and release age: active, stale, "
        "repository-archived, repository-gone, unknown",
    )
    for flag, default in (
        ("--github-api-url", DEFAULT_GITHUB_API_URL),
        ("--gitlab-api-url", DEFAULT_GITLAB_API_URL),
        ("--gitea-api-url", DEFAULT_GITEA_API_URL),
    ):
        group.add_argument(flag, metavar="URL", help=f"API base URL (default {default})")
    group.add_argument(
        "--project-api-url",
        metavar="URL",
        help="the index's JSON project API (default: https://pypi.org/pypi for PyPI; "
        "none for other indexes)",
    )
    group.add_argument(
        "--no-recommendations",
        action="store_true",
        default=None,
        help="do not read archived/deprecated projects' descriptions for their "
        "maintainers' recommended replacements",
    )
    group.add_argument(
        "--stale-release-years",
        metavar="N",
        help="stale: no release for N years (default 2) ...",
    )
    group.add_argument(
        "--stale-commit-months",
        metavar="M",
        help="... and no commit for M months (default 12)",
    )


def load_catalog(options: RunOptions) -> AlternativesCatalog:
    """The shipped catalog, the user's files, then the policy file's entries on top."""
    try:
        catalog = AlternativesCatalog.load(options.alternatives_files)
    except AlternativesError as error:
        raise UsageError(str(error)) from None
    return options.policy.catalog_with(catalog)


def add_verbosity_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-v``/``-vv`` and ``-q``, before or after the command (``top``: the defaults' owner)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="more log output on stderr (-v: what was asked; -vv: every answer and setting)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=None if top else argparse.SUPPRESS,
        help="no progress line; of the summary only the verdict",
    )


def add_env_twins_to_help(parser: argparse.ArgumentParser) -> None:
    """Name each flag's SBOM_ENRICH_* twin in its --help line, from :data:`ENV_TWINS`."""
    for action in parser._actions:
        twin = next((ENV_TWINS[f] for f in action.option_strings if f in ENV_TWINS), None)
        if twin and action.help and "[env: " not in action.help:
            action.help += f" [env: {twin}]"


def add_client_options(sub: argparse.ArgumentParser) -> None:
    """The index and cache flags every command that looks projects up takes."""
    add_verbosity_options(sub)
    group = sub.add_argument_group("index and cache")
    group.add_argument("--index-url", help="Simple API root (default: PyPI)")
    group.add_argument(
        "--allow-index",
        action="append",
        default=None,
        metavar="URL",
        help="another index a purl repository_url, or a lock file, may name (repeatable)",
    )
    group.add_argument("--offline", action="store_true", default=None, help="cache only")
    group.add_argument("--no-cache", action="store_true", default=None, help="no disk cache")
    group.add_argument("--cache-dir", type=Path, help="cache directory")
    group.add_argument(
        "--concurrency",
        help=f"requests in flight at once (default {DEFAULT_CONCURRENCY}; lower it for a "
        "small private index)",
    )
    group.add_argument("--timeout", help="seconds per lookup, retries included (default 30)")
    group.add_argument(
        "--max-page-mb",
        help=f"largest project page accepted, after decompression (default "
        f"{DEFAULT_MAX_PAGE_MB} MiB); a larger one is unknown for that project",
    )
    group.add_argument(
        "--alternatives",
        action="append",
        default=None,
        type=Path,
        metavar="FILE",
        help="extra alternatives TOML file (repeatable)",
    )
    add_env_twins_to_help(sub)


def add_policy_options(sub: argparse.ArgumentParser) -> None:
    """The policy and report flags of the commands that give a verdict (and --workers: they
    are the ones that look up many names at once)."""
    group = sub.add_argument_group("policy")
    group.add_argument(
        "--fail-on",
        help=f"comma list of what fails the run with exit 1: {', '.join(FAIL_ON_WORDS)}; "
        "'none' to never fail (default: quarantined)",
    )
    group.add_argument(
        "--allow-incomplete",
        action="store_true",
        default=None,
        help="exit 0 instead of 3 when some lookups failed",
    )
    group.add_argument("--summary-json", type=Path, help="write a JSON summary to FILE")
    group.add_argument(
        "--report",
        action="append",
        default=None,
        metavar="FILE",
        help="write a report to FILE (repeatable; - for stdout); its format comes from "
        "the name (.sarif, .md, .json, .txt), else from --report-format, else text",
    )
    group.add_argument(
        "--report-format",
        choices=REPORT_FORMATS,
        default=None,
        help="format of --report - and of report files whose name names none",
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="policy file (default: .sbom-enrich.toml, else [tool.sbom-enrich] in "
        "pyproject.toml, in the current directory)",
    )
    sub.add_argument_group("speed").add_argument(
        "--workers",
        dest="lookup_workers",
        metavar="N",
        help=f"processes for the lookups of a large cold run (at least {WORKERS_THRESHOLD} "
        f"names not fresh in the cache): auto (one per usable CPU, at most "
        f"{MAX_AUTO_WORKERS}; one when the machine is busy; the default) or 1-64 (1: all in "
        "this process)",
    )
    add_env_twins_to_help(sub)
