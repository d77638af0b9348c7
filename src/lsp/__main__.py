"""Entry point ``sbom-enrich-lsp`` / ``python -m lsp``: stdio (initialize answered first) or TCP."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO, cast

from sbom_enrich import __version__
from sbom_enrich.status.settings import host_and_port

#: Why a listening socket cannot be had (a usage problem: exit 2, one line).
_CANNOT_LISTEN = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})


def _address(text: str) -> tuple[str, int]:
    address = host_and_port(text)
    if address is None:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return address


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sbom-enrich-lsp",
        description="Language server: PEP 792 project status in requirements and pyproject files.",
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (default)")
    parser.add_argument(
        "--tcp", type=_address, metavar="HOST:PORT", help="listen on TCP instead (for debugging)"
    )
    parser.add_argument("--log-file", help="write the log here instead of stderr")
    parser.add_argument(
        "--no-early-initialize",
        action="store_true",
        help="let pygls answer initialize after loading (stdio answers it first by default)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log detail (-vv: debug)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _configure_logging(log_file: str | None, verbose: int) -> None:
    # stdout carries the protocol: logging goes to stderr or a file, never stdout.
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    # Cleaned and without credentials: pygls logs whole messages at debug (-vv), the
    # initialize options with their indexUrl among them (DESIGN: never in logs).
    from sbom_enrich.status.untrusted import CleanLogFormatter

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(CleanLogFormatter(fmt, limit=100_000))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    for name in ("lsp", "sbom_enrich"):
        logging.getLogger(name).setLevel(level)
    if verbose > 1:
        logging.getLogger("pygls").setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until the client says exit; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        _configure_logging(args.log_file, args.verbose)
    except OSError as error:
        print(f"sbom-enrich-lsp: cannot open log file: {error}", file=sys.stderr)
        return 2
    if args.tcp is None:
        return _serve_stdio(early=not args.no_early_initialize)
    from .server import build_server

    host, port = args.tcp
    logging.getLogger(__name__).warning("starting on %s:%d (TCP)", host, port)
    try:
        build_server().start_tcp(host, port)
    except OSError as error:
        if error.errno not in _CANNOT_LISTEN:
            raise
        # One line, not asyncio's traceback: the port is taken, or not this user's to take.
        print(
            f"sbom-enrich-lsp: cannot listen on {host}:{port}: {os.strerror(error.errno)}",
            file=sys.stderr,
        )
        return 2
    return 0


def _serve_stdio(*, early: bool) -> int:
    """Answer initialize before importing pygls (lsp/bootstrap.py says how), then serve.

    Returns 1 when the server stopped because pygls refused the initialize answered early, or
    the editor said exit without shutdown first.
    """
    from .bootstrap import CheckedFrames, ReplayStdin, ReplyFilter, answer_initialize

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        prefix, answer = answer_initialize(stdin, stdout, __version__) if early else (b"", None)
    except OSError as error:  # the editor went away (broken pipe) or stdin is unreadable
        logging.getLogger(__name__).error("cannot answer initialize: %s", error)
        return 1
    from .server import build_server, reads_message  # pygls and lsprotocol load here

    server = build_server()
    if answer is None:
        server.start_io(cast(BinaryIO, CheckedFrames(ReplayStdin(prefix, stdin))), stdout)
        return server.exit_code
    replies = ReplyFilter(stdout, answer)
    if (problem := reads_message(server, answer.body)) is not None:
        logging.getLogger(__name__).error("cannot read the initialize request: %s", problem)
        replies.fail("it could not read the editor's initialize request")
        return 1
    server.start_io(
        cast(BinaryIO, CheckedFrames(ReplayStdin(answer.replay, stdin, gate=replies))),
        cast(BinaryIO, replies),
    )
    return 1 if replies.failed else server.exit_code


if __name__ == "__main__":
    sys.exit(main())
