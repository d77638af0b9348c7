"""Output at the edge: read the input, write files atomically (a crash leaves nothing behind),
stdout, the report files."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from ..errors import OutputError, UsageError
from ..findings.model import ExitCode, Report
from ..formats import format_for_path, render_report
from ..status.untrusted import clean_text
from .options import RunOptions
from .terminal import colourize, wants_colour


def read_input(path: str, stdin: IO[bytes]) -> bytes:
    if path == "-":
        return stdin.read()
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


#: What may be written: bytes, or pieces of bytes (or views of them) written in order.
Payload = bytes | Iterable[bytes | memoryview]


def _chunks(data: Payload) -> Iterable[bytes | memoryview]:
    return (data,) if isinstance(data, bytes) else data


def _mode_for(target: Path) -> int:
    """The mode a new file would get (umask applied), or the existing file's mode."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


#: Files this run has written, in order (an interrupt afterwards must not say "nothing
#: written"); emptied when a run starts (``entry.main``).
WRITTEN: list[Path] = []


def write_atomically(path: Path, data: Payload) -> None:
    """Replace ``path`` with ``data`` at once: readers see the old file or the new, never half.

    The new bytes go into an unnamed file (Linux ``O_TMPFILE``) that is given a name only when
    complete, so a process killed mid-write (kill -9, OOM) leaves nothing behind; elsewhere a
    hidden named temporary is used and removed on any exception. A symlink is written through
    (its target is replaced). A path that is not a regular file (``/dev/stdout``, ``/dev/full``,
    a FIFO) cannot be renamed over: it is written in place. Any failure is an
    :class:`OutputError` naming the path.
    """
    try:
        if _is_special(path):
            # Opened by its own name: /dev/stdout's real path is "pipe:[…]", no file at all.
            _write_in_place(path, data)
        else:
            target = Path(os.path.realpath(path))
            try:
                fd = os.open(target.parent, os.O_TMPFILE | os.O_WRONLY, _mode_for(target))
            except (AttributeError, OSError):
                _write_named_temporary(target, data)
            else:
                _write_unnamed(fd, target, data)
        WRITTEN.append(path)
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def _is_special(path: Path) -> bool:
    """An existing path (through links) that is not a regular file: a device, pipe, socket."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


#: The write buffer of a file we write: an SBOM goes out in ~25,000 pieces (views of the input
#: and what enrichment wrote), and with io's 8 KiB buffer that was ~1,700 write calls for
#: 14 MB (~7 ms of CPU); with this, a few dozen.
WRITE_BUFFER = 1 << 20


def _write_in_place(target: Path, data: Payload) -> None:
    with open(target, "wb", buffering=WRITE_BUFFER) as handle:
        handle.writelines(_chunks(data))


def _write_unnamed(fd: int, target: Path, data: Payload) -> None:
    try:
        with os.fdopen(fd, "wb", buffering=WRITE_BUFFER, closefd=False) as handle:
            handle.writelines(_chunks(data))
            handle.flush()
            os.fsync(fd)
        os.fchmod(fd, _mode_for(target))
        # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd gives the finished file a name; the
        # rename then replaces the target in one step (the name exists for microseconds).
        # A directory fd makes os.link call linkat with that flag (plain link() would not
        # follow the /proc magic link and fail with EXDEV).
        # os.urandom, not secrets: a unique name needs no hashlib (secrets imports hmac, ~3 ms).
        name = f".{target.name}.{os.urandom(6).hex()}.tmp"
        directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=directory, follow_symlinks=True)
            try:
                os.replace(name, target.name, src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                os.unlink(name, dir_fd=directory)
                raise
        finally:
            os.close(directory)
    finally:
        os.close(fd)


def _write_named_temporary(target: Path, data: Payload) -> None:
    import tempfile  # only without O_TMPFILE: its import is ~2 ms of every start

    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb", buffering=WRITE_BUFFER) as handle:
            handle.writelines(_chunks(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_writable(path: Path) -> None:
    """Refuse before any network work when the output cannot be written (a usage error)."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    writable = os.access(path, os.W_OK) if path.exists() else os.access(directory, os.W_OK)
    if not writable:
        raise UsageError(f"cannot write {path}: permission denied")


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
    A closed stdout (EBADF) is a usage error, found before anything else was written; any
    other failure (a full disk behind a redirect) is an :class:`OutputError`.
    """
    try:
        stdout.write(data)
        stdout.flush()
    except BrokenPipeError:
        silence_stdout(stdout)
    except OSError as error:
        if error.errno == errno.EBADF:
            raise UsageError(
                f"cannot write to standard output: {error.strerror or error}"
            ) from None
        raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None


def silence_stdout(stdout: IO[bytes] | None = None) -> None:
    """Point fd 1 at /dev/null after its reader went away, so the exit flush cannot fail."""
    real = getattr(sys.stdout, "buffer", None)
    if stdout is None or stdout is real:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


def check_reports_writable(options: RunOptions) -> None:
    for path in (options.summary_json, *options.reports):
        if path is not None and str(path) != "-":
            check_writable(Path(path))


def finish_report(
    report: Report,
    options: RunOptions,
    status: ExitCode,
    stdout: IO[bytes] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    failed_output: OutputError | None = None,
) -> ExitCode:
    """Print the summary, write the report files; the exit code, ``OUTPUT`` if a write failed.

    Every report is attempted even when one fails (a full disk for one file, a good one for
    another), and the SBOM's own write failure (``failed_output``) is said last, so the one
    line that explains exit 4 is the last thing on stderr.
    """
    print_summary(report, options, status, env)
    outputs: list[tuple[str, str]] = []
    if options.summary_json is not None:
        outputs.append((str(options.summary_json), "json"))
    outputs += [
        (path, format_for_path(path, default=options.report_format or "text"))
        for path in options.reports
    ]
    failures: list[OutputError] = []
    for path, report_format in outputs:
        text = render_report(report_format, report, options.fail_on, status)
        try:
            if path == "-" and stdout is not None:
                write_stdout(stdout, text.encode())
            else:
                write_atomically(Path(path), text.encode())
        except OutputError as error:
            failures.append(error)
    if failed_output is not None:
        failures.append(failed_output)
    for failure in failures:
        print(f"sbom-enrich: error: {clean_text(str(failure), 2000)}", file=sys.stderr)
    return ExitCode.OUTPUT if failures else status


def print_summary(
    report: Report,
    options: RunOptions,
    status: ExitCode,
    env: Mapping[str, str] | None = None,
) -> None:
    """The summary on stderr: all of it, or with ``-q`` the verdict; coloured on a terminal."""
    if options.quiet:
        print_verdict(report, options, status, env)
    else:
        from ..formats.text import render_text  # with the answers, not before the lookups

        _print_stderr(render_text(report, options.fail_on, status), env)


def print_verdict(
    report: Report, options: RunOptions, status: ExitCode, env: Mapping[str, str] | None = None
) -> None:
    """Only the verdict line, on stderr."""
    from ..formats.text import verdict_line

    _print_stderr(verdict_line(report, options.fail_on, status), env)


def _print_stderr(text: str, env: Mapping[str, str] | None) -> None:
    if wants_colour(sys.stderr, os.environ if env is None else env):
        text = colourize(text)
    # A closed or broken stderr must not turn the verdict into a crash: the exit code says it.
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr)


def write_result(path: Path | None, data: Payload, stdout: IO[bytes]) -> OutputError | None:
    """Write the main result (the SBOM) to ``path`` or stdout; a failure is returned, so the
    summary and the reports still come out before the run ends with exit 4.

    A reader that went away (``-o /dev/stdout | head``) is treated as for ``-``: not an error;
    the verdict stands.
    """
    try:
        if path is None:
            write_stdout(stdout, data if isinstance(data, bytes) else b"".join(data))
        else:
            write_atomically(path, data)
    except OutputError as error:
        return error
    except BrokenPipeError:
        return None
    return None
