"""Where each node of an XML document's root element was written, for splicing edits into it.

Why hand-written: lxml (libxml2) keeps only a start line per element, and its serializer
respells what it read (``&quot;`` becomes ``"``, attributes are reordered, ``<a></a>`` becomes
``<a/>``), so byte fidelity needs the offsets of tags in the input itself. expat reports them
(``CurrentByteIndex``) but calls Python once per start and end tag, and parses the whole
document a second time; this tokenizer is one C regex pass whose matches are tags, comments,
processing instructions and CDATA sections (markup characters cannot occur elsewhere in
well-formed XML, which lxml has already established). Its nodes are checked against lxml's
(same count, same names where edited), so a disagreement refuses the edit instead of
corrupting the file.
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
        if is_element and text[end - 2] != "/":
            stack.append(node)
            depth = max(depth, len(stack))
        if not stack:
            break
    return XmlNodes(starts, tag_ends, close_starts, ends, children, elements, depth)
