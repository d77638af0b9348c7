"""A crafted graph cannot make chains (and so every report) quadratic in its size."""

from __future__ import annotations

from sbom_enrich.findings.graph import (
    MAX_CHAIN_STEPS,
    DependencyGraph,
    chain_length,
    chains_to,
    elided_steps,
)


def _line(count: int) -> DependencyGraph:
    """app → p0 → p1 → … → p{count-1}: one package per step, as a crafted lock can say."""
    edges = {f"p{i}": (f"p{i + 1}",) for i in range(count - 1)}
    edges["app"] = ("p0",)
    return DependencyGraph(edges=edges, roots=("app",), direct=frozenset({"p0"}))


def test_a_chain_thousands_of_steps_long_keeps_its_ends_and_counts_the_middle() -> None:
    count = 5_000
    chains = chains_to(_line(count), {f"p{i}" for i in range(count)})
    assert len(chains) == count
    # Every step of every chain: 12.5 million names before, a few hundred thousand now.
    assert max(len(chain) for chain in chains.values()) <= MAX_CHAIN_STEPS + 1
    last = chains[f"p{count - 1}"]
    assert last[:4] == ("app", "p0", "p1", "p2")
    assert last[-1] == f"p{count - 1}"
    assert elided_steps(last[4]) > 0
    assert chain_length(last) == count + 1  # app and every package, none lost in the count


def test_a_chain_within_the_bound_is_every_step() -> None:
    chains = chains_to(_line(MAX_CHAIN_STEPS), {f"p{MAX_CHAIN_STEPS - 1}"})
    (chain,) = chains.values()
    assert chain == ("app", *(f"p{i}" for i in range(MAX_CHAIN_STEPS)))
    assert not any(elided_steps(name) for name in chain)
