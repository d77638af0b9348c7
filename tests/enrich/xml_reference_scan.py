"""The scanners enrich used before it located nodes lazily: kept as the tests' oracle.

Both tokenize the whole root element (a regex pass, and expat's offsets with one Python call
per tag); ``sbom_enrich.enrich.xml_positions.XmlNodes`` must find the same offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

from sbom_enrich.errors import SbomError

_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<\?.*?\?>"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|</[^>]*>"
    # An element with only text in it, as one token: most elements of an SBOM are these.
    r"|(<([^\s/>!?]+)(?:[^>\"'/]|\"[^\"]*\"|'[^']*')*>)[^<]*</\2\s*>"
    r"|<[^!?/](?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class ScannedNodes:
    """The root element's nodes (elements, comments, PIs) in document order, as lxml has them.

    Node 0 is the root. For node ``i``: ``starts[i]`` where its markup starts, ``tag_ends[i]``
    where its start tag (or the whole comment/PI/empty element) ends, ``close_starts[i]`` where
    its end tag starts (== tag_ends for nodes without one), ``ends[i]`` where it ends, and
    ``children[i]`` its child nodes.
    """

    starts: list[int]
    tag_ends: Sequence[int]
    close_starts: Sequence[int]
    ends: Sequence[int]
    children: list[list[int]]
    elements: list[bool]
    depth: int


def scan_nodes(text: str, root_start: int) -> ScannedNodes:
    """Tokenize the root element starting at ``root_start`` (``text`` is well-formed XML)."""
    starts: list[int] = []
    tag_ends: list[int] = []
    close_starts: list[int] = []
    ends: list[int] = []
    children: list[list[int]] = []
    elements: list[bool] = []
    stack: list[int] = []
    depth = 0
    for match in _TOKEN.finditer(text, root_start):
        start, end = match.span()
        second = text[start + 1]
        if second == "/":
            node = stack.pop()
            close_starts[node] = start
            ends[node] = end
            if not stack:
                break
            continue
        if second == "!" and text.startswith("<![CDATA[", start):
            continue
        node = len(starts)
        starts.append(start)
        children.append([])
        if stack:
            children[stack[-1]].append(node)
        start_tag = match.group(1)
        if start_tag is not None:  # a text-only element, start to end tag
            tag_end = start + len(start_tag)
            tag_ends.append(tag_end)
            close_starts.append(text.rindex("</", tag_end, end))
            ends.append(end)
            elements.append(True)
            depth = max(depth, len(stack) + 1)
            if not stack:
                break
            continue
        tag_ends.append(end)
        close_starts.append(end)
        ends.append(end)
        is_element = second not in "!?"
        elements.append(is_element)
        if is_element:
            depth = max(depth, len(stack) + 1)
        if is_element and text[end - 2] != "/":
            stack.append(node)
        if not stack:
            break
    return ScannedNodes(starts, tag_ends, close_starts, ends, children, elements, depth)


_START_TAG = re.compile(r"<[^\s/>]+(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


class _Offsets:
    """(tag end, close start, end) of each node of an expat scan, computed when first asked."""

    def __init__(
        self, text: str, starts: list[int], closes: list[int], elements: list[bool]
    ) -> None:
        self._text = text
        self._starts = starts
        self._closes = closes  # expat's: the end tag's start (for <a/>, the tag's own start)
        self._elements = elements
        self._known: dict[int, tuple[int, int, int]] = {}

    def __len__(self) -> int:
        return len(self._starts)

    def get(self, index: int) -> tuple[int, int, int]:
        known = self._known.get(index)
        if known is None:
            known = self._known[index] = self._find(index)
        return known

    def _find(self, index: int) -> tuple[int, int, int]:
        text = self._text
        start = self._starts[index]
        if not self._elements[index]:
            closing = "-->" if text.startswith("<!--", start) else "?>"
            end = text.index(closing, start) + len(closing)
            return end, end, end
        # Most start tags hold no quote before their first ">", so that ">" ends them (a ">"
        # may stand inside a quoted attribute value: those take the regex).
        tag_end = text.find(">", start) + 1
        if '"' in text[start:tag_end] or "'" in text[start:tag_end]:
            match = _START_TAG.match(text, start)
            if match is None:  # expat read a tag here: not expected; refused, never guessed
                raise SbomError(
                    "cannot edit this XML in place (its markup could not be located); "
                    "nothing written"
                )
            tag_end = match.end()
        if text[tag_end - 2] == "/":  # <a/>: no content, no end tag
            return tag_end, tag_end, tag_end
        close = self._closes[index]
        return tag_end, close, text.index(">", close) + 1


class _View(Sequence[int]):
    """One of the three offsets of every node, as a read-only list."""

    def __init__(self, offsets: _Offsets, which: int) -> None:
        self._offsets = offsets
        self._which = which

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self._offsets.get(index)[self._which]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def scan_nodes_expat(data: bytes, text: str, code_unit: int) -> ScannedNodes | None:
    """The same nodes, from expat's offsets (``CurrentByteIndex``); None if expat cannot read it.

    ``code_unit`` is the bytes per character of ``text`` (1: the Latin-1 view of an ASCII-
    compatible encoding, 2: UTF-16). expat does the tokenizing in C and calls back once per
    tag; measured on 10,000 components it takes ~0.035 s CPU where the regex pass takes ~0.19 s
    (lxml alone: ~0.03 s). Documents in encodings expat does not know fall back to the regex.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    starts: list[int] = []
    close_starts: list[int] = []
    children: list[list[int]] = []
    elements: list[bool] = []
    stack: list[int] = []
    # One Python call per tag is most of the cost (an SBOM of 10,000 cyclonedx-py components
    # has ~240,000 elements): the handlers are inlined, with their lists bound locally.
    add_start, add_close, add_children, add_element = (
        starts.append,
        close_starts.append,
        children.append,
        elements.append,
    )
    push, pop = stack.append, stack.pop
    deepest = [0]
    done = [False]

    def start(name: str, attributes: object) -> None:
        index = len(starts)
        add_start(parser.CurrentByteIndex // code_unit)
        add_close(-1)
        add_children([])
        add_element(True)
        if stack:
            children[stack[-1]].append(index)
        push(index)
        if len(stack) > deepest[0]:
            deepest[0] = len(stack)

    def end(name: str) -> None:
        close_starts[pop()] = parser.CurrentByteIndex // code_unit
        if not stack:
            done[0] = True

    def other(*_: object) -> None:
        if stack:  # comments and PIs outside the root are not lxml's nodes of it
            index = len(starts)
            add_start(parser.CurrentByteIndex // code_unit)
            add_close(-1)
            add_children([])
            add_element(False)
            children[stack[-1]].append(index)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CommentHandler = other
    parser.ProcessingInstructionHandler = other
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return None
    if not done[0]:
        return None
    # Where each start tag ends (and so where <a/> ends) is found when first asked: enrichment
    # edits a few nodes of each component, and finding them all was a third of the scan.
    offsets = _Offsets(text, starts, close_starts, elements)
    tag_ends, close_view, ends = (_View(offsets, which) for which in range(3))
    return ScannedNodes(starts, tag_ends, close_view, ends, children, elements, deepest[0])
