"""The event loop a command's lookups run on: uvloop's when installed, else asyncio's own."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

from ..status.untrusted import clean_text

logger = logging.getLogger(__name__)

#: The environment variable that picks the loop (docs/connections.md, "The event loop").
EVENT_LOOP_ENV = "SBOM_ENRICH_EVENT_LOOP"
#: ``auto``: uvloop when it can be imported (it is a dependency except on Windows), else
#: asyncio's own; ``uvloop``: uvloop or a usage error; ``asyncio``: asyncio's own loop.
EVENT_LOOPS = ("auto", "uvloop", "asyncio")


def parse_event_loop(name: str, text: str) -> str:
    """The loop ``text`` names (blank: ``auto``); ValueError for anything else, or for
    ``uvloop`` when it cannot be imported."""
    choice = text.strip().lower() or "auto"
    if choice not in EVENT_LOOPS:
        raise ValueError(
            f"{name}: unknown event loop {clean_text(text, 40)!r} "
            f"(choose from {', '.join(EVENT_LOOPS)})"
        )
    if choice == "uvloop" and _uvloop() is None:
        raise ValueError(f"{name}=uvloop, but uvloop is not installed (pip install uvloop)")
    return choice


def run_on_loop(main: Coroutine[Any, Any, None], choice: str) -> None:
    """``asyncio.run(main)`` on the loop ``choice`` names (see :data:`EVENT_LOOPS`).

    uvloop (libuv, Cython) takes 7-10% off the CPU of a cold lookup over https and 0-4%
    over plain HTTP: its TLS layer and its loop run fewer Python steps per connection and
    per read than asyncio's (paired runs: bench/bench_paired.py, docs/connections.md).
    """
    import asyncio  # here: an offline run has no event loop, nor asyncio (~20 ms of a start)

    if chosen_loop(choice) == "uvloop":
        _uvloop().run(main)
    else:
        asyncio.run(main)


def chosen_loop(choice: str) -> str:
    """``uvloop`` or ``asyncio``: the loop to run now for ``choice``.

    asyncio's whenever standard input, output or error is closed (``sbom-enrich … >&-``):
    a socket then gets descriptor 0, 1 or 2, and libuv aborts the process when it closes it
    (an assertion in ``uv__close``) where asyncio's loop closes it like any other.
    """
    if choice == "asyncio" or _uvloop() is None:
        return "asyncio"
    if not _standard_streams_open():
        logger.debug("a standard stream is closed: asyncio's event loop instead of uvloop")
        return "asyncio"
    return "uvloop"


def _standard_streams_open() -> bool:
    try:
        for descriptor in (0, 1, 2):
            os.fstat(descriptor)
    except OSError:
        return False
    return True


#: Descriptors a process needs besides its connections to the index (standard streams, the
#: loop's own, the cache database and its journal, the workers' pipes, the forges' lookups).
DESCRIPTORS_BESIDES_CONNECTIONS = 64


def fit_descriptor_limit(choice: str, connections: int) -> str:
    """``asyncio`` when the process may open too few descriptors for ``connections`` and the
    rest; else ``choice``.

    uvloop makes a socket pair each time its loop starts running (``run_until_complete``,
    four times in ``asyncio.run``): when our connections have taken every descriptor, that
    fails and leaves the loop marked running for good, so the run ends in "Cannot close a
    running event loop" (exit 5, or a worker lost with its lookups) where asyncio's loop,
    whose self-pipe is made once, loses only the lookups that found no descriptor
    (``ulimit -n 64`` with the default ``--concurrency 128``). Since the transport fits its
    connections to the limit (``status/_http/plain.py``: ``descriptor_budget``) no lookup is
    lost on either loop; the choice stays, as the cheaper way to be sure.
    """
    if choice == "asyncio" or sys.platform == "win32":
        return choice
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= connections + DESCRIPTORS_BESIDES_CONNECTIONS:
        return choice
    return "asyncio"


def load_event_loop(choice: str) -> None:
    """Import the loop's module now (before the lookup workers fork: once, not in each)."""
    if choice != "asyncio":
        _uvloop()


def running_loop_name() -> str:
    """``uvloop`` or ``asyncio`` (or the module of another loop), for the debug log."""
    import asyncio

    module = type(asyncio.get_running_loop()).__module__
    return module.split(".", 1)[0]


def _uvloop() -> Any:
    try:
        import uvloop
    except ImportError:  # not installed (Windows: not a dependency there)
        return None
    return uvloop
