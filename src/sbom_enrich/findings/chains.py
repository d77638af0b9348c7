"""Direct or transitive, and why: chains for SBOM findings from CycloneDX ``dependencies``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain

from .graph import DependencyGraph, chains_to
from .model import ChainStep

__all__ = ["ChainCandidate", "ChainMark", "SbomChains", "sbom_chain_marks"]

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
    the shortest chain from the SBOM's subject (``root``): :class:`SbomChains`' marks."""
    noteworthy = [ref for ref, _, worth_a_chain in candidates if worth_a_chain]
    mark = SbomChains(edges, root, names, noteworthy).mark
    return [mark(ref, subject) for ref, subject, _ in candidates]


class SbomChains:
    """Direct or transitive by bom-ref, and the shortest chain from the SBOM's subject
    (``root``) to each bom-ref in ``noteworthy``, each step by its component's name (read
    when first shown: :meth:`ChainStep.named_later`).

    Without a subject that has a ``dependencies`` entry (cyclonedx-py's ``environment``
    without ``--pyproject``), the direct ones are those nothing depends on: what was
    installed by name. Without any ``dependencies``, nothing is marked: nothing says.
    A component without a bom-ref, and the subject itself, are never marked. Asked one
    component at a time (:meth:`mark`), so that a run need not list them all first.
    """

    __slots__ = ("_direct", "_known", "_marks")

    def __init__(
        self,
        edges: Mapping[str, tuple[str, ...]],
        root: str | None,
        names: Mapping[str, str],
        noteworthy: Iterable[str | None],
    ) -> None:
        self._known = bool(edges)
        self._marks: dict[str, ChainMark] = {}
        if not edges:
            self._direct: frozenset[str] = frozenset()
            return
        if root is not None and edges.get(root):
            direct = frozenset(edges[root])
            graph = DependencyGraph(edges=edges, roots=(root,), direct=direct)
        else:
            # Every ref something depends on, gathered in C: a set comprehension over ten
            # thousand entries was a fiftieth of the enrichment.
            depended_on = set(chain.from_iterable(edges.values()))
            direct = frozenset(set(edges) - depended_on)
            graph = DependencyGraph(edges=edges, direct=direct)
        self._direct = direct
        transitive = {ref for ref in noteworthy if ref and ref not in direct}
        # One step per ref, shared by every chain through it (steps are values; chains from
        # one subject share their first steps).
        steps: dict[str, ChainStep] = {}
        for ref, refs in chains_to(graph, transitive).items():
            for step in refs:
                if step not in steps:
                    steps[step] = ChainStep.named_later(step, names)
            self._marks[ref] = (False, tuple(map(steps.__getitem__, refs)))

    def mark(self, ref: str | None, subject: bool) -> ChainMark:
        """``(direct, via)`` for a component with bom-ref ``ref`` (``subject``: the SBOM's
        own): a chain only for a bom-ref given as noteworthy that is not direct."""
        if ref is None or subject or not self._known:
            return _UNKNOWN
        if ref in self._direct:
            return _DIRECT
        return self._marks.get(ref, _NO_CHAIN)
