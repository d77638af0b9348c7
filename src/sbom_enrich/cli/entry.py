"""The entry point: the parser built from the command table, logging, and main."""

from __future__ import annotations

import argparse
import errno
import importlib
import io
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, NoReturn, cast

from .. import PROJECT_URL, __version__
from .._collector import collect_less, freeze_at_exit
from ..errors import OutputError, UsageError
from ..findings.model import ExitCode
from ..status.untrusted import CleanLogFormatter, clean_text
from .interrupts import ignore_interrupts, release_interrupts, started_as_the_program
from .invocation import COMMAND_HELP, Command, Invocation
from .options import add_verbosity_options
from .output import WRITTEN, ClosedStdout

__all__ = ["COMMANDS", "build_parser", "main"]

logger = logging.getLogger("sbom_enrich")


class _CommandModules(Mapping[str, Command]):
    """Command name → its module (``add_parser`` and ``run``), imported when first asked for:
    a run imports its own command, not the service's or the monitor's settings (~5 ms)."""

    def __getitem__(self, name: str) -> Command:
        if name not in COMMAND_HELP:
            raise KeyError(name)
        return cast(Command, importlib.import_module(f"{__package__}.{name}"))

    def __iter__(self) -> Iterator[str]:
        return iter(COMMAND_HELP)

    def __len__(self) -> int:
        return len(COMMAND_HELP)


#: Command name → its module, in ``--help`` order.
COMMANDS: Mapping[str, Command] = _CommandModules()


#: The exit status of a run that Ctrl-C (SIGINT) ended: 128 + the signal's number, as a shell
#: reports a process that SIGINT killed.
INTERRUPTED = 130

#: Commands that run once and end (``serve`` and ``monitor`` may run for days).
ONE_SHOT = frozenset({"enrich", "check", "status", "cache"})


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (and bz2 and lzma
    under it, ~1.5 ms of every run): ``$COLUMNS`` when a positive number, else standard
    output's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's own, as wide as the terminal: argparse makes one for every argument added
    (to check its metavar), and its way of asking the width imports shutil."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2  # as HelpFormatter does
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, only that command's flags ("" none; every command
    is still listed, with its help line): parsing reads no other command's parser."""
    parser = _Parser(
        prog="sbom-enrich",
        description=(
            "Write PEP 792 project status (archived, deprecated, quarantined, ...) from a "
            "Python package index into CycloneDX SBOMs, and gate pipelines on it."
        ),
        epilog=(
            "exit codes: 0 done and policy passed; 1 policy violated; 2 usage or input error "
            "(nothing written); 3 incomplete (some lookups failed; output still written); "
            "4 a result could not be written (disk full, I/O error); 5 a bug in sbom-enrich. "
            "Every flag has an SBOM_ENRICH_* environment twin (see COMMAND --help). "
            f"Docs: {PROJECT_URL}"
        ),
    )
    parser.add_argument("--version", action="version", version=f"sbom-enrich {__version__}")
    add_verbosity_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_line in COMMAND_HELP.items():
        if command is None or name == command:
            COMMANDS[name].add_parser(commands)
        else:
            # Listed, never the one that parses: no -h of its own (argparse makes a
            # formatter and asks gettext for each).
            commands.add_parser(name, help=help_line, add_help=False)
    return parser


def _command_in(argv: Sequence[str]) -> str:
    """The command ``argv`` names: its first word that is not an option (the top-level options
    take no value); "" when there is none or it is no command (``--version``, ``--help``, a
    typo: the parser answers from the list of commands alone)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMAND_HELP else ""
    return ""


def configure_logging(verbosity: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        CleanLogFormatter(
            "sbom-enrich: %(levelname)s: %(message)s", limit=2000, tracebacks=verbosity >= 2
        )
    )
    logger.handlers[:] = [handler]
    logger.setLevel(
        logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity else logging.WARNING
    )
    logger.propagate = False
    # packaging warns about what it reads in an input (packaging.pylock: "pylock minor
    # version 1.5 is not supported"). With no handler of its own, Python's last resort wrote
    # the bare, unsanitised message; it goes through ours instead, warnings only.
    library = logging.getLogger("packaging")
    library.handlers[:] = [handler]
    library.setLevel(logging.WARNING)
    library.propagate = False


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> int:
    """Entry point; returns the exit code (tests call it directly)."""
    program = _is_the_program()
    code: int = INTERRUPTED
    try:
        try:
            WRITTEN.clear()
            release_interrupts()  # one held since the import raises here (interrupts.py)
            code = _main(argv, env, stdin, stdout, program)
        except KeyboardInterrupt:
            print(f"sbom-enrich: interrupted{_what_was_written()}", file=sys.stderr)
            code = INTERRUPTED
        if program:
            ignore_interrupts()  # the status is decided: a later SIGINT must not kill us
    except KeyboardInterrupt:
        # The one SIGINT came after the run had its status, before it could be ignored: the
        # status stands.
        if program:
            ignore_interrupts()
    finally:
        if program:
            freeze_at_exit()  # the interpreter's last collections are not needed
    return code


def _is_the_program() -> bool:
    """Whether this process is sbom-enrich itself (the console script or ``python -m``,
    whose ``__main__`` holds this ``main``), not a program that calls ``main()``."""
    return getattr(sys.modules.get("__main__"), "main", None) is main


def started_for_one_run() -> bool:
    """Whether this process was started as sbom-enrich (the console script, or ``python -m
    sbom_enrich``) for a command that runs once: known from ``__main__`` and ``sys.argv``
    before :func:`main` runs (for the import of this package)."""
    return started_as_the_program() and _command_in(sys.argv[1:]) in ONE_SHOT


def _main(
    argv: Sequence[str] | None,
    env: Mapping[str, str] | None,
    stdin: IO[bytes] | None,
    stdout: IO[bytes] | None,
    program: bool,
) -> int:
    if "httpx" not in sys.modules:
        # httpx's package imports its own command line (click, rich, pygments) whenever those
        # are installed: ~50 ms of every run that goes to the network, for nothing we use.
        # A None entry makes that import fail, which httpx handles (it then has no CLI).
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    env = os.environ if env is None else env
    if stdin is None:
        stdin = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
    if stdout is None:  # sys.stdout is None when started with stdout closed (>&-)
        stdout = sys.stdout.buffer if sys.stdout is not None else cast(IO[bytes], ClosedStdout())
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(_command_in(argv))
    try:
        args = parser.parse_args(argv)
        configure_logging(args.verbose)
        if program and args.command in ONE_SHOT:
            collect_less()
        if args.command is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        return COMMANDS[args.command].run(args, Invocation(env, stdin, stdout))
    except UsageError as error:
        print(f"sbom-enrich: error: {clean_text(str(error), 2000)}", file=sys.stderr)
        return ExitCode.USAGE
    except OutputError as error:
        print(f"sbom-enrich: error: {error}", file=sys.stderr)
        return ExitCode.OUTPUT
    except BrokenPipeError:
        # Every expected write handles its own broken pipe; one that gets here lost the verdict,
        # and a gate must not pass on that.
        return ExitCode.OUTPUT
    except OSError as error:
        if error.errno not in (errno.EMFILE, errno.ENFILE):
            return _internal_error(error)
        # Lookups fit their connections to the limit (status/_http/plain.py); this is a
        # limit too low for the run itself (a lazy import, the cache, the output file).
        print(
            "sbom-enrich: error: too many open files: the descriptor limit (ulimit -n) is too "
            "low for this run; raise it",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    except Exception as error:  # the last net: one line and a code of its own
        return _internal_error(error)


def _what_was_written() -> str:
    """What an interrupted run leaves: "nothing written", or the files it had written whole
    (a Ctrl-C while the summary prints comes after the SBOM was written)."""
    if not WRITTEN:
        return "; nothing written"
    names = ", ".join(clean_text(str(path), 200) for path in WRITTEN)
    return f" after writing {names} (complete); nothing else written"


def _internal_error(error: Exception) -> int:
    # Exit 1 would read as "policy violated"; a bug gets its own code, and never 0.
    logger.debug("internal error", exc_info=error)
    print(
        f"sbom-enrich: internal error (a bug; -vv shows the traceback): "
        f"{type(error).__name__}: {clean_text(str(error), 300)}",
        file=sys.stderr,
    )
    return ExitCode.INTERNAL
