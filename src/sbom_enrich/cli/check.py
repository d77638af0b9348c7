"""``sbom-enrich check [FILE...]``: check requirements files, pyproject.toml and lock files."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..findings.model import Report, exit_code
from ..findings.policy import apply_ignores
from ..status.model import StatusRecord, utc_now
from ..status.urls import normalize_index_url, redact_url
from .invocation import COMMAND_HELP, Invocation
from .options import (
    add_client_options,
    add_env_twins_to_help,
    add_maintenance_options,
    add_policy_options,
    load_catalog,
    resolve_options,
)
from .output import check_reports_writable, finish_report
from .runtime import (
    lookups_and_survey,
    lookups_in_workers,
    run_async,
    watch_answers,
    with_maintenance,
    with_survey,
)


def add_parser(commands: Any) -> None:
    check = commands.add_parser("check", help=COMMAND_HELP["check"])
    check.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="manifests to check (default: pyproject.toml, requirements*.txt, "
        "requirements/*.txt, *.in, constraints*.txt and lock files (uv.lock, pylock.toml, "
        "poetry.lock, pdm.lock, Pipfile.lock) in the current directory); "
        "-r/-c includes are followed once",
    )
    add_policy_options(check)
    add_client_options(check)
    check.add_argument(
        "--no-lock-indexes",
        action="store_true",
        default=None,
        help="ask no index a lock file names, only --index-url and --allow-index ones: a "
        "package locked elsewhere is not checked (the run is incomplete) and its name's "
        "quarantine on the configured index still fails it; for lock files from pull "
        "requests (policy key lock-indexes = false)",
    )
    add_env_twins_to_help(check)
    add_maintenance_options(check)


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """Check the named (or found) manifests: the summary and the reports."""
    from ..manifests.check import (
        CheckError,
        IndexPlan,
        findings_for,
        index_warnings,
        lock_allowed,
        manifest_paths,
        other_indexes,
        project_root,
        read_manifests,
    )

    options = resolve_options(args, invocation.env)
    cwd = Path.cwd()
    paths = manifest_paths(args.files, cwd)
    if not paths:
        # The folders named, if any: "no manifests in <cwd>" after `check some/dir` misleads.
        where = ", ".join(args.files) if args.files else str(cwd)
        raise UsageError(
            f"no manifests in {where} (pyproject.toml, requirements*.txt, requirements/*.txt, "
            "*.in, constraints*.txt, uv.lock, pylock.toml, poetry.lock, pdm.lock, "
            "Pipfile.lock): name the files to check"
        )
    check_reports_writable(options)
    catalog = load_catalog(options)
    try:
        manifests = read_manifests(paths, cwd, boundary=project_root(cwd))
    except CheckError as error:
        raise UsageError(str(error)) from None
    index = normalize_index_url(options.client.index_url)
    started = time.perf_counter()
    # Each locked package on the index its entry names (its credentials when it is the
    # configured or an --allow-index one), unless --no-lock-indexes; the name of one a lock
    # sends elsewhere is asked on the configured index too (IndexPlan).
    plan = IndexPlan.of(index, options.client.allowed_indexes, lock_indexes=options.lock_indexes)
    wanted = manifests.wanted(plan)
    # Names asked on the configured index only for its word on a lock-indexed package, or on
    # one from a URL, a VCS or find-links: no verdict is taken from there (it may be another
    # project's), so no forge or project API is asked about them either.
    own = manifests.wanted(plan, namesakes=False, remote=False).get(plan.configured, set())
    unsurveyed = {(plan.configured, name) for name in wanted.get(plan.configured, set()) - own}
    settings = (
        lock_allowed(options.client, manifests.lock_indexes(), plan.route)
        if options.lock_indexes
        else options.client
    )
    watcher = watch_answers(options)
    known: dict[tuple[str, str], StatusRecord] = {}

    def lookups(client: Any, survey: Any) -> Any:
        return lookups_and_survey(client, survey, wanted, watcher, known, unsurveyed)

    try:
        known.update(lookups_in_workers(options, settings, wanted, watcher))
        (records, answers), notes = (
            run_async(
                with_survey(settings, options.repository, options.stale_policy, lookups),
                options.lookup_loop,
            )
            if wanted
            else (({}, {}), ())
        )
    finally:
        watcher.close()
    checked = findings_for(manifests, records, catalog, plan)
    checked = replace(checked, findings=with_maintenance(checked.findings, answers))
    kept, ignored, warnings = apply_ignores(
        checked.findings, options.policy.ignores, utc_now().date()
    )
    report = Report(
        findings=kept,
        index_url=redact_url(index),
        skipped=len(checked.skipped_reasons),
        skipped_reasons=checked.skipped_reasons,
        elapsed=time.perf_counter() - started,
        kind="manifests",
        files=manifests.files,
        problems=manifests.problems,
        ignored=checked.ignored + ignored,
        other_indexes=other_indexes(wanted, plan),
        warnings=(
            *manifests.warnings,
            *index_warnings(manifests, index),
            *warnings,
            *notes,
        ),
    )
    status = exit_code(report, options.fail_on, options.allow_incomplete)
    return finish_report(report, options, status, invocation.stdout, env=invocation.env)
