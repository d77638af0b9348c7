"""Where each finding's component is written in the SBOM file, for located reports (SARIF)."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from msgspec.structs import replace

from ..errors import SbomError
from ..findings.model import Finding, Location
from . import PypiComponent, load_sbom
from .document import FORMULATION, TOOLS, make_pypi_component
from .json_sbom import properties_problem
from .load import detect_format

logger = logging.getLogger(__name__)

#: What a finding and its component have in common; equal keys are told apart by their order.
_Key = tuple[str | None, str | None, str | None]

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def locate_findings(findings: Sequence[Finding], data: bytes, source: str) -> tuple[Finding, ...]:
    """Give noteworthy findings the line where their own component's purl is written.

    Findings are made in ``Sbom.pypi_components()`` order, so the n-th finding with a given
    (purl, bom-ref, version) is the n-th such component: components that share a purl (one
    package under two parents, a merge tool's duplicates) each get their own line. The version
    is in the key because an ignore can drop one version's findings and keep another's. As
    before, clean active findings stay unlocated: no report shows a place for them.
    """
    if not any(finding.noteworthy for finding in findings):
        return tuple(findings)
    try:
        places = component_lines(data, source)
    except (SbomError, ValueError, RecursionError) as error:
        # Not expected (enrichment has read this document); the reports still work without lines.
        logger.warning("could not locate components in %s: %s", source, error)
        return tuple(findings)
    lines: dict[_Key, list[int]] = {}
    for component, line in places:
        key: _Key = (component.purl, component.bom_ref, component.version)
        lines.setdefault(key, []).append(line)
    seen: Counter[_Key] = Counter()
    located = []
    for finding in findings:
        key = (finding.purl, finding.bom_ref, finding.version)
        candidates = lines.get(key, [])
        index = seen[key]
        seen[key] += 1
        if finding.noteworthy and index < len(candidates) and candidates[index]:
            finding = replace(finding, location=Location(source, candidates[index]))
        located.append(finding)
    return tuple(located)


def component_lines(data: bytes, source: str) -> list[tuple[PypiComponent, int]]:
    """Every PyPI component in ``pypi_components()`` order, with its purl's line (0: unknown).

    One pass over the document: XML line numbers come from the parser; JSON is walked as text
    with the JSON decoder skipping every value that cannot hold a component.
    """
    if detect_format(data) == "json":
        text = data.decode("utf-8-sig")
        walk = _JsonComponentWalk(text)
        walk.document()
        return [place for place in walk.found if place is not None]
    from lxml import etree  # only XML needs it (~6 ms of a JSON run's start-up otherwise)

    placed = []
    for component in load_sbom(data, source=source).pypi_components():
        if component.problem is not None:
            continue  # left unchanged, so it has no finding to place
        element = component.handle
        assert isinstance(element, etree._Element)
        purl = element.find(f"{{{etree.QName(element).namespace}}}purl")
        line: object = purl.sourceline if purl is not None else None  # untyped in lxml-stubs
        placed.append((component, line if isinstance(line, int) else 0))
    return placed


class _JsonComponentWalk:
    """The walk of ``JsonSbom.pypi_components`` over the text, noting where each purl is."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        #: Placeholders keep a component ahead of its children even when its purl comes after
        #: them (keys sorted: "components" < "purl"); None for components that are not PyPI.
        self.found: list[tuple[PypiComponent, int] | None] = []
        self._line = 1
        self._counted = 0

    def document(self) -> None:
        for key in self._members():
            if key == "metadata" and self._next() == "{":
                for inner in self._members():
                    if inner == "component" and self._next() == "{":
                        self._component(subject=True)
                    elif inner == "tools" and self._next() == "{":
                        self._holder(TOOLS)  # 1.5+: the tools that built it, components too
                    else:
                        self._value()
            elif key == "components" and self._next() == "[":
                self._components()
            elif key == "formulation" and self._next() == "[":
                for _ in self._elements():
                    if self._next() == "{":
                        self._holder(FORMULATION)
                    else:
                        self._value()
            else:
                self._value()

    def _holder(self, build_tool: str) -> None:
        """At "{" of a tools object or a formula: its ``components``, the rest skipped."""
        for key in self._members():
            if key == "components" and self._next() == "[":
                self._components(build_tool)
            else:
                self._value()

    def _components(self, build_tool: str | None = None) -> None:
        for _ in self._elements():
            if self._next() == "{":
                self._component(build_tool=build_tool)
            else:
                self._value()

    def _component(self, subject: bool = False, build_tool: str | None = None) -> None:
        slot = len(self.found)
        self.found.append(None)
        fields: dict[str, str] = {}
        line = 0
        problem = None
        for key in self._members():
            if key == "components" and self._next() == "[":
                self._components(build_tool)
                continue
            start = self.at
            value = self._value()
            if key in ("purl", "version", "bom-ref") and isinstance(value, str):
                fields[key] = value
                if key == "purl":
                    line = self._line_at(start)
            elif key == "properties":
                problem = properties_problem({"properties": value})
        component = make_pypi_component(
            None,
            fields.get("purl"),
            fields.get("version"),
            fields.get("bom-ref"),
            subject,
            build_tool=build_tool,
        )
        # A component left unchanged has no finding: it must not take a finding's line.
        if component is not None and component.problem is None and problem is None:
            self.found[slot] = (component, line)

    # -- tokens: the input already parsed as JSON, so only what is valid needs handling --

    def _line_at(self, offset: int) -> int:
        # The walk only moves forward, so counting newlines as it goes stays linear.
        self._line += self.text.count("\n", self._counted, offset)
        self._counted = offset
        return self._line

    def _skip_space(self) -> None:
        match = _SPACE.match(self.text, self.at)
        assert match is not None  # the pattern matches the empty string
        self.at = match.end()

    def _next(self) -> str:
        self._skip_space()
        return self.text[self.at : self.at + 1]

    def _value(self) -> Any:
        self._skip_space()
        value, self.at = _DECODER.raw_decode(self.text, self.at)
        return value

    def _members(self) -> Iterator[str]:
        """At "{": each key, with the position on its value, which the loop body must read."""
        for _ in self._elements("}"):
            key = self._value()
            self._next()
            self.at += 1  # ":"
            yield key

    def _elements(self, close: str = "]") -> Iterator[None]:
        """At "[" (or "{"): once per item, with the position on it; the loop body reads it."""
        self._next()
        self.at += 1
        if self._next() == close:
            self.at += 1
            return
        while True:
            yield None
            if self._next() == close:
                self.at += 1
                return
            self.at += 1  # ","
