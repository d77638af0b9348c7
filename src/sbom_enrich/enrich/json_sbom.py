"""CycloneDX JSON edited in place: key order, number spelling and layout survive a round trip."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice, repeat
from json.encoder import encode_basestring, encode_basestring_ascii
from operator import is_
from typing import Any

import msgspec

from ..errors import SbomError
from .document import (
    FORMULATION,
    MAX_REFERENCES,
    PROPERTY_PREFIX,
    TOOL_NAME,
    TOOLS,
    VULNERABILITY_PREFIX,
    PypiComponent,
    Sbom,
    SbomGraph,
    VulnerabilityEntry,
    bumped_version,
    check_spec_version,
    component_place,
    make_pypi_component,
    refuse_shared_refs,
    spec_is_legacy_tools,
    unique_reference,
)
from .json_positions import (
    PositionalReader,
    Source,
    Whole,
    first_member_shape,
    last_value_end,
    member_value_span,
    members_from,
)
from .purls import may_name_pypi

JsonObject = dict[str, Any]
#: A piece of the output: text we write, or what is kept of the input (a view of its bytes).
Piece = str | memoryview


def _references(node: JsonObject) -> tuple[str, ...]:
    """:func:`repository_urls` of the component's externalReferences, in one pass.

    Nearly every component of a large SBOM has references and few of them are ``vcs`` or
    ``website``: a (type, url) pair made for each and two scans of them were a third of
    finding the PyPI components. The same answer: objects only, the first MAX_REFERENCES
    of them, ``vcs`` URLs before ``website`` ones.
    """
    references = node.get("externalReferences")
    if not isinstance(references, list):
        return ()
    vcs: list[str] = []
    website: list[str] = []
    seen = 0
    for ref in references:
        if not isinstance(ref, dict):
            continue
        seen += 1
        if seen > MAX_REFERENCES:
            break
        kind = ref.get("type")
        if kind == "vcs" or kind == "website":
            url = ref.get("url")
            if isinstance(url, str) and (url := url.strip()):
                (vcs if kind == "vcs" else website).append(url)
    return (*vcs, *website) if vcs or website else ()


@dataclass(frozen=True)
class RawNumber:
    """A JSON number that is not an integer, kept as written (1.0, 1e5, 0.10000000000000001).

    Converting to float would respell or round it; Decimal would respell exponents.
    """

    text: str

    def __str__(self) -> str:
        return self.text


def _integral(text: str) -> bool:
    """``2.0`` and ``2e0`` are whole numbers; ``2.5`` and ``1e400`` are not usable ones."""
    try:
        number = float(text)
    except ValueError:
        return False
    return number.is_integer() and abs(number) < 2**53


class _DuplicateKeyError(ValueError):
    pass


def _first_duplicate(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return ""


def _object_pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    """The strict hook for text read on its own (property templates): duplicates raise."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKeyError(f"duplicate key {_first_duplicate(pairs)[:80]!r} in a JSON object")
    return obj


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def properties_problem(node: JsonObject) -> str | None:
    """Why the component's ``properties`` cannot be edited safely, or None.

    A property's ``name`` tells ours from others', so an entry without a string name (or one
    that is not an object) leaves us unable to tell what to replace: the component is left as
    written. Values are not judged: a foreign property's value is copied whatever it is.
    """
    if "properties" not in node:
        return None
    properties = node["properties"]
    if not isinstance(properties, list):
        return f"its properties is {_json_kind(properties)}, not an array"
    for position, entry in enumerate(properties, 1):
        if not isinstance(entry, dict):
            return f"its property {position} is {_json_kind(entry)}, not an object"
        name = entry.get("name")
        if not isinstance(name, str):
            told = (
                "has no name" if "name" not in entry else f"has a name that is {_json_kind(name)}"
            )
            return f"its property {position} {told}, not a string"
    return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a document is read (and on again if it was).

    Reading makes every container of the document at once, none of them garbage, and the
    collector would walk the growing heap again and again: a quarter of reading a 14 MB SBOM.
    Afterwards what was made goes straight to the oldest generation (``freeze`` then
    ``unfreeze``: two list splices), or the next young collections would walk it all, twice,
    in whatever runs next. Skipped when the program froze objects of its own.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@dataclass(frozen=True)
class _Layout:
    """How the input was written, so the output diff shows only what enrichment added."""

    indent: str | None  # None: everything on one line
    key_sep: str
    item_sep: str
    newline: str
    leading: str
    trailing: str
    bom: bool
    ascii_only: bool  # the input escaped every non-ASCII character (\u00e9): keep doing so


_FIRST_KEY = re.compile(r'\{(\s*)"(?:[^"\\]|\\.)*"(\s*):(\s*)')
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[0-7])[0-9a-fA-F]{4}")


_LEADING_SPACE = re.compile(r"\s*")


def _detect_layout(text: str, bom: bool) -> _Layout:
    # Offsets, not text.strip(): that copies a 14 MB document twice.
    body_start = _LEADING_SPACE.match(text).end()  # type: ignore[union-attr]
    body_end = len(text)
    while body_end and text[body_end - 1].isspace():
        body_end -= 1
    leading = text[:body_start]
    trailing = text[body_end:]
    # ensure_ascii=False by default, but a writer that escaped non-ASCII (PHP's json_encode,
    # Python's default) gets the same again, so the diff shows only what enrichment added.
    # From the first backslash (str.find of one character is a memchr; the regex engine
    # walks every character, and so does a find of two).
    first_escape = text.find("\\")
    ascii_only = (
        first_escape >= 0
        and text.isascii()
        and _NON_ASCII_ESCAPE.search(text, first_escape) is not None
    )
    match = _FIRST_KEY.match(text, body_start)
    if match is None:  # "{}" or unusual spacing: json.dumps(indent=2)'s look
        return _Layout("  ", ": ", ",", "\n", leading, trailing, bom, ascii_only)
    before_key, before_colon, after_colon = match.groups()
    key_sep = before_colon + ":" + after_colon
    if "\n" in before_key:
        newline = "\r\n" if "\r\n" in before_key else "\n"
        indent = before_key.rsplit("\n", 1)[1]
        return _Layout(indent, key_sep, ",", newline, leading, trailing, bom, ascii_only)
    item_sep = ", " if after_colon else ","
    return _Layout(None, key_sep, item_sep, "\n", leading, trailing, bom, ascii_only)


# Every backslash in JSON text starts an escape, so scanning escapes left to right never
# mistakes the "u0026" of an escaped backslash followed by text for an escape of its own.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))")


def _string_encoder(text: str, ascii_only: bool) -> Callable[[str], str]:
    """Encode strings the way the input's writer did, so kept strings are written as read.

    Writers escape characters JSON does not require escaping: Go ``\\u0026 \\u003c``, PHP
    ``\\/``, .NET ``\\u002B \\u0027`` with uppercase hex. A consistent writer escapes a character
    everywhere or nowhere, so each one the input escaped is escaped again, spelled the same.
    """
    base = encode_basestring_ascii if ascii_only else encode_basestring
    first_escape = text.find("\\")
    if first_escape < 0:
        return base  # no escape at all (str.find: the regex below walks every character)
    spelled: dict[str, str] = {}
    upper = lower = False
    # Each distinct escape once, in the order first seen (a file may hold thousands of "\n").
    for digits, other in dict.fromkeys(_ESCAPE.findall(text, first_escape)):
        if other == "/":
            spelled.setdefault("/", "\\/")
        if not digits:
            continue
        upper = upper or any(c in "ABCDEF" for c in digits)
        lower = lower or any(c in "abcdef" for c in digits)
        char = chr(int(digits, 16))
        # Letters and digits escaped here and there are accidents, not a writer's style;
        # control characters have JSON's own short forms; surrogates are halves of a pair.
        if char >= " " and not char.isalnum() and not 0xD800 <= ord(char) <= 0xDFFF:
            spelled.setdefault(char, "")
    hex_upper = upper and not lower
    for char in spelled:
        if char != "/" or not spelled[char]:
            spelled[char] = f"\\u{ord(char):04X}" if hex_upper else f"\\u{ord(char):04x}"
    if not spelled and not hex_upper:
        return base
    special = re.compile("([" + re.escape("".join(spelled)) + "])") if spelled else None

    def upper_hex(match: re.Match[str]) -> str:
        return "\\u" + match[1].upper() if match[1] else match[0]

    def encode(value: str) -> str:
        if special is None or special.search(value) is None:
            out = base(value)
        else:
            parts = special.split(value)
            pieces = ['"']
            for index, part in enumerate(parts):
                pieces.append(spelled[part] if index % 2 else base(part)[1:-1])
            pieces.append('"')
            out = "".join(pieces)
        return _ESCAPE.sub(upper_hex, out) if hex_upper else out

    return encode


def _render(value: Any, layout: _Layout, encode: Callable[[str], str], base: str = "") -> str:
    """``value`` written in the input's layout; ``base`` is the indentation of its first line.

    Only values enrichment creates are rendered: everything read from the input is copied.
    """
    out: list[str] = []
    append = out.append
    indent = layout.indent
    key_sep = layout.key_sep
    item_sep = layout.item_sep

    def write(node: Any, level: int) -> None:
        if isinstance(node, str):
            append(encode(node))
        elif node is None:
            append("null")
        elif node is True:
            append("true")
        elif node is False:
            append("false")
        elif isinstance(node, int):
            append(int.__repr__(node))
        elif isinstance(node, RawNumber):
            append(node.text)
        elif isinstance(node, dict):
            if not node:
                append("{}")
                return
            append("{")
            if indent is None:
                first = True
                for key, item in node.items():
                    if not first:
                        append(item_sep)
                    first = False
                    append(encode(key))
                    append(key_sep)
                    write(item, level)
            else:
                inner = layout.newline + base + indent * (level + 1)
                first = True
                for key, item in node.items():
                    append(inner if first else "," + inner)
                    first = False
                    append(encode(key))
                    append(key_sep)
                    write(item, level + 1)
                append(layout.newline + base + indent * level)
            append("}")
        elif isinstance(node, list):
            if not node:
                append("[]")
                return
            append("[")
            if indent is None:
                for index, item in enumerate(node):
                    if index:
                        append(item_sep)
                    write(item, level)
            else:
                inner = layout.newline + base + indent * (level + 1)
                for index, item in enumerate(node):
                    append("," + inner if index else inner)
                    write(item, level + 1)
                append(layout.newline + base + indent * level)
            append("]")
        elif isinstance(node, float):  # only values we were handed, never parsed ones
            append(float.__repr__(node))
        else:
            raise TypeError(f"cannot write {type(node).__name__} as JSON")

    write(value, 0)
    return "".join(out)


def _insert_key(obj: JsonObject, key: str, value: Any, after: Sequence[str]) -> None:
    """Add ``key`` right after the last present key of ``after`` (else first), in place.

    The dict object itself is kept because PypiComponent handles point at nested dicts. A key
    that is present already (``"metadata": null``) gets the value where it stands.
    """
    if key in obj:
        obj[key] = value
        return
    items = list(obj.items())
    position = 0
    for index, (existing, _) in enumerate(items):
        if existing in after:
            position = index + 1
    items.insert(position, (key, value))
    obj.clear()
    obj.update(items)


#: Go's encoding/json (syft, grype, trivy read CycloneDX with it) takes a key for a field when
#: they differ only in case, Unicode's simple folding included ("Purl", "componentſ"): keys we
#: read, by their folded spelling. A key that folds to one of them but is not it is a second
#: spelling of it to those readers.
_DOCUMENT_KEYS = ("bomFormat", "specVersion", "version", "metadata", "components", "formulation")
_METADATA_KEYS = ("component", "tools")
#: The keys of a tools object (1.5+) and of a formula that hold components.
_HOLDER_KEYS = ("components",)
_COMPONENT_READ = {
    key.casefold(): key for key in ("purl", "properties", "bom-ref", "version", "components")
}
#: Every key a component has in CycloneDX 1.3-1.7: a component with only these (nearly all)
#: has no second spelling of a key we read.
_COMPONENT_KEYS = frozenset(
    {
        "author", "authors", "bom-ref", "components", "copyright", "cpe", "cryptoProperties",
        "data", "description", "evidence", "externalReferences", "group", "hashes",
        "isExternal", "licenses", "manufacturer", "mime-type", "modelCard", "modified", "name",
        "omniborId", "patentAssertions", "pedigree", "properties", "publisher", "purl",
        "releaseNotes", "scope", "signature", "supplier", "swhid", "swid", "tags", "type",
        "version", "versionRange",
    }
)  # fmt: skip


def _case_variant(node: JsonObject, keys: Sequence[str]) -> tuple[str, str] | None:
    """``(key as written, the key it spells)`` for the first key of ``node`` that differs
    from one of ``keys`` only in case, else None."""
    folded = {key.casefold(): key for key in keys}
    for key in node:
        meant = folded.get(key.casefold())
        if meant is not None and meant != key:
            return key, meant
    return None


def _case_problem(written: str, meant: str) -> str:
    return (
        f"key {written[:40]!r} is {meant!r} to readers that ignore case "
        "(Go's encoding/json: syft, grype, trivy)"
    )


#: A key written with a \u escape (rare: keys are ASCII names): it may spell any name.
_ESCAPED_KEY = re.compile(r'\\u[0-9A-Fa-f]{4}(?:[^"\\\r\n]|\\.)*"[ \t\r\n]*:')


def _hidden_components(document: JsonObject) -> str | None:
    """Where the document hides component objects in a shape the schema has no place for,
    as the rule it breaks (None: nowhere): ``components`` as an object, an entry that is an
    array, ``metadata.component`` as an array. Each was skipped as holding nothing, and a
    PyPI component written so was never looked up while the run passed. (A scalar where a
    component belongs hides none: it is left as written, as before.)"""
    metadata = document.get("metadata")
    subject = metadata.get("component") if isinstance(metadata, dict) else None
    if isinstance(subject, list):
        return "metadata.component must be a component object"
    stack: list[tuple[str, Any]] = [("components", document.get("components"))]
    if isinstance(subject, dict):
        stack.append(("metadata.component.components", subject.get("components")))
    # What built the product (1.5+): looked up too, so hidden the same way.
    stack.extend((where, children) for where, children, _ in _build_holders(document))
    while stack:
        where, children = stack.pop()
        if isinstance(children, dict):
            return f"{where} must be an array of component objects"
        if not isinstance(children, list):
            continue
        # Nearly always objects without children of their own: judged in C.
        if set(map(type, children)) <= {dict} and not any(
            map(dict.__contains__, children, repeat("components"))
        ):
            continue
        for position, child in enumerate(children):
            if isinstance(child, list):
                return f"{where}[{position}] must be a component object"
            if isinstance(child, dict) and "components" in child:
                stack.append((f"{where}[{position}].components", child["components"]))
    return None


def _build_holders(document: JsonObject) -> Iterator[tuple[str, Any, str]]:
    """(where, the value of its ``components`` member, its section) for ``metadata.tools``
    (the 1.5+ object; the legacy array holds tools, not components) and each formula, in
    document order within each."""
    metadata = document.get("metadata")
    tools = metadata.get("tools") if isinstance(metadata, dict) else None
    if isinstance(tools, dict) and "components" in tools:
        yield "metadata.tools.components", tools["components"], TOOLS
    formulation = document.get("formulation")
    if isinstance(formulation, list):
        for position, formula in enumerate(formulation):
            if isinstance(formula, dict) and "components" in formula:
                yield f"formulation[{position}].components", formula["components"], FORMULATION


def _walk(component: Any) -> Iterator[JsonObject]:
    if not isinstance(component, dict):
        return
    yield component
    children = component.get("components")
    if isinstance(children, list):
        for child in children:
            yield from _walk(child)


def _components_of(holder: Any) -> list[Any]:
    """The ``components`` array of a tools object or a formula (none when it is no array)."""
    children = holder.get("components") if isinstance(holder, dict) else None
    return children if isinstance(children, list) else []


def _build_tools(document: JsonObject) -> dict[int, str]:
    """id(component) -> its section, for every component that built the product (few: the
    map is empty for most documents)."""
    found: dict[int, str] = {}
    for _, children, section in _build_holders(document):
        for child in children if isinstance(children, list) else ():
            for node in _walk(child):
                found[id(node)] = section
    return found


def _is_ours(entry: Any, key: str, value: str) -> bool:
    return isinstance(entry, dict) and entry.get(key) == value


class JsonSbom(Sbom):
    """A CycloneDX JSON document held as ordered dicts and lists."""

    format = "json"

    def __init__(
        self,
        document: JsonObject,
        spec_version: str,
        layout: _Layout,
        source: str,
        encode: Callable[[str], str] = encode_basestring,
    ):
        self._doc = document
        self.spec_version = spec_version
        self._layout = layout
        self.source = source
        self._encode = encode
        #: The input (bytes and text) and where its containers were written; parse() fills them.
        self._data = b""
        self._text = ""
        self._sources: dict[int, Source] = {}
        self._wholes: dict[int, Whole] = {}
        #: id(component) -> a key it holds twice (itself or in a value): left as written.
        self._flawed: dict[int, str] = {}
        #: Whether the text holds ``"signature"`` at all (no signature without it).
        self._maybe_signed = True
        #: Parsing every purl is a third of a warm run's enrichment work: do it once. Edits
        #: only touch properties, so the list stays right.
        self._pypi_components: list[PypiComponent] | None = None
        #: The bom-refs components and services hold, gathered at the first bom-ref we add
        #: and kept up to date with ours (once per call made adding refs quadratic).
        self._taken_refs: set[Any] | None = None

    @classmethod
    def parse(cls, data: bytes, source: str) -> JsonSbom:
        with _collector_paused():
            return cls._parse(data, source)

    @classmethod
    def _parse(cls, data: bytes, source: str) -> JsonSbom:
        bom = data.startswith(b"\xef\xbb\xbf")
        try:
            text = data[3:].decode("utf-8") if bom else data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SbomError(f"{source}: JSON input is not valid UTF-8 ({exc.reason})") from None
        duplicates: list[str] = []

        def pairs(items: list[tuple[str, Any]]) -> JsonObject:
            obj = dict(items)
            if len(obj) != len(items):
                duplicates.append(_first_duplicate(items))
                purl = obj.get("purl")
                if "purl" in obj and not (isinstance(purl, str) and may_name_pypi(purl)):
                    # Readers disagree on which duplicate wins: one that keeps a PyPI purl
                    # sees a PyPI component. It is one here too, left as written and
                    # reported; the last value alone (npm, null) hid it, and the run passed.
                    obj["purl"] = next(
                        (
                            v
                            for k, v in items
                            if k == "purl" and isinstance(v, str) and may_name_pypi(v)
                        ),
                        purl,
                    )
            return obj

        # Asked once (a search of the whole text, ~7 ms for 14 MB): the reader and _signed().
        # A key may spell "signature" with escapes ("sign\u0061ture" is the same key to
        # every JSON reader): a text with an escaped key is read whole too, or such a
        # signature was enriched over, unnoticed, as if the BOM were unsigned.
        # (The search: ~9 ms for the bench's 14 MB, no faster behind a test for "\\u".)
        maybe_signed = '"signature"' in text or _ESCAPED_KEY.search(text) is not None
        reader = PositionalReader(
            text,
            object_pairs_hook=pairs,
            parse_float=RawNumber,
            parse_constant=_refuse_constant,
            # Signatures may sit at any depth (declarations, standards): only then is every
            # container read with positions, so that they can be removed wherever they are.
            everything=maybe_signed,
            duplicates=duplicates,
        )
        try:
            document = reader.document()
        except json.JSONDecodeError as exc:
            raise SbomError(f"{source}: not valid JSON: {exc}") from None
        except RecursionError:
            raise SbomError(f"{source}: JSON nested too deeply") from None
        except ValueError as exc:  # NaN/Infinity, integers too long to convert
            problem = str(exc)
            if "int_max_str_digits" in problem:  # Python's advice to a programmer, not a user
                problem = "an integer of more than 4300 digits (parsers read it differently)"
            raise SbomError(f"{source}: not valid JSON: {problem}") from None
        if unattributed := reader.unattributed_duplicates:
            # Outside any component, nothing can be left aside: parsers disagree on which
            # duplicate wins, so a tool reading the output could see other data than one
            # reading the input. Inside a component, that component is left as written.
            shown = unattributed[0][:80]
            raise SbomError(f"{source}: duplicate key {shown!r} in a JSON object")
        if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
            raise SbomError(f'{source}: not a CycloneDX document (no "bomFormat": "CycloneDX")')
        spec = document.get("specVersion")
        if spec is None:
            raise SbomError(f"{source}: CycloneDX document without a specVersion")
        if not isinstance(spec, str):
            raise SbomError(f'{source}: specVersion must be a string such as "1.6"')
        check_spec_version(spec, source)
        if _version_number(document.get("version", 1)) is None:
            raise SbomError(f"{source}: the BOM version must be a positive integer")
        metadata = document.get("metadata")
        formulation = document.get("formulation")
        holders = [
            metadata.get("tools") if isinstance(metadata, dict) else None,
            *(formulation if isinstance(formulation, list) else ()),
        ]
        for node, keys in (
            (document, _DOCUMENT_KEYS),
            (metadata, _METADATA_KEYS),
            *((holder, _HOLDER_KEYS) for holder in holders),
        ):
            variant = _case_variant(node, keys) if isinstance(node, dict) else None
            if variant is not None:
                raise SbomError(f"{source}: {_case_problem(*variant)}")
        if (misplaced := _hidden_components(document)) is not None:
            raise SbomError(
                f"{source}: {misplaced} (CycloneDX): components written another way would "
                "go unchecked"
            )
        layout = _detect_layout(text, bom)
        sbom = cls(document, spec, layout, source, _string_encoder(text, layout.ascii_only))
        sbom._data = data
        sbom._text = text
        sbom._sources = reader.sources
        sbom._wholes = reader.wholes
        sbom._flawed = reader.flawed
        sbom._maybe_signed = maybe_signed
        sbom._check_editable()
        return sbom

    def _check_editable(self) -> None:
        """Refuse up front what enrichment could not edit, before any lookup is made."""
        metadata = self._doc.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise SbomError(f"{self.source}: metadata is not an object")
        tools = metadata.get("tools") if isinstance(metadata, dict) else None
        if tools is not None and not isinstance(tools, (list, dict)):
            raise SbomError(f"{self.source}: metadata.tools is neither an array nor an object")
        entries = tools.get("components") if isinstance(tools, dict) else None
        if entries is not None and not isinstance(entries, list):
            raise SbomError(f"{self.source}: metadata.tools.components is not an array")
        self.pypi_components()  # each component that cannot be edited is marked, not refused

    # -- reading -------------------------------------------------------------------------

    def _components(self) -> list[JsonObject]:
        # Document order: the top-level keys as written (cyclonedx-py sorts them, so
        # "components" can come before "metadata").
        nodes: list[JsonObject] = []
        for key, value in self._doc.items():
            if key == "metadata" and isinstance(value, dict):
                for inner, child in value.items():
                    if inner == "component":
                        nodes.extend(_walk(child))
                    elif inner == "tools" and isinstance(child, dict):
                        for tool in _components_of(child):
                            nodes.extend(_walk(tool))
            elif key == "formulation" and isinstance(value, list):
                for formula in value:
                    for component in _components_of(formula):
                        nodes.extend(_walk(component))
            elif key == "components" and isinstance(value, list):
                if set(map(type, value)) == {dict} and not any(
                    map(dict.__contains__, value, repeat("components"))
                ):
                    nodes.extend(value)  # objects without children (most): none walked
                    continue
                for component in value:
                    if type(component) is dict and "components" not in component:
                        nodes.append(component)
                    else:
                        nodes.extend(_walk(component))
        return nodes

    def component_count(self) -> int:
        # What built the product counts when it is PyPI (looked up) only: a generator's own
        # entry (cyclonedx-py, cdxgen's npm purl, ours) is no component of the product.
        count = len(self._components())
        build = _build_tools(self._doc)
        if build:
            count -= len(build) - sum(c.build_tool is not None for c in self.pypi_components())
        return count

    def pypi_components(self) -> list[PypiComponent]:
        if self._pypi_components is not None:
            return list(self._pypi_components)
        found = []
        metadata = self._doc.get("metadata")
        subject = metadata.get("component") if isinstance(metadata, dict) else None
        flawed = self._flawed
        nodes = self._components()
        build_tools = _build_tools(self._doc)
        refuse_shared_refs(
            [node.get("bom-ref") for node in nodes],
            lambda position: nodes[position].get("purl"),
            lambda position: self._line_of(nodes[position]),
            self.source,
        )
        for node in nodes:
            purl = node.get("purl")
            version = node.get("version")
            bom_ref = node.get("bom-ref")
            duplicate = flawed.get(id(node)) if flawed else None
            problem: str | None
            if duplicate is not None:
                problem = f"duplicate key {duplicate[:80]!r} in the component"
            else:
                problem = properties_problem(node) if "properties" in node else None
            if not node.keys() <= _COMPONENT_KEYS:  # a key of another spelling, maybe
                purl, problem = self._case_variants(node, purl, problem)
            component = make_pypi_component(
                node,
                purl if isinstance(purl, str) else None,
                version if isinstance(version, str) else None,
                bom_ref if isinstance(bom_ref, str) else None,
                node is subject,
                # Read from the node when first asked for (--maintenance, the monitor): most
                # runs never do.
                _references,
                problem,
                build_tools.get(id(node)) if build_tools else None,
            )
            if component is not None:
                if component.problem is not None:
                    component = msgspec.structs.replace(component, line=self._line_of(node))
                found.append(component)
        self._pypi_components = found
        return list(found)

    def _case_variants(
        self, node: JsonObject, purl: Any, problem: str | None
    ) -> tuple[Any, str | None]:
        """``(purl, problem)`` of a component with a key that spells one we read in another
        case: to Go's readers it holds that key, so the component is left as written and
        reported, and a PyPI purl in either spelling makes it a PyPI component. Components
        spelled so are refused whole (nothing could report them)."""
        variant = _case_variant(node, tuple(_COMPONENT_READ.values()))
        if variant is None:
            return purl, problem
        written, meant = variant
        if meant == "components":
            raise SbomError(f"{self.source}: {_case_problem(written, meant)}")
        if not (isinstance(purl, str) and may_name_pypi(purl)):
            spelled = (
                value
                for key, value in node.items()
                if _COMPONENT_READ.get(key.casefold()) == "purl" and isinstance(value, str)
            )
            purl = next((value for value in spelled if may_name_pypi(value)), purl)
        return purl, problem or _case_problem(written, meant)

    def _line_of(self, node: JsonObject) -> int | None:
        source = self._sources.get(id(node))
        if source is not None:
            start = source.start
        elif (whole := self._wholes.get(id(node))) is not None:
            start = whole[1]
        else:
            return None
        return self._text.count("\n", 0, start) + 1

    def dependency_graph(self) -> SbomGraph:
        names: dict[str, str] = {}
        for node in self._components():
            ref, name = node.get("bom-ref"), node.get("name")
            if isinstance(ref, str) and isinstance(name, str):
                names.setdefault(ref, name)
        edges: dict[str, tuple[str, ...]] = {}
        listed = self._doc.get("dependencies")
        for entry in listed if isinstance(listed, list) else []:
            ref = entry.get("ref") if isinstance(entry, dict) else None
            depends = entry.get("dependsOn") if isinstance(entry, dict) else None
            if isinstance(ref, str) and isinstance(depends, list):
                edges[ref] = tuple([d for d in depends if isinstance(d, str)])
        metadata = self._doc.get("metadata")
        subject = metadata.get("component") if isinstance(metadata, dict) else None
        root = subject.get("bom-ref") if isinstance(subject, dict) else None
        return SbomGraph(edges, root if isinstance(root, str) else None, names)

    # -- editing -------------------------------------------------------------------------

    def set_properties(
        self, component: PypiComponent, properties: Sequence[tuple[str, str]]
    ) -> None:
        node = component.handle
        if not isinstance(node, dict):
            raise TypeError("component does not belong to a JSON SBOM")
        existing = node.get("properties")
        if existing is None:
            if properties:  # nothing of its own to keep (most components of a first run)
                node["properties"] = [{"name": name, "value": value} for name, value in properties]
            return
        if not isinstance(existing, list):
            raise SbomError(f"{self.source}: component {component.purl!r} has malformed properties")
        kept = [entry for entry in existing if not _is_enrichment_property(entry)]
        if len(kept) < len(existing) and not kept and not properties:
            del node["properties"]  # as strip_enrichment does: the container was only ours
            return
        existing[:] = kept
        existing.extend([{"name": name, "value": value} for name, value in properties])

    def remove_planted(self) -> None:
        ours = {id(c.handle) for c in self.pypi_components() if c.problem is None}
        for node in self._components():
            if id(node) in ours or not any(_spells_properties(key) for key in node):
                continue  # ours to write (or a skipped one, emptied of ours), or none at all
            flawed = id(node) in self._flawed
            if not (_planted_raw(self._raw(node)) if flawed else _planted(node)):
                continue
            properties = node.get("properties")
            if (
                not flawed
                and isinstance(properties, list)
                and properties_problem(node) is None
                and sum(map(_spells_properties, node)) == 1
                and not _planted(
                    {"properties": [e for e in properties if not _is_enrichment_property(e)]}
                )
            ):
                kept = [entry for entry in properties if not _is_enrichment_property(entry)]
                if kept:
                    properties[:] = kept
                else:
                    del node["properties"]  # it held only what we did not write
                continue
            purl = node.get("purl")
            shown = component_place(self._line_of(node), purl)
            raise SbomError(
                f"{self.source}: component {shown} carries {PROPERTY_PREFIX} properties that "
                "sbom-enrich did not write, where they cannot be removed exactly: the output "
                "would carry them beside our tool entry, as if we vouched for them"
            )

    def _raw(self, node: JsonObject) -> str:
        """The component's text as written (for one whose parsed object lost a duplicate)."""
        source = self._sources.get(id(node))
        if source is not None:
            return self._text[source.start : source.end]
        whole = self._wholes[id(node)]
        return self._text[whole[1] : whole[2]]

    def add_tool(self, name: str, version: str, url: str | None) -> None:
        metadata = self._doc.get("metadata")
        if metadata is None:
            metadata = {}
            _insert_key(
                self._doc,
                "metadata",
                metadata,
                ("$schema", "bomFormat", "specVersion", "serialNumber", "version"),
            )
        elif not isinstance(metadata, dict):
            raise SbomError(f"{self.source}: metadata is not an object")
        tools = metadata.get("tools")
        legacy = isinstance(tools, list) or (
            tools is None and spec_is_legacy_tools(self.spec_version)
        )
        if tools is None:
            tools = [] if legacy else {}
            _insert_key(metadata, "tools", tools, ("timestamp", "lifecycles"))
        if legacy:
            assert isinstance(tools, list)
            entries = tools
            entry: JsonObject = {"vendor": name, "name": name, "version": version}
            if url and self.spec_version != "1.3":  # 1.3's tool has no externalReferences
                entry["externalReferences"] = [{"type": "website", "url": url}]
        else:
            if not isinstance(tools, dict):
                raise SbomError(f"{self.source}: metadata.tools is neither an array nor an object")
            if not isinstance(tools.get("components"), list):
                if tools.get("components") is not None:
                    raise SbomError(f"{self.source}: metadata.tools.components is not an array")
                tools_components: list[Any] = []
                _insert_key(tools, "components", tools_components, ())
            entries = tools["components"]
            entry = {"type": "application", "name": name, "version": version}
            if url:
                entry["externalReferences"] = [{"type": "website", "url": url}]
        ours = [item for item in entries if _is_ours(item, "name", name)]
        if ours:
            for item in ours:
                # An entry without a version gets it after its name, where new entries have it.
                _insert_key(item, "version", version, ("vendor", "name"))
        else:
            entries.append(entry)

    def bump_version(self) -> None:
        if "version" in self._doc:
            current = _version_number(self._doc["version"])
            if current is None:
                raise SbomError(f"{self.source}: the BOM version must be a positive integer")
            # Counted up on its text when long: the reader takes integers of up to 4,300
            # digits (Python's bound), and 4,300 nines plus one is one more than it writes.
            self._doc["version"] = (
                current + 1 if current < 2**63 else RawNumber(bumped_version(str(current)))
            )
        else:
            _insert_key(self._doc, "version", 2, ("bomFormat", "specVersion", "serialNumber"))

    def _strip_enrichment(self) -> None:
        if isinstance(self._doc.get("vulnerabilities"), list):
            self.set_vulnerabilities([])
        flawed = {id(c.handle) for c in self.pypi_components() if c.problem is not None}
        for node in self._components():
            existing = node.get("properties")
            if id(node) in flawed:
                continue  # left as written, as enrichment left it
            if isinstance(existing, list) and any(map(_is_enrichment_property, existing)):
                existing[:] = [entry for entry in existing if not _is_enrichment_property(entry)]
                if not existing:
                    del node["properties"]
        metadata = self._doc.get("metadata")
        if not isinstance(metadata, dict):
            return
        tools = metadata.get("tools")
        if isinstance(tools, list):
            if _remove_ours(tools) and not tools:
                del metadata["tools"]
        elif isinstance(tools, dict):
            entries = tools.get("components")
            if isinstance(entries, list) and _remove_ours(entries) and not entries:
                del tools["components"]
                if not tools:
                    del metadata["tools"]
        else:
            return
        if not metadata:
            del self._doc["metadata"]

    def set_vulnerabilities(self, entries: Sequence[VulnerabilityEntry]) -> None:
        existing = self._doc.get("vulnerabilities")
        if existing is not None and not isinstance(existing, list):
            raise SbomError(f"{self.source}: vulnerabilities is not an array")
        new = [_vulnerability_object(entry) for entry in entries]
        if existing is None:
            if new:
                self._doc["vulnerabilities"] = new  # last: JSON members have no schema order
            return
        kept = [item for item in existing if not _is_our_vulnerability(item)]
        if len(kept) == len(existing) and not new:
            return
        if not kept and not new:
            del self._doc["vulnerabilities"]  # it held only ours
            return
        existing[:] = kept + new

    def ensure_bom_ref(self, component: PypiComponent) -> str | None:
        node = component.handle
        if not isinstance(node, dict):
            raise TypeError("component does not belong to a JSON SBOM")
        current = node.get("bom-ref")
        if isinstance(current, str) and current:
            return current
        if "bom-ref" in node:
            return None  # one the author wrote, unusable: never overwritten
        taken = self._taken_refs
        if taken is None:
            taken = {n.get("bom-ref") for n in self._components()}
            services = self._doc.get("services")
            if isinstance(services, list):
                taken |= {s.get("bom-ref") for s in services if isinstance(s, dict)}
            self._taken_refs = taken
        reference = unique_reference(component.purl, taken)
        _insert_key(node, "bom-ref", reference, ("type", "mime-type"))
        taken.add(reference)
        return reference

    def _signed(self) -> list[tuple[JsonObject, str]]:
        """(object, what it is) for each object with a JSF ``signature`` member, any depth."""
        if not self._maybe_signed:
            return []
        found: list[tuple[JsonObject, str]] = []
        # The JSON Schema allows signature on the BOM, components, services, compositions,
        # annotations, declarations and standards; collections name what their items are.
        kinds = {
            "components": "component",
            "component": "component",
            "services": "service",
            "compositions": "composition",
            "annotations": "annotation",
            "standards": "standard",
        }
        stack: list[tuple[Any, str]] = [(self._doc, "bom")]
        while stack:
            node, kind = stack.pop()
            if isinstance(node, dict):
                signature = node.get("signature")
                if isinstance(signature, dict):
                    found.append((node, kind))
                for key, value in node.items():
                    if key != "signature" and isinstance(value, (dict, list)):
                        stack.append((value, kinds.get(str(key), str(key))))
            elif isinstance(node, list):
                stack.extend((item, kind) for item in node)
        return found

    def signatures(self) -> list[str]:
        return [kind for _, kind in self._signed()]

    def remove_signatures(self) -> int:
        signed = self._signed()
        for node, _ in signed:
            # Every container is read with positions when the text holds "signature", so the
            # splice sees the member gone wherever it was.
            del node["signature"]
        return len(signed)

    def to_bytes(self) -> bytes:
        return b"".join(self.to_chunks())

    def to_chunks(self) -> list[bytes | memoryview]:
        # Not joined: the CLI writes the pieces as they are (a 20 MB output joined was a copy
        # and ~5,000 fresh pages, ~25 ms of a warm 10,000-component run).
        layout = self._layout
        text = self._text
        # ASCII text (most SBOMs): its offsets are the input's byte offsets, so what is kept is
        # copied from the input bytes once, not sliced, joined and encoded (three copies).
        kept: str | memoryview = text
        if text.isascii() and len(self._data) == len(text) + (3 if layout.bom else 0):
            kept = memoryview(self._data)[3 if layout.bom else 0 :]
        try:
            try:
                splicer = _Splicer(text, kept, self._sources, self._wholes, layout, self._encode)
                return splicer.chunks(self._doc)
            except UnicodeEncodeError:
                # A lone surrogate in a value we write ("\ud800" read from the input and written
                # again in new text) has no UTF-8 form: escape non-ASCII in what we write.
                ascii_encode = encode_basestring_ascii
                splicer = _Splicer(text, kept, self._sources, self._wholes, layout, ascii_encode)
                return splicer.chunks(self._doc)
        except RecursionError:
            raise SbomError(f"{self.source}: JSON nested too deeply to write") from None


def _vulnerability_object(entry: VulnerabilityEntry) -> JsonObject:
    return {
        "id": entry.id,
        "source": {"name": entry.source_name, "url": entry.source_url},
        "cwes": list(entry.cwes),
        "description": entry.description,
        "recommendation": entry.recommendation,
        "affects": [{"ref": reference} for reference in entry.affects],
    }


def _is_our_vulnerability(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("id"), str)
        and item["id"].startswith(VULNERABILITY_PREFIX)
    )


def _version_number(value: Any) -> int | None:
    """The BOM version as an int (JSON Schema counts ``2.0`` as an integer), or None."""
    if isinstance(value, RawNumber) and _integral(value.text):
        value = int(float(value.text))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


#: What follows a key: whitespace and the colon.
_COLON_NEXT = re.compile(r"[ \t\r\n]*:")
_SEPARATOR_BEFORE_VALUE = re.compile(r"[ \t\r\n]*:[ \t\r\n]*\Z")
_LINE_INDENT = re.compile(r"[ \t]*")
_JSON_SPACE = " \t\n\r"


class _Splicer:
    """Write the edited document as the input text with only the changed members replaced.

    A container whose members are the ones read (same keys, same value objects) is copied as
    written; one that changed keeps each unchanged member's text and the separators around it,
    and only new or changed members are rendered, indented like their neighbours.
    """

    def __init__(
        self,
        text: str,
        kept: str | memoryview,
        sources: dict[int, Source],
        wholes: dict[int, Whole],
        layout: _Layout,
        encode: Callable[[str], str],
    ) -> None:
        self._text = text
        #: What input text is copied from: ``text`` itself, or the input's bytes when every
        #: character is one byte (slices of it are views, not copies).
        self._kept = kept
        self._sources = sources
        self._wholes = wholes
        self._layout = layout
        self._encode = encode
        self._spans_reader: PositionalReader | None = None
        #: Property shapes by indentation: (before the name, between name and value, after).
        self._shapes: dict[str, tuple[str, str, str]] = {}
        #: Strings already encoded for properties, by their text.
        self._encoded: dict[str, str] = {}
        #: Property arrays' framing by indentation (see _array_frame).
        self._frames: dict[str, tuple[str, str, str, str]] = {}
        #: (lead, separator after the first member) of components members are appended to ->
        #: (the members' indentation, the separator written before each appended member).
        self._appending: dict[tuple[str, str | None], tuple[str, str]] = {}
        #: How the last component members were appended to closed (after its last value).
        self._close = "}"

    def chunks(self, document: JsonObject) -> list[bytes | memoryview]:
        """The output's bytes in order: views of the input as they are, what we wrote encoded
        (nearly all of it ASCII); one piece when the input is not ASCII."""
        source = self._sources[id(document)]
        kept = self._kept
        out: list[Piece] = ["\ufeff"] if self._layout.bom else []
        out.append(kept[: source.start])
        self._container(document, source, out)
        out.append(kept[source.end :])
        if isinstance(kept, str):
            return ["".join(out).encode("utf-8")]  # type: ignore[arg-type]
        return [p.encode("utf-8") if isinstance(p, str) else p for p in out]

    def _source_of(self, value: Any) -> Source | Whole | None:
        if isinstance(value, (dict, list)):
            source = self._sources.get(id(value))
            if source is not None and source.container is value:
                return source
            whole = self._wholes.get(id(value))
            if whole is not None and whole[0] is value:
                return whole
        return None

    def _container(self, value: Any, source: Source | Whole, out: list[Piece]) -> None:
        """Write ``value`` (read at ``source``): as read where unchanged, else rebuilt.

        One function for both, calling itself for children: two Python frames per nesting
        level (object, array), so whatever nesting the reader accepted can be written.
        """
        if type(source) is tuple:
            resume = self._whole(value, source, out, source[1])
            out.append(self._kept[resume : source[2]])
            return
        assert isinstance(source, Source)
        text = self._text
        kept = self._kept
        unchanged = (
            len(value) == len(source.values)
            and all(map(is_, _values(value), source.values))
            and (source.keys is None or tuple(value) == source.keys)
        )
        # An object with a duplicate key is in a component left as written: its members are
        # copied as read (its dict, one value per key, cannot tell them apart); only a nested
        # component of its own may have been enriched.
        duplicated = (
            not unchanged and source.keys is not None and len(set(source.keys)) != len(source.keys)
        )
        if unchanged and source.keys is None:
            # An array as read (the components array: most of a large SBOM): each element
            # found by its id alone (both tables hold what they map, so an id found is that
            # element's), no keys to check.
            position = source.start
            wholes = self._wholes
            sources = self._sources
            whole_of = self._whole
            for item, start, end in zip(
                source.values, source.value_starts, source.value_ends, strict=True
            ):
                whole = wholes.get(id(item))
                if whole is not None:
                    position = whole_of(item, whole, out, position)
                    continue
                walked = sources.get(id(item))
                if walked is not None:
                    out.append(kept[position:start])
                    self._container(item, walked, out)
                    position = end
            out.append(kept[position : source.end])
            return
        if unchanged or duplicated:
            position = source.start
            keys = source.keys if duplicated and source.keys is not None else source.values
            for key, item, start, end in zip(
                keys, source.values, source.value_starts, source.value_ends, strict=True
            ):
                if duplicated and key not in value:
                    # Only --signatures strip removes a member; its text cannot be told from
                    # its twin's here, and a signature silently kept would be a lie.
                    raise SbomError(
                        "cannot remove a signature from an object with a duplicate key "
                        f"{key[:80]!r} (left as written); nothing written"
                    )
                if duplicated and value.get(key) is not item:
                    continue
                child = self._source_of(item)
                if child is not None:
                    if type(child) is tuple:
                        # An unchanged component is copied with the text around it; an
                        # enriched one from here to where its new members go.
                        position = self._whole(item, child, out, position)
                        continue
                    out.append(kept[position:start])
                    self._container(item, child, out)
                    position = end
            out.append(kept[position : source.end])
            return
        layout = self._layout
        read = source.values
        count = len(read)
        if count:
            lead = text[source.start + 1 : source.item_starts[0]]
            close = text[source.value_ends[-1] : source.end - 1]
        elif layout.indent is None:
            lead = close = ""
        else:
            own = self._line_indent(source.start)
            lead = layout.newline + own + layout.indent
            close = layout.newline + own
        member_indent = lead.rsplit("\n", 1)[1] if "\n" in lead else ""
        if count >= 2:
            typical = text[source.value_ends[0] : source.item_starts[1]]
        else:
            typical = "," + lead if "\n" in lead else layout.item_sep

        key_sep = layout.key_sep
        if source.keys is not None and count:
            head = text[source.item_starts[0] : source.value_starts[0]]
            match = _SEPARATOR_BEFORE_VALUE.search(head)
            key_sep = match.group() if match else key_sep
        if count and len(value) > count and all(map(is_, _values(value), read)):
            read_keys = source.keys
            if read_keys is None or tuple(value)[:count] == read_keys:
                # The usual edit (properties added to a component, to its properties):
                # members only appended. Everything up to the last member is the input's (its
                # children spliced).
                position = source.start
                for item, start, end in zip(
                    read, source.value_starts, source.value_ends, strict=True
                ):
                    child = self._source_of(item)
                    if child is not None:
                        out.append(kept[position:start])
                        self._container(item, child, out)
                        position = end
                out.append(kept[position : source.value_ends[-1]])
                if read_keys is not None:
                    for key, item in list(value.items())[count:]:
                        out.append(typical)
                        out.append(self._encode(key) + key_sep + self._render(item, member_indent))
                else:
                    template = _property_template(text, source)
                    for item in value[count:]:
                        out.append(typical)
                        out.append(self._element(item, template, member_indent))
                out.append(close + text[source.end - 1])
                return

        # Each member's pieces, kept apart (a member may be most of the document: joining
        # it here would copy it twice more).
        written: list[tuple[int | None, list[Piece]]] = []
        if source.keys is not None:
            index_of = {key: index for index, key in enumerate(source.keys)}
            for key, item in value.items():
                index = index_of.get(key)
                if index is None:
                    rendered = self._encode(key) + key_sep + self._render(item, member_indent)
                    written.append((None, [rendered]))
                    continue
                pieces: list[Piece] = [text[source.item_starts[index] : source.value_starts[index]]]
                if item is read[index]:
                    child = self._source_of(item)  # inlined (not a helper): frames per level
                    if child is None:
                        pieces.append(kept[source.value_starts[index] : source.value_ends[index]])
                    else:
                        self._container(item, child, pieces)
                else:
                    indent = self._line_indent(source.item_starts[index])
                    pieces.append(self._render(item, indent))
                written.append((index, pieces))
        else:
            positions: dict[int, list[int]] = {}
            for index, item in enumerate(read):
                positions.setdefault(id(item), []).append(index)
            template = _property_template(text, source)
            next_read = 0
            for item in value:
                candidates = [i for i in positions.get(id(item), ()) if i >= next_read]
                if candidates:
                    index = candidates[0]
                    next_read = index + 1
                    child = self._source_of(item)
                    if child is None:
                        pieces = [kept[source.value_starts[index] : source.value_ends[index]]]
                    else:
                        pieces = []
                        self._container(item, child, pieces)
                    written.append((index, pieces))
                else:
                    written.append((None, [self._element(item, template, member_indent)]))
        opening, closing = text[source.start], text[source.end - 1]
        if not written:
            out.append(opening + closing)
            return
        out.append(opening + lead)
        previous: int | None = None
        for position, (index, pieces) in enumerate(written):
            if position:
                if previous is not None and index is not None and index == previous + 1:
                    out.append(text[source.value_ends[previous] : source.item_starts[index]])
                else:
                    out.append(typical)
            out.extend(pieces)
            previous = index
        out.append(close + closing)

    def _whole(self, value: JsonObject, whole: Whole, out: list[Piece], position: int) -> int:
        """A component read whole by the C scanner: as written, with members appended, or with
        the elements of its properties array changed.

        The input from ``position`` (at most where the component starts) is copied up to where
        the output first differs from it; returns where copying the input resumes: where the
        component's last member ends when members were only appended (the rest of it and the
        text after it are copied with the next piece kept), else its end, and ``position``
        itself when the component is unchanged (nothing written). Any other change (a member
        inserted, as a bom-ref is) reads its members' spans then and takes the general path.
        """
        _, start, end, keys, read, read_properties = whole
        count = len(keys)
        # As read so far: the first ``count`` members are the ones read, in order.
        same = all(map(is_, value.values(), read)) and tuple(value)[:count] == keys
        properties_same = same and (
            read_properties is None or _same_elements(value["properties"], read_properties)
        )
        if properties_same and len(value) == count:
            return position  # most components: copied with the text around them
        text = self._text
        kept = self._kept
        if not (properties_same and count):
            out.append(kept[position:start])
            self._whole_changed_members(value, whole, same, out)
            return end
        # The usual edit (properties added): what the general path writes, from three spans.
        lead, key_sep, typical = first_member_shape(text, start)
        # Where the last member ends: found from how the previous component closed when this
        # one closes the same way (the whitespace before its brace, then not whitespace).
        close = self._close
        last_end = end - len(close)
        if not (text.startswith(close, last_end) and text[last_end - 1] not in _JSON_SPACE):
            last_end = last_value_end(text, start, end)
            self._close = text[last_end:end]
        shape = self._appending.get((lead, typical))
        if shape is None:
            member_indent = lead.rsplit("\n", 1)[1] if "\n" in lead else ""
            if typical is None:
                typical = "," + lead if "\n" in lead else self._layout.item_sep
            shape = self._appending[(lead, typical)] = (member_indent, typical)
        member_indent, typical = shape
        out.append(kept[position:last_end])
        for key, item in islice(value.items(), count, None):
            head = typical + self._string(key) + key_sep
            # The array of properties written after its key in one piece (not copied again).
            rendered = self._properties(item, member_indent, head) if type(item) is list else None
            out.append(head + self._render(item, member_indent) if rendered is None else rendered)
        return last_end

    def _whole_changed_members(
        self, value: JsonObject, whole: Whole, same: bool, out: list[Piece]
    ) -> None:
        """:meth:`_whole` of a component whose read members changed (``same``: only the
        elements of its properties array did): the whole component written."""
        _, start, end, keys, read, read_properties = whole
        kept = self._kept
        if same and read_properties is not None and len(value) == len(keys):
            # Only its properties changed (enriched again, or other properties kept): that
            # array is spliced; the rest of the component is copied.
            span = self._properties_span(whole)
            array = self._array_source(span[0], value["properties"], read_properties)
            out.append(kept[start : span[0]])
            self._container(value["properties"], array, out)
            out.append(kept[span[1] : end])
            return
        spans = self._reader().object_at(start, "component")
        assert spans.end == end and spans.keys == keys
        if read_properties is not None:
            index = keys.index("properties")
            self._array_source(spans.value_starts[index], read[index], read_properties)
        self._container(value, replace(spans, container=value, values=read), out)

    def _properties_span(self, whole: Whole) -> tuple[int, int]:
        """Where the value of the ``properties`` member of a component read whole is written.

        Found from the last ``"properties"`` in the component's text: in valid JSON, one not
        preceded by a backslash is a string token, a key when a colon follows, at some depth.
        It is this component's own when the members read from it to the first closing brace
        are the component's last keys, in order, and that brace is the component's own (a
        nested object closes before). Only the members from there are read (cyclonedx-py and
        cdxgen write ``properties`` last or nearly so); anything else is walked from the first
        member, the values skipped by the C scanner.
        """
        text = self._text
        _, start, end, keys, _, _ = whole
        key = text.rfind('"properties"', start, end)
        if (
            key > start
            and text[key - 1] != "\\"
            and _COLON_NEXT.match(text, key + len('"properties"')) is not None
        ):
            members, object_end = members_from(text, key)
            own = keys[keys.index("properties") :]
            if object_end == end and tuple(name for name, _, _ in members) == own:
                return members[0][1], members[0][2]
        span = member_value_span(text, start, "properties")
        assert span is not None  # the component holds properties
        return span

    def _reader(self) -> PositionalReader:
        """One reader for the spans the writer looks up inside components read whole."""
        if self._spans_reader is None:
            self._spans_reader = PositionalReader(
                self._text, _object_pairs, RawNumber, _refuse_constant, lazy_components=False
            )
        return self._spans_reader

    def _array_source(self, start: int, array: list[Any], read: tuple[Any, ...]) -> Source:
        """The spans of the array written at ``start``, tied to ``array`` (the document's list,
        whose elements were ``read``) so the writer sees what changed in it."""
        spans = self._reader().array_at(start)
        source = replace(spans, container=array, values=read)
        self._sources[id(array)] = source
        return source

    def _element(self, item: Any, template: tuple[str, str, str] | None, base: str) -> str:
        """A new element of an array: a property spelled like the array's own, else rendered."""
        if template is not None and _is_property(item):
            first, middle, last = template
            return first + self._string(item["name"]) + middle + self._string(item["value"]) + last
        return self._render(item, base)

    def _line_indent(self, position: int) -> str:
        line_start = self._text.rfind("\n", 0, position) + 1
        match = _LINE_INDENT.match(self._text, line_start, position)
        return match.group() if match else ""

    def _render(self, value: Any, base: str) -> str:
        # Properties are nearly all we write: each is the cached shape with two strings put in
        # (rendering 10,000 arrays node by node took a quarter of a large run).
        if isinstance(value, list) and value:
            rendered = self._properties(value, base)
            if rendered is not None:
                return rendered
        if _is_property(value):
            first, middle, last = self._shape(base)
            name, text = self._string(value["name"]), self._string(value["value"])
            return first + name + middle + text + last
        return _render(value, self._layout, self._encode, base)

    def _properties(self, value: list[Any], base: str, head: str = "") -> str | None:
        """``head`` and ``value`` written as an array of properties, or None when it is not
        one (or is empty)."""
        if not value:
            return None
        frame = self._frames.get(base)
        opening, middle, between, closing = frame or self._array_frame(base)
        encoded = self._encoded
        encode = self._encode
        pieces = [head + opening]
        extend = pieces.extend
        for item in value:
            # _is_property, inlined: this loop runs for nearly every property we write.
            if not isinstance(item, dict) or tuple(item) != _NAME_VALUE:
                return None
            name, text = item["name"], item["value"]
            if not isinstance(name, str) or not isinstance(text, str):
                return None
            # Names and many values repeat (statuses, the index, versions): encoded once each.
            name_text = encoded.get(name)
            if name_text is None:
                name_text = encoded[name] = encode(name)
            value_text = encoded.get(text)
            if value_text is None:
                value_text = encoded[text] = encode(text)
            extend((name_text, middle, value_text, between))
        pieces[-1] = closing
        return "".join(pieces)

    def _array_frame(self, base: str) -> tuple[str, str, str, str]:
        """An array of properties at indentation ``base``: (up to the first name, between a
        name and its value, between a value and the next name, after the last value)."""
        frame = self._frames.get(base)
        if frame is None:
            layout = self._layout
            inner = base if layout.indent is None else base + layout.indent
            first, middle, last = self._shape(inner)
            if layout.indent is None:
                frame = ("[" + first, middle, last + layout.item_sep + first, last + "]")
            else:
                newline = layout.newline
                frame = (
                    "[" + newline + inner + first,
                    middle,
                    last + "," + newline + inner + first,
                    last + newline + base + "]",
                )
            self._frames[base] = frame
        return frame

    def _string(self, text: str) -> str:
        encoded = self._encoded.get(text)
        if encoded is None:
            encoded = self._encoded[text] = self._encode(text)
        return encoded

    def _shape(self, base: str) -> tuple[str, str, str]:
        """A property at indentation ``base``: the text before its name, between its name and
        value, and after its value."""
        shape = self._shapes.get(base)
        if shape is None:
            rendered = _render({"name": "\x00", "value": "\x01"}, self._layout, self._encode, base)
            first, rest = rendered.split(self._encode("\x00"))
            middle, last = rest.split(self._encode("\x01"))
            shape = self._shapes[base] = (first, middle, last)
        return shape


_NAME_VALUE = ("name", "value")


def _same_elements(array: Any, read: tuple[Any, ...]) -> bool:
    """``array`` holds exactly the objects ``read`` (identity, in order)."""
    return len(array) == len(read) and all(map(is_, array, read))


def _values(container: Any) -> Any:
    """An object's values or an array's elements, in order."""
    return container.values() if isinstance(container, dict) else container


def _is_property(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and list(item) == ["name", "value"]
        and isinstance(item["name"], str)
        and isinstance(item["value"], str)
    )


# A {"name": …, "value": …} element with plain key spellings; groups: up to the name's
# string, between it and the value's string, after that (what a reader's spans would cut).
_PROPERTY_ELEMENT = re.compile(
    r'(\{[ \t\n\r]*"name"[ \t\n\r]*:[ \t\n\r]*)"(?:[^"\\]|\\.)*"'
    r'([ \t\n\r]*,[ \t\n\r]*"value"[ \t\n\r]*:[ \t\n\r]*)"(?:[^"\\]|\\.)*"'
    r"([ \t\n\r]*\})"
)


def _property_template(text: str, source: Source) -> tuple[str, str, str] | None:
    """How the input wrote a ``{"name": …, "value": …}`` element of this array, if it has one.

    New properties are written the same way (one line or several, spacing), not in the
    document-wide layout, so they look like the properties around them.
    """
    for item, start, end in zip(source.values, source.value_starts, source.value_ends, strict=True):
        if not _is_property(item):
            continue
        simple = _PROPERTY_ELEMENT.fullmatch(text, start, end)
        if simple is not None:  # the usual spelling: one regex, not a reader
            return simple.group(1), simple.group(2), simple.group(3)
        reader = PositionalReader(
            text[start:end], _object_pairs, RawNumber, _refuse_constant, everything=True
        )
        element = reader.document()
        spans = reader.sources[id(element)]
        raw = text[start:end]
        return (
            raw[: spans.value_starts[0]],
            raw[spans.value_ends[0] : spans.value_starts[1]],
            raw[spans.value_ends[1] :],
        )
    return None


def _is_enrichment_property(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and entry["name"].startswith(PROPERTY_PREFIX)
    )


def _remove_ours(entries: list[Any]) -> bool:
    """Drop our tool entries; True when there was one."""
    kept = [entry for entry in entries if not _is_ours(entry, "name", TOOL_NAME)]
    removed = len(kept) != len(entries)
    entries[:] = kept
    return removed


def _spells_properties(key: str) -> bool:
    """``properties`` in any case: what readers that ignore case take for it."""
    return key.casefold() == "properties"


def _named_ours(entry: Any) -> bool:
    """A property (object) whose name, under a key spelled in any case, is in our namespace."""
    return isinstance(entry, dict) and any(
        key.casefold() == "name" and isinstance(value, str) and value.startswith(PROPERTY_PREFIX)
        for key, value in entry.items()
    )


def _planted(node: JsonObject) -> bool:
    """Whether a property of ``node`` (under ``properties`` in any case) is in our namespace."""
    for key, value in node.items():
        if _spells_properties(key):
            if isinstance(value, dict) and _named_ours(value):
                return True
            if isinstance(value, list) and any(map(_named_ours, value)):
                return True
    return False


class _Pairs(list):  # type: ignore[type-arg]
    """An object read with every member, duplicates too."""


def _planted_raw(text: str) -> bool:
    """:func:`_planted` of a component's text, every duplicate member read (any one of them
    is what some reader takes)."""
    read = json.loads(text, object_pairs_hook=_Pairs, parse_float=RawNumber, parse_constant=str)
    if not isinstance(read, _Pairs):
        return False

    def named_ours(entry: Any) -> bool:
        return isinstance(entry, _Pairs) and any(
            key.casefold() == "name"
            and isinstance(value, str)
            and value.startswith(PROPERTY_PREFIX)
            for key, value in entry
        )

    return any(
        named_ours(value) or (isinstance(value, list) and any(map(named_ours, value)))
        for key, value in read
        if _spells_properties(key)
    )
