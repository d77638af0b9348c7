"""``sbom-enrich status NAME[==VERSION]...``: what the index says about projects."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..errors import UsageError
from ..findings.model import ExitCode, Finding, Report, exit_code
from ..status.maintenance import Maintenance
from ..status.model import canonical
from ..status.untrusted import clean_text, visible_text
from ..status.urls import normalize_index_url, redact_url
from .invocation import COMMAND_HELP, Invocation
from .options import (
    add_client_options,
    add_maintenance_options,
    add_policy_options,
    load_catalog,
    resolve_options,
)
from .output import check_reports_writable, finish_report, print_verdict, write_stdout
from .runtime import (
    lookups_and_survey,
    lookups_in_workers,
    run_async,
    watch_answers,
    with_maintenance,
    with_survey,
)


def add_parser(commands: Any) -> None:
    status = commands.add_parser("status", help=COMMAND_HELP["status"])
    status.add_argument("names", nargs="+", metavar="NAME[==VERSION]")
    status.add_argument("--json", action="store_true", help="JSON output")
    add_policy_options(status)
    add_client_options(status)
    add_maintenance_options(status)


def split_requirement(text: str) -> tuple[str, str | None]:
    """``name==1.0`` → (name, "1.0"); a bare name → (name, None)."""
    if "==" in text:
        name, version = text.split("==", 1)
        return name.strip(), version.strip() or None
    return text.strip(), None


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """What the index says about the named projects, one line (or JSON object) each."""
    from packaging.utils import InvalidName, canonicalize_name

    options = resolve_options(args, invocation.env)
    stdout = invocation.stdout

    if "-" in options.reports:
        raise UsageError("--report -: stdout already carries the answers (use --report FILE)")
    check_reports_writable(options)
    catalog = load_catalog(options)
    asked: list[tuple[str, str | None]] = []
    for text in args.names:
        name, version = split_requirement(text)
        try:
            canonicalize_name(name, validate=True)
        except InvalidName:
            raise UsageError(f"not a valid project name: '{visible_text(text, 100)}'") from None
        asked.append((name, version))
    index = normalize_index_url(options.client.index_url)
    started = time.perf_counter()
    wanted = {index: {canonical(name) for name, _ in asked}}
    watcher = watch_answers(options)
    try:
        known = lookups_in_workers(options, options.client, wanted, watcher)
        (records, answers), notes = run_async(
            with_survey(
                options.client,
                options.repository,
                options.stale_policy,
                lambda client, survey: lookups_and_survey(client, survey, wanted, watcher, known),
            ),
            options.lookup_loop,
        )
    finally:
        watcher.close()
    findings = []
    for name, version in asked:
        record = records[(index, canonical(name))]
        findings.append(
            Finding(
                name=name,
                version=version,
                record=record,
                facts=record.version_facts(version) if version else None,
                alternatives=catalog.for_project(name),
            )
        )
    report = Report(
        findings=with_maintenance(tuple(findings), answers),
        index_url=redact_url(index),
        elapsed=time.perf_counter() - started,
        warnings=notes,
    )
    status = exit_code(report, options.fail_on, options.allow_incomplete)
    if args.json:
        from ..formats.json import clean_json, finding_json

        answers_json = clean_json([finding_json(f) for f in report.findings])
        text = json.dumps(answers_json, indent=2) + "\n"
    else:
        from ..formats.text import finding_line

        lines = []
        for finding in report.findings:
            line = finding_line(finding).strip()
            if finding.record.latest_version:
                line += f" · latest {clean_text(finding.record.latest_version, 60)}"
            if finding.maintenance_verdict is Maintenance.ACTIVE:
                line += " · maintenance: active"
            lines.append(line + "\n")
        text = "".join(lines)
    write_stdout(stdout, text.encode())
    for note in notes:  # the repository source's notes (no token, rate limited)
        print(f"warning: {clean_text(note, 300)}", file=sys.stderr)
    if options.summary_json is not None or options.reports:
        return finish_report(report, options, status, env=invocation.env)
    if status is not ExitCode.OK:
        # The answers went to stdout; a non-zero exit still says why, where people look.
        print_verdict(report, options, status, invocation.env)
    return status
