"""The event loop a command's lookups run on: uvloop's when installed, else asyncio's own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from ..status.untrusted import clean_text

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

    uvloop (libuv, Cython) takes ~6-8% off the CPU of a cold run over https and a little
    over plain HTTP: its loop and its TLS layer run fewer Python steps per connection and
    per read than asyncio's (bench/bench_paired.py, docs/connections.md).
    """
    uvloop = None if choice == "asyncio" else _uvloop()
    if uvloop is None:
        asyncio.run(main)
    else:
        uvloop.run(main)


def load_event_loop(choice: str) -> None:
    """Import the loop's module now (before the lookup workers fork: once, not in each)."""
    if choice != "asyncio":
        _uvloop()


def running_loop_name() -> str:
    """``uvloop`` or ``asyncio`` (or the module of another loop), for the debug log."""
    module = type(asyncio.get_running_loop()).__module__
    return module.split(".", 1)[0]


def _uvloop() -> Any:
    try:
        import uvloop
    except ImportError:  # not installed (Windows: not a dependency there)
        return None
    return uvloop
