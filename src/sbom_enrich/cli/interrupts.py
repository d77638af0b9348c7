"""Ctrl-C (SIGINT) ends a run with exit 130 wherever it lands, never with a kill by SIGINT.

Python's own handler raises KeyboardInterrupt, which ``main()`` answers with 130; but a
process of ``sbom-enrich`` spends time where no ``main()`` can catch it:

- *importing the command line* (~0.1 s, 0.3 s on a loaded machine; before ``main()`` runs):
  the KeyboardInterrupt ends the import with a traceback, and Python, seeing it unhandled,
  kills itself with SIGINT (exit -2 to the parent); in a weakref callback of the import
  machinery it is even lost, and the run goes on to exit 0. While the command line is
  imported, a SIGINT is only noted (:func:`hold_interrupts`), and ``main()`` raises it
  once it can answer (:func:`release_interrupts`);
- *ending the interpreter*, after ``main()`` returned: CPython (3.11) gives SIGINT back its
  default action before it frees the modules, so a SIGINT then kills the process. The run
  has its exit status by then: ``main()`` ignores SIGINT from there (:func:`ignore_interrupts`),
  and the status stands;
- *code run from text* (exec or eval of a string) that a KeyboardInterrupt leaves: CPython
  then ends a ``python -m sbom_enrich`` process killed by SIGINT, whatever ``main()``
  returned (see :func:`ignore_interrupts`, which clears that mark);
- *forking the lookup workers* (lookup_workers.py): a child has the parent's handler until it
  ignores SIGINT itself (a Ctrl-C sent to the process group then printed its traceback);
  the fork is done with SIGINT noted, raised in the parent after it (:func:`interrupts_held`).

Only a SIGINT before Python installed its handler (the first milliseconds of the process,
and the ``site`` module's start-up) is still Python's to answer.
"""

# No `from __future__ import annotations`: the __future__ module is not loaded yet when this
# runs, and until hold_interrupts() a SIGINT still kills the process; it needs none (3.10+).
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

__all__ = [
    "hold_interrupts",
    "ignore_interrupts",
    "interrupts_held",
    "release_interrupts",
    "started_as_the_program",
]

#: SIGINTs that arrived while held, not yet raised.
_held: list[int] = []


def _note(signum: int, frame: FrameType | None) -> None:
    _held.append(signum)


def started_as_the_program() -> bool:
    """Whether this process was started as sbom-enrich (the console script, or ``python -m
    sbom_enrich``): known from ``__main__`` before :func:`~.entry.main` runs."""
    started = sys.modules.get("__main__")
    spec_name = getattr(getattr(started, "__spec__", None), "name", None)
    script = os.path.basename(getattr(started, "__file__", None) or "")
    return spec_name == "sbom_enrich.__main__" or script in ("sbom-enrich", "sbom-enrich.exe")


def hold_interrupts() -> bool:
    """From now on a SIGINT is noted, not raised, until :func:`release_interrupts`; False
    (nothing changed) when SIGINT is not Python's own handler's or this is not the main
    thread."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    try:
        signal.signal(signal.SIGINT, _note)
    except ValueError:  # not the main thread
        return False
    return True


def release_interrupts() -> None:
    """Python's own SIGINT handler again (asyncio.run cancels the lookups on it), and the
    KeyboardInterrupt of a SIGINT noted meanwhile raised now."""
    if signal.getsignal(signal.SIGINT) is _note:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if _held:
        _held.clear()
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """The block with SIGINT noted (processes forked in it start so), then raised after it."""
    if not hold_interrupts():
        yield
        return
    try:
        yield
    finally:
        release_interrupts()


def ignore_interrupts() -> None:
    """SIGINT ignored for the rest of the process: the run has its exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # CPython (3.11 to 3.13) marks a KeyboardInterrupt that left code run from text (exec or
    # eval of a string: dataclasses and namedtuples make their methods so, when a module is
    # imported) as unhandled, even when main() handled it afterwards, and under `python -m`
    # kills the process with SIGINT for it once the interpreter has ended (exit -2 after
    # "interrupted" was printed). Each run of code from text clears the mark: this one.
    eval("None")
