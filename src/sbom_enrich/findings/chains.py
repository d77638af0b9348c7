"""Direct or transitive, and why: chains for SBOM findings from CycloneDX ``dependencies``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from .graph import DependencyGraph, chains_to
from .model import ChainStep, Finding

__all__ = ["with_sbom_chains"]


def with_sbom_chains(
    findings: Sequence[Finding],
    edges: Mapping[str, tuple[str, ...]],
    root: str | None,
    names: Mapping[str, str],
) -> list[Finding]:
    """``findings`` marked direct or not by bom-ref, and each noteworthy transitive one given
    the shortest chain from the SBOM's subject (``root``), each step by its component's name.

    Without a subject that has a ``dependencies`` entry (cyclonedx-py's ``environment``
    without ``--pyproject``), the direct ones are those nothing depends on: what was
    installed by name. Without any ``dependencies``, nothing changes: nothing says.
    """
    if not edges:
        return list(findings)
    if root is not None and edges.get(root):
        graph = DependencyGraph(edges=edges, roots=(root,), direct=frozenset(edges[root]))
    else:
        depended_on = {d for deps in edges.values() for d in deps}
        graph = DependencyGraph(edges=edges, direct=frozenset(set(edges) - depended_on))
    transitive = {
        f.bom_ref for f in findings if f.bom_ref and f.noteworthy and not graph.is_direct(f.bom_ref)
    }
    chains = chains_to(graph, transitive)
    marked = []
    for finding in findings:
        if finding.bom_ref is None or finding.subject:
            marked.append(finding)
            continue
        direct = bool(graph.is_direct(finding.bom_ref))
        chain = () if direct else chains.get(finding.bom_ref, ())
        via = tuple(ChainStep(names.get(ref, ref)) for ref in chain)
        marked.append(replace(finding, direct=direct, via=via))
    return marked
