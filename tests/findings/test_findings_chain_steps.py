"""Chain steps named when first read: equal to steps named at once, in every way."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone

import pytest

from sbom_enrich.enrich import load_sbom
from sbom_enrich.enrich.run import apply_records
from sbom_enrich.findings.alternatives import AlternativesCatalog
from sbom_enrich.findings.chains import sbom_chain_marks
from sbom_enrich.findings.graph import DependencyGraph, chains_to
from sbom_enrich.findings.model import ChainStep
from sbom_enrich.status.model import ProjectStatus, StatusRecord


class CountingNames(Mapping[str, str]):
    """Names by bom-ref that count how often they are read."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.reads.append(key)
        return self.names[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def test_a_step_named_later_is_the_step_named_at_once() -> None:
    names = CountingNames({"ref-a": "Alpha"})
    later, unnamed = ChainStep.named_later("ref-a", names), ChainStep.named_later("ref-b", names)
    assert names.reads == []
    assert later == ChainStep("Alpha") and hash(later) == hash(ChainStep("Alpha"))
    assert repr(unnamed) == repr(ChainStep("ref-b"))  # no name: its key, as names.get says
    assert (later.name, later.location, type(later)) == ("Alpha", None, ChainStep)
    assert names.reads == ["ref-a", "ref-b"]
    later.name  # noqa: B018  (read again: kept, not asked again)
    assert names.reads == ["ref-a", "ref-b"]


def test_copies_and_pickles_of_a_step_named_later_hold_its_name() -> None:
    names = CountingNames({"ref-a": "Alpha"})
    for made in (
        pickle.loads(pickle.dumps(ChainStep.named_later("ref-a", names))),
        copy.copy(ChainStep.named_later("ref-a", names)),
        copy.deepcopy(ChainStep.named_later("ref-a", names)),
        dataclasses.replace(ChainStep.named_later("ref-a", names)),
    ):
        assert made == ChainStep("Alpha")
        assert vars(made) == {"name": "Alpha", "location": None}
    assert dataclasses.asdict(ChainStep.named_later("ref-a", names)) == {
        "name": "Alpha",
        "location": None,
    }


@pytest.mark.parametrize("later", [False, True])
def test_a_missing_attribute_of_a_step_is_still_an_attribute_error(later: bool) -> None:
    step = ChainStep.named_later("x", {}) if later else ChainStep("x")
    with pytest.raises(AttributeError, match="nonsense"):
        step.nonsense  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(step, "nonsense")


def test_chain_marks_read_no_name_until_a_step_is_shown() -> None:
    # root → a → b → c, and c is noteworthy: its chain names root, a, b and c.
    edges = {"root": ("a",), "a": ("b",), "b": ("c",), "c": ()}
    names = CountingNames({"root": "app", "a": "A", "b": "B", "c": "C"})
    marks = sbom_chain_marks(
        [("a", False, False), ("c", False, True), ("b", False, False)], edges, "root", names
    )
    assert names.reads == []  # a warm 10,000-component XML run read 3,200 names here
    assert marks[0] == (True, ())
    assert marks[2] == (False, ())  # transitive, not noteworthy: no chain
    direct, via = marks[1]
    assert direct is False
    assert [step.name for step in via] == ["app", "A", "B", "C"]
    assert via == tuple(ChainStep(name) for name in ("app", "A", "B", "C"))


XML_SBOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <metadata><component type="application" bom-ref="app"><name>my-app</name></component>
  </metadata>
  <components>
    <component type="library" bom-ref="ref-a"><name>  Requests </name><version>1.0</version>
      <purl>pkg:pypi/requests@1.0</purl></component>
    <component type="library" bom-ref="ref-b"><name>Old_Lib</name><version>2.0</version>
      <purl>pkg:pypi/old-lib@2.0</purl></component>
  </components>
  <dependencies>
    <dependency ref="app"><dependency ref="ref-a"/></dependency>
    <dependency ref="ref-a"><dependency ref="ref-b"/></dependency>
  </dependencies>
</bom>
"""


def test_an_xml_sboms_chain_names_are_its_components_names_after_it_is_written() -> None:
    sbom = load_sbom(XML_SBOM, source="sbom.xml")
    index = "https://pypi.org/simple/"
    checked = datetime(2026, 12, 1, tzinfo=timezone.utc)
    records = {
        (index, "requests"): StatusRecord("requests", ProjectStatus.ACTIVE, index, checked),
        (index, "old-lib"): StatusRecord("old-lib", ProjectStatus.ARCHIVED, index, checked),
    }
    report = apply_records(sbom, records, AlternativesCatalog(), default_index=index)
    b"".join(sbom.to_chunks())  # written first, as the CLI does, then the summary reads them
    by_name = {finding.name: finding for finding in report.findings}
    assert by_name["requests"].direct is True
    assert by_name["old-lib"].via == (
        ChainStep("my-app"),
        ChainStep("Requests"),  # the component's name, stripped
        ChainStep("Old_Lib"),
    )


def reference_marks(
    candidates: list[tuple[str | None, bool, bool]],
    edges: dict[str, tuple[str, ...]],
    root: str | None,
    names: Mapping[str, str],
) -> list[tuple[bool | None, tuple[ChainStep, ...]]]:
    """The marks as the first version made them: every candidate listed, names read at once."""
    if not edges:
        return [(None, ())] * len(candidates)
    if root is not None and edges.get(root):
        direct = frozenset(edges[root])
        graph = DependencyGraph(edges=edges, roots=(root,), direct=direct)
    else:
        depended_on = {d for deps in edges.values() for d in deps}
        direct = frozenset(set(edges) - depended_on)
        graph = DependencyGraph(edges=edges, direct=direct)
    transitive = {ref for ref, _, worth in candidates if ref and worth and ref not in direct}
    chains = chains_to(graph, transitive)
    marks: list[tuple[bool | None, tuple[ChainStep, ...]]] = []
    for ref, subject, _ in candidates:
        if ref is None or subject:
            marks.append((None, ()))
        elif ref in direct:
            marks.append((True, ()))
        else:
            chain = chains.get(ref)
            steps = tuple(ChainStep(names.get(step, step)) for step in chain or ())
            marks.append((False, steps))
    return marks


@pytest.mark.parametrize("seed", range(40))
def test_chain_marks_are_those_of_every_candidate_listed_first(seed: int) -> None:
    rng = random.Random(seed)
    refs = [f"r{i}" for i in range(rng.randrange(1, 40))] + [""]
    edges = {
        ref: tuple(rng.sample(refs, min(len(refs), rng.randrange(0, 4))))
        for ref in refs
        if rng.random() < 0.8
    }
    root = rng.choice([None, "r0", "nowhere"])
    names = {ref: ref.upper() for ref in refs if rng.random() < 0.7}
    candidates = [
        (rng.choice([None, *refs]), rng.random() < 0.05, rng.random() < 0.4)
        for _ in range(rng.randrange(0, 60))
    ]  # bom-refs repeat, some are blank or missing, a few name the subject
    assert sbom_chain_marks(candidates, edges, root, names) == reference_marks(
        candidates, edges, root, names
    )
