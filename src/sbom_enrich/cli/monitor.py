"""``sbom-enrich monitor``: the inventory, passes, notices, status, history and ``serve``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import SettingsError, UsageError
from ..status.settings import host_and_port, parse_index_url, parse_timeout
from ..status.untrusted import clean_text
from .invocation import COMMAND_HELP, Invocation
from .options import (
    RunOptions,
    add_client_options,
    add_env_twins_to_help,
    add_maintenance_options,
    load_catalog,
    resolve_options,
)

if TYPE_CHECKING:
    from ..monitor.model import Source
    from ..monitor.notify import Notifier
    from ..monitor.run import PassResult
    from ..monitor.store import SqlStore

#: Monitor flags and their environment twins (docs/monitor.md). List twins are
#: whitespace-separated (URLs may hold commas).
MONITOR_ENV_TWINS: Mapping[str, str] = {
    "--db": "SBOM_ENRICH_DB",
    "--webhook": "SBOM_ENRICH_WEBHOOK",
    "--webhook-secret": "SBOM_ENRICH_WEBHOOK_SECRET",
    "--slack-webhook": "SBOM_ENRICH_SLACK_WEBHOOK",
    "--smtp": "SBOM_ENRICH_SMTP",
    "--mail-from": "SBOM_ENRICH_MAIL_FROM",
    "--mail-to": "SBOM_ENRICH_MAIL_TO",
    "--smtp-user": "SBOM_ENRICH_SMTP_USER",
    "--interval": "SBOM_ENRICH_MONITOR_INTERVAL",
    "--host": "SBOM_ENRICH_HOST",
    "--port": "SBOM_ENRICH_PORT",
    "--cache-url": "SBOM_ENRICH_CACHE_URL",
    "--token-file": "SBOM_ENRICH_TOKEN_FILE",
}
DEFAULT_INTERVAL = 15 * 60.0
#: The SMTP password is read from the environment only (a flag would show in `ps`).
SMTP_PASSWORD_ENV = "SBOM_ENRICH_SMTP_PASSWORD"
MONITOR_EXIT_HELP = (
    "exit codes: 0 done (notices delivered or queued); 2 usage or input error, or no monitor "
    "database at --db (only 'add' and 'serve' create one); 3 some lookups or deliveries failed "
    "(queued for the next pass), or the database does not answer, is locked by another "
    "process, or cannot be written"
)
#: Subcommands that may create the database; the others refuse one that does not exist.
CREATING_COMMANDS = frozenset({"add", "serve"})
#: Subcommands that only read: they open a database this process cannot write.
READING_COMMANDS = frozenset({"list", "status", "history"})


def add_parser(commands: Any) -> None:
    """Register ``monitor`` and its subcommands on the CLI's subparsers."""
    client_options = add_client_options
    monitor: argparse.ArgumentParser = commands.add_parser(
        "monitor",
        help=COMMAND_HELP["monitor"],
        description="Keep an inventory of SBOMs, manifests and lock files per project, re-check "
        "every name they use, and notify on status transitions (docs/monitor.md).",
        epilog=MONITOR_EXIT_HELP,
    )
    sub = monitor.add_subparsers(dest="monitor_command", metavar="SUBCOMMAND")
    sub.required = True

    def db_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--db",
            help="sqlite:///relative.db, sqlite:////absolute.db or postgresql://... "
            "(default: SQLite in the user data directory; twin SBOM_ENRICH_DB)",
        )

    def notify_options(parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("notifications")
        group.add_argument(
            "--webhook",
            action="append",
            default=None,
            metavar="URL",
            help="POST each notice as JSON to URL (repeatable)",
        )
        group.add_argument("--webhook-secret", help="HMAC-SHA256 key for the signature header")
        group.add_argument("--slack-webhook", metavar="URL", help="Slack incoming webhook")
        group.add_argument("--smtp", metavar="HOST:PORT", help="send notices by e-mail")
        group.add_argument("--mail-from", metavar="ADDRESS", help="sender of the e-mails")
        group.add_argument(
            "--smtp-user",
            metavar="USER",
            help="log in to the SMTP server (over TLS only); the password comes from "
            f"{SMTP_PASSWORD_ENV}, never a flag",
        )
        group.add_argument(
            "--mail-to",
            action="append",
            default=None,
            metavar="ADDRESS",
            help="recipient (repeatable)",
        )

    add = sub.add_parser("add", help="register files under a project (re-adding replaces)")
    add.add_argument("--project", required=True, help="project (application) name")
    add.add_argument("files", nargs="+", metavar="FILE", help="SBOM, manifest or lock file")
    db_option(add)

    remove = sub.add_parser("remove", help="remove files, or a whole project")
    remove.add_argument("--project", required=True)
    remove.add_argument("files", nargs="*", metavar="FILE", help="default: the whole project")
    db_option(remove)

    listing = sub.add_parser("list", help="show the inventory")
    listing.add_argument("--json", action="store_true", help="JSON output")
    db_option(listing)

    run = sub.add_parser(
        "run", help="one pass: re-check every name, notify on transitions", epilog=MONITOR_EXIT_HELP
    )
    db_option(run)
    notify_options(run)
    client_options(run)
    add_maintenance_options(run)

    status = sub.add_parser("status", help="what is adverse now, per project")
    formats = status.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="JSON output")
    formats.add_argument("--markdown", action="store_true", help="Markdown output")
    db_option(status)
    # Which index each usage is watched on depends on these, as it does for `run`.
    indexes = status.add_argument_group("indexes (as given to 'monitor run')")
    indexes.add_argument("--index-url", help="Simple API root (default: PyPI)")
    indexes.add_argument(
        "--allow-index", action="append", default=None, metavar="URL", help="another index"
    )
    add_env_twins_to_help(status)

    history = sub.add_parser("history", help="transitions with their times")
    history.add_argument("name", nargs="?", metavar="NAME", help="one project name")
    history.add_argument("--json", action="store_true", help="JSON output")
    db_option(history)

    serve = sub.add_parser("serve", help="passes on a schedule, HTTP API and /metrics")
    serve.add_argument("--interval", help="seconds between passes (default 900)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", help="port (default 8000)")
    serve.add_argument("--cache-url", help="redis://... to share the status cache")
    # The API shows every project's files and dependencies: as `serve`, tokens beyond loopback.
    serve.add_argument(
        "--token-file", help="bearer tokens, one per line (needed to listen beyond loopback)"
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="listen beyond loopback without tokens (something in front authenticates) "
        "[env: SBOM_ENRICH_NO_AUTH]",
    )
    db_option(serve)
    notify_options(serve)
    client_options(serve)
    add_maintenance_options(serve)


def pick(args: argparse.Namespace, env: Mapping[str, str], flag: str) -> str | None:
    value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
    if isinstance(value, list):
        return " ".join(value) if value else None
    return str(value) if value is not None else env.get(MONITOR_ENV_TWINS[flag]) or None


def db_url(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    from ..monitor.sqlite import default_db_url

    return pick(args, env, "--db") or default_db_url()


@dataclass(frozen=True)
class Targets:
    """Notification targets from flags over twins (built into notifiers inside the loop)."""

    webhooks: tuple[str, ...] = ()
    webhook_secret: str | None = None
    slack: str | None = None
    smtp: tuple[str, int] | None = None
    mail_from: str | None = None
    mail_to: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = None


def _webhook_url(flag: str, value: str) -> str:
    # Same URL rules as an index (http(s), a host, no query): parse_index_url says why not.
    try:
        parse_index_url(flag, value.split("?", 1)[0])
    except SettingsError:
        # Not the index's message: it quotes the path, and a webhook's path is its secret
        # (Slack's /services/T…/B…/token).
        from ..monitor.notify import origin_of

        raise UsageError(
            f"{flag}: expected an http(s) URL with a host and a valid port, got "
            f"{origin_of(value)}/… (path not shown: it may be the secret)"
        ) from None
    return value.strip()


def resolve_targets(args: argparse.Namespace, env: Mapping[str, str]) -> Targets:
    # Each URL once: a repeat made two outbox rows with one key, whose UNIQUE error rolled
    # the whole pass back, so no target (not even the others) was ever notified.
    webhooks = tuple(
        dict.fromkeys(
            _webhook_url("--webhook", url) for url in (pick(args, env, "--webhook") or "").split()
        )
    )
    slack = pick(args, env, "--slack-webhook")
    smtp_text = pick(args, env, "--smtp")
    smtp: tuple[str, int] | None = None
    mail_to = tuple(dict.fromkeys((pick(args, env, "--mail-to") or "").replace(",", " ").split()))
    mail_from = pick(args, env, "--mail-from")
    if smtp_text:
        smtp = host_and_port(smtp_text)  # "²" as a port was exit 5
        if smtp is None:
            raise UsageError(f"--smtp: expected HOST:PORT, got {clean_text(smtp_text, 100)!r}")
        if not mail_from or not mail_to:
            raise UsageError("--smtp needs --mail-from and --mail-to")
    elif mail_to or mail_from:
        raise UsageError("--mail-from/--mail-to need --smtp HOST:PORT")
    return Targets(
        webhooks=webhooks,
        webhook_secret=pick(args, env, "--webhook-secret"),
        slack=_webhook_url("--slack-webhook", slack) if slack else None,
        smtp=smtp,
        mail_from=mail_from,
        mail_to=mail_to,
        smtp_user=pick(args, env, "--smtp-user"),
        smtp_password=env.get(SMTP_PASSWORD_ENV) or None,
    )


def build_notifiers(targets: Targets, http: Any) -> list[Notifier]:
    from ..monitor.notify import MailTarget, SlackTarget, WebhookTarget

    notifiers: list[Notifier] = [
        WebhookTarget(url, http, targets.webhook_secret) for url in targets.webhooks
    ]
    if targets.slack:
        notifiers.append(SlackTarget(targets.slack, http))
    if targets.smtp and targets.mail_from:
        notifiers.append(
            MailTarget(
                *targets.smtp,
                targets.mail_from,
                targets.mail_to,
                user=targets.smtp_user,
                password=targets.smtp_password,
            )
        )
    return notifiers


def write(stdout: IO[bytes], text: str) -> None:
    from .output import write_stdout

    write_stdout(stdout, text.encode())


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """Dispatch a monitor subcommand; usage errors leave as UsageError (exit 2)."""
    from ..monitor.store import StoreError, StoreUnavailableError, open_store

    env, stdout = invocation.env, invocation.stdout
    options = resolve_options(args, env)
    command = args.monitor_command
    # Files to add are read before the database is opened: one that cannot be read must not
    # leave a new, empty database behind (nor a directory for it).
    sources = read_sources(args) if command == "add" else ()
    try:
        targets = resolve_targets(args, env) if command in {"run", "serve"} else Targets()
        store = open_store(
            db_url(args, env),
            create=command in CREATING_COMMANDS,
            read_only=command in READING_COMMANDS,
        )
    except StoreUnavailableError as error:
        # Could not tell is never "nothing adverse": a code of its own, not 0 and not 2
        # (a server that does not answer, a lock another process holds, a read-only file).
        print(f"sbom-enrich: {clean_text(str(error), 500)}", file=sys.stderr)
        return 3
    except StoreError as error:  # no such database (a mistyped --db), a bad URL
        raise UsageError(str(error)) from None
    try:
        handler = _COMMANDS[command]
        return handler(MonitorCall(args, options, env, stdout, store, targets, sources))
    except StoreError as error:
        print(f"sbom-enrich: {clean_text(str(error), 500)}", file=sys.stderr)
        return 3
    finally:
        store.close()


@dataclass(frozen=True)
class MonitorCall:
    """What every monitor subcommand is given: its flags, the options, streams, store, targets."""

    args: argparse.Namespace
    options: RunOptions
    env: Mapping[str, str]
    stdout: IO[bytes]
    store: SqlStore
    targets: Targets
    #: ``add``: the files given, read before the database was opened.
    sources: tuple[Source, ...] = ()


Handler = Callable[[MonitorCall], int]


def read_sources(args: argparse.Namespace) -> tuple[Source, ...]:
    """Every file ``add`` was given, read; UsageError (exit 2) for the first that cannot be."""
    from ..monitor.inventory import InventoryError, read_source

    project = _project_name(args.project)
    try:
        return tuple(read_source(project, Path(f)) for f in args.files)  # all read, then stored
    except InventoryError as error:
        raise UsageError(f"{error}; nothing registered") from None


def cmd_add(call: MonitorCall) -> int:
    stdout, store = call.stdout, call.store
    partial = False
    for source in call.sources:
        project = source.project
        store.replace_source(source)
        write(
            stdout,
            f"{clean_text(project, 200)}: {clean_text(source.path, 300)} ({source.kind}, "
            f"{len({u.name for u in source.usages})} names)\n",
        )
        if source.problems:  # what could not be read is not watched: say so, never silently
            partial = True
            more = f" (and {len(source.problems) - 1} more)" if len(source.problems) > 1 else ""
            print(
                f"sbom-enrich: {clean_text(source.path, 300)}: not watched: "
                f"{source.problems[0]}{more}",
                file=sys.stderr,
            )
    return 3 if partial else 0


def _project_name(text: str) -> str:
    name = clean_text(text, 200).strip()
    if not name:
        raise UsageError("--project: a project needs a name")
    return name


def cmd_remove(call: MonitorCall) -> int:
    args, stdout, store = call.args, call.stdout, call.store
    project = _project_name(args.project)
    paths = [str(Path(f).resolve()) for f in args.files] if args.files else None
    removed = store.remove_sources(project, paths)
    if removed == 0 and paths is None and project not in {s.project for s in store.sources()}:
        raise UsageError(f"no project named {project!r} is registered")
    if paths is not None and removed < len(set(paths)):
        raise UsageError(
            f"{len(set(paths)) - removed} of the files are not registered under {project!r} "
            f"({removed} removed)"
        )
    write(stdout, f"{clean_text(project, 200)}: {removed} files removed\n")
    return 0


def cmd_list(call: MonitorCall) -> int:
    args, stdout, store = call.args, call.stdout, call.store
    import json

    from ..monitor.views import inventory_json, inventory_text

    sources = store.sources()
    warn_readd([(s.project, s.path) for s in sources if s.readd])
    text = (
        json.dumps(inventory_json(sources), indent=2) + "\n"
        if args.json
        else inventory_text(sources)
    )
    write(stdout, text)
    return 0


def cmd_status(call: MonitorCall) -> int:
    args, options, stdout, store = call.args, call.options, call.stdout, call.store
    from ..monitor.indexes import IndexRules
    from ..monitor.views import adverse_now, status_json, status_markdown, status_text

    rules = IndexRules.of(options.client)
    sources = store.sources()
    items = adverse_now(
        sources, store.baselines(), rules, store.maintenance(), store.unchecked_by_last_pass()
    )
    watched = len(store.watched())
    last = store.last_pass()
    warning = warn_readd([(s.project, s.path) for s in sources if s.readd])
    if args.json:
        write(stdout, status_json(items, watched, [warning] if warning else [], last))
    else:
        write(stdout, (status_markdown if args.markdown else status_text)(items, watched, last))
    # Nothing watched is nothing checked: "nothing adverse" is no answer then (exit 3).
    return 0 if watched else 3


def warn_readd(sources: Sequence[tuple[str, str]]) -> str | None:
    """Say on stderr which lock files to add again (registered before lock indexes were
    recorded); the line, for JSON output, or None."""
    from ..monitor.views import readd_warning

    warning = readd_warning(sources)
    if warning is not None:
        print(f"sbom-enrich: monitor: {warning}", file=sys.stderr)
    return warning


def cmd_history(call: MonitorCall) -> int:
    args, stdout, store = call.args, call.stdout, call.store
    from ..monitor.views import history_json, history_text
    from ..status.model import canonical

    transitions = store.transitions(canonical(args.name) if args.name else None)
    write(stdout, history_json(transitions) if args.json else history_text(transitions))
    return 0


def alternatives_for(options: RunOptions) -> Callable[[str], Sequence[tuple[str, str]]]:
    catalog = load_catalog(options)
    return lambda name: [(a.name, a.rationale) for a in catalog.for_project(name)]


async def one_pass(
    store: SqlStore,
    options: RunOptions,
    targets: Targets,
    alternatives: Callable[[str], Sequence[tuple[str, str]]],
    cache_url: str | None = None,
) -> tuple[PassResult, Any]:
    """A pass, then the delivery of everything due; (pass result, delivery result)."""
    import httpx

    from ..monitor.indexes import monitor_settings
    from ..monitor.notify import deliver_due
    from ..monitor.run import open_monitor_client, run_pass
    from ..status.compose import open_maintenance_survey

    # The indexes registered lock files name are allowed, as `check` allows its lock files'.
    settings = monitor_settings(options.client, store.watched())
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(open_monitor_client(settings, cache_url=cache_url))
        survey = None
        if options.repository is not None:  # --maintenance: the repository source too
            survey = await stack.enter_async_context(
                open_maintenance_survey(client, options.repository, options.stale_policy)
            )
        http = await stack.enter_async_context(httpx.AsyncClient(follow_redirects=False))
        notifiers = build_notifiers(targets, http)
        result = await run_pass(
            store, client, alternatives, [n.key for n in notifiers], survey, options.client
        )
        delivery = await deliver_due(store, notifiers)
        notes = survey.repositories.notes if survey is not None else ()
    return (replace(result, notes=tuple(notes)) if notes else result), delivery


async def deliver_only(store: SqlStore, targets: Targets) -> Any:
    """The notices due now, without a pass (``serve`` retries between passes)."""
    import httpx

    from ..monitor.notify import deliver_due

    async with httpx.AsyncClient(follow_redirects=False) as http:
        return await deliver_due(store, build_notifiers(targets, http))


def pass_summary(result: PassResult, delivery: Any, backlog: int) -> tuple[list[str], list[str]]:
    """(problems, counts): the lines ``-q`` keeps, and the pass's and deliveries' counts."""
    problems = [
        f"{record.name}: lookup failed: {clean_text(record.error or '', 200)}"
        for record in result.failed[:20]
    ]
    if len(result.failed) > 20:
        problems.append(f"... and {len(result.failed) - 20} more failed lookups")
    problems.extend(delivery.failed[:20])
    problems.extend(result.problem_lines)
    problems.extend(clean_text(note, 300) for note in result.notes)
    counts = []
    if result.skipped:
        counts.append("another replica is running a pass; nothing checked")
    elif not result.problem:
        counts.append(
            f"{result.names} names checked in {result.duration:.1f} s ({result.requests} "
            f"requests, {result.not_modified} not modified, {result.bytes_downloaded} bytes); "
            f"{len(result.transitions)} transitions, {result.baselines} new baselines, "
            f"{len(result.failed)} lookups failed, {len(result.cannot_tell)} cannot tell"
        )
        if result.maintenance_judged:
            counts.append(
                f"maintenance: {result.maintenance_judged} names judged, "
                f"{len(result.maintenance_unknown)} unknown (no notice for those)"
            )
    counts.append(
        f"{delivery.delivered} notices delivered, {len(delivery.failed)} failed; {backlog} waiting"
    )
    return problems, counts


#: The line of a pass run offline (exit 3).
OFFLINE_PASS = (
    "offline (--offline or SBOM_ENRICH_OFFLINE): the index was not asked, the answers are "
    "the cache's, and a change since then is unseen"
)


def cmd_run(call: MonitorCall) -> int:
    options, stdout, store, targets = call.options, call.stdout, call.store, call.targets
    from ..monitor.views import history_text
    from .runtime import run_async

    alternatives = alternatives_for(options)
    # Shown even with -q: until they are added again their packages are watched on the
    # configured index, whatever index the lock names.
    warn_readd(store.sources_to_readd())
    # asyncio's own loop: the SMTP and PostgreSQL clients were never tried on uvloop.
    result, delivery = run_async(one_pass(store, options, targets, alternatives), "asyncio")
    if result.transitions:
        write(stdout, history_text(result.transitions))
    offline = options.client.offline
    problem = bool(result.incomplete or offline or delivery.failed)
    problems, counts = pass_summary(result, delivery, store.backlog())
    if offline:
        # Answers from the cache only: a change since is unseen, so the pass is no all-clear.
        problems.append(OFFLINE_PASS)
    for line in problems if options.quiet else [*problems, *counts]:
        print(f"sbom-enrich: monitor: {line}", file=sys.stderr)
    return 3 if problem else 0


def cmd_serve(call: MonitorCall) -> int:
    args, env, options, store, targets = call.args, call.env, call.options, call.store, call.targets
    from ..service.access import check_exposure, load_tokens
    from ..service.config import DEFAULT_HOST, DEFAULT_PORT, parse_cache_url, parse_port

    if options.client.offline:
        # Every pass would ask the index nothing and report itself fresh and healthy.
        raise UsageError("monitor serve cannot run offline: its passes exist to ask the index")

    try:
        interval_text = pick(args, env, "--interval")
        interval = parse_timeout("--interval", interval_text) if interval_text else DEFAULT_INTERVAL
        host = pick(args, env, "--host") or DEFAULT_HOST
        port_text = pick(args, env, "--port")
        port = parse_port("--port", port_text) if port_text else DEFAULT_PORT
        cache_text = pick(args, env, "--cache-url")
        cache_url = parse_cache_url("--cache-url", cache_text) if cache_text else None
        token_file = pick(args, env, "--token-file")
        tokens = load_tokens(Path(token_file)) if token_file else ()
        no_auth = args.no_auth or env.get("SBOM_ENRICH_NO_AUTH", "").lower() in {"1", "true"}
        check_exposure(host, bool(tokens), no_auth)
    except SettingsError as error:
        raise UsageError(str(error)) from None
    try:
        import uvicorn

        from ..monitor.app import MonitorService, create_monitor_app
    except ImportError as error:
        raise UsageError(
            f"monitor serve needs the serve extra ({error.name} is missing): "
            "pip install 'sbom-enrich[serve]'"
        ) from None
    alternatives = alternatives_for(options)
    warn_readd(store.sources_to_readd())  # once, at start; the API's status carries it too
    service = MonitorService(
        store=store,
        interval=interval,
        run=lambda: one_pass(store, options, targets, alternatives, cache_url),
        deliver=lambda: deliver_only(store, targets),
        index_url=options.client.index_url,
        allowed_indexes=options.client.allowed_indexes,
    )
    app: Any = create_monitor_app(service)
    if tokens:
        from ..service.access import BearerAuth

        app = BearerAuth(app, tokens)
    uvicorn.run(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level="info",
        access_log=getattr(args, "verbose", 0) >= 1,
        server_header=False,
        # asyncio's own loop, as `monitor run` (uvicorn's default would take uvloop now that
        # it is installed): the monitor's SMTP and PostgreSQL clients were not tried on it
        # (docs/connections.md, "The event loop").
        loop="asyncio",
    )
    return 0


_COMMANDS: Mapping[str, Handler] = {
    "add": cmd_add,
    "remove": cmd_remove,
    "list": cmd_list,
    "run": cmd_run,
    "status": cmd_status,
    "history": cmd_history,
    "serve": cmd_serve,
}
