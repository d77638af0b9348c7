"""Reading a file a repository names: a regular file only, judged on what was opened."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["read_regular_file"]

#: Opening a FIFO for reading without it waits for a writer forever; a regular file ignores it.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; OSError for anything but a regular file (EINVAL)
    or one larger than ``limit`` (EFBIG).

    The type is told by ``fstat`` of the descriptor opened, not by a ``stat`` of the name
    before: a hostile checkout (or a process racing the reader) could swap the file for a
    FIFO in between, which hung the reader, or for ``/dev/zero``. Opened without blocking,
    so a FIFO with no writer is refused at once rather than waited on.
    """
    descriptor = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError:
        os.close(descriptor)
        raise
    if not regular:  # a directory, a FIFO, a device, a socket
        os.close(descriptor)
        raise OSError(errno.EINVAL, "not a regular file")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit // 2**20} MB")
    return data
