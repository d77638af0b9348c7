"""Dependency graphs (lock-file edges, CycloneDX ``dependencies``) and why a package is there."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace

__all__ = ["DependencyGraph", "chains_to", "shortest_chain"]


@dataclass(frozen=True)
class DependencyGraph:
    """Who depends on whom, by canonical name, and where the project's own dependencies start.

    ``roots`` are the project itself (uv workspace members, an SBOM's ``metadata.component``);
    ``direct`` its own dependencies (the roots' edges, or a manifest beside the lock that
    states them). ``has_edges`` is False for formats that record none (Pipfile.lock): there a
    package is known to be transitive, but not through what.
    """

    edges: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
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
    first, direct dependencies in sorted order, so the answer is stable.
    """
    wanted = set(targets)
    if not wanted or not graph.direct:
        return {}
    parent: dict[str, str | None] = {}
    queue: deque[str] = deque()
    for name in sorted(graph.direct):
        parent[name] = None
        queue.append(name)
    found: dict[str, tuple[str, ...]] = {}
    remaining = len(wanted)
    while queue and remaining:
        name = queue.popleft()
        if name in wanted:
            remaining -= 1
        for dependency in graph.edges.get(name, ()):
            if dependency not in parent:
                parent[dependency] = name
                queue.append(dependency)
    for target in wanted:
        if target not in parent:
            continue
        chain = [target]
        step = parent[target]
        while step is not None:
            chain.append(step)
            step = parent[step]
        chain.reverse()
        root = _root_of(graph, chain[0])
        found[target] = (root, *chain) if root else tuple(chain)
    return found


def shortest_chain(graph: DependencyGraph, target: str) -> tuple[str, ...]:
    """The shortest chain from a direct dependency to ``target``; () when none leads there."""
    return chains_to(graph, (target,)).get(target, ())
