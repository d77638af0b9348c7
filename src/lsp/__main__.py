"""Command line entry point: ``sbom-enrich-lsp`` / ``python -m lsp`` (stdio, or TCP to debug)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sbom_enrich import __version__


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


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
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
    from .server import build_server

    server = build_server()
    if args.tcp is not None:
        host, port = args.tcp
        logging.getLogger(__name__).warning("listening on %s:%d", host, port)
        server.start_tcp(host, port)
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
