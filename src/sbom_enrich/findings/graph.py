"""Dependency graphs (lock-file edges, CycloneDX ``dependencies``) and why a package is there."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

import msgspec
from msgspec.structs import replace

__all__ = [
    "MAX_CHAIN_STEPS",
    "DependencyGraph",
    "chain_length",
    "chains_to",
    "elided_steps",
    "shortest_chain",
]

#: Most names a chain keeps: its first 3, a marker saying how many were left out, the rest
#: from its end. Real chains are far shorter; a crafted lock of 4,000 packages in one line
#: made 8 million chain steps (a 23 GB SARIF report) when every chain kept every step.
MAX_CHAIN_STEPS = 32
_HEAD = 3
_TAIL = MAX_CHAIN_STEPS - _HEAD - 1
_ELIDED = re.compile(r"^… (\d+) more$")


class DependencyGraph(msgspec.Struct, frozen=True):
    """Who depends on whom, by canonical name, and where the project's own dependencies start.

    ``roots`` are the project itself (uv workspace members, an SBOM's ``metadata.component``);
    ``direct`` its own dependencies (the roots' edges, or a manifest beside the lock that
    states them). ``has_edges`` is False for formats that record none (Pipfile.lock): there a
    package is known to be transitive, but not through what.
    """

    edges: Mapping[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    roots: tuple[str, ...] = ()
    direct: frozenset[str] = frozenset()
    has_edges: bool = True

    @property
    def knows_direct(self) -> bool:
        """Whether direct and transitive can be told apart at all."""
        return bool(self.direct)

    def with_direct(self, names: Iterable[str], roots: Iterable[str] = ()) -> DependencyGraph:
        """This graph with ``names`` as the direct dependencies (from a manifest beside it), each
        an edge from the first of ``roots`` (the project, named by that manifest)."""
        direct = frozenset(names)
        if self.roots or not roots:
            return replace(self, direct=direct)
        root = next(iter(roots))
        edges = {**self.edges, root: tuple(sorted(direct))}
        return replace(self, direct=direct, roots=(root,), edges=edges)

    def is_direct(self, name: str) -> bool | None:
        """True/False when known, None when nothing says which dependencies are direct."""
        return name in self.direct if self.direct else None


def _root_of(graph: DependencyGraph, direct: str) -> str | None:
    return next((r for r in graph.roots if direct in graph.edges.get(r, ())), None)


def chains_to(graph: DependencyGraph, targets: Collection[str]) -> dict[str, tuple[str, ...]]:
    """The shortest chain ``(root, direct, ..., target)`` to each reachable target.

    One breadth-first search from all direct dependencies at once (so a chain starts at the
    nearest one), stopped once every target is reached; a direct target's chain is
    ``(root, target)``, or ``(target,)`` when no root is known. Unreachable targets are left
    out. Cycles are harmless (each name is visited once); ties go to the dependency listed
    first, direct dependencies in sorted order, so the answer is stable. A chain longer than
    :data:`MAX_CHAIN_STEPS` keeps its first and last names with ``"… N more"`` between them:
    every report repeats each chain, so a crafted lock must not make them quadratic.
    """
    wanted = set(targets)
    if not wanted or not graph.direct:
        return {}
    # Per name reached: its BFS parent, its chain's length and its chain's first names, so a
    # long chain is cut without walking it; one entry, not a dict each (a 10,000-component
    # SBOM's search reaches nearly every name).
    reached: dict[str, tuple[str | None, int, tuple[str, ...]]] = {}
    frontier = sorted(graph.direct)
    for name in frontier:
        reached[name] = (None, 1, (name,))
    remaining = len(wanted.difference(frontier))
    edges = graph.edges
    length = 1
    # Level by level, each in the order the names were reached: a queue's order, with each
    # level's length known once. A name's parent, length and first names are set when it is
    # first reached and never change, so the search stops once every target is reached.
    while frontier and remaining:
        length += 1
        following: list[str] = []
        for name in frontier:
            dependencies = edges.get(name)
            if not dependencies:
                continue
            first = reached[name][2]
            short = len(first) < _HEAD
            for dependency in dependencies:
                if dependency not in reached:
                    reached[dependency] = (
                        name,
                        length,
                        (*first, dependency) if short else first,
                    )
                    following.append(dependency)
                    if dependency in wanted:
                        remaining -= 1
        frontier = following
    found: dict[str, tuple[str, ...]] = {}
    roots: dict[str, str | None] = {}
    for target in wanted:
        if target not in reached:
            continue
        chain = _chain(target, reached)
        start = chain[0]
        if start not in roots:
            roots[start] = _root_of(graph, start)
        root = roots[start]
        found[target] = (root, *chain) if root else chain
    return found


def _chain(
    target: str, reached: Mapping[str, tuple[str | None, int, tuple[str, ...]]]
) -> tuple[str, ...]:
    """The chain to ``target`` from the BFS parents, its middle elided past MAX_CHAIN_STEPS."""
    _, length, first = reached[target]
    keep = length if length <= MAX_CHAIN_STEPS else _TAIL
    tail: list[str] = []
    step: str | None = target
    while step is not None and len(tail) < keep:
        tail.append(step)
        step = reached[step][0]
    tail.reverse()
    if keep == length:
        return tuple(tail)
    return (*first, f"… {length - _HEAD - _TAIL} more", *tail)


def elided_steps(name: str) -> int:
    """How many steps a chain's elision marker stands for; 0 for a package's name."""
    match = _ELIDED.match(name)
    return int(match[1]) if match else 0


def chain_length(chain: Iterable[str]) -> int:
    """How many packages ``chain`` names, counting those its elision marker stands for."""
    return sum(elided_steps(name) or 1 for name in chain)


def shortest_chain(graph: DependencyGraph, target: str) -> tuple[str, ...]:
    """The shortest chain from a direct dependency to ``target``; () when none leads there."""
    return chains_to(graph, (target,)).get(target, ())
