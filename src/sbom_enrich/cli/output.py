"""Output at the edge: read the input, write files atomically, stdout, the report files."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path
from typing import IO

from ..errors import UsageError
from ..findings.model import ExitCode, Report
from ..formats import format_for_path, render_report
from ..formats.text import render_text
from .options import RunOptions


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


class ClosedStdout:
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
