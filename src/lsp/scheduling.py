"""Scheduling in the language server: which names are looked up next, when answers are published."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from sbom_enrich.manifests import ParsedManifest

from .diagnostics import lookup_keys
from .lsp_settings import LspSettings

#: First and last line (inclusive) of a document version that differ from the version before.
LineRange = tuple[int, int]

#: A whole document is new on open: distances from line 0 keep the lookups in file order.
OPENED: LineRange = (0, 0)

#: Lookups finishing within this window are published together (one message, not hundreds).
FLUSH_DELAY = 0.03
#: While lookups are waiting, answers wait this many times as long as the last publish took:
#: publishing a big document then takes a small share of the CPU the lookups need.
PUBLISH_COST_FACTOR = 50
#: ... but never longer than this, so a long backlog still shows progress.
MAX_FLUSH_DELAY = 0.3


def changed_lines(old: Sequence[str], new: Sequence[str]) -> LineRange:
    """The lines of ``new`` that differ from ``old`` (common head and tail removed).

    Covers every edit made since ``old``, wherever they were, incremental or whole-document.
    A pure deletion gives the line where the text was removed; no change at all gives the
    line after the last one.
    """
    limit = min(len(old), len(new))
    first = 0
    while first < limit and old[first] == new[first]:
        first += 1
    old_end, new_end = len(old), len(new)
    while old_end > first and new_end > first and old[old_end - 1] == new[new_end - 1]:
        old_end -= 1
        new_end -= 1
    return first, max(first, new_end - 1)


def names_by_distance(
    manifest: ParsedManifest, settings: LspSettings, changed: LineRange
) -> dict[str, int]:
    """Each lookup key (:func:`lookup_keys`) with how many lines its nearest use is from
    ``changed``."""
    first, last = changed
    distances: dict[str, int] = {}
    for requirement in manifest.requirements:
        keys = lookup_keys(requirement, settings)
        if not keys:
            continue
        line = requirement.name_span.line
        distance = first - line if line < first else max(0, line - last)
        for name in keys:
            if distance < distances.get(name, distance + 1):
                distances[name] = distance
    return distances


class LookupQueue:
    """Names waiting for a lookup: the latest :meth:`ask` first, then the nearest to its edit.

    Each ask is a round that outranks every earlier one, so what the user just opened or typed
    is answered before the backlog of an earlier open; asking again for a queued name moves it.
    """

    def __init__(self) -> None:
        self._rank: dict[str, tuple[int, int]] = {}
        self._heap: list[tuple[tuple[int, int], str]] = []
        self._round = 0

    def __len__(self) -> int:
        return len(self._rank)

    def __contains__(self, name: object) -> bool:
        return name in self._rank

    def ask(self, distances: Mapping[str, int]) -> None:
        """Queue ``{name: distance}`` ahead of everything asked before."""
        if not distances:
            return
        self._round += 1
        for name, distance in distances.items():
            self._rank[name] = (-self._round, distance)
        # Rebuilt, not pushed onto: ranks change, and an edit is debounced (O(n) is cheap).
        self._heap = [(rank, name) for name, rank in self._rank.items()]
        heapq.heapify(self._heap)

    def pop(self) -> str | None:
        """The name to look up next, or ``None`` when nothing waits."""
        if not self._heap:
            return None
        _, name = heapq.heappop(self._heap)
        del self._rank[name]
        return name

    def clear(self) -> None:
        self._rank.clear()
        self._heap.clear()


def flush_delay(lookups_waiting: int, publish_cost: float, *, edited: bool = False) -> float:
    """Seconds to wait before publishing an answer that just arrived.

    ``lookups_waiting``: lookups queued or in flight; ``publish_cost``: seconds the last
    publish took; ``edited``: the name is on a line just edited. The answer to what was typed
    and the last answer of a backlog are published promptly; in between, the more a publish
    costs, the more answers wait to be published together.
    """
    if edited or lookups_waiting == 0:
        return FLUSH_DELAY
    return min(MAX_FLUSH_DELAY, max(FLUSH_DELAY, PUBLISH_COST_FACTOR * publish_cost))
