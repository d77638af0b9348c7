"""The ``sbom-enrich`` command line: the composition root that builds the concrete objects."""

from __future__ import annotations

import argparse
import asyncio
import errno
import io
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar, cast

from .. import PROJECT_URL, __version__
from ..alternatives import AlternativesCatalog, AlternativesError, default_user_file
from ..policy import Policy, PolicyError, apply_ignores, find_policy_file, load_policy
from ..report import (
    DEFAULT_FAIL_ON,
    ExitCode,
    Finding,
    Report,
    exit_code,
    parse_fail_on,
    render_text,
)
from ..report_formats import REPORT_FORMATS, format_for_path, render_report
from ..status.cache.disk import StatusCache
from ..status.client import lookup_records
from ..status.compose import open_status_client
from ..status.model import canonical, utc_now
from ..status.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_PAGE_MB,
    ClientSettings,
    SettingsError,
    client_settings_from_env,
    parse_bool,
    parse_concurrency,
    parse_index_url,
    parse_max_page_bytes,
    parse_timeout,
)
from ..status.untrusted import clean_text
from ..status.urls import normalize_index_url, redact_url

logger = logging.getLogger("sbom_enrich")

#: Every pipeline flag and its environment twin (the README table is generated from this).
ENV_TWINS: Mapping[str, str] = {
    "--index-url": "SBOM_ENRICH_INDEX_URL",
    "--allow-index": "SBOM_ENRICH_ALLOWED_INDEXES",
    "--fail-on": "SBOM_ENRICH_FAIL_ON",
    "--allow-incomplete": "SBOM_ENRICH_ALLOW_INCOMPLETE",
    "--offline": "SBOM_ENRICH_OFFLINE",
    "--no-cache": "SBOM_ENRICH_NO_CACHE",
    "--cache-dir": "SBOM_ENRICH_CACHE_DIR",
    "--concurrency": "SBOM_ENRICH_CONCURRENCY",
    "--timeout": "SBOM_ENRICH_TIMEOUT",
    "--max-page-mb": "SBOM_ENRICH_MAX_PAGE_MB",
    "--validate": "SBOM_ENRICH_VALIDATE",
    "--summary-json": "SBOM_ENRICH_SUMMARY_JSON",
    "--alternatives": "SBOM_ENRICH_ALTERNATIVES",
    "--report": "SBOM_ENRICH_REPORT",
    "--report-format": "SBOM_ENRICH_REPORT_FORMAT",
    "--config": "SBOM_ENRICH_CONFIG",
}


class UsageError(Exception):
    """Bad flags, environment or input: one line on stderr, exit 2, nothing written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sbom-enrich",
        description=(
            "Write PEP 792 project status (archived, deprecated, quarantined, ...) from a "
            "Python package index into CycloneDX SBOMs, and gate pipelines on it."
        ),
        epilog=(
            "exit codes: 0 done and policy passed; 1 policy violated; 2 usage or input error "
            "(nothing written); 3 incomplete (some lookups failed; output still written). "
            f"Docs: {PROJECT_URL}"
        ),
    )
    parser.add_argument("--version", action="version", version=f"sbom-enrich {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output on stderr"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def client_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output"
        )
        group = sub.add_argument_group("index and cache")
        group.add_argument("--index-url", help="Simple API root (default: PyPI)")
        group.add_argument(
            "--allow-index",
            action="append",
            default=None,
            metavar="URL",
            help="another index a purl repository_url may name (repeatable)",
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

    def policy_options(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group("policy")
        group.add_argument(
            "--fail-on",
            help="comma list of statuses (and 'yanked') that fail the run with exit 1; "
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
            "--report-format or the name (.sarif, .md, .json, else text)",
        )
        group.add_argument(
            "--report-format",
            choices=REPORT_FORMATS,
            default=None,
            help="format of every --report file",
        )
        group.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="policy file (default: .sbom-enrich.toml, else [tool.sbom-enrich] in "
            "pyproject.toml, in the current directory)",
        )

    enrich = commands.add_parser("enrich", help="add status properties to a CycloneDX SBOM")
    enrich.add_argument("input", help="CycloneDX JSON or XML file, or - for stdin")
    enrich.add_argument("-o", "--output", default="-", help="output file, or - for stdout")
    enrich.add_argument(
        "--validate",
        action="store_true",
        default=None,
        help="schema-validate input and output with cyclonedx-python-lib's schemas (off by "
        "default: it takes seconds, ~2.5 s for 2 MB of JSON; needs sbom-enrich[validation])",
    )
    policy_options(enrich)
    client_options(enrich)

    check = commands.add_parser(
        "check", help="check requirements files and pyproject.toml against the index"
    )
    check.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="manifests to check (default: pyproject.toml, requirements*.txt, "
        "requirements/*.txt, *.in and constraints*.txt in the current directory); "
        "-r/-c includes are followed once",
    )
    policy_options(check)
    client_options(check)

    status = commands.add_parser("status", help="show what the index says about projects")
    status.add_argument("names", nargs="+", metavar="NAME[==VERSION]")
    status.add_argument("--json", action="store_true", help="JSON output")
    policy_options(status)
    client_options(status)

    cache = commands.add_parser("cache", help="inspect or clear the cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", type=Path, help="cache directory")

    from .serve import add_serve_parser

    add_serve_parser(commands, client_options)
    return parser


@dataclass(frozen=True)
class RunOptions:
    """Flags merged over their environment twins."""

    client: ClientSettings
    fail_on: frozenset[str]
    allow_incomplete: bool
    validate: bool
    summary_json: Path | None
    alternatives_files: tuple[Path, ...]
    reports: tuple[str, ...] = ()
    report_format: str | None = None
    policy: Policy = Policy()


def resolve_policy(args: argparse.Namespace, env: Mapping[str, str], cwd: Path) -> Policy:
    """``--config``, else ``SBOM_ENRICH_CONFIG``, else the policy file found in ``cwd``."""
    named = getattr(args, "config", None) or (
        Path(env["SBOM_ENRICH_CONFIG"]) if env.get("SBOM_ENRICH_CONFIG") else None
    )
    path = named or find_policy_file(cwd)
    if path is None:
        return Policy()
    try:
        return load_policy(path)
    except PolicyError as error:
        raise UsageError(f"policy file {error}") from None


def resolve_options(
    args: argparse.Namespace, env: Mapping[str, str], cwd: Path | None = None
) -> RunOptions:
    """Flags win over ``SBOM_ENRICH_*``, which win over the policy file; raises UsageError."""
    policy = resolve_policy(args, env, cwd or Path.cwd())
    try:
        client = client_settings_from_env(env)
        changes: dict[str, Any] = {}
        if getattr(args, "index_url", None):
            changes["index_url"] = parse_index_url("--index-url", args.index_url)
        elif policy.index_url and not env.get("SBOM_ENRICH_INDEX_URL"):
            changes["index_url"] = parse_index_url(f"{policy.origin}: index-url", policy.index_url)
        if getattr(args, "allow_index", None):
            changes["allowed_indexes"] = tuple(
                parse_index_url("--allow-index", url) for url in args.allow_index
            )
        if getattr(args, "offline", None):
            changes["offline"] = True
        if getattr(args, "no_cache", None):
            changes["use_cache"] = False
        if getattr(args, "cache_dir", None):
            changes["cache_dir"] = args.cache_dir.expanduser()
        if getattr(args, "concurrency", None) is not None:
            changes["concurrency"] = parse_concurrency("--concurrency", args.concurrency)
        if getattr(args, "timeout", None) is not None:
            changes["timeout"] = parse_timeout("--timeout", args.timeout)
        if getattr(args, "max_page_mb", None) is not None:
            changes["max_page_bytes"] = parse_max_page_bytes("--max-page-mb", args.max_page_mb)
        client = replace(client, **changes)
        fail_on_text = getattr(args, "fail_on", None) or env.get("SBOM_ENRICH_FAIL_ON")
        fail_on = (
            parse_fail_on(fail_on_text)
            if fail_on_text
            else policy.fail_on
            if policy.fail_on is not None
            else DEFAULT_FAIL_ON
        )
        report_format = getattr(args, "report_format", None) or env.get("SBOM_ENRICH_REPORT_FORMAT")
        if report_format and report_format not in REPORT_FORMATS:
            raise ValueError(
                f"SBOM_ENRICH_REPORT_FORMAT: unknown format {clean_text(report_format, 40)!r} "
                f"(choose from {', '.join(REPORT_FORMATS)})"
            )
        allow_incomplete = bool(getattr(args, "allow_incomplete", None)) or parse_bool(
            "SBOM_ENRICH_ALLOW_INCOMPLETE", env.get("SBOM_ENRICH_ALLOW_INCOMPLETE", "")
        )
        validate = bool(getattr(args, "validate", None)) or parse_bool(
            "SBOM_ENRICH_VALIDATE", env.get("SBOM_ENRICH_VALIDATE", "")
        )
    except (SettingsError, ValueError) as error:
        raise UsageError(str(error)) from None
    summary = getattr(args, "summary_json", None) or (
        Path(env["SBOM_ENRICH_SUMMARY_JSON"]) if env.get("SBOM_ENRICH_SUMMARY_JSON") else None
    )
    files = list(getattr(args, "alternatives", None) or [])
    if not files and env.get("SBOM_ENRICH_ALTERNATIVES"):
        files = [Path(p) for p in env["SBOM_ENRICH_ALTERNATIVES"].split(os.pathsep) if p]
    user_default = default_user_file()
    if user_default.is_file() and user_default not in files:
        files.insert(0, user_default)
    reports = list(getattr(args, "report", None) or [])
    if not reports and env.get("SBOM_ENRICH_REPORT"):
        reports = [p for p in env["SBOM_ENRICH_REPORT"].split(os.pathsep) if p]
    return RunOptions(
        client,
        fail_on,
        allow_incomplete,
        validate,
        summary,
        tuple(files),
        reports=tuple(reports),
        report_format=report_format or None,
        policy=policy,
    )


def load_catalog(options: RunOptions) -> AlternativesCatalog:
    """The shipped catalog, the user's files, then the policy file's entries on top."""
    try:
        catalog = AlternativesCatalog.load(options.alternatives_files)
    except AlternativesError as error:
        raise UsageError(str(error)) from None
    return options.policy.catalog_with(catalog)


# -- I/O at the edge ----------------------------------------------------------------------


def read_input(path: str, stdin: IO[bytes]) -> bytes:
    if path == "-":
        return stdin.read()
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename: never a partial file.

    A symlink is written through (its target is replaced), so the link itself survives.
    """
    path = Path(os.path.realpath(path))
    directory = path.parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_writable(path: Path) -> None:
    """Refuse before any network work when the output cannot be written."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {path}: directory {directory} is not writable")


class _ClosedStdout:
    """Stands in for a closed standard output (``>&-``): every write fails with EBADF."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


def write_stdout(stdout: IO[bytes], data: bytes) -> None:
    """Write to stdout; a reader that went away (``| head``) is not an error.

    After a broken pipe, later writes (and the interpreter's flush at exit) go to /dev/null,
    so the run still ends with its summary and its verdict's exit code, never a traceback.
    """
    try:
        stdout.write(data)
        stdout.flush()
    except BrokenPipeError:
        if stdout is getattr(sys.stdout, "buffer", None):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    except OSError as error:
        raise UsageError(f"cannot write to standard output: {error.strerror or error}") from None


# -- lookups ------------------------------------------------------------------------------

T = TypeVar("T")


def run_async(work: Awaitable[T]) -> T:
    """``asyncio.run(work)``, but the result never becomes the main task's result.

    On its way out asyncio.Runner asks ``signal.getsignal(SIGINT)``, which tries to map its
    own handler to an enum and so formats the handler's repr: the main task, result and all
    (~40 ms for the records of 1,000 components).
    """
    results: list[T] = []

    async def main() -> None:
        results.append(await work)

    asyncio.run(main())
    return results[0]


async def with_client(settings: ClientSettings, work: Any) -> Any:
    async with open_status_client(settings) as client:
        try:
            return await work(client)
        finally:
            logger.info(
                "%d requests, %d bytes downloaded, %d not modified",
                client.requests,
                client.bytes_downloaded,
                client.not_modified,
            )


# -- commands -----------------------------------------------------------------------------


def run_enrich(
    args: argparse.Namespace, options: RunOptions, stdin: IO[bytes], stdout: IO[bytes]
) -> ExitCode:
    from ..enrich import SbomError, load_sbom, missing_validation_modules, validate_sbom
    from ..enrichment import enrich_sbom, index_policy
    from ..locations import locate_findings

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
        sbom = load_sbom(data, source=source)
    except SbomError as error:
        raise UsageError(str(error)) from None  # names the source already
    if options.validate:
        problems = validate_sbom(data, sbom.format, sbom.spec_version)
        if problems:
            raise UsageError(
                f"{source}: not valid CycloneDX {sbom.spec_version} {sbom.format.upper()}: "
                f"{clean_text(problems[0], 300)}"
            )
    default_index, allowed = index_policy(options.client)
    try:
        report = run_async(
            with_client(
                options.client,
                lambda client: enrich_sbom(
                    sbom, client, catalog, default_index=default_index, allowed=allowed
                ),
            )
        )
        result = sbom.to_bytes()
    except SbomError as error:
        raise UsageError(str(error)) from None
    if options.validate:
        problems = validate_sbom(result, sbom.format, sbom.spec_version)
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
        findings=locate_findings(kept, data, args.input)
        if options.reports and args.input != "-"
        else kept,
        ignored=ignored,
        warnings=warnings,
        source=None if args.input == "-" else args.input,
    )
    status = exit_code(report, options.fail_on, options.allow_incomplete)
    if output is None:
        write_stdout(stdout, result)
    else:
        write_atomically(output, result)
    finish_report(report, options, status, stdout)
    return status


def check_reports_writable(options: RunOptions) -> None:
    for path in (options.summary_json, *options.reports):
        if path is not None and str(path) != "-":
            check_writable(Path(path))


def finish_report(
    report: Report, options: RunOptions, status: ExitCode, stdout: IO[bytes] | None = None
) -> None:
    print(render_text(report, options.fail_on, status), file=sys.stderr)
    outputs: list[tuple[str, str]] = []
    if options.summary_json is not None:
        outputs.append((str(options.summary_json), "json"))
    outputs += [(path, options.report_format or format_for_path(path)) for path in options.reports]
    for path, report_format in outputs:
        text = render_report(report_format, report, options.fail_on, status)
        if path == "-" and stdout is not None:
            write_stdout(stdout, text.encode())
            continue
        try:
            write_atomically(Path(path), text.encode())
        except OSError as error:
            print(f"sbom-enrich: cannot write {path}: {error.strerror or error}", file=sys.stderr)


def split_requirement(text: str) -> tuple[str, str | None]:
    """``name==1.0`` → (name, "1.0"); a bare name → (name, None)."""
    if "==" in text:
        name, version = text.split("==", 1)
        return name.strip(), version.strip() or None
    return text.strip(), None


def run_status(args: argparse.Namespace, options: RunOptions, stdout: IO[bytes]) -> ExitCode:
    from packaging.utils import InvalidName, canonicalize_name

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
            raise UsageError(f"not a valid project name: {clean_text(text, 100)!r}") from None
        asked.append((name, version))
    index = normalize_index_url(options.client.index_url)
    started = time.perf_counter()
    wanted = {index: {canonical(name) for name, _ in asked}}
    records = run_async(with_client(options.client, lambda client: lookup_records(client, wanted)))
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
        findings=tuple(findings),
        index_url=redact_url(index),
        elapsed=time.perf_counter() - started,
    )
    status = exit_code(report, options.fail_on, options.allow_incomplete)
    if args.json:
        from ..report import finding_json

        text = json.dumps([finding_json(f) for f in findings], indent=2) + "\n"
    else:
        from ..report import finding_line

        lines = []
        for finding in findings:
            line = finding_line(finding).strip()
            if finding.record.latest_version:
                line += f" · latest {clean_text(finding.record.latest_version, 60)}"
            lines.append(line + "\n")
        text = "".join(lines)
    write_stdout(stdout, text.encode())
    if options.summary_json is not None or options.reports:
        finish_report(report, options, status)
    return status


def run_check(args: argparse.Namespace, options: RunOptions, stdout: IO[bytes]) -> ExitCode:
    from ..check import CheckError, findings_for, index_warnings, manifest_paths, read_manifests

    cwd = Path.cwd()
    paths = manifest_paths(args.files, cwd)
    if not paths:
        raise UsageError(
            f"no manifests in {cwd} (pyproject.toml, requirements*.txt, requirements/*.txt, "
            "*.in, constraints*.txt): name the files to check"
        )
    check_reports_writable(options)
    catalog = load_catalog(options)
    try:
        manifests = read_manifests(paths, cwd)
    except CheckError as error:
        raise UsageError(str(error)) from None
    index = normalize_index_url(options.client.index_url)
    started = time.perf_counter()
    names = manifests.names()
    records = (
        run_async(
            with_client(options.client, lambda client: lookup_records(client, {index: names}))
        )
        if names
        else {}
    )
    checked = findings_for(
        manifests, {name: record for (_, name), record in records.items()}, catalog.for_project
    )
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
        warnings=(*manifests.warnings, *index_warnings(manifests, index), *warnings),
    )
    status = exit_code(report, options.fail_on, options.allow_incomplete)
    finish_report(report, options, status, stdout)
    return status


def run_cache(args: argparse.Namespace, env: Mapping[str, str], stdout: IO[bytes]) -> ExitCode:
    try:
        settings = client_settings_from_env(env)
    except SettingsError as error:
        raise UsageError(str(error)) from None
    directory = args.cache_dir.expanduser() if args.cache_dir else settings.resolved_cache_dir
    cache = StatusCache(directory)
    try:
        if args.action == "info":
            info = cache.info()
            lines = [f"{key}: {value}" for key, value in info.items()]
            write_stdout(stdout, ("\n".join(lines) + "\n").encode())
        else:
            removed = cache.clear()
            write_stdout(stdout, f"removed {removed} entries from {directory}\n".encode())
    finally:
        cache.close()
    return ExitCode.OK


def configure_logging(verbosity: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sbom-enrich: %(levelname)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(
        logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity else logging.WARNING
    )
    logger.propagate = False


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> int:
    """Entry point; returns the exit code (tests call it directly)."""
    env = os.environ if env is None else env
    if stdin is None:
        stdin = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
    if stdout is None:  # sys.stdout is None when started with stdout closed (>&-)
        stdout = sys.stdout.buffer if sys.stdout is not None else cast(IO[bytes], _ClosedStdout())
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        configure_logging(args.verbose)
        if args.command is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        if args.command == "cache":
            return run_cache(args, env, stdout)
        options = resolve_options(args, env)
        if args.command == "enrich":
            return run_enrich(args, options, stdin, stdout)
        if args.command == "check":
            return run_check(args, options, stdout)
        if args.command == "serve":
            from .serve import run_serve

            return run_serve(args, options, env)
        return run_status(args, options, stdout)
    except UsageError as error:
        print(f"sbom-enrich: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("sbom-enrich: interrupted; nothing written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
