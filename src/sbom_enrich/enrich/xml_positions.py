"""Where each node of an XML document's root element was written, for splicing edits into it.

Why not lxml alone: libxml2 keeps only a start line per element, and its serializer respells
what it read (``&quot;`` becomes ``"``, attributes are reordered, ``<a></a>`` becomes ``<a/>``),
so byte fidelity needs the offsets of tags in the input itself. Two ways to get them, measured
on 10,000 components (CPU, bench/bench_enrich.py's XML; lxml's own parse: ~0.03 s): expat's
``CurrentByteIndex`` at each tag (C tokenizer, one Python call per tag, plus one regex per
element for where its start tag ends): ~0.085 s; a single regex pass over the markup: ~0.19 s.
expat is used; the regex pass is the fallback for encodings expat does not know. Either
result is checked against lxml's nodes (same count, same names where edited), so a
disagreement refuses the edit instead of corrupting the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
class XmlNodes:
    """The root element's nodes (elements, comments, PIs) in document order, as lxml has them.

    Node 0 is the root. For node ``i``: ``starts[i]`` where its markup starts, ``tag_ends[i]``
    where its start tag (or the whole comment/PI/empty element) ends, ``close_starts[i]`` where
    its end tag starts (== tag_ends for nodes without one), ``ends[i]`` where it ends, and
    ``children[i]`` its child nodes.
    """

    starts: list[int]
    tag_ends: list[int]
    close_starts: list[int]
    ends: list[int]
    children: list[list[int]]
    elements: list[bool]
    depth: int


def scan_nodes(text: str, root_start: int) -> XmlNodes:
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
    return XmlNodes(starts, tag_ends, close_starts, ends, children, elements, depth)


_START_TAG = re.compile(r"<[^\s/>]+(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


def scan_nodes_expat(data: bytes, text: str, code_unit: int) -> XmlNodes | None:
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
    depth = deepest[0]
    tag_ends: list[int] = []
    ends: list[int] = []
    find = text.find
    for index, start_at in enumerate(starts):
        if elements[index]:
            # Most start tags hold no quote before their first ">", so that ">" ends them
            # (a ">" may stand inside a quoted attribute value: those take the regex).
            tag_end = find(">", start_at) + 1
            if '"' in text[start_at:tag_end] or "'" in text[start_at:tag_end]:
                match = _START_TAG.match(text, start_at)
                if match is None:
                    return None
                tag_end = match.end()
            tag_ends.append(tag_end)
            if text[tag_end - 2] == "/":  # <a/>: no content, no end tag
                close_starts[index] = tag_end
                ends.append(tag_end)
            else:
                ends.append(find(">", close_starts[index]) + 1)
        else:
            closing = "-->" if text.startswith("<!--", start_at) else "?>"
            end_at = text.index(closing, start_at) + len(closing)
            tag_ends.append(end_at)
            close_starts[index] = end_at
            ends.append(end_at)
    return XmlNodes(starts, tag_ends, close_starts, ends, children, elements, depth)
