"""Direct or transitive, and why: chains for SBOM findings from CycloneDX ``dependencies``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .graph import DependencyGraph, chains_to
from .model import ChainStep

__all__ = ["ChainCandidate", "ChainMark", "sbom_chain_marks"]

#: What the marks need to know of a finding-to-be: its bom-ref, whether it is the SBOM's
#: subject, and whether it is noteworthy (only those get a chain).
ChainCandidate = tuple[str | None, bool, bool]
#: ``(direct, via)`` for a finding: Finding's fields of the same names.
ChainMark = tuple[bool | None, tuple[ChainStep, ...]]

_UNKNOWN: ChainMark = (None, ())
_DIRECT: ChainMark = (True, ())
_NO_CHAIN: ChainMark = (False, ())


def sbom_chain_marks(
    candidates: Sequence[ChainCandidate],
    edges: Mapping[str, tuple[str, ...]],
    root: str | None,
    names: Mapping[str, str],
) -> list[ChainMark]:
    """Each candidate marked direct or not by bom-ref, and each noteworthy transitive one given
    the shortest chain from the SBOM's subject (``root``), each step by its component's name.

    Without a subject that has a ``dependencies`` entry (cyclonedx-py's ``environment``
    without ``--pyproject``), the direct ones are those nothing depends on: what was
    installed by name. Without any ``dependencies``, nothing is marked: nothing says.
    A candidate without a bom-ref, and the subject itself, are never marked.
    """
    if not edges:
        return [_UNKNOWN] * len(candidates)
    if root is not None and edges.get(root):
        direct = frozenset(edges[root])
        graph = DependencyGraph(edges=edges, roots=(root,), direct=direct)
    else:
        depended_on = {d for deps in edges.values() for d in deps}
        direct = frozenset(set(edges) - depended_on)
        graph = DependencyGraph(edges=edges, direct=direct)
    transitive = {
        ref for ref, _, noteworthy in candidates if ref and noteworthy and ref not in direct
    }
    chains = chains_to(graph, transitive)
    # One step per ref, shared by every chain through it (steps are values; chains from one
    # subject share their first steps).
    steps: dict[str, ChainStep] = {}
    marks: list[ChainMark] = []
    for ref, subject, _ in candidates:
        if ref is None or subject:
            marks.append(_UNKNOWN)
        elif ref in direct:
            marks.append(_DIRECT)
        else:
            chain = chains.get(ref)
            if chain:
                for step in chain:
                    if step not in steps:
                        steps[step] = ChainStep.named_later(step, names)
                marks.append((False, tuple(map(steps.__getitem__, chain))))
            else:
                marks.append(_NO_CHAIN)
    return marks
