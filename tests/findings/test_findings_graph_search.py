"""The shortest chains are a plain breadth-first search's, ties and elisions included."""

from __future__ import annotations

import random
from collections import deque

import pytest

from sbom_enrich.findings.graph import MAX_CHAIN_STEPS, DependencyGraph, chains_to


def queue_search(graph: DependencyGraph, targets: set[str]) -> dict[str, tuple[str, ...]]:
    """The rule written out plainly: one queue from the sorted direct dependencies, each name
    visited once, whole chains kept, the middle of a long one elided at the end."""
    if not targets or not graph.direct:
        return {}
    chains: dict[str, tuple[str, ...]] = {}
    queue: deque[str] = deque()
    for name in sorted(graph.direct):
        chains[name] = (name,)
        queue.append(name)
    while queue:
        name = queue.popleft()
        for dependency in graph.edges.get(name, ()):
            if dependency not in chains:
                chains[dependency] = (*chains[name], dependency)
                queue.append(dependency)
    found = {}
    for target in targets & chains.keys():
        chain = chains[target]
        if len(chain) > MAX_CHAIN_STEPS:
            tail = MAX_CHAIN_STEPS - 4
            chain = (*chain[:3], f"… {len(chain) - 3 - tail} more", *chain[-tail:])
        root = next((r for r in graph.roots if chain[0] in graph.edges.get(r, ())), None)
        found[target] = (root, *chain) if root else chain
    return found


def random_graph(rng: random.Random, size: int) -> tuple[DependencyGraph, set[str]]:
    """A layered graph with cycles and repeated edges; half of them a long spine (few direct
    dependencies at its start, an edge to the next name, others forward one or two steps or
    back) whose chains
    run past MAX_CHAIN_STEPS."""
    names = [f"p{i}" for i in range(size)]
    spine = rng.random() < 0.5
    reach = 2 if spine else 4
    edges: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(names):
        if spine or rng.random() < 0.8:
            count = rng.choice([1, 1, 2] if spine else [0, 1, 1, 2, 3, 5])
            edges[name] = tuple(
                names[min(size - 1, i + rng.randint(1, reach))]
                if rng.random() < 0.85
                else rng.choice(names[: i + 1] if spine else names)
                for _ in range(count)
            )
            if spine:  # every name on it reached, most far from the start
                edges[name] += (names[min(size - 1, i + 1)],)
    pool = names[:10] if spine else names
    direct = frozenset(rng.sample(pool, rng.randint(1, max(1, len(pool) // 5))))
    roots: tuple[str, ...] = ()
    if rng.random() < 0.5:
        roots = ("app",)
        edges["app"] = tuple(sorted(direct))
    targets = set(rng.sample(names, rng.randint(0, size // 3))) | {"absent"}
    return DependencyGraph(edges=edges, roots=roots, direct=direct), targets


@pytest.mark.parametrize("seed", range(40))
def test_chains_are_the_plain_searchs_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    graph, targets = random_graph(rng, rng.choice([5, 30, 200, 600]))
    assert chains_to(graph, targets) == queue_search(graph, targets)


def test_the_random_graphs_have_long_chains_and_ties() -> None:
    # What the test above needs to mean something: elided chains, and searches from
    # several direct dependencies at once.
    graphs = [random_graph(random.Random(seed), 600) for seed in range(10)]
    chains = [c for graph, targets in graphs for c in chains_to(graph, targets).values()]
    assert sum(any(step.startswith("… ") for step in chain) for chain in chains) > 50
    assert sum(len(graph.direct) > 3 for graph, _ in graphs) >= 3


def test_a_long_path_with_shortcuts_keeps_the_shortest_and_the_first_listed() -> None:
    # A chain of 100, with a shortcut from step 10 to 60 listed after the long way.
    names = [f"n{i}" for i in range(100)]
    edges = {a: (b,) for a, b in zip(names, names[1:], strict=False)}
    edges["n10"] = ("n11", "n60")
    edges["n11"] = ("n12", "n60")  # a tie one level later loses to the shorter chain
    graph = DependencyGraph(edges=edges, direct=frozenset({"n0"}))
    targets = {"n99", "n60", "n30", "n5"}
    assert chains_to(graph, targets) == queue_search(graph, targets)
    assert chains_to(graph, {"n61"})["n61"][:13] == (*names[:11], "n60", "n61")
