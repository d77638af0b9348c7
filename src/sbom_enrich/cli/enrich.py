"""``sbom-enrich enrich``: add status properties to a CycloneDX SBOM, and gate on them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from .._collector import keep_until_exit, long_lived_heap, parse_frozen
from ..errors import SbomError, UsageError
from ..findings.model import Finding, exit_code
from ..findings.policy import apply_ignores
from ..status.model import utc_now
from ..status.untrusted import clean_text
from .invocation import COMMAND_HELP, Invocation
from .options import (
    add_client_options,
    add_maintenance_options,
    add_policy_options,
    load_catalog,
    resolve_options,
)
from .output import (
    check_reports_writable,
    check_writable,
    finish_report,
    read_input,
    write_result,
)
from .runtime import (
    look_up,
    lookups_in_workers,
    run_async,
    watch_answers,
    with_survey,
)


def add_parser(commands: Any) -> None:
    enrich = commands.add_parser("enrich", help=COMMAND_HELP["enrich"])
    enrich.add_argument("input", help="CycloneDX JSON or XML file, or - for stdin")
    enrich.add_argument("-o", "--output", default="-", help="output file, or - for stdout")
    enrich.add_argument(
        "--validate",
        action="store_true",
        default=None,
        help="schema-validate input and output with cyclonedx-python-lib's schemas (off by "
        "default: it takes seconds, ~2.5 s for 2 MB of JSON; needs sbom-enrich[validation])",
    )
    enrich.add_argument(
        "--signatures",
        choices=("refuse", "strip", "keep"),
        default=None,
        help="what to do with a signed SBOM (JSF / XML Signature), which enriching breaks: "
        "refuse (default: exit 2, nothing written), strip them, or keep them (they no longer "
        "verify); re-sign afterwards",
    )
    enrich.add_argument(
        "--alternatives-for",
        metavar="STATUS,...",
        default=None,
        help="statuses whose components get sbom-enrich:alternative properties "
        "(default: archived,deprecated,quarantined,not-found; none for none)",
    )
    enrich.add_argument(
        "--quarantined-as-vulnerability",
        action="store_true",
        default=None,
        help="also list each quarantined project in vulnerabilities[] (CWE-506; spec 1.4+)",
    )
    add_policy_options(enrich)
    add_client_options(enrich)
    add_maintenance_options(enrich)


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """Enrich one SBOM: write it (stdout or ``-o``), the summary and the reports."""
    with long_lived_heap():
        return _enrich(args, invocation)


def _enrich(args: argparse.Namespace, invocation: Invocation) -> int:
    options = resolve_options(args, invocation.env)
    stdin, stdout = invocation.stdin, invocation.stdout
    from ..enrich import (
        apply_signature_policy,
        load_sbom,
        missing_validation_modules,
        validate_sbom,
    )
    from ..enrich.run import apply_records, enrich_sbom, index_policy, wanted_lookups

    if options.validate and (missing := missing_validation_modules()):
        raise UsageError(
            "--validate needs the validation extra: pip install 'sbom-enrich[validation]' "
            f"(missing: {', '.join(missing)})"
        )
    output = None if args.output == "-" else Path(args.output)
    if output is not None:
        check_writable(output)
    if output is None and "-" in options.reports:
        raise UsageError("--report -: stdout already carries the enriched SBOM (use -o FILE)")
    check_reports_writable(options)
    catalog = load_catalog(options)
    data = read_input(args.input, stdin)
    source = "<stdin>" if args.input == "-" else args.input
    try:
        sbom = parse_frozen(lambda: load_sbom(data, source=source))
    except SbomError as error:
        raise UsageError(_not_an_sbom_hint(args.input) or str(error)) from None
    if options.validate:
        problems = validate_sbom(data, sbom.format, sbom.spec_version)
        if problems:
            raise UsageError(
                f"{source}: not valid CycloneDX {sbom.spec_version} {sbom.format.upper()}: "
                f"{clean_text(problems[0], 300)}"
            )
    try:
        signature_warning = apply_signature_policy(sbom, options.signatures)
        # Planted sbom-enrich: properties that cannot be removed exactly: before any lookup
        # (apply_records removes the rest; it asks again, at no cost).
        sbom.remove_planted()
    except SbomError as error:
        raise UsageError(str(error)) from None  # signed and refused: before any lookup
    default_index, allowed = index_policy(options.client)
    watcher = watch_answers(options)
    try:
        started = time.perf_counter()
        wanted = wanted_lookups(sbom.pypi_components(), default_index, allowed)
        known = lookups_in_workers(options, options.client, wanted, watcher)
        in_workers = time.perf_counter() - started  # the summary's time includes it
        if options.repository is None:
            # The lookups, then the edits with the collector paused and what they made
            # frozen (they make only values that live as long as the run: its young
            # collections walked them all, six in a warm 10,000-component run, ~20 ms).
            looking_up = time.perf_counter()
            records = look_up(options, wanted, watcher, known)
            keep_until_exit(records)
            report = parse_frozen(
                lambda: apply_records(
                    sbom,
                    records,
                    catalog,
                    default_index=default_index,
                    alternatives_for=options.alternatives_for,
                    quarantined_as_vulnerability=options.quarantined_as_vulnerability,
                    started=looking_up,
                )
            )
            notes: tuple[str, ...] = ()
        else:
            report, notes = run_async(
                with_survey(
                    options.client,
                    options.repository,
                    options.stale_policy,
                    lambda client, survey: enrich_sbom(
                        sbom,
                        client,
                        catalog,
                        default_index=default_index,
                        allowed=allowed,
                        on_answer=watcher,
                        alternatives_for=options.alternatives_for,
                        quarantined_as_vulnerability=options.quarantined_as_vulnerability,
                        survey=survey,
                        known=known,
                        wanted=wanted,
                    ),
                ),
                options.lookup_loop,
            )
        result = sbom.to_chunks()
    except SbomError as error:
        raise UsageError(str(error)) from None
    finally:
        watcher.close()
    if options.validate:
        problems = validate_sbom(b"".join(result), sbom.format, sbom.spec_version)
        if problems:
            raise UsageError(
                "the enriched SBOM fails schema validation (a bug in sbom-enrich; nothing "
                f"written): {clean_text(problems[0], 300)}"
            )
    kept, ignored, warnings = apply_ignores(
        report.findings, options.policy.ignores, utc_now().date()
    )
    report = replace(
        report,
        elapsed=report.elapsed + in_workers,
        findings=_located(kept, data, args.input)
        if options.reports and args.input != "-"
        else kept,
        ignored=ignored,
        warnings=(*report.warnings, *warnings, *notes)
        + ((signature_warning,) if signature_warning else ()),
        source=None if args.input == "-" else args.input,
    )
    status = exit_code(report, options.fail_on, options.allow_incomplete)
    failed = write_result(output, result, stdout)
    code = finish_report(report, options, status, stdout, env=invocation.env, failed_output=failed)
    # What the run made lives until the process ends: not freed object by object first.
    keep_until_exit(sbom, report, data, result)
    return code


def _located(findings: tuple[Finding, ...], data: bytes, path: str) -> tuple[Finding, ...]:
    """The findings with the input's lines and columns, for a report file: the locator (and
    the JSON reader it uses, in an XML run) imported only by a run that writes one."""
    from ..enrich.locate import locate_findings

    return locate_findings(findings, data, path)


def _not_an_sbom_hint(path: str) -> str | None:
    """For a manifest or lock file given to ``enrich``: say which command reads it."""
    from ..manifests.kinds import kind_of

    kind = None if path == "-" else kind_of(path)
    if kind is None:
        return None
    shown = clean_text(path, 200)
    return (
        f"{shown} is a {kind.name} file, not a CycloneDX SBOM: "
        f"use 'sbom-enrich check {shown}' to check it"
    )
