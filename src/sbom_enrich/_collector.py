"""The one owner of how a run uses Python's cyclic garbage collector (pauses, freezes, tuning).

A run of sbom-enrich makes large amounts of acyclic data that live as long as the run (the
imports, a parsed SBOM, every record and finding): the collector walking them again and again
found nothing and cost a sizeable part of the run. What is done about it, and why, is here:

- :func:`import_paused` / :func:`import_done`: the command line's import (``cli/__init__``);
- :func:`collect_less`, :func:`keep_until_exit`, :func:`freeze_at_exit`: a process started
  as sbom-enrich for one short command (``cli/entry``, a lookup worker);
- :func:`long_lived_heap`, :func:`parse_frozen`: one command over a large document
  (``cli/enrich``);
- :func:`frozen_for_fork` / :func:`thaw_after_fork`: the lookup workers' fork;
- ``enrich/json_sbom._collector_paused`` (reading a JSON document with the collector off, then
  its containers moved to the oldest generation) is the one rule kept beside its reader.

Imports nothing of ours: every layer may use it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def import_paused() -> bool:
    """The collector off for an import; returns whether it was on (for :func:`import_done`).

    The command line's import allocates ~50,000 objects; with the collector on, ~35 young
    collections walk them (~6 ms of every start, before any work)."""
    collecting = gc.isenabled()
    gc.disable()
    return collecting


def import_done(collecting: bool, *, freeze: bool) -> None:
    """After :func:`import_paused`: what the import made frozen (``freeze``: a process started
    for a one-shot command, which :func:`collect_less` freezes anyway, only later), and the
    collector on again as the caller had it."""
    if collecting:
        if freeze:
            gc.freeze()
        gc.enable()


#: A young collection every this many new container objects instead of Python's 700: a cold
#: run of 1,000 lookups made ~240 collections (~6% of its CPU), nearly all of them scanning
#: page trees still being read; the few cycles (asyncio's) are freed a little later.
YOUNG_COLLECTION = 20_000


def collect_less() -> None:
    """Garbage collection for one short run of sbom-enrich in a process of its own (never for
    a program that calls ``main()``): what is alive now — the imports — stays until the
    process ends, so it is frozen out of every collection, and young collections are rarer.
    What the command hands :func:`keep_until_exit` is then never freed."""
    global _kept
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])
    if _kept is None:
        _kept = []
        _kept.append(_kept)  # a cycle: once frozen (freeze_at_exit), no collection frees it


#: What a process started for one short command keeps to its end (None in any other).
_kept: list[Any] | None = None


def keep_until_exit(*values: object) -> None:
    """In a process started for one short command (:func:`collect_less` ran): ``values`` are
    held to the end and never freed, neither when the command returns nor at the
    interpreter's exit (a cycle :func:`freeze_at_exit` freezes; collections skip frozen
    objects).

    Freeing a large SBOM's million objects one by one when the command returns was ~35 ms of
    a warm 10,000-component run (the document, its records and findings), for memory the
    process gives back at once when it ends. Anywhere else (a program that calls ``main()``,
    the tests) nothing is kept.
    """
    if _kept is not None:
        _kept.append(values)


def freeze_at_exit() -> None:
    """The program's status is decided and it is about to end: everything alive is frozen.

    The interpreter's exit collects every object it frees, ~50 ms of a run with 1,000
    lookups; the process ends now, so none of that is needed."""
    gc.freeze()


#: Second-generation collections that must pass before a full one, during a command that
#: holds a parsed SBOM (Python's default is 10).
FULL_COLLECTION_EVERY = 10_000


@contextlib.contextmanager
def long_lived_heap() -> Iterator[None]:
    """One command over a large document: full collections deferred, the frozen thawed.

    A run holds what it reads (the document, every record, every finding) to its end, and
    nearly all of it is acyclic: each full collection walked it all for nothing (two in a warm
    10,000-component run after :func:`parse_frozen`, ~0.06 s; six in a cold one, ~0.17 s).
    The young generations still collect what dies young (the lookups' cycles), so memory
    stays as it was. On the way out the thresholds come back and what ``parse_frozen`` froze
    is thawed, so a process that runs several commands (the tests) can collect it again.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def parse_frozen(parse: Callable[[], T]) -> T:
    """``parse()`` with the cyclic garbage collector paused, and what it built then frozen.

    A parsed 10,000-component SBOM is over a million containers that live as long as the
    command and hold no garbage cycles; each full collection walked them all (four in a warm
    JSON run, ~0.35 s of CPU), and left in the youngest generation they would all be walked
    by its next collection. Frozen (``gc.freeze``), collections skip them, and the collector
    still runs for everything the lookups make. Call it inside :func:`long_lived_heap`, which
    thaws them when the command ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return parse()
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def frozen_for_fork() -> bool:
    """Before forking lookup workers: what is alive now lives as long as the run, so it is
    frozen: a worker's full collections skip it (~0.05 s of CPU a worker) and do not write to
    its pages (copy-on-write). Returns whether :func:`thaw_after_fork` should thaw it (nothing
    was frozen before: a caller's own frozen objects are its business)."""
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    return thaw


def thaw_after_fork(thaw: bool) -> None:
    """The workers are forked (or failed to be): what :func:`frozen_for_fork` froze is thawed
    when it said so."""
    if thaw and gc.get_freeze_count():
        gc.unfreeze()
