"""A JSON reader that also says where each value of the containers enrichment edits was written.

Why hand-written: splicing edits into the input's own text needs the character span of every
member of the objects and arrays we may change, and ``json.load`` returns values without
positions. Walking *every* container in Python costs several times the C parser
(bench/bench_enrich.py prints both), so this reader walks only the containers enrichment can
touch (the BOM, metadata, tools, the components arrays, services, vulnerabilities, the
formulation's formulas) and hands every other value to the C scanner of the stdlib decoder
(``JSONDecoder.scan_once``), which returns the value and where it ends. A component is one
such value (unless it holds components of its own): only where it starts and ends and what it
held are kept (:data:`Whole`); the writer finds the spans inside the few it must edit. The
values are the same Python objects ``json.loads`` with the same hooks builds; the spans sit
beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

# Both exist in every CPython (C implementations when _json is built), but typeshed omits them.
_ScanOnce = Callable[[str, int], tuple[Any, int]]
scanstring = cast(Callable[[str, int], tuple[str, int]], json.decoder.scanstring)  # type: ignore[attr-defined]

_WS = re.compile(r"[ \t\n\r]*")
# A key without escapes or control characters, its colon and the whitespace up to the value.
_SIMPLE_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
# A whole member with a scalar value (groups: key, string, integer, literal, closing brace).
_SCALAR_MEMBER = re.compile(
    r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*'
    r'(?:"([^"\\\x00-\x1f]*)"|(-?(?:0|[1-9][0-9]*))(?![.eE0-9])|(true|false|null))'
    r"[ \t\n\r]*(?:,[ \t\n\r]*|(\}))"
)
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
# Only to find where a value ends (first_member_shape): no hooks needed.
_SCANNER = json.JSONDecoder()
# After a member: the comma and whitespace up to the next key, or the closing brace.
_AFTER_MEMBER = re.compile(r"[ \t\n\r]*(?:,[ \t\n\r]*|(\}))")
# After an element: the comma and whitespace up to the next one, or the closing bracket.
_AFTER_ELEMENT = re.compile(r"[ \t\n\r]*(?:,[ \t\n\r]*|(\]))")

#: Which members of an object are walked with positions, by the kind of object, and the kind
#: they are walked as. A kind that is also in _ELEMENTS may be an array (tools: legacy form).
_MEMBERS: dict[str, dict[str, str]] = {
    "bom": {
        "metadata": "metadata",
        "components": "components",
        "services": "services",
        "vulnerabilities": "spans",
        "compositions": "spans",
        "annotations": "spans",
        "formulation": "formulas",
    },
    "metadata": {"component": "component", "tools": "tools"},
    # Tool components (1.5+) are components: a PyPI one is enriched like any other.
    "tools": {"components": "components", "services": "services"},
    "entry": {},
    "formula": {"components": "components"},
    "component": {"components": "components", "properties": "spans"},
    "service": {"services": "services"},
}
#: Element kind of the arrays walked with positions; None: elements scanned in C, spans kept.
_ELEMENTS: dict[str, str | None] = {
    "components": "component",
    "services": "service",
    "entries": "entry",
    "tools": "entry",
    "formulas": "formula",
    "spans": None,
    "any": "any",
}


@dataclass(frozen=True, slots=True)
class Source:
    """Where a container and each of its members were written (character offsets).

    ``keys`` is None for an array. ``item_starts`` is where a member's key (or an element)
    starts; ``value_starts``/``value_ends`` delimit its value. ``values`` holds the values as
    read, so an edit is told apart from the input by identity.
    """

    container: Any
    start: int
    end: int
    keys: tuple[str, ...] | None
    values: tuple[Any, ...]
    item_starts: tuple[int, ...]
    value_starts: tuple[int, ...]
    value_ends: tuple[int, ...]


#: A component read whole by the C scanner: (the object, start, end, its keys as read, its
#: values as read, the elements of its ``properties`` array as read or None when that is not an
#: array). A plain tuple: one is made for nearly every component, and a class costs twice as
#: much. The writer tells an edited component from the input by these, as for a :class:`Source`.
Whole = tuple[dict[str, Any], int, int, tuple[str, ...], tuple[Any, ...], tuple[Any, ...] | None]


# An object's opening brace and first member when its value is a plain scalar (groups: the
# whitespace before the key, the separator before the value, what follows the value up to the
# next key or the closing brace).
_FIRST_SCALAR_MEMBER = re.compile(
    r'\{([ \t\n\r]*)"[^"\\\x00-\x1f]*"([ \t\n\r]*:[ \t\n\r]*)'
    r'(?:"[^"\\\x00-\x1f]*"|-?(?:0|[1-9][0-9]*)(?![.eE0-9])|true|false|null)'
    r"([ \t\n\r]*(?:,[ \t\n\r]*|\}))"
)


def first_member_shape(text: str, start: int) -> tuple[str, str, str | None]:
    """For the valid object at ``start`` (not empty): (the text between its opening brace and
    first key, between that key and its value, between that value and the second key or None
    when it has one member), found without walking its other members."""
    first = _FIRST_SCALAR_MEMBER.match(text, start)
    if first is not None:  # one regex for the usual first member ("bom-ref", "type", ...)
        lead, key_sep, after = first.groups()
        return lead, key_sep, None if after.endswith("}") else after
    key_start = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    _, after_key = scanstring(text, key_start + 1)
    value_start = _COLON.match(text, after_key).end()  # type: ignore[union-attr]
    _, value_end = _SCANNER.scan_once(text, value_start)  # type: ignore[attr-defined]
    after = _AFTER_MEMBER.match(text, value_end)
    assert after is not None  # the C scanner read this object
    return (
        text[start + 1 : key_start],
        text[after_key:value_start],
        None if after.group(1) else text[value_end : after.end()],
    )


def last_value_end(text: str, start: int, end: int) -> int:
    """Where the last member's value ends in the object at ``start:end`` (not empty)."""
    # The whitespace before the closing brace, from a short window (not the object's copy).
    window = text[max(start, end - 65) : end - 1]
    last_end = end - 1 - (len(window) - len(window.rstrip(" \t\n\r")))
    while text[last_end - 1] in " \t\n\r":  # more than the window held
        last_end -= 1
    return last_end


def member_value_span(text: str, start: int, key: str) -> tuple[int, int] | None:
    """Where the value of ``key`` is written in the valid object at ``start`` (its last
    occurrence, the one a dict keeps), or None; the other members' values are skipped by the C
    scanner, not walked."""
    index = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", index):
        return None
    found = None
    for name, value_start, value_end in members_from(text, index)[0]:
        if name == key:
            found = (value_start, value_end)
    return found


def members_from(text: str, index: int) -> tuple[list[tuple[str, int, int]], int]:
    """(each member's key, value start and value end; where the object ends) of the members of
    a valid object from the one whose key starts at ``index`` to its closing brace; the values
    are skipped by the C scanner, not walked."""
    scan = _SCANNER.scan_once  # type: ignore[attr-defined]
    members: list[tuple[str, int, int]] = []
    while True:
        simple = _SIMPLE_KEY.match(text, index)
        if simple is not None:
            name, value_start = simple.group(1), simple.end()
        else:
            name, after_key = scanstring(text, index + 1)
            value_start = _COLON.match(text, after_key).end()  # type: ignore[union-attr]
        _, value_end = scan(text, value_start)
        members.append((name, value_start, value_end))
        after = _AFTER_MEMBER.match(text, value_end)
        assert after is not None  # the C scanner read this object
        if after.group(1):
            return members, after.end()
        index = after.end()


class PositionalReader:
    """Parse ``text`` like ``json.loads(text, **hooks)``, recording :class:`Source` spans.

    ``everything``: walk every container with positions (needed only to remove members at any
    depth, e.g. signatures; ~3x slower on large files).
    """

    def __init__(
        self,
        text: str,
        object_pairs_hook: Callable[[list[tuple[str, Any]]], dict[str, Any]],
        parse_float: Callable[[str], Any],
        parse_constant: Callable[[str], Any],
        everything: bool = False,
        duplicates: list[str] | None = None,
        lazy_components: bool = True,
    ) -> None:
        self.text = text
        self._pairs = object_pairs_hook
        decoder = json.JSONDecoder(
            object_pairs_hook=object_pairs_hook,
            parse_float=parse_float,
            parse_constant=parse_constant,
        )
        self._scan_once: _ScanOnce = decoder.scan_once  # type: ignore[attr-defined]
        self._everything = everything
        # A component without components of its own is read whole by the C scanner (most of
        # an SBOM): enrichment appends to it, edits its properties or leaves it as written.
        self._lazy = lazy_components and not everything
        #: id(container) -> Source, for every container walked with positions.
        self.sources: dict[int, Source] = {}
        #: id(component) -> Whole, for every component read whole.
        self.wholes: dict[int, Whole] = {}
        #: Keys ``object_pairs_hook`` found twice, appended by it in reading order (the caller
        #: shares the list with its hook); those read inside a component are attributed to
        #: the innermost component in ``flawed`` (id -> the key), so bad input costs one item.
        self._duplicates = duplicates
        self._claimed: set[int] = set()  # indexes into duplicates attributed to a component
        self.flawed: dict[int, str] = {}

    @property
    def unattributed_duplicates(self) -> list[str]:
        """Duplicate keys found outside every component (the document's own structure)."""
        found = self._duplicates or []
        return [key for index, key in enumerate(found) if index not in self._claimed]

    def document(self) -> Any:
        """The whole document (surrounding whitespace allowed, nothing else)."""
        text = self.text
        start = _WS.match(text, 0).end()  # type: ignore[union-attr]
        value, end = self._value(start, "bom")
        rest = _WS.match(text, end).end()  # type: ignore[union-attr]
        if rest != len(text):
            raise json.JSONDecodeError("Extra data", text, rest)
        return value

    def object_at(self, start: int, kind: str) -> Source:
        """The object written at ``start``, read as ``kind``, with every member's span."""
        container, _ = self._object(start, kind)
        return self.sources[id(container)]

    def array_at(self, start: int) -> Source:
        """The array written at ``start``, its elements read whole, with their spans."""
        container, _ = self._array(start, None)
        return self.sources[id(container)]

    def _value(self, index: int, kind: str | None) -> tuple[Any, int]:
        text = self.text
        if self._everything:
            kind = kind or "any"
        if kind is not None and index < len(text):
            char = text[index]
            if char == "{" and (kind in _MEMBERS or kind == "any"):
                return self._object(index, kind)
            if char == "[" and kind in _ELEMENTS:
                return self._array(index, _ELEMENTS[kind])
        return self._scan(index)

    def _scan(self, index: int) -> tuple[Any, int]:
        try:
            return self._scan_once(self.text, index)
        except StopIteration as stop:
            raise json.JSONDecodeError("Expecting value", self.text, stop.value) from None

    def _object(self, start: int, kind: str) -> tuple[Any, int]:
        text = self.text
        duplicates = self._duplicates
        seen = len(duplicates) if duplicates is not None else 0
        members: Mapping[str, str] = _MEMBERS.get(kind, {})
        any_kind = "any" if kind == "any" or self._everything else None
        pairs: list[tuple[str, Any]] = []
        item_starts: list[int] = []
        value_starts: list[int] = []
        value_ends: list[int] = []
        index = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
        if text.startswith("}", index):
            end = index + 1
        else:
            key_match = _SIMPLE_KEY.match
            after_match = _AFTER_MEMBER.match
            member_match = _SCALAR_MEMBER.match
            while True:
                item_starts.append(index)
                scalar = member_match(text, index)
                if scalar is not None:
                    # One regex for the commonest member: a plain key with a string without
                    # escapes, an integer or a literal, and what follows it. The value is what
                    # the C scanner would build: the same str, int(), True/False/None.
                    key, string, integer, literal, closing = scalar.groups()
                    if string is not None:
                        value_starts.append(scalar.start(2) - 1)
                        value_ends.append(scalar.end(2) + 1)
                        value: Any = string
                    elif integer is not None:
                        value_starts.append(scalar.start(3))
                        value_ends.append(scalar.end(3))
                        value = int(integer)
                    else:
                        value_starts.append(scalar.start(4))
                        value_ends.append(scalar.end(4))
                        value = _LITERALS[literal]
                    pairs.append((key, value))
                    index = scalar.end()
                    if closing is not None:
                        end = index
                        break
                    continue
                simple = key_match(text, index)
                if simple is not None:  # one regex for the usual key without escapes
                    key = simple.group(1)
                    index = simple.end()
                else:
                    if not text.startswith('"', index):
                        raise json.JSONDecodeError(
                            "Expecting property name enclosed in double quotes", text, index
                        )
                    key, index = scanstring(text, index + 1)
                    index = _WS.match(text, index).end()  # type: ignore[union-attr]
                    if not text.startswith(":", index):
                        raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
                    index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
                value_starts.append(index)
                # _value inlined: two Python frames per nesting level, not three, so the
                # nesting JSON allows (the recursion limit) stays what json.loads allows.
                child = members.get(key, any_kind)
                char = text[index : index + 1]
                if child is not None and char == "{" and (child in _MEMBERS or child == "any"):
                    value, index = self._object(index, child)
                elif child is not None and char == "[" and child in _ELEMENTS:
                    element = _ELEMENTS[child]
                    if element == "component" and self._lazy:
                        value, index = self._components(index)
                    else:
                        value, index = self._array(index, element)
                else:
                    value, index = self._scan(index)
                value_ends.append(index)
                pairs.append((key, value))
                after = after_match(text, index)
                if after is None:
                    index = _WS.match(text, index).end()  # type: ignore[union-attr]
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
                index = after.end()
                if after.group(1) == "}":
                    end = index
                    break
        container = self._pairs(pairs)
        if duplicates is not None and kind == "component":
            own = [i for i in range(seen, len(duplicates)) if i not in self._claimed]
            if own:
                self.flawed[id(container)] = duplicates[own[0]]
                self._claimed.update(own)
        self.sources[id(container)] = Source(
            container,
            start,
            end,
            tuple(key for key, _ in pairs),
            tuple(value for _, value in pairs),
            tuple(item_starts),
            tuple(value_starts),
            tuple(value_ends),
        )
        return container, end

    def _components(self, start: int) -> tuple[Any, int]:
        """A components array: each element read whole by the C scanner, one call each.

        Only a component holding components of its own is walked member by member (its
        children may be edited); for the others a :data:`Whole` is kept.
        """
        text = self.text
        scan = self._scan_once
        duplicates = self._duplicates
        wholes = self.wholes
        after_match = _AFTER_ELEMENT.match
        values: list[Any] = []
        starts: list[int] = []
        ends: list[int] = []
        index = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
        if text.startswith("]", index):
            end = index + 1
        else:
            while True:
                starts.append(index)
                seen = len(duplicates) if duplicates is not None else 0
                try:
                    value, value_end = scan(text, index)
                except StopIteration as stop:
                    raise json.JSONDecodeError("Expecting value", text, stop.value) from None
                if type(value) is dict:
                    if "components" in value:
                        if duplicates is not None:
                            del duplicates[seen:]  # read again, member by member
                        value, value_end = self._object(index, "component")
                    else:
                        if duplicates is not None and len(duplicates) > seen:
                            self.flawed[id(value)] = duplicates[seen]
                            self._claimed.update(range(seen, len(duplicates)))
                        properties = value.get("properties")
                        wholes[id(value)] = (
                            value,
                            index,
                            value_end,
                            tuple(value),
                            tuple(value.values()),
                            tuple(properties) if type(properties) is list else None,
                        )
                values.append(value)
                ends.append(value_end)
                after = after_match(text, value_end)
                if after is None:
                    index = _WS.match(text, value_end).end()  # type: ignore[union-attr]
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
                index = after.end()
                if after.group(1) is not None:
                    end = index
                    break
        self.sources[id(values)] = Source(
            values, start, end, None, tuple(values), tuple(starts), tuple(starts), tuple(ends)
        )
        return values, end

    def _array(self, start: int, kind: str | None) -> tuple[Any, int]:
        text = self.text
        if kind is None and self._everything:
            kind = "any"
        values: list[Any] = []
        starts: list[int] = []
        ends: list[int] = []
        index = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
        if text.startswith("]", index):
            end = index + 1
        else:
            while True:
                starts.append(index)
                char = text[index : index + 1]
                if kind is not None and char == "{" and (kind in _MEMBERS or kind == "any"):
                    value, index = self._object(index, kind)
                elif kind is not None and char == "[" and kind in _ELEMENTS:
                    value, index = self._array(index, _ELEMENTS[kind])
                else:
                    value, index = self._scan(index)
                values.append(value)
                ends.append(index)
                index = _WS.match(text, index).end()  # type: ignore[union-attr]
                if text.startswith(",", index):
                    index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
                    continue
                if text.startswith("]", index):
                    end = index + 1
                    break
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        self.sources[id(values)] = Source(
            values, start, end, None, tuple(values), tuple(starts), tuple(starts), tuple(ends)
        )
        return values, end
