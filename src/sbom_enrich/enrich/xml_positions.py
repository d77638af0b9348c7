"""Where the nodes of an XML document's root element were written, found when first asked.

Why not lxml alone: libxml2 keeps only a start line per element, and its serializer respells
what it read (``&quot;`` becomes ``"``, attributes are reordered, ``<a></a>`` becomes ``<a/>``),
so byte fidelity needs the offsets of tags in the input itself.

How, without a Python call per tag: lxml has already read the document and found it
well-formed (no DTD, so no entity of ours to expand), so inside the root element every ``<``
that is not in a comment, a CDATA section or a processing instruction starts a tag, and no
attribute value holds a ``<``. An element's children are found by a walk over its content,
each child's whole subtree skipped by searching for its end tag (``str.find``, counting the
start tags of the same name on the way); comments, CDATA sections and processing
instructions are listed once, up front, so that nothing inside them is taken for a tag. The
components to edit are located all at once by their start and end tags (``locate_all``, one
search of the text for each; in an SBOM where none holds another, ``flat_spans`` pairs
the i-th end tag with the i-th component and ``around_last_child`` reads the rest off the
text); appending to an element (where a component's new ``<properties>`` goes in
cyclonedx-py output) reads where its last child ends, and the white space before it, off
the text without walking it (the parse keeps no blank text: xml_sbom's ``_parser``); only
the other elements enrichment edits, and their ancestors, are walked. Each walk and each
``locate_all`` is checked against lxml's count of the elements it found, and each edited
node found otherwise against lxml's name (``xml_sbom``), so a disagreement refuses the edit
instead of corrupting the file. Names are spelled as the text holds them (UTF-8 bytes in the
one-byte view). This replaced expat calling back into Python for every tag (~0.45 s of CPU on
that SBOM; tests/enrich/xml_reference_scan.py keeps it as the tests' oracle).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from operator import lt

from lxml import etree

from ..errors import SbomError

#: XML's white space (``\s`` would also take U+0085 and U+00A0, which are bytes of UTF-8
#: characters in the one-byte-per-character view of the text these offsets index).
_SPACE = " \t\r\n"
_AFTER_NAME = frozenset(" \t\r\n/>")
_AFTER_END_NAME = frozenset(" \t\r\n>")
_NAME = re.compile(r"[^ \t\r\n/>]+")
_START_TAG = re.compile(r"<[^ \t\r\n/>]+(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+>")
_ELEMENT_NAME = r"[^ \t\r\n/>!?]++"
_ATTRIBUTES = r"(?:[^>\"'/]++|\"[^\"]*+\"|'[^']*+')*+"
_EMPTY = f"<{_ELEMENT_NAME}{_ATTRIBUTES}/>"


def _content(levels: int) -> str:
    """Text and elements nested at most ``levels`` deep, without comments, CDATA or PIs."""
    content = "[^<]*+"
    for level in range(levels):
        name = f"n{level}"
        element = (
            f"<(?P<{name}>{_ELEMENT_NAME}){_ATTRIBUTES}>{content}</(?P={name})[ \t\r\n]*+>|{_EMPTY}"
        )
        content = f"(?:[^<]++|{element})*+"
    return content


# Text, then one element whose subtree is at most four levels deep with no comment, CDATA or
# processing instruction in it: in an SBOM, a component or nearly any child of one, found in
# one call (C) instead of a search for its end tag. Anything else does not match here and
# takes the general walk below. Never crosses a "<" it does not read as a tag of its own.
_CHILD = re.compile(
    f"[^<]*+(?:(?P<start><(?P<name>{_ELEMENT_NAME}){_ATTRIBUTES}>){_content(3)}"
    f"(?P<end></(?P=name)[ \t\r\n]*+>)|(?P<empty>{_EMPTY}))"
)
_START, _END, _EMPTY_TAG = (_CHILD.groupindex[group] for group in ("start", "end", "empty"))
#: A child longer than this is taken to have a sibling like it next (a component in a list of
#: components), which searching for its end tag (C, memchr speed) finds sooner than the pattern
#: above, which reads every character of it; short children are read sooner by the pattern.
_LARGE = 512


def _after_last_text(text: str, start: int, end: int) -> int:
    """Where the white space that ends ``text[start:end]`` starts."""
    near = end - 80  # the indentation before an end tag: a line at most, nearly always
    if near <= start:
        return start + len(text[start:end].rstrip(_SPACE))
    kept = len(text[near:end].rstrip(_SPACE))
    if not kept:
        return start + len(text[start:end].rstrip(_SPACE))
    return near + kept


class _Unlocatable(Exception):
    """The text does not hold what lxml read where the walk expected it (never expected)."""


_SPECIAL = re.compile("<[!?]")
_RARE = 1024


def _special_sections(text: str, start: int) -> tuple[list[int], list[int]]:
    """Where each comment, CDATA section and processing instruction from ``start`` on starts
    and ends (in well-formed content ``<!`` and ``<?`` begin nothing else).

    Found by their second character while the text holds few other ``!`` and ``?``: a search
    for one character runs at memchr speed, ten times the pattern's, and SBOMs hold few (no
    ``!``, a ``?`` in some URLs: ~1 ms for 14 MB against ~13 ms). After one other a 2 kB
    of text (at least _RARE), the pattern finds the rest: a text full of them costs a few
    ms more than the pattern alone, never a Python call for each.
    """
    starts: list[int] = []
    ends: list[int] = []
    position = start
    others = -max(_RARE, len(text) >> 11)
    bang, question = text.find("!", position), text.find("?", position)
    while True:
        if others < 0:
            at = bang if question < 0 or 0 <= bang < question else question
            if at < 0:
                break
            if text[at - 1] != "<":
                others += 1
                if at == bang:
                    bang = text.find("!", at + 1)
                else:
                    question = text.find("?", at + 1)
                continue
            at -= 1
        else:
            found = _SPECIAL.search(text, position)
            if found is None:
                break
            at = found.start()
        if text.startswith("<!--", at):
            end = text.find("-->", at + 4) + 3
        elif text.startswith("<![CDATA[", at):
            end = text.find("]]>", at + 9) + 3
        elif text.startswith("<?", at):
            end = text.find("?>", at + 2) + 2
        else:
            end = at + 2
        if end < at + 2:  # unterminated: lxml would not have read it
            raise _Unlocatable
        starts.append(at)
        ends.append(end)
        position = end
        if others < 0:
            if bang < end:
                bang = text.find("!", end)
            if question < end:
                question = text.find("?", end)
    return starts, ends


class _Children:
    """``children[node]``: the node's child nodes, walked when first asked."""

    def __init__(self, nodes: XmlNodes) -> None:
        self._nodes = nodes
        self._known: dict[int, list[int]] = {}

    def __getitem__(self, node: int) -> list[int]:
        known = self._known.get(node)
        if known is None:
            nodes = self._nodes
            try:
                known = self._known[node] = nodes._walk(node)
            except (_Unlocatable, ValueError):  # ValueError: str.index found nothing
                raise nodes._refusal() from None
        return known

    def __contains__(self, node: object) -> bool:
        return node in self._known


class XmlNodes:
    """The root element's nodes (elements, comments, PIs) as lxml has them, located lazily.

    Node 0 is the root; other nodes get numbers as they are located. For node ``i``:
    ``starts[i]`` where its markup starts, ``tag_ends[i]`` where its start tag (or the whole
    comment/PI/empty element) ends, ``close_starts[i]`` where its end tag starts (== tag_ends
    for nodes without one), ``ends[i]`` where it ends, ``children[i]`` its child nodes in
    lxml's order (walking the node's content the first time) and ``element(i)`` lxml's node.
    ``text`` is the document decoded one character per code unit.
    """

    def __init__(
        self,
        text: str,
        root: etree._Element,
        root_start: int,
        source: str,
        encoding: str | None = None,
    ) -> None:
        self._text = text
        self._source = source
        # The document's encoding when ``text`` holds its bytes one a character (None: the
        # text holds its characters): how a name lxml read is spelled in the text.
        self._encoding = encoding
        self._special_starts, self._special_ends = _special_sections(text, root_start)
        self._elements: dict[int, etree._Element] = {0: root}
        # Each walk numbers the children it finds consecutively: a block of node numbers.
        self._block_starts: list[int] = []
        self._block_parents: list[int] = []
        self._block_elements: dict[int, list[etree._Element]] = {}
        self._end_tags: dict[int, int] = {}  # start tag end -> end tag start, of nested ones
        self.children = _Children(self)
        name = _NAME.match(text, root_start + 1)
        try:
            if not text.startswith("<", root_start) or name is None:
                raise _Unlocatable
            tag_end, close, end = self._root_span(root_start, name.group())
        except (_Unlocatable, ValueError):
            raise self._refusal() from None
        self.starts = [root_start]
        self.tag_ends = [tag_end]
        self.close_starts = [close]
        self.ends = [end]

    def _refusal(self) -> SbomError:
        return SbomError(
            f"{self._source}: cannot edit this XML in place (its markup could not be located); "
            "nothing written"
        )

    def spelled(self, prefix: str | None, local: str) -> str | None:
        """``prefix:local`` as the text spells it (None: the document's encoding cannot)."""
        name = f"{prefix}:{local}" if prefix else local
        if self._encoding is None or name.isascii():
            return name
        try:  # UTF-8 text (or another one-byte view) holds a non-ASCII name as its bytes
            return name.encode(self._encoding).decode("latin-1")
        except (UnicodeEncodeError, LookupError):
            return None

    def element(self, node: int) -> etree._Element:
        """lxml's node for ``node`` (from its parent's children when first asked)."""
        element = self._elements.get(node)
        if element is not None:
            return element
        block = bisect_right(self._block_starts, node) - 1
        siblings = self._block_elements.get(block)
        if siblings is None:  # a list: lxml's element[i] walks i siblings
            # Known: walking the parent asked for its element first.
            parent = self._elements[self._block_parents[block]]
            siblings = self._block_elements[block] = list(parent)
        element = self._elements[node] = siblings[node - self._block_starts[block]]
        return element

    def append_point(
        self, node: int, element: etree._Element | None = None
    ) -> tuple[int, str] | None:
        """Where a child appended to ``node`` goes, and the text before its last child.

        Read off lxml's last child and the text instead of walking the node's content: the
        last child ends where the white space before the node's end tag starts, and starts
        at the last ``<name`` before that (when nothing inside it has its name). Each is
        taken only when lxml read white space or nothing there (the parse drops blank text;
        of a long run it may keep the end) and the text holds white space alone after a
        ``>`` that does not end a CDATA section, so character references and CDATA never
        pass. None: not told exactly, walk.
        ``element`` is lxml's node for ``node``, when the caller has it at hand.
        """
        if element is None:
            element = self.element(node)
        if not len(element):
            return None
        last = element[-1]
        tag = last.tag
        if not isinstance(tag, str):
            return None  # a comment or processing instruction
        tag_end = self.tag_ends[node]
        end = self.blank_before(self.close_starts[node], tag_end, last.tail)
        local = tag.rpartition("}")[2]
        if end < 0 or next(last.iterdescendants("{*}" + local), None) is not None:
            return None
        name = self.spelled(last.prefix, local)
        if name is None:
            return None
        opening = "<" + name
        text = self._text
        start = text.rfind(opening, tag_end, end)
        if (
            start < 0
            or text[start + len(opening)] not in _AFTER_NAME
            or (self._special_starts and self._in_special(start))
        ):
            return None
        previous = last.getprevious()
        if previous is None:
            return end, text[tag_end:start]
        gap = self.blank_before(start, tag_end, previous.tail)
        if gap < 0:
            return None
        return end, text[gap:start]

    def locate_descendant(
        self, node: int, element: etree._Element, first: bool = False
    ) -> int | None:
        """Number ``element``, a descendant of ``node``, found by its start tag alone.

        The levels between are not walked (a component's <properties> without its siblings):
        in content lxml read as well-formed every ``<`` outside comments, CDATA and processing
        instructions starts a tag, so the n-th start tag spelled like the element's in the
        node's content is the n-th element so spelled in document order, which lxml counts.
        None: not told exactly (walk instead). ``first``: the caller knows that no element
        precedes it in the node's content (lxml's iterator, which looks for the next match
        before it returns one, would search all of a large node for a second one).
        """
        tag = element.tag
        if not isinstance(tag, str):
            return None
        local = tag.rpartition("}")[2]
        prefix = element.prefix
        before = 0  # elements spelled the same, ahead of it in document order
        if not first:
            for same in self.element(node).iterdescendants("{*}" + local):
                if same == element:
                    break
                if same.prefix == prefix:
                    before += 1
            else:
                return None  # not a descendant
        name = self.spelled(prefix, local)
        if name is None:
            return None
        text = self._text
        size = len(name) + 1
        position, stop = self.tag_ends[node], self.close_starts[node]
        while True:
            start = text.find("<" + name, position, stop)
            if start < 0:
                return None
            position = start + 1
            if text[start + size] not in _AFTER_NAME or (
                self._special_starts and self._in_special(start)
            ):
                continue
            if not before:
                break
            before -= 1
        try:
            tag_end, close, end = self._element_span(start, name)
        except (_Unlocatable, ValueError):
            return None
        number = len(self.starts)
        self.starts.append(start)
        self.tag_ends.append(tag_end)
        self.close_starts.append(close)
        self.ends.append(end)
        self._elements[number] = element
        return number

    def locate_all(
        self, same: list[etree._Element], local: str, prefix: str | None
    ) -> dict[etree._Element, int] | None:
        """Number ``same``, every element inside the root spelled ``prefix:local`` in document
        order (as lxml lists them), found by their tags.

        Inside content lxml read as well-formed, every start tag so spelled (outside comments,
        CDATA and processing instructions) starts an element so spelled, in the document order
        lxml lists them in, and every end tag so spelled closes the innermost one still open:
        one pass of string searches over the text locates all the components of an SBOM
        (~10 ms for 10,000, against a walk of each parent and a look at each one's children).
        None: the text does not agree with lxml (never expected); the caller walks instead.
        """
        name = self.spelled(prefix, local)
        if name is None:
            return None
        text = self._text
        inside, stop = self.tag_ends[0], self.close_starts[0]
        starts = self._tags("<" + name, _AFTER_NAME, inside, stop)
        if len(starts) != len(same):
            return None
        closes = self._tags("</" + name, _AFTER_END_NAME, inside, stop)
        try:
            tag_ends = [self._start_tag_end(start) for start in starts]
        except _Unlocatable:
            return None
        close_of = [-1] * len(starts)
        still_open: list[int] = []
        pending = iter(closes)
        close = next(pending, stop)
        for index, start in enumerate(starts):
            while close < start:  # end tags before this start tag close the innermost open
                if not still_open:
                    return None
                close_of[still_open.pop()] = close
                close = next(pending, stop)
            if text[tag_ends[index] - 2] == "/":
                close_of[index] = tag_ends[index]  # ``<name/>``: no end tag
            else:
                still_open.append(index)
        while close < stop:
            if not still_open:
                return None
            close_of[still_open.pop()] = close
            close = next(pending, stop)
        if still_open:
            return None
        found: dict[etree._Element, int] = {}
        number = len(self.starts)
        for element, start, tag_end, close in zip(same, starts, tag_ends, close_of, strict=True):
            self.starts.append(start)
            self.tag_ends.append(tag_end)
            self.close_starts.append(close)
            if close == tag_end and text[tag_end - 2] == "/":
                self.ends.append(tag_end)
            else:
                self.ends.append(text.index(">", close) + 1)
                self._end_tags[tag_end] = close  # a later walk of the parent need not search
            self._elements[number] = element
            found[element] = number
            number += 1
        return found

    def flat_spans(
        self, count: int, local: str, prefix: str | None
    ) -> tuple[list[int], list[int]] | None:
        """Where the start and end tags of the ``count`` elements inside the root spelled
        ``prefix:local`` are, when none of them holds another or is empty (nearly every
        SBOM's components): then the i-th start tag and the i-th end tag so spelled are
        the i-th element's in document order.

        In content lxml read as well-formed, every tag so spelled outside comments, CDATA and
        processing instructions is one of theirs; with as many end tags as elements, each
        end tag after its own start tag and before the next, none can be empty (it would
        leave an end tag with nothing to close) or hold another. Two searches of the text,
        and no look at the start tags. None: not so (:meth:`locate_all` tells more).
        """
        name = self.spelled(prefix, local)
        if name is None:
            return None
        inside, stop = self.tag_ends[0], self.close_starts[0]
        if not self._special_starts:
            return self._flat_without_specials(count, name, inside, stop)
        starts = self._tags("<" + name, _AFTER_NAME, inside, stop)
        if len(starts) != count:
            return None
        closes = self._tags("</" + name, _AFTER_END_NAME, inside, stop)
        if (
            len(closes) != count
            or not all(map(lt, starts, closes))
            or not all(map(lt, closes, starts[1:]))
        ):
            return None
        return starts, closes

    def _flat_without_specials(
        self, count: int, name: str, inside: int, stop: int
    ) -> tuple[list[int], list[int]] | None:
        """:meth:`flat_spans` where no comment, CDATA or PI is: the end tags by one search of
        the text, and a start tag looked for only between each two end tags (it is near the
        end tag before it). With as many end tags as elements and a start tag found in each of
        those ``count`` places, these are all the start tags (lxml counts ``count``): they
        alternate, so the spans are flat. A third less than searching for both all along.
        """
        closes = self._tags("</" + name, _AFTER_END_NAME, inside, stop)
        if len(closes) != count:
            return None
        text = self._text
        find = text.find
        opening = "<" + name
        size = len(opening)
        starts = []
        previous = inside
        for close in closes:
            at = find(opening, previous, close)
            while at >= 0 and text[at + size] not in _AFTER_NAME:  # <components, say
                at = find(opening, at + size, close)
            if at < 0:
                return None
            starts.append(at)
            previous = close
        return starts, closes

    def add(self, element: etree._Element, start: int, close: int) -> int:
        """Number ``element``, whose start tag starts at ``start`` and end tag at ``close``
        (as :meth:`flat_spans` found them)."""
        try:
            tag_end = self._start_tag_end(start)
            end = self._text.index(">", close) + 1
        except (_Unlocatable, ValueError):
            raise self._refusal() from None
        number = len(self.starts)
        self.starts.append(start)
        self.tag_ends.append(tag_end)
        self.close_starts.append(close)
        self.ends.append(end)
        self._end_tags[tag_end] = close  # a walk of the parent need not search
        self._elements[number] = element
        return number

    def start_tag_end(self, start: int) -> int | None:
        """Where the start tag at ``start`` ends (None: not read as one)."""
        try:
            return self._start_tag_end(start)
        except _Unlocatable:
            return None

    def has_special(self, start: int, end: int) -> bool:
        """Whether a comment, CDATA section or processing instruction starts in the range."""
        specials = self._special_starts
        if not specials:
            return False
        first = bisect_left(specials, start)
        return first < len(specials) and specials[first] < end

    def _tags(self, opening: str, after: frozenset[str], start: int, stop: int) -> list[int]:
        """Where ``opening`` (``<name`` or ``</name``) starts a tag between ``start`` and
        ``stop``, outside comments, CDATA and processing instructions."""
        text = self._text
        size = len(opening)
        specials = bool(self._special_starts)
        found = []
        at = text.find(opening, start, stop)
        while at >= 0:
            if text[at + size] in after and not (specials and self._in_special(at)):
                found.append(at)
            at = text.find(opening, at + size, stop)
        return found

    def append_point_in_text(self, node: int) -> tuple[int, str] | None:
        """:meth:`append_point` read off the text alone, for content with no comment, CDATA
        section or processing instruction in it (nearly every component): see
        :meth:`around_last_child`. None: not told exactly (the caller asks the tails, or
        walks)."""
        tag_end, close = self.tag_ends[node], self.close_starts[node]
        specials = self._special_starts
        if specials:
            first = bisect_left(specials, tag_end)
            if first < len(specials) and specials[first] < close:
                return None
        return self.around_last_child(tag_end, close)

    def around_last_child(self, lowest: int, close: int) -> tuple[int, str] | None:
        """Where the last child of an element ends, and the white space before it, read off
        the text alone: ``close`` is where the element's end tag starts, ``lowest`` where
        its start tag starts or ends. None: not told exactly.

        For content with no comment, CDATA section or processing instruction in it (the
        caller has checked). lxml read it as well-formed, so when it ends in white space
        after a ``>`` that ends a tag (no other ``>`` since the last ``<``), that tag ends the
        last child, an element; its start is that tag (``<x/>``) or the last start tag
        spelled like its end tag (when nothing between has the name: else None), and what
        comes before it back to the previous tag's ``>`` (or the start tag's) is the white
        space between. The flat path asks once a component: string searches only.
        """
        text = self._text
        end = _after_last_text(text, lowest, close)
        if end <= lowest or text[end - 1] != ">":
            return None
        start = text.rfind("<", lowest, end)
        if start < 0 or text.find(">", start, end - 1) >= 0:
            return None
        if text[start + 1] == "/":  # an end tag: find its start tag
            name = text[start + 2 : end - 1]
            if text[end - 2] in _SPACE:
                name = name.rstrip(_SPACE)
            opening = "<" + name
            size = len(opening)
            first = text.rfind(opening, lowest, start)
            while first >= 0 and text[first + size] not in _AFTER_NAME:
                first = text.rfind(opening, lowest, first)
            if first < 0:
                return None
            first_end = text.find(">", first) + 1
            if first_end != first + size + 1 and (  # not <name>: it has attributes
                text.find('"', first, first_end) >= 0 or text.find("'", first, first_end) >= 0
            ):
                try:  # a ">" may stand in an attribute value
                    first_end = self._start_tag_end(first)
                except _Unlocatable:
                    return None
            if text[first_end - 2] == "/" or text.find("</" + name, first_end, start) >= 0:
                return None  # one of the name nested inside: not told by this
            start = first
        elif text[end - 2] != "/":
            return None  # a start tag: the element's own (no child), or text ends in ">"
        previous = _after_last_text(text, lowest, start)
        if previous != lowest:
            if text[previous - 1] != ">":
                return None  # text between the last two children
            tag = text.rfind("<", lowest, previous)
            if tag < 0 or text.find(">", tag, previous - 1) >= 0:
                return None
        return end, text[previous:start]

    def blank_before(self, end: int, lowest: int, tail: str | None = None) -> int:
        """Where the white space before ``end`` starts, when lxml read white space or nothing
        there (``tail``) and a tag ends before it (-1: not so); nothing before ``lowest``.

        Read from the text: the parse drops text that is all white space between tags, and of
        a long run of it libxml2 may keep the end alone.
        """
        if tail is not None and tail.strip(_SPACE):
            return -1
        text = self._text
        start = _after_last_text(text, lowest, end)
        if text[start - 1] != ">" or text.startswith("]]>", start - 3):
            return -1
        return start

    def located(self) -> Iterator[int]:
        """Every node, each one's children walked first (for tests: locates everything)."""
        pending = [0]
        while pending:
            node = pending.pop()
            yield node
            pending.extend(reversed(self.children[node]))

    # -- locating ----------------------------------------------------------------------------

    def _walk(self, node: int) -> list[int]:
        """Locate the node's children: its content, with each child's subtree skipped."""
        text = self._text
        starts, tag_ends, close_starts, ends = (
            self.starts,
            self.tag_ends,
            self.close_starts,
            self.ends,
        )
        first = len(starts)
        position, stop = tag_ends[node], close_starts[node]
        child = _CHILD.match
        large = False  # the previous child was: a search for the end tag beats the pattern
        while position < stop:
            match = None if large else child(text, position, stop)
            if match is not None:
                close, end = match.span(_END)
                if close < 0:
                    start, end = match.span(_EMPTY_TAG)
                    tag_end = close = end
                else:
                    start, tag_end = match.span(_START)
            else:
                start = text.find("<", position, stop)
                if start < 0:
                    break
                kind = text[start + 1]
                if kind == "!" and text.startswith("<![CDATA[", start):
                    position = text.index("]]>", start + 9) + 3  # text, not a node
                    continue
                if kind == "/":  # the walk lost its way: refused, never guessed
                    raise _Unlocatable
                if kind == "!":
                    end = tag_end = close = text.index("-->", start + 4) + 3
                elif kind == "?":
                    end = tag_end = close = text.index("?>", start + 2) + 2
                else:
                    name = _NAME.match(text, start + 1)
                    if name is None:
                        raise _Unlocatable
                    tag_end, close, end = self._element_span(start, name.group())
            starts.append(start)
            tag_ends.append(tag_end)
            close_starts.append(close)
            ends.append(end)
            position = end
            large = end - start > _LARGE
        count = len(starts) - first
        if count != len(self.element(node)):
            raise _Unlocatable
        if count:
            self._block_starts.append(first)
            self._block_parents.append(node)
        return list(range(first, first + count))

    def _root_span(self, start: int, name: str) -> tuple[int, int, int]:
        """The root's: its end tag is the last end tag outside comments and PIs after it."""
        tag_end = self._start_tag_end(start)
        text = self._text
        if text[tag_end - 2] == "/":
            return tag_end, tag_end, tag_end
        closing = "</" + name
        close = text.rfind(closing, tag_end)
        while close >= 0 and (
            text[close + len(closing) : close + len(closing) + 1] not in _AFTER_END_NAME
            or (self._special_starts and self._in_special(close))
        ):
            close = text.rfind(closing, tag_end, close)
        if close < 0:
            raise _Unlocatable
        return tag_end, close, text.index(">", close) + 1

    def _element_span(self, start: int, name: str) -> tuple[int, int, int]:
        """(start tag end, end tag start, end) of the element whose start tag is at ``start``."""
        tag_end = self._start_tag_end(start)
        if self._text[tag_end - 2] == "/":
            return tag_end, tag_end, tag_end
        close = self._matching_end_tag(name, tag_end)
        return tag_end, close, self._text.index(">", close) + 1

    def _start_tag_end(self, start: int) -> int:
        text = self._text
        end = text.find(">", start)
        # A ">" may stand inside a quoted attribute value; when the quotes before the first
        # ">" are all of one kind and paired (or there are none), that one ends the tag.
        if text.find("'", start, end) < 0:
            if not text.count('"', start, end) % 2:
                return end + 1
        elif text.find('"', start, end) < 0 and not text.count("'", start, end) % 2:
            return end + 1
        match = _START_TAG.match(text, start)
        if match is None:
            raise _Unlocatable
        return match.end()

    def _in_special(self, position: int) -> bool:
        index = bisect_right(self._special_starts, position) - 1
        return index >= 0 and position < self._special_ends[index]

    def _matching_end_tag(self, name: str, after: int) -> int:
        """Where the end tag of the element named ``name`` whose start tag ends at ``after`` is.

        Each end tag ``</name`` found closes either the innermost start tag ``<name`` opened
        on the way (and not empty: ``<name/>``) or ours. Those nested elements' end tags are
        kept: walking into them later must not search their text again (components nested
        hundreds deep would be searched once per level).
        """
        known = self._end_tags.get(after)
        if known is not None:
            return known
        text = self._text
        opening, closing = "<" + name, "</" + name
        after_open, after_close = len(opening), len(closing)
        specials = bool(self._special_starts)
        nested: list[int] = []  # where the start tags still open end
        position = after
        while True:
            close = text.find(closing, position)
            while close >= 0 and (
                text[close + after_close : close + after_close + 1] not in _AFTER_END_NAME
                or (specials and self._in_special(close))
            ):
                close = text.find(closing, close + 1)
            if close < 0:
                raise _Unlocatable
            inner = text.find(opening, position, close)
            while inner >= 0:
                following = inner + 1
                if text[inner + after_open] in _AFTER_NAME and not (
                    specials and self._in_special(inner)
                ):
                    following = self._start_tag_end(inner)
                    if text[following - 2] != "/":
                        nested.append(following)
                inner = text.find(opening, following, close)
            if not nested:
                return close
            self._end_tags[nested.pop()] = close
            position = close + after_close
