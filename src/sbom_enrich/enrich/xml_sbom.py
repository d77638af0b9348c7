"""CycloneDX XML edited in place with lxml: prefixes, comments, CDATA and prolog survive."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from functools import cache, cached_property, partial

import msgspec
from lxml import etree
from msgspec.structs import replace

from ..errors import SbomError, UnsafeXmlError
from .document import (
    FORMULATION,
    PROPERTY_PREFIX,
    REPOSITORY_REFERENCE_TYPES,
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
    repository_urls,
    spec_is_legacy_tools,
    unique_reference,
)
from .purls import may_name_pypi
from .xml_positions import XmlNodes

#: W3C XML Signature (xmldsig-core), what CycloneDX XML uses for signing.
XML_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"
#: The namespace the ``xml`` prefix is bound to without a declaration, and all its elements.
_XML_NAMESPACE = "{http://www.w3.org/XML/1998/namespace}"
_XML_NAMESPACE_ELEMENTS = _XML_NAMESPACE + "*"

_NAMESPACE = re.compile(r"http://cyclonedx\.org/schema/bom/(\d+\.\d+)")

# What must come after the element we insert, per the XSD sequences of 1.3-1.7 (each later
# version only adds names, in the same relative order). Elements of other namespaces (the
# schema's trailing xs:any ##other) also come after.
_AFTER_COMPONENT_PROPERTIES = frozenset(
    {"components", "evidence", "releaseNotes", "modelCard", "data", "cryptoProperties", "tags"}
)
_AFTER_METADATA_TOOLS = frozenset(
    {
        "authors",
        "component",
        "manufacturer",
        "manufacture",
        "supplier",
        "licenses",
        "properties",
        "distributionConstraints",
    }
)
_AFTER_BOM_METADATA = frozenset(
    {
        "components",
        "services",
        "externalReferences",
        "dependencies",
        "compositions",
        "properties",
        "vulnerabilities",
        "annotations",
        "formulation",
        "declarations",
        "definitions",
        "citations",
    }
)
_AFTER_TOOLS_COMPONENTS = frozenset({"services"})
_AFTER_BOM_VULNERABILITIES = frozenset(
    {"annotations", "formulation", "declarations", "definitions", "citations"}
)

# Characters XML 1.0 cannot carry at all (lxml refuses them rather than escaping): the ones
# outside its Char production, listed rather than negated (a class negating ranges up to
# U+10FFFF takes ~7 ms to compile, on every start that reads XML).
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _parser(huge: bool = True, keep_blanks: bool = True) -> etree.XMLParser:
    # Never fetch, never expand: entities stay references, DTDs are not loaded. Documents
    # with a DOCTYPE are refused before they get here; this is the second line.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        # Enrichment's parse drops text that is all white space between tags: the splice
        # reads white space from the document's text, and the bench's 14 MB SBOM has 47%
        # fewer nodes (~35-60 ms less CPU to parse: malloc and page faults). libxml2 keeps a
        # leaf's text, text beside other text, the end of a long run of white space, and
        # everything under xml:space="preserve".
        remove_blank_text=not keep_blanks,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        # Deep nesting is legitimate (components in components): libxml2 refuses more than
        # 256 levels without this; we refuse more than MAX_DEPTH ourselves.
        huge_tree=huge,
        collect_ids=False,  # no xml:id lookups here: no table of them (~1% of the parse)
    )


def _raw_codec(data: bytes) -> str:
    """The codec that maps the document's bytes to characters one to one, for copying them.

    UTF-16 (with or without a byte order mark) is decoded; every other encoding lxml reads
    without a declared-encoding switch is ASCII-compatible, so Latin-1 copies its bytes as is.
    """
    if data.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if data.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    return "latin-1"


#: Characters of several scripts: an encoding that can write one is asked how it does.
_PROBES = "\xe9\u0416\u03a9\u05d0\u0e01\u20ac\u3042\u6f22\ud55c"


@cache
def _byte_view_holds(encoding: str) -> bool:
    """Whether markup can be looked for in the bytes of a document in ``encoding``.

    So when ASCII is written as its own bytes and read back from them, and an ASCII byte is
    still that character after any other character: not in UTF-7 (``+ADw-`` is ``<``), nor in
    ISO-2022 or HZ (after a shift, ASCII bytes spell other characters), nor in EBCDIC. Tried
    with Python's codec rather than looked up in a list of names; a name Python does not know
    cannot be tried, and "could not tell" is False.
    """
    try:
        if _ASCII.encode(encoding) != _ASCII_BYTES or _ASCII_BYTES.decode(encoding) != _ASCII:
            return False
        for probe in _PROBES:
            try:  # without the final flush: a stateful encoder stays shifted
                written = codecs.getincrementalencoder(encoding)().encode(probe)
            except UnicodeEncodeError:
                continue
            decoder = codecs.getincrementaldecoder(encoding)()
            if decoder.decode(written) != probe or decoder.decode(b"<") != "<":
                return False
    except (LookupError, UnicodeError):
        return False
    return True


def _scan_prolog(text: str, source: str) -> int:
    """Offset in ``text`` where the root element starts; refuses a DOCTYPE or ENTITY declaration.

    ``text`` is the document decoded with its ``_raw_codec``.
    """
    position = 1 if text.startswith("\ufeff") else 0
    if text.startswith("\xef\xbb\xbf"):
        position = 3
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if text.startswith("<?", position):
            end = text.find("?>", position)
        elif text.startswith("<!--", position):
            end = text.find("-->", position)
        elif text.startswith(("<!DOCTYPE", "<!ENTITY", "<!doctype"), position):
            raise UnsafeXmlError(
                f"{source}: XML with a DOCTYPE or entity declarations is refused "
                "(entities are never expanded)"
            )
        else:
            return position
        if end < 0:
            return position  # let the parser report it
        position = end + (2 if text[end] == "?" else 3)


def _decode_raw(data: bytes) -> tuple[str, str] | None:
    """``(codec, text)`` for copying the prolog and trailing text, or None (broken UTF-16)."""
    codec = _raw_codec(data)
    try:
        return codec, data.decode(codec)
    except UnicodeDecodeError:
        return None  # lxml will fail or parse it; the docinfo check still applies


class _Frame(msgspec.Struct, frozen=True):
    """The input decoded one character per code unit, so offsets into it map back exactly."""

    codec: str  # the _raw_codec that turns the text back into the input's bytes
    text: str
    root_offset: int  # where the root element starts
    crlf: bool  # every line break is CRLF, which the parser reads as LF (XML 1.0, 2.11)


def _depth(root: etree._Element) -> int:
    """How many levels of elements the tree has (the root is one)."""
    depth = deepest = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _holds_ours(container: etree._Element) -> bool:
    """Whether a ``<properties>`` holds, at any depth and in any namespace, a ``<property>``
    whose name is in our namespace (what readers matching local names alone take for one)."""
    return any(
        isinstance(found.tag, str)
        and found.tag.rpartition("}")[2] == "property"
        and any(
            isinstance(name, str)
            and isinstance(value, str)
            and name.rpartition("}")[2] == "name"
            and value.startswith(PROPERTY_PREFIX)
            for name, value in found.attrib.items()
        )
        for found in container.iter()
    )


#: The elements that make a component for readers that match names without namespaces.
_STRUCTURE = frozenset({"component", "components", "purl"})

#: How deep elements may nest (libxml2 itself stops at 2048 with huge_tree): components nest two
#: elements per level, so this is ~450 component levels, as for JSON.
MAX_DEPTH = 1000

_NOT_SET = object()
#: Encodings (spelled upper case without - and _) in which each ASCII byte is that character.
_ASCII_TRANSPARENT = frozenset({"UTF8", "USASCII", "ASCII", "LATIN1", "L1", "ISOLATIN1"})
#: The class of lxml's proxies of elements (comments and PIs have classes of their own).
_ELEMENT = etree._Element
_VERSION_ATTRIBUTE = re.compile(r"""\sversion\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TAG_END = re.compile(r"\s*/?>\Z")
_TAG_NAME = re.compile(r"<[^\s/>]+")
#: One attribute of a start tag, with the white space before it: name, then value either way.
_ATTRIBUTE = re.compile(r"""\s+([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
_LINE_INDENT = re.compile(r"[ \t]*")
#: XML's white space (``str.strip()`` would also take characters XML does not count).
_SPACE = " \t\r\n"


#: A namespace declaration's attribute name: the pattern's search for a literal finds it in
#: two thirds of the time of str.find (~5.5 against ~8.5 ms on 14 MB).
_XMLNS = re.compile("xmlns")
_QUOTE_REFERENCE = re.compile("&(?:quot|#34);")
_APOS_REFERENCE = re.compile("&(?:apos|#39);")
_PROPERTY = re.compile(r"""(<[^\s>]+\s+name\s*=\s*)(["'])[^"']*\2(\s*>)[^<]*(</[^>]+>)""")


class _PropertyTemplate(msgspec.Struct, frozen=True, eq=False):
    """A property element as the input spelled it: ``head quote name quote middle value tail``."""

    head: str
    quote: str
    middle: str
    tail: str
    #: Each name's rendered start (``head`` to ``middle``): a run writes the same few names.
    starts: dict[str, str] = msgspec.field(default_factory=dict)

    def render(self, properties: Sequence[tuple[str, str]], sbom: XmlSbom) -> list[str]:
        starts, tail = self.starts, self.tail
        # Most values need no escaping: one search of them all tells.
        joined = " ".join([value for _, value in properties])
        plain = _NEEDS_WORK.search(joined) is None and not _needs_references(joined, sbom)
        if plain:
            try:  # every name seen before (a run writes the same few)
                return [starts[name] + value + tail for name, value in properties]
            except KeyError:
                pass
        return self._render_each(properties, sbom, plain)

    def render_plain(self, properties: Sequence[tuple[str, str]], sbom: XmlSbom) -> list[str]:
        """:meth:`render` of properties whose values are known to need no escaping."""
        starts, tail = self.starts, self.tail
        try:
            return [starts[name] + value + tail for name, value in properties]
        except KeyError:  # a name not seen before
            return self._render_each(properties, sbom, True)

    def _render_each(
        self, properties: Sequence[tuple[str, str]], sbom: XmlSbom, plain: bool
    ) -> list[str]:
        starts, tail = self.starts, self.tail
        rendered = []
        for name, value in properties:
            start = starts.get(name)
            if start is None:
                quote = self.quote
                escaped = _escape(name, quote, sbom)
                start = starts[name] = f"{self.head}{quote}{escaped}{quote}{self.middle}"
            rendered.append(start + (value if plain else _escape(value, None, sbom)) + tail)
        return rendered


class _New(msgspec.Struct, frozen=True):
    """An element we write: (local name, attributes, text or child elements)."""

    local: str
    attributes: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    children: tuple[_New, ...] = ()


def _line_of(element: etree._Element) -> int | None:
    line: object = element.sourceline  # untyped in lxml-stubs
    return line if isinstance(line, int) else None


class _FirstNames(Mapping[str, str]):
    """Each bom-ref's component name (the first name that is not blank of the components with
    that bom-ref, stripped), read when first asked: only the chains of findings ask, for a
    few of them."""

    def __init__(self, sbom: XmlSbom) -> None:
        self._sbom = sbom
        self._by_ref: dict[str, list[etree._Element]] | None = None
        self._names: dict[str, str | None] = {}

    def _components_by_ref(self) -> dict[str, list[etree._Element]]:
        if self._by_ref is None:
            by_ref: dict[str, list[etree._Element]] = {}
            refs = self._sbom._refs
            for node in self._sbom._components():
                if ref := refs.get(node):
                    by_ref.setdefault(ref, []).append(node)
            self._by_ref = by_ref
        return self._by_ref

    def _name(self, ref: str) -> str | None:
        names = self._names
        if ref in names:
            return names[ref]
        found = None
        name_of = self._sbom._name_of
        for node in self._components_by_ref().get(ref, ()):
            if name := name_of(node).strip():
                found = name
                break
        names[ref] = found
        return found

    def __getitem__(self, ref: str) -> str:
        name = self._name(ref) if isinstance(ref, str) else None
        if name is None:
            raise KeyError(ref)
        return name

    def get(self, ref: str, default: object = None) -> object:  # type: ignore[override]
        # What Mapping.get does, without a KeyError raised and caught for every ref that names
        # no component (the chains ask for each of their steps).
        name = self._name(ref) if isinstance(ref, str) else None
        return default if name is None else name

    def __iter__(self) -> Iterator[str]:
        return (ref for ref in self._components_by_ref() if self._name(ref) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class XmlSbom(Sbom):
    """A CycloneDX XML document: read with lxml, written by splicing edits into its text.

    The lxml tree is never changed. Edits are recorded (properties per component, the tool,
    the version, removals) and turned into insertions, replacements and deletions at the byte
    offsets :class:`XmlNodes` finds, so everything else is written exactly as read.
    """

    format = "xml"

    def __init__(
        self,
        tree: etree._ElementTree,
        spec_version: str,
        frame: _Frame,
        source: str,
        data: bytes,
    ) -> None:
        self._tree = tree
        self._root = tree.getroot()
        self._ns = etree.QName(self._root).namespace or ""
        self.spec_version = spec_version
        self._frame = frame
        self.source = source
        self._data = data
        encoding = tree.docinfo.encoding or "UTF-8"
        try:
            "".encode(encoding)
            self._encoding = encoding
        except LookupError:
            self._encoding = "ascii"  # a name Python does not know: character references
        self._newline = "\r\n" if frame.crlf else "\n"
        self._nodes: XmlNodes | None = None
        self._pypi_components: list[PypiComponent] | None = None
        #: Every component at any depth in document order (pypi_components' order).
        self._component_list: list[etree._Element] | None = None
        self._component_paths: list[tuple[etree._Element, tuple[int, ...]]] | None = None
        #: Elements with a child named in _AFTER_COMPONENT_PROPERTIES (found with the components).
        self._followed: set[etree._Element] = set()
        #: Each component's <properties> children, for the components that have one (found
        #: by pypi_components, which parse() calls: edits need not look again).
        self._containers: dict[etree._Element, list[etree._Element]] = {}
        # What the tree pass read of every CycloneDX ``component`` element: the text of its
        # first purl that is not blank (one dict a field, not one record a component: the
        # collector would walk ten thousand more containers). Versions and names are read
        # when asked (_version_of, _FirstNames): a purl nearly always names the version, and
        # only the chains of a few findings name components.
        self._purls: dict[etree._Element, str] = {}
        #: Components with a second purl that is not blank (the schema allows one; readers
        #: differ on which is meant): the second one, so that a PyPI one is never missed.
        self._other_purls: dict[etree._Element, str] = {}
        #: Components whose purl holds a comment, a processing instruction or an element:
        #: the text before it is not all of it (readers differ on which they take).
        self._split_purls: set[etree._Element] = set()
        self._refs: dict[etree._Element, str | None] = {}  # each one's bom-ref attribute
        #: Every element named ``component`` (any namespace) by prefix, in document order.
        self._spelled: dict[str | None, list[etree._Element]] = {}
        self._parents: set[etree._Element] | None = None  # components that nest others
        # Recorded edits, applied by to_bytes.
        self._properties: dict[etree._Element, list[tuple[str, str]]] = {}
        self._tool: tuple[str, str, str | None] | None = None
        self._strip_tool = False
        self._new_version: object = _NOT_SET  # str: write it; None: remove the attribute
        self._removed: list[etree._Element] = []
        self._removed_set: set[etree._Element] = set()
        self._vulnerabilities: list[VulnerabilityEntry] | None = None
        self._bom_refs: dict[etree._Element, str] = {}
        #: The document's bom-refs and those we added: None until the first one is added.
        self._taken_refs: set[str] | None = None
        text = frame.text
        attribute_quotes = re.findall(
            r"""=\s*(["'])""", text[frame.root_offset : frame.root_offset + 4096]
        )
        self._quote = "'" if attribute_quotes and attribute_quotes[0] == "'" else '"'

    # Escape in new text what the input escaped where it did not have to (cyclonedx-python-lib
    # on Python <= 3.12 writes &quot; in text), so new lines look like their neighbours. Asked
    # only when writing: each is a search of the whole text.
    @cached_property
    def _escape_quote(self) -> bool:
        return _QUOTE_REFERENCE.search(self._frame.text) is not None

    @cached_property
    def _escape_apos(self) -> bool:
        return _APOS_REFERENCE.search(self._frame.text) is not None

    @cached_property
    def _ascii_is_ascii(self) -> bool:
        """Every ASCII byte of the input is that ASCII character (or the text was decoded: UTF-16).

        Not so in ISO-2022-JP or UTF-7, where ASCII bytes may spell other characters: there a
        ``<component`` in the bytes may be text lxml read, so the flat path, which trusts
        lxml's count to vouch for the start tags it does not look at, is not taken.
        """
        if self._frame.codec != "latin-1":
            return True
        declared = self._tree.docinfo.encoding or "UTF-8"  # not _encoding's stand-in
        name = declared.upper().replace("-", "").replace("_", "")
        return name in _ASCII_TRANSPARENT or name.startswith(("ISO8859", "WINDOWS125", "CP125"))

    @cached_property
    def _exact_blanks(self) -> bool:
        """White space that lxml read between elements is exactly the text's (with each
        ``\n`` written as the document's line break), wherever no CDATA section is.

        Not so only where a character reference (``&#10;``) wrote it, or line breaks are
        mixed (a lone CR is read as LF). Asked when writing.
        """
        text = self._frame.text
        # Each "&" looked at (few: a search for one character runs at memchr speed, one
        # for "&#" ten times slower, ~14 ms on 14 MB).
        find = text.find
        at = find("&")
        while at >= 0:
            if text.startswith("&#", at):
                return False
            at = find("&", at + 1)
        if "\r" in text:
            return self._frame.crlf and text.count("\r") == text.count("\r\n")
        return True

    @cached_property
    def _legacy(self) -> bool:
        """New text is written in an encoding other than UTF-8 and UTF-16 (see
        :data:`_LEGACY_UNSAFE`)."""
        return codecs.lookup(self._encoding).name not in _UTF

    @cached_property
    def _one_namespace(self) -> bool:
        """Every element is in the CycloneDX namespace or has the ``xml`` prefix (when True;
        False tells nothing).

        The root declares CycloneDX's as the default namespace and nothing after that declares
        one (every declaration is an ``xmlns`` attribute); ``xml`` is the only prefix bound
        without one, and _scan_tree lists the parents of such elements in _followed.
        """
        text = self._frame.text
        assert self._nodes is not None  # parse() located the root
        tag_end = self._nodes.tag_ends[0]
        return (
            self._root.prefix is None
            and text.count("xmlns", self._nodes.starts[0], tag_end) == 1
            and _XMLNS.search(text, tag_end) is None
        )

    @classmethod
    def parse(cls, data: bytes, source: str) -> XmlSbom:
        decoded = _decode_raw(data)
        root_offset = _scan_prolog(decoded[1], source) if decoded is not None else 0
        try:
            # libxml2's default limits (256 levels, 10 MB of text in one node) hold nearly every
            # SBOM, and reading within them tells the depth without counting it ourselves.
            root = etree.fromstring(data, _parser(huge=False, keep_blanks=False))
            deep = False
        except etree.XMLSyntaxError:
            try:
                root = etree.fromstring(data, _parser(keep_blanks=False))
            except etree.XMLSyntaxError as exc:
                if "depth" in str(exc).lower():
                    raise SbomError(
                        f"{source}: XML nested too deeply (more than {MAX_DEPTH} levels)"
                    ) from None
                raise SbomError(f"{source}: not well-formed XML: {exc}") from None
            deep = True
        tree = root.getroottree()
        docinfo = tree.docinfo
        doctype: object = getattr(docinfo, "doctype", None)  # missing from lxml-stubs
        if docinfo.internalDTD is not None or doctype:
            raise UnsafeXmlError(f"{source}: XML with a DOCTYPE is refused")
        qname = etree.QName(root)
        match = _NAMESPACE.fullmatch(qname.namespace or "")
        if qname.localname != "bom" or match is None:
            raise SbomError(
                f"{source}: not a CycloneDX document (root element is not a bom "
                "in the http://cyclonedx.org/schema/bom/1.N namespace)"
            )
        check_spec_version(match[1], source)
        version = root.get("version")
        if version is not None and not re.fullmatch(r"\s*[1-9]\d*\s*", version):
            raise SbomError(f"{source}: the BOM version must be a positive integer")
        encoding = (docinfo.encoding or "UTF-8").upper().replace("-", "").replace("_", "")
        wide = encoding.startswith(("UTF16", "UTF32", "UCS"))
        if (
            decoded is None
            or encoding.startswith(("UTF32", "UCS"))
            or (not wide and not _byte_view_holds(docinfo.encoding or "UTF-8"))
        ):
            raise SbomError(
                f"{source}: XML in {docinfo.encoding} cannot be edited in place; "
                "convert it to UTF-8 or UTF-16"
            )
        codec, text = decoded
        if wide != (codec != "latin-1"):
            raise SbomError(
                f"{source}: XML declared as {docinfo.encoding} but not written in it; "
                "sbom-enrich cannot edit it in place"
            )
        breaks = text.count("\n") if "\r" in text else 0
        frame = _Frame(
            codec=codec,
            text=text,
            root_offset=root_offset,
            crlf=breaks > 0 and breaks == text.count("\r\n"),
        )
        if deep and _depth(root) > MAX_DEPTH:
            raise SbomError(f"{source}: XML nested too deeply (more than {MAX_DEPTH} levels)")
        sbom = cls(tree, match[1], frame, source, data)
        # The root now, the rest when edits need it.
        sbom._nodes = XmlNodes(
            text,
            root,
            root_offset,
            source,
            sbom._encoding if codec == "latin-1" else None,
        )
        try:
            sbom.pypi_components()
        except RecursionError:
            raise SbomError(
                f"{source}: XML nested too deeply (more than {MAX_DEPTH} levels)"
            ) from None
        return sbom

    # -- reading -------------------------------------------------------------------------

    def _q(self, local: str) -> str:
        return f"{{{self._ns}}}{local}"

    def _child(self, parent: etree._Element, local: str) -> etree._Element | None:
        return parent.find(self._q(local))

    def _walk(
        self,
        component: etree._Element,
        path: tuple[int, ...],
        parents: set[etree._Element],
    ) -> Iterator[tuple[etree._Element, tuple[int, ...]]]:
        yield component, path
        if component not in parents:
            return
        for child in component.iterchildren(self._q("components")):
            index = component.index(child)
            component_tag = self._q("component")
            for position, grandchild in enumerate(child):
                if grandchild.tag == component_tag:
                    yield from self._walk(grandchild, (*path, index, position), parents)
            break

    def _components(self) -> list[etree._Element]:
        """Every component at any depth, in document order."""
        if self._component_list is None:  # the tree never changes: found once
            self._component_list = list(self._find_components())
        return self._component_list

    def _find_components(self) -> Iterator[etree._Element]:
        """What :meth:`_paths` lists, without the paths (which only a walk to a component's
        markup needs): the components section's are listed by lxml in one call."""
        component_tag, components_tag = self._q("component"), self._q("components")
        parents = self._scan_tree()
        for section in self._root:
            if section.tag == self._q("metadata"):
                # In document order: the subject and the 1.5+ tools' components.
                subject_read = False
                for child in section:
                    if child.tag == component_tag and not subject_read:
                        subject_read = True
                        for found, _ in self._walk(child, (), parents):
                            yield found
                    elif child.tag == self._q("tools"):
                        for holder in child.iterchildren(components_tag):
                            for tool in holder.iterchildren(component_tag):
                                for found, _ in self._walk(tool, (), parents):
                                    yield found
                            break
            elif section.tag == self._q("formulation"):
                for formula in section.iterchildren(self._q("formula")):
                    for holder in formula.iterchildren(components_tag):
                        for built in holder.iterchildren(component_tag):
                            for found, _ in self._walk(built, (), parents):
                                yield found
                        break
            elif section.tag == components_tag:
                if not parents:
                    yield from section.iterchildren(component_tag)
                    continue
                for child in section.iterchildren(component_tag):
                    if child in parents:
                        for found, _ in self._walk(child, (), parents):
                            yield found
                    else:
                        yield child

    def _paths(self) -> list[tuple[etree._Element, tuple[int, ...]]]:
        """Every component of :meth:`_components`, with its path of child positions from the
        root (asked only when a component's markup is walked to)."""
        if self._component_paths is None:
            self._component_paths = list(self._find_paths())
        return self._component_paths

    def _find_paths(self) -> Iterator[tuple[etree._Element, tuple[int, ...]]]:
        component_tag, components_tag = self._q("component"), self._q("components")
        parents = self._scan_tree()
        for index, section in enumerate(self._root):
            if section.tag == self._q("metadata"):
                subject_read = False
                for position, child in enumerate(section):
                    if child.tag == component_tag and not subject_read:
                        subject_read = True
                        yield from self._walk(child, (index, position), parents)
                    elif child.tag == self._q("tools"):
                        yield from self._held(child, (index, position), parents)
            elif section.tag == self._q("formulation"):
                for position, formula in enumerate(section):
                    if formula.tag == self._q("formula"):
                        yield from self._held(formula, (index, position), parents)
            elif section.tag == components_tag:
                for position, child in enumerate(section):
                    if child.tag == component_tag:
                        if parents and child in parents:
                            yield from self._walk(child, (index, position), parents)
                        else:
                            yield child, (index, position)

    def _held(
        self, holder: etree._Element, path: tuple[int, ...], parents: set[etree._Element]
    ) -> Iterator[tuple[etree._Element, tuple[int, ...]]]:
        """The components (at any depth) of the first ``components`` child of ``holder`` (a
        tools element or a formula), with their paths; ``path`` is the holder's."""
        component_tag, components_tag = self._q("component"), self._q("components")
        for index, child in enumerate(holder):
            if child.tag == components_tag:
                for position, component in enumerate(child):
                    if component.tag == component_tag:
                        yield from self._walk(component, (*path, index, position), parents)
                return

    def _build_tools(self) -> dict[etree._Element, str]:
        """Each component that built the product (``metadata.tools`` or ``formulation``, at
        any depth) -> its section: few, and none in most documents."""
        found: dict[etree._Element, str] = {}
        parents = self._scan_tree()
        for section in self._root:
            if section.tag == self._q("metadata"):
                holders = [(h, TOOLS) for h in section.iterchildren(self._q("tools"))]
            elif section.tag == self._q("formulation"):
                holders = [(h, FORMULATION) for h in section.iterchildren(self._q("formula"))]
            else:
                continue
            for holder, name in holders:
                for component, _ in self._held(holder, (), parents):
                    found[component] = name
        return found

    def _scan_tree(self) -> set[etree._Element]:
        """One pass in C over the tree: the fields of every component element, and what the
        writer needs; returns the components that nest others (found once).

        It reads each CycloneDX ``component`` element's bom-ref and its purl and properties
        children (the first purl not blank, every properties) in document order: faster
        than a look at each component's every child through lxml's proxies. It lists every
        element named ``component`` by prefix (the writer locates them by their tags), and the
        elements with a child that a component's new ``<properties>`` must precede
        (_AFTER_COMPONENT_PROPERTIES, ``components`` among them, and elements of the xml
        prefix's namespace), so the components that nest others: most nest none, and are
        listed without a generator of their own.
        """
        if self._parents is not None:
            return self._parents
        q = self._q
        component_tag, components_tag = q("component"), q("components")
        purl_tag, properties_tag = q("purl"), q("properties")
        after = _qualified(self._ns, _AFTER_COMPONENT_PROPERTIES)
        followed: set[etree._Element] = set()
        parents: set[etree._Element] = set()
        purls, containers, refs = self._purls, self._containers, self._refs  # refs: every one
        spelled = self._spelled
        root_prefix = self._root.prefix
        ours = spelled[root_prefix] = []  # component elements spelled like the root (nearly all)
        # Every namespace's purl and components too: only to find the ones in another.
        tags = (
            "{*}purl",
            properties_tag,
            *after,
            "{*}components",
            "{*}component",
            _XML_NAMESPACE_ELEMENTS,
        )
        foreign: list[etree._Element] = []
        last = None  # the component read last: nearly always the parent of what follows
        for found in self._root.iter(*tags):
            tag = found.tag
            if tag == component_tag:
                last = found
                refs[found] = found.get("bom-ref")
                prefix = found.prefix
                (ours if prefix == root_prefix else spelled.setdefault(prefix, [])).append(found)
                continue
            if tag == purl_tag:  # the first one not blank
                parent = found.getparent()
                text = found.text or ""
                if len(found) and parent is not None:
                    # <purl>pkg:pypi/evil<!-- -->-pkg</purl>: .text is what comes before the
                    # comment ("pkg:pypi/evil", another project); XPath's string() all of it.
                    whole = "".join(str(piece) for piece in found.itertext())
                    self._split_purls.add(parent)
                    text = whole if may_name_pypi(whole) else text
                if (
                    parent is not None
                    and (parent is last or parent in refs)
                    and (text := text.strip())
                ):
                    if parent not in purls:
                        purls[parent] = text
                    elif text != purls[parent]:
                        self._other_purls.setdefault(parent, text)
                continue
            if tag == properties_tag:
                parent = found.getparent()
                if parent is not None and (parent is last or parent in refs):
                    containers.setdefault(parent, []).append(found)
                continue
            if tag not in after and (local := tag.rpartition("}")[2]) in _STRUCTURE:
                # Another namespace's (or none): an extension, unless it sits where a
                # component, its list or its purl belongs.
                if self._in_place(found, local):
                    foreign.append(found)
                if local == "component":
                    spelled.setdefault(found.prefix, []).append(found)
                if not tag.startswith(_XML_NAMESPACE):
                    continue
            parent = found.getparent()
            if parent is not None:
                followed.add(parent)
                if tag == components_tag and parent.tag == component_tag:
                    parents.add(parent)
        if foreign:
            raise self._foreign_structure(foreign[0])
        self._check_one_subject()
        self._followed = followed
        self._parents = parents
        return parents

    def _in_place(self, element: etree._Element, local: str) -> bool:
        """Whether an element named ``local`` outside the CycloneDX namespace is where
        readers that match names alone look for one: a component in a components list (or
        metadata), a components list in the BOM or a component, a purl in a component."""
        parent = element.getparent()
        if parent is None:
            return False
        if parent is self._root:
            return local == "components"
        above = parent.tag.rpartition("}")[2] if isinstance(parent.tag, str) else ""
        if local == "component":
            return above in ("components", "metadata")
        if local == "purl":
            return parent.tag == self._q("component")
        return above == "component"

    def _foreign_structure(self, element: etree._Element) -> SbomError:
        """The error for a component, components or purl element outside the document's
        namespace: readers that match names alone (Go's encoding/xml: syft, grype, trivy;
        Jackson: Dependency-Track) read it as CycloneDX's, cyclonedx-python-lib one in no
        namespace; skipped here, a PyPI component written so went unchecked and the run
        passed."""
        namespace = etree.QName(element).namespace
        where = f"namespace {namespace[:100]!r}" if namespace else "no namespace"
        line: object = element.sourceline  # untyped in lxml-stubs
        at = f" (line {line})" if isinstance(line, int) else ""
        return SbomError(
            f"{self.source}: <{_local(element)}> in {where}{at}, not the document's: readers "
            "that ignore namespaces take it for CycloneDX's, and it would go unchecked"
        )

    def _check_one_subject(self) -> None:
        """Refuse a BOM whose metadata holds more than one component (the schema allows one):
        readers take the last (cyclonedx-python-lib, Go's encoding/xml) or the first (this
        reader did), so a PyPI component second went unchecked while another tool saw it."""
        metadata_tag, component_tag = self._q("metadata"), self._q("component")
        subjects = [
            component
            for section in self._root.iterchildren(metadata_tag)
            for component in section.iterchildren(component_tag)
        ]
        if len(subjects) > 1:
            line: object = subjects[1].sourceline
            at = f" (line {line})" if isinstance(line, int) else ""
            raise SbomError(
                f"{self.source}: {len(subjects)} metadata <component> elements{at}; CycloneDX "
                "allows one, and readers differ on which they take"
            )

    def _text(self, parent: etree._Element, local: str) -> str | None:
        child = self._child(parent, local)
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    def component_count(self) -> int:
        # What built the product counts when it is PyPI (looked up) only: a generator's own
        # entry (cyclonedx-py, cdxgen's npm purl) is no component of the product.
        count = len(self._components())
        build = self._build_tools()
        if build:
            count -= len(build) - sum(c.build_tool is not None for c in self.pypi_components())
        return count

    def pypi_components(self) -> list[PypiComponent]:
        if self._pypi_components is not None:
            return list(self._pypi_components)
        found = []
        metadata = self._child(self._root, "metadata")
        subject = self._child(metadata, "component") if metadata is not None else None
        purls = self._purls
        read_references = partial(_reference_urls, namespace=self._ns)
        refs = self._refs
        all_containers = self._containers
        others = self._other_purls
        nodes = self._components()
        build_tools = self._build_tools()
        refuse_shared_refs(
            [refs.get(node) for node in nodes],
            lambda position: purls.get(nodes[position]),
            lambda position: _line_of(nodes[position]),
            self.source,
        )
        for node in nodes:
            purl = purls.get(node)
            other = others.get(node) if others else None
            if other is not None and (purl is None or not may_name_pypi(purl)):
                purl = other  # a PyPI purl second: the component is PyPI to some reader
            # Only a PyPI purl makes a PypiComponent (its spelling includes "pypi/").
            if purl is None or not may_name_pypi(purl):
                continue
            containers = all_containers.get(node)
            problem = self._properties_problem(containers) if containers else None
            if other is not None:
                # The schema allows one: which one a reader takes (first, last) differs.
                problem = "it has two <purl> elements that differ, and readers disagree on which"
            elif node in self._split_purls:
                problem = (
                    "its <purl> holds a comment, a processing instruction or an element, and "
                    "readers disagree on its text"
                )
            # Read without the component's version: the purl's wins when it has one.
            component = make_pypi_component(
                node,
                purl,
                None,
                refs.get(node),
                subject=node is subject,
                # Read when asked (only --maintenance and the monitor ask): a few lxml calls
                # for each of a component's references, ~5 µs a component.
                references=read_references,
                problem=problem,
                build_tool=build_tools.get(node) if build_tools else None,
            )
            if (
                component is not None
                and component.version is None  # what make_pypi_component takes it for
                and (version := self._version_of(node)) is not None
            ):
                component = replace(component, version=version)
            if component is not None:
                if component.problem is not None:
                    line: object = node.sourceline  # untyped in lxml-stubs
                    component = replace(component, line=line if isinstance(line, int) else None)
                found.append(component)
        self._pypi_components = found
        return list(found)

    def _version_of(self, component: etree._Element) -> str | None:
        """The stripped text of the component's first ``version`` child that is not blank."""
        for child in component.iterchildren(self._q("version")):
            if text := (child.text or "").strip():
                return text
        return None

    def _name_of(self, component: etree._Element) -> str:
        """The text of the component's first ``name`` child, as written ("" when none)."""
        # The name nearly always comes first: the first child is looked at by its index (a
        # third of what a child iterator costs to set up, and iterchildren's tag matcher
        # twice that), and then each child up to the name.
        name_tag = self._name_tag
        try:
            child = component[0]
        except IndexError:  # no child
            return ""
        if child.tag == name_tag:
            return child.text or ""
        for child in component:
            if child.tag == name_tag:
                return child.text or ""
        return ""

    @cached_property
    def _name_tag(self) -> str:
        return self._q("name")

    def _properties_problem(self, containers: list[etree._Element]) -> str | None:
        """Why the component's ``<properties>`` cannot be edited safely, or None.

        Our properties are told from others' by the ``name`` attribute of ``<property>``
        children; anything else in the container (another element, text, a property without
        a name or with child elements, a second container) leaves us unable to tell what to
        replace, so the component is left as written.
        """
        if len(containers) > 1:
            return f"it has {len(containers)} <properties> elements, not one"
        container = containers[0]
        if (container.text or "").strip():
            return "its <properties> holds text, not only <property> elements"
        property_tag = self._q("property")
        for position, child in enumerate(container, 1):
            if (child.tail or "").strip():
                return "its <properties> holds text, not only <property> elements"
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions are kept as they are
            if child.tag != property_tag:
                shown = _local(child)[:60]
                if shown == "property":
                    return "its <properties> holds a <property> of another namespace"
                return f"its <properties> holds a <{shown}> element, not only <property>"
            if child.get("name") is None:
                return f"its property {position} has no name attribute"
            if len(child):
                return f"its property {position} holds elements, not only text"
        return None

    def dependency_graph(self) -> SbomGraph:
        edges: dict[str, tuple[str, ...]] = {}
        section = self._child(self._root, "dependencies")
        if section is not None:
            # Every <dependency> below, in one pass (C): an entry is a child of the section,
            # what it depends on a child of the entry (deeper ones are no part of the graph).
            entry: etree._Element | None = None
            source: str | None = None
            targets: list[str] = []
            for found in section.iter(self._q("dependency")):
                parent = found.getparent()
                if parent is section:
                    if source:
                        edges[source] = tuple(targets)
                    entry, source, targets = found, found.get("ref"), []
                elif parent is entry and source and (target := found.get("ref")):
                    targets.append(target)
            if source:
                edges[source] = tuple(targets)
        metadata = self._child(self._root, "metadata")
        subject = self._child(metadata, "component") if metadata is not None else None
        root = subject.get("bom-ref") if subject is not None else None
        return SbomGraph(edges, root or None, _FirstNames(self))

    # -- recording edits -----------------------------------------------------------------

    def set_properties(
        self, component: PypiComponent, properties: Sequence[tuple[str, str]]
    ) -> None:
        node = component.handle
        if not isinstance(node, etree._Element):
            raise TypeError("component does not belong to an XML SBOM")
        self._properties[node] = list(properties)

    def remove_planted(self) -> None:
        containers = self._containers
        if not containers:
            return
        ours = {c.handle for c in self.pypi_components() if c.problem is None}
        for node in self._components():
            found = containers.get(node)
            if found is None or node in ours or not any(map(_holds_ours, found)):
                continue  # ours to write (or a skipped one, emptied of ours), or none at all
            if self._properties_problem(found) is None:
                # One container of <property name> elements: the writer removes ours exactly.
                self._properties[node] = []
                continue
            shown = component_place(_line_of(node), self._purls.get(node))
            raise SbomError(
                f"{self.source}: component {shown} carries {PROPERTY_PREFIX} properties that "
                "sbom-enrich did not write, where they cannot be removed exactly: the output "
                "would carry them beside our tool entry, as if we vouched for them"
            )

    def add_tool(self, name: str, version: str, url: str | None) -> None:
        self._tool = (name, version, url)
        self._strip_tool = False

    def bump_version(self) -> None:
        current = self._new_version
        if current is _NOT_SET:
            current = self._root.get("version")
        assert current is None or isinstance(current, str)
        self._new_version = bumped_version(current.strip()) if current is not None else "2"

    def _set_version(self, version: str | None) -> None:
        """Write ``version`` (None: no version attribute); undoes bump_version in tests."""
        self._new_version = version

    def _strip_enrichment(self) -> None:
        self._vulnerabilities = []
        flawed = {c.handle for c in self.pypi_components() if c.problem is not None}
        for node in self._components():
            if node not in flawed:
                self._properties[node] = []
        self._tool = None
        self._strip_tool = True

    def set_vulnerabilities(self, entries: Sequence[VulnerabilityEntry]) -> None:
        self._vulnerabilities = list(entries)

    def ensure_bom_ref(self, component: PypiComponent) -> str | None:
        node = component.handle
        if not isinstance(node, etree._Element):
            raise TypeError("component does not belong to an XML SBOM")
        current = node.get("bom-ref") or self._bom_refs.get(node)
        if current:
            return current
        if node.get("bom-ref") is not None:
            return None  # bom-ref="" as the author wrote it: never overwritten
        taken = self._taken_refs
        if taken is None:
            # Gathered once (once per call made adding refs quadratic); ours kept in it.
            taken = self._taken_refs = set(self._root.xpath("//@bom-ref"))  # type: ignore[arg-type]
        reference = unique_reference(component.purl, taken)
        taken.add(reference)
        self._bom_refs[node] = reference
        return reference

    def _signature_elements(self) -> list[etree._Element]:
        if self._one_namespace:
            return []  # a signature is an element of the XML Signature namespace
        return [
            element
            for element in self._root.iter(XML_SIGNATURE)
            if element not in self._removed_set
        ]

    def signatures(self) -> list[str]:
        kinds = []
        for element in self._signature_elements():
            parent = element.getparent()
            kinds.append(_local(parent) if parent is not None else "bom")
        return kinds

    def remove_signatures(self) -> int:
        # Outermost only: a signature inside another one goes with it.
        found = [
            element
            for element in self._signature_elements()
            if not any(a.tag == XML_SIGNATURE for a in element.iterancestors())
        ]
        self._removed.extend(found)
        self._removed_set.update(found)
        return len(found)

    # -- writing -------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return b"".join(self.to_chunks())

    def to_chunks(self) -> list[bytes | memoryview]:
        # Not joined: the CLI writes the pieces as they are.
        if not (
            self._properties
            or self._tool
            or self._strip_tool
            or self._removed
            or self._vulnerabilities is not None
            or self._bom_refs
            or self._new_version is not _NOT_SET
        ):
            return [self._data]
        return _Splice(self).chunks()


#: A character to escape (``&<>"'``, tab and line breaks) or one XML cannot carry: most values
#: hold neither, and one search tells. Written as one class (a third of the time of the two
#: alternatives it is), listed rather than negated (~0.4 ms to compile, not ~7 ms); a test
#: compares it with the two over every code point.
_NEEDS_WORK = re.compile("[\x00-\x1f\"&'<>\ud800-\udfff\ufffe\uffff]")
_ASCII = "".join(map(chr, range(128)))
_ASCII_BYTES = _ASCII.encode("ascii")


#: The ASCII characters :data:`_NEEDS_WORK` matches, as bytes to delete.
_ASCII_WORK = bytes(range(0x20)) + b"\"&'<>"


def _plain(text: str) -> bool:
    """Whether ``text`` holds nothing :func:`_escape` would change.

    For ASCII text, told in C several times faster than the pattern's search: deleting those
    characters from its bytes leaves as many (40% less than ``isprintable`` and five
    searches, which was 6% of writing a 10,000-component SBOM's properties).
    """
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _ASCII_WORK)) == len(raw)
    return _NEEDS_WORK.search(text) is None


def _escape(value: str, quote: str | None, sbom: XmlSbom) -> str:
    """``value`` escaped for text (``quote`` None) or an attribute value in ``quote``.

    In text, quotes are escaped where the document escapes them; asked of the document (a
    search of all of it) only for a value that holds one.
    """
    if _NEEDS_WORK.search(value) is None:
        return _legacy_references(value, sbom)
    value = _NOT_XML_CHARS.sub("", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote == '"' or (quote is None and '"' in value and sbom._escape_quote):
        value = value.replace('"', "&quot;")
    if quote == "'" or (quote is None and "'" in value and sbom._escape_apos):
        value = value.replace("'", "&apos;")
    if quote is not None:  # attribute values: line breaks and tabs would be normalized away
        value = value.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    else:
        value = value.replace("\r", "&#13;")
    return _legacy_references(value, sbom)


#: Python's names of the encodings libxml2 and Python read alike, byte for byte.
_UTF = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be"})
#: What new text in any other encoding may hold as is: printable ASCII but backslash and tilde,
#: tab and line breaks. libxml2 reads most of those encodings through iconv, whose tables are
#: not Python's (Shift_JIS 0x5C: Python's backslash, iconv's U+00A5 YEN SIGN; Johab's: U+20A9
#: WON SIGN), so the rest is written as character references, which read the same in any.
_LEGACY_UNSAFE = re.compile(r"[^\t\n\r -\[\]-}]")


def _needs_references(value: str, sbom: XmlSbom) -> bool:
    """Whether :func:`_legacy_references` would change ``value``."""
    if not sbom._legacy:
        return False
    if value.isascii() and value.isprintable() and "\\" not in value and "~" not in value:
        return False  # told in C, several times faster than the pattern's search
    return _LEGACY_UNSAFE.search(value) is not None


def _legacy_references(value: str, sbom: XmlSbom) -> str:
    """``value`` (escaped) with what :data:`_LEGACY_UNSAFE` matches as character references,
    when the document needs it."""
    if not _needs_references(value, sbom):
        return value
    return _LEGACY_UNSAFE.sub(lambda match: f"&#{ord(match[0])};", value)


class _Splice:
    """The edits of one XmlSbom as (start, end, text) replacements of its input text."""

    def __init__(self, sbom: XmlSbom) -> None:
        self.sbom = sbom
        frame = sbom._frame
        self.text = frame.text
        assert sbom._nodes is not None  # parse() located them
        self.nodes = sbom._nodes
        self.edits: list[tuple[int, int, int, str]] = []  # start, end, order, text
        self.templates: dict[str, _PropertyTemplate] = {}  # of new properties, by prefix
        self.shapes: dict[tuple[str, ...], _PropertyTemplate] = {}  # the input's, by spelling
        self.unit = self._indent_unit()
        # Inserted text is nearly always ASCII, which an ASCII-compatible encoding writes as is:
        # no encode and decode per edit.
        self.ascii_as_is = (
            frame.codec == "latin-1" and _ASCII.encode(sbom._encoding, "strict") == _ASCII_BYTES
        )

    # -- locating --------------------------------------------------------------------------

    def _check(self, element: etree._Element, node: int) -> None:
        """The node's markup is the element's (a disagreement is refused, never written)."""
        tag = element.tag
        local = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        name = self.nodes.spelled(element.prefix, local)
        start = self.nodes.starts[node]
        if (
            name is None
            or not self.text.startswith("<" + name, start)
            or self.text[start + 1 + len(name)] not in " \t\r\n/>"
        ):
            raise SbomError(
                f"{self.sbom.source}: cannot edit this XML in place (its markup could not be "
                "located); nothing written"
            )

    def _node_at(self, path: Sequence[int]) -> int:
        node = 0
        for index in path:
            node = self.nodes.children[node][index]
        return node

    def _node_of(self, element: etree._Element) -> int:
        path: list[int] = []
        current = element
        parent = current.getparent()
        while parent is not None:
            path.append(parent.index(current))
            current, parent = parent, parent.getparent()
        node = self._node_at(path[::-1])
        self._check(element, node)
        return node

    def _indent_unit(self) -> str | None:
        """The indentation step, read off the root's first child; None: not pretty-printed."""
        text, nodes = self.text, self.nodes
        # The first child starts at the first "<" of the root's content unless that opens a
        # CDATA section (text) or the end tag: then the children are walked (a walk of the
        # root searches the whole document for its children's end tags, ~14 ms on 14 MB).
        first = text.find("<", nodes.tag_ends[0], nodes.close_starts[0])
        if first >= 0 and not text.startswith("<![CDATA[", first):
            lead = text[nodes.tag_ends[0] : first]
        else:
            children = nodes.children[0]
            if not children:
                return None
            lead = text[nodes.tag_ends[0] : nodes.starts[children[0]]]
        if "\n" not in lead or lead.strip():
            return None
        inner = lead.rsplit("\n", 1)[1]
        outer = self._line_indent(0)
        return inner[len(outer) :] if inner.startswith(outer) and len(inner) > len(outer) else None

    def _line_indent(self, node: int) -> str:
        position = self.nodes.starts[node]
        line_start = self.text.rfind("\n", 0, position) + 1
        match = _LINE_INDENT.match(self.text, line_start, position)
        return match.group() if match else ""

    # -- rendering -------------------------------------------------------------------------

    def _prefix_of(self, element: etree._Element) -> str:
        return f"{element.prefix}:" if element.prefix else ""

    def _render(self, new: _New, prefix: str, indent: str) -> str:
        """``new`` in the document's style; ``indent`` is the indentation of its own line."""
        sbom = self.sbom
        tag = prefix + new.local
        attributes = "".join(
            f" {name}={sbom._quote}{_escape(value, sbom._quote, sbom)}{sbom._quote}"
            for name, value in new.attributes
        )
        if new.children:
            inner = self.unit
            parts = [f"<{tag}{attributes}>"]
            for child in new.children:
                if inner is not None:
                    parts.append(self.sbom._newline + indent + inner)
                parts.append(self._render(child, prefix, indent + (inner or "")))
            if inner is not None:
                parts.append(self.sbom._newline + indent)
            parts.append(f"</{tag}>")
            return "".join(parts)
        text = _escape(new.text or "", None, sbom)
        return f"<{tag}{attributes}>{text}</{tag}>"

    def _encoded(self, text: str) -> str:
        """``text`` as the frame holds it: for one-byte codecs, the document encoding's bytes."""
        if self.sbom._frame.codec != "latin-1" or (self.ascii_as_is and text.isascii()):
            return text
        return text.encode(self.sbom._encoding, "xmlcharrefreplace").decode("latin-1")

    def _characters(self, start: int, end: int) -> str:
        """The input's text from ``start`` to ``end`` as characters (what :meth:`_encoded`
        takes): copied markup joins new text in an edit, and both are encoded once."""
        return self._as_characters(self.text[start:end])

    def _as_characters(self, raw: str) -> str:
        """``raw``, a piece of the input's text cut at markup, as characters."""
        if self.sbom._frame.codec != "latin-1" or raw.isascii():
            return raw
        try:  # cut at markup, so never inside a character's bytes
            return raw.encode("latin-1").decode(self.sbom._encoding)
        except UnicodeDecodeError:  # an encoding Python does not know ("ascii" stands in)
            raise SbomError(
                f"{self.sbom.source}: cannot edit this XML in place (its encoding is not "
                "known here); nothing written"
            ) from None

    # -- primitive edits -------------------------------------------------------------------

    def _edit(self, start: int, end: int, text: str) -> None:
        self.edits.append((start, end, len(self.edits), self._encoded(text)))

    def _gap_before(self, parent: int, position: int) -> str:
        """The text between child ``position`` of ``parent`` and what precedes it."""
        nodes = self.nodes
        children = nodes.children[parent]
        previous_end = nodes.ends[children[position - 1]] if position else nodes.tag_ends[parent]
        return self._characters(previous_end, nodes.starts[children[position]])

    def _insert_child(
        self,
        parent: int,
        position: int | None,
        new: list[_New] | Callable[[str], list[str]],
        prefix: str,
        element: etree._Element | None = None,
    ) -> None:
        """Insert ``new`` elements before child ``position`` of ``parent`` (None: at the end).

        ``new`` is elements to render, or a function from an indentation to rendered elements.
        ``element``: lxml's node for ``parent``, when the caller has it.
        """
        nodes = self.nodes
        if isinstance(new, list):
            items = new
            new = lambda indent: [self._render(item, prefix, indent) for item in items]  # noqa: E731
        if position is None:
            point = nodes.append_point(parent, element)
            if point is not None:  # found without walking the parent's children
                self._append(point[0], self._as_characters(point[1]), new)
                return
        children = nodes.children[parent]
        newline = self.sbom._newline
        if not children:
            own = self._line_indent(parent)
            if self.unit is not None:
                lead, close = newline + own + self.unit, newline + own
            else:
                lead = close = ""
            indent = lead.rsplit("\n", 1)[1] if "\n" in lead else ""
            rendered = "".join(lead + item for item in new(indent))
            start_tag = self._characters(nodes.starts[parent], nodes.tag_ends[parent])
            if start_tag.endswith("/>"):  # <properties/>: give it content and an end tag
                name = start_tag[1:].split(None, 1)[0].rstrip("/>")
                opening = _TAG_END.sub(">", start_tag)
                self._edit(
                    nodes.starts[parent],
                    nodes.ends[parent],
                    opening + rendered + close + f"</{name}>",
                )
            else:
                self._edit(nodes.tag_ends[parent], nodes.close_starts[parent], rendered + close)
            return
        if position is None or position >= len(children):
            gap = self._gap_before(parent, len(children) - 1)
            at = nodes.ends[children[-1]]
            self._append(at, gap, new)
        else:
            gap = self._gap_before(parent, position)
            indent = gap.rsplit("\n", 1)[1] if "\n" in gap else ""
            at = nodes.starts[children[position]]
            self._edit(at, at, "".join(item + gap for item in new(indent)))

    def _append(self, at: int, gap: str, new: Callable[[str], list[str]]) -> None:
        """Insert after the last child, which ends ``at`` and has ``gap`` before it."""
        indent = gap.rsplit("\n", 1)[1] if "\n" in gap else ""
        self._edit(at, at, "".join(gap + item for item in new(indent)))

    def _remove_child(self, parent: int, position: int) -> None:
        """Remove child ``position`` with the whitespace in front of it."""
        nodes = self.nodes
        children = nodes.children[parent]
        node = children[position]
        if position:
            self._edit(nodes.ends[children[position - 1]], nodes.ends[node], "")
        elif len(children) > 1:
            self._edit(nodes.starts[node], nodes.starts[children[1]], "")
        else:
            self._edit(nodes.tag_ends[parent], nodes.close_starts[parent], "")

    def chunks(self) -> list[bytes | memoryview]:
        """The output in pieces: the input's bytes around the edits, and the edits."""
        sbom = self.sbom
        self._version()
        self._component_edits()
        if sbom._tool is not None or sbom._strip_tool:
            self._tool_edits()
        if sbom._vulnerabilities is not None:
            self._vulnerability_edits(sbom._vulnerabilities)
        for element, reference in sbom._bom_refs.items():
            self._add_attribute(self._node_of(element), "bom-ref", reference)
        for element in sbom._removed:
            self._node_of(element)  # checks the markup is the element's
            parent = element.getparent()
            assert parent is not None
            self._remove_child(self._node_of(parent), parent.index(element))
        self.edits.sort()
        codec = sbom._frame.codec
        # Edits that overlap are refused as the pieces are cut (nothing is written until all
        # of them are): one loop over the edits, not two.
        position = 0
        if codec != "latin-1":  # UTF-16: offsets count code units of the decoded text
            out: list[str] = []
            text = self.text
            for start, end, _, replacement in self.edits:
                if start < position:
                    raise self._overlapping()
                out.append(text[position:start])
                out.append(replacement)
                position = end
            out.append(text[position:])
            return ["".join(out).encode(codec)]
        # One byte a character: what is kept is copied from the input bytes once, not sliced,
        # joined and encoded (three copies of 14 MB).
        data = memoryview(sbom._data)
        chunks: list[bytes | memoryview] = []
        for start, end, _, replacement in self.edits:
            if start < position:
                raise self._overlapping()
            chunks.append(data[position:start])
            chunks.append(replacement.encode("latin-1"))
            position = end
        chunks.append(data[position:])
        return chunks

    def _overlapping(self) -> SbomError:
        return SbomError(
            f"{self.sbom.source}: cannot edit this XML in place (overlapping edits); "
            "nothing written"
        )

    # -- the edits -------------------------------------------------------------------------

    def _version(self) -> None:
        version = self.sbom._new_version
        if version is _NOT_SET:
            return
        nodes = self.nodes
        start_tag = self.text[nodes.starts[0] : nodes.tag_ends[0]]
        match = self._version_attribute(start_tag)
        if match is not None:
            if version is None:
                self._edit(nodes.starts[0] + match.start(), nodes.starts[0] + match.end(), "")
            else:
                group = 1 if match.group(1) is not None else 2
                self._edit(
                    nodes.starts[0] + match.start(group),
                    nodes.starts[0] + match.end(group),
                    str(version),
                )
        elif version is not None:
            end = _TAG_END.search(start_tag)
            assert end is not None
            at = nodes.starts[0] + end.start()
            quote = self.sbom._quote
            self._edit(at, at, f" version={quote}{version}{quote}")

    def _version_attribute(self, start_tag: str) -> re.Match[str] | None:
        """The ``version`` attribute of the root's ``start_tag``, read attribute by attribute
        (a search of the text would find `` version='7'`` inside another attribute's value)."""
        name = _TAG_NAME.match(start_tag)
        position = name.end() if name is not None else 0
        while (attribute := _ATTRIBUTE.match(start_tag, position)) is not None:
            if attribute[1] == "version":  # the space before it, as _VERSION_ATTRIBUTE has it
                return _VERSION_ATTRIBUTE.match(start_tag, attribute.start(1) - 1)
            position = attribute.end()
        if _TAG_END.match(start_tag, position) is None:  # lxml read it: never so
            raise SbomError(
                f"{self.sbom.source}: cannot edit this XML in place (the root's start tag "
                "could not be read); nothing written"
            )
        return None

    def _component_edits(self) -> None:
        sbom = self.sbom
        if not sbom._properties:
            return
        if sbom._one_namespace and self._flat_component_edits():
            return
        edited, children = sbom._properties, self.nodes.children
        located = self._locate_components(edited)
        # Nearly every component of a generator's output takes the shortest way, written out
        # here: CycloneDX's the only namespace (so no prefix) and nothing that must follow a
        # <properties> in the component, none there yet, and its last child found off the
        # text. The rest take _set_properties, which does the same for them.
        simple = sbom._one_namespace
        followed, containers = sbom._followed, sbom._containers
        point_in_text = self.nodes.append_point_in_text
        render = self._new_property_template("").render
        block = self._properties_block
        edits, encoded = self.edits, self._encoded
        paths: dict[etree._Element, tuple[int, ...]] | None = None
        for element in sbom._components():
            properties = edited.get(element)
            if properties is None:
                continue
            node = located.get(element)
            if node is None:  # walked to, level by level
                if paths is None:
                    paths = dict(sbom._paths())
                node = 0
                for index in paths[element]:  # _node_at, inline
                    node = children[node][index]
                self._check(element, node)
            elif (
                simple
                and properties
                and element not in containers
                and element not in followed
                and (point := point_in_text(node)) is not None
            ):
                # A new <properties> after the last child, which ends at ``at`` and has
                # ``gap`` before it (white space only: the same as text or as characters).
                at, gap = point
                edits.append((at, at, len(edits), encoded(block(gap, render(properties, sbom)))))
                continue
            self._set_properties(element, node, properties)

    def _properties_block(self, gap: str, texts: list[str]) -> str:
        """A new ``<properties>`` holding ``texts``, with ``gap`` (white space) before it."""
        head, between, end = self._properties_frame(gap)
        return head + between.join(texts) + end

    def _properties_frame(self, gap: str) -> tuple[str, str, str]:
        """What goes before, between and after the properties of a new ``<properties>`` with
        ``gap`` (white space) before it."""
        unit = self.unit
        if unit is None:
            return f"{gap}<properties>", "", "</properties>"
        newline = self.sbom._newline
        indent = gap[gap.rfind("\n") + 1 :] if "\n" in gap else ""
        inner = newline + indent + unit
        return f"{gap}<properties>{inner}", inner, f"{newline}{indent}</properties>"

    def _flat_component_edits(self) -> bool:
        """:meth:`_component_edits` for an SBOM whose components hold none (nearly all): each
        component's end tag found by :meth:`XmlNodes.flat_spans`, and the new
        ``<properties>`` appended after its last child with the white space before that
        child in front, both read off the text by :meth:`XmlNodes.around_last_child` (no walk
        of the component's markup, no look at lxml's nodes), when no character reference or
        lone CR can make the text's white space differ from what lxml read. False: not such
        an SBOM (nothing done).
        """
        sbom = self.sbom
        if not sbom._ascii_is_ascii:
            return False
        same = sbom._spelled.get(None, [])
        spans = self.nodes.flat_spans(len(same), "component", None)
        if spans is None:
            return False
        starts, closes = spans
        text = self.text
        edited, followed, containers = sbom._properties, sbom._followed, sbom._containers
        exact = sbom._exact_blanks
        has_special = self.nodes.has_special if self.nodes.has_special(0, len(text)) else None
        template = self._new_property_template("")
        render = template.render
        # Most runs write no value that needs escaping: one search of them all tells.
        values = " ".join([value for pairs in edited.values() for _, value in pairs])
        starts_of, close_tag = None, template.tail
        # Plain: no escaping, and no character references a legacy encoding needs.
        if _plain(values) and not _needs_references(values, sbom):
            render, starts_of = template.render_plain, template.starts
        edits, encoded = self.edits, self._encoded
        around_last_child = self.nodes.around_last_child
        as_is = self.ascii_as_is
        # What goes around a new <properties>'s children, by the white space before it: the
        # same for nearly every component. Kept with the property's end tag folded in (what
        # goes between two properties' starts, and after the last value), so rendering
        # plainly is one concatenation a property.
        frames: dict[str, tuple[str, str, str, str, str]] = {}
        # Components that already hold a <properties> or something it must precede: one
        # lookup, not two (a few hundred elements).
        unusual = followed.union(containers)
        for index, element in enumerate(same):
            properties = edited.get(element)
            if properties is None:
                continue
            close = closes[index]
            if (
                exact
                and properties
                and element not in unusual
                and (has_special is None or not has_special(starts[index], close))
            ):
                # The white space around its last child, read from the text: the parse
                # drops blank text (and of a long run of it may keep the end alone).
                around = around_last_child(starts[index], close)
                if around is not None:
                    at, gap = around
                    frame = frames.get(gap)
                    if frame is None:
                        head, between, end = self._properties_frame(gap)
                        frame = frames[gap] = (
                            head,
                            close_tag + between,
                            close_tag + end,
                            between,
                            end,
                        )
                    head, joiner, finish, between, end = frame
                    if starts_of is None:
                        rendered = head + between.join(render(properties, sbom)) + end
                    else:
                        try:  # render_plain, inline: every name seen before
                            rendered = (
                                head
                                + joiner.join([starts_of[n] + v for n, v in properties])
                                + finish
                            )
                        except KeyError:
                            texts = render(properties, sbom)
                            rendered = head + between.join(texts) + end
                    if not (as_is and rendered.isascii()):
                        rendered = encoded(rendered)
                    edits.append((at, at, len(edits), rendered))
                    continue
            elif (
                exact
                and properties
                and (has_special is None or not has_special(starts[index], close))
                and self._append_to_container(
                    element, starts[index], close, properties, starts_of is not None
                )
            ):
                continue
            node = self.nodes.add(element, starts[index], close)
            self._check(element, node)
            self._set_properties(element, node, properties)
        return True

    def _append_to_container(
        self,
        element: etree._Element,
        start: int,
        close: int,
        properties: list[tuple[str, str]],
        plain: bool,
    ) -> bool:
        """The flat path for a component whose ``<properties>`` (of other tools) is its last
        child and holds none of ours (cdxgen writes one in every component): ours appended
        after its last property, spelled like its first, with the white space between its
        first two in front; what ``_set_properties`` does, with the white space read off the
        text where lxml read white space or nothing. The caller has checked that the
        component holds no comment, CDATA section or PI and that the white space lxml read is
        the text's; ``plain``: that no value needs escaping.
        False: not such a component (nothing done).
        """
        containers = self.sbom._containers.get(element)
        if containers is None or len(containers) != 1:
            return False
        container = containers[0]
        try:
            last_child = element[-1]
            first, last = container[0], container[-1]
        except IndexError:
            return False
        if last_child is not container or type(first) is not _ELEMENT:
            return False
        # The white space around and between its properties, read from the text: the parse
        # drops blank text (and of a long run may keep the end alone). Text lxml read that is
        # not blank takes the general path.
        read = (container.tail, container.text, last.tail, first.tail)
        if any(blank is not None and blank.strip(_SPACE) for blank in read):
            return False
        text, nodes = self.text, self.nodes
        # Its end tag ends where the white space after it starts; its last child likewise.
        end = nodes.blank_before(close, start)
        end_tag = text.rfind("</", start, end)
        if (
            end < 0
            or not text.startswith("</properties", end_tag)
            or text[end_tag + 12 : end - 1].strip(_SPACE)
        ):
            return False
        at = nodes.blank_before(end_tag, start)
        opening = text.rfind("<properties", start, end_tag)
        if (
            at < 0
            or opening < 0
            or text[opening + 11] not in " \t\r\n>"
            # One of ours, or our prefix in any text: the general path replaces ours.
            or text.find(PROPERTY_PREFIX, opening, end_tag) >= 0
        ):
            return False
        # The first property as written: its markup ends at its end tag (it has no child,
        # and no comment or CDATA is here), and it starts after the white space that
        # follows the container's start tag.
        opening_end = nodes.start_tag_end(opening)
        if opening_end is None:
            return False
        first_start = _after_blanks(text, opening_end, at)
        lead = text[opening_end:first_start]
        # Spelled <property name="…">…</property> (unprefixed: CycloneDX's, the only
        # namespace), it is what lxml read as a property with a name and no child.
        first_close = text.find("</", first_start, at)
        if first_close < 0:
            return False
        first_end = text.index(">", first_close) + 1
        match = _PROPERTY.fullmatch(self._characters(first_start, first_end))
        if match is None or not match[1].startswith("<property") or match[1][9] not in _SPACE:
            return False
        # What goes between two properties: the white space after the first (the one
        # before it when it is the only one).
        separator = lead if first is last else text[first_end : _after_blanks(text, first_end, at)]
        head, quote, middle, property_tail = shape = match.groups()
        template = self.shapes.get(shape)
        if template is None:
            template = self.shapes[shape] = _PropertyTemplate(head, quote, middle, property_tail)
        rendered = (template.render_plain if plain else template.render)(properties, self.sbom)
        self._edit(at, at, separator + separator.join(rendered))
        return True

    def _locate_components(self, edited: Collection[etree._Element]) -> dict[etree._Element, int]:
        """The nodes of the edited components, located by their tags in one pass a spelling
        (empty where the text does not agree with lxml: those are walked to)."""
        located: dict[etree._Element, int] = {}
        spelled = self.sbom._spelled
        for prefix in {element.prefix for element in edited}:
            found = self.nodes.locate_all(spelled.get(prefix, []), "component", prefix)
            if found is not None:
                located.update(found)
        return located

    def _set_properties(
        self, element: etree._Element, node: int, properties: list[tuple[str, str]]
    ) -> None:
        sbom = self.sbom
        prefix = self._prefix_of(element)
        containers = sbom._containers.get(element)
        if containers is None:
            if not properties:
                return
            texts = self._new_property_template(prefix).render(properties, sbom)
            unit, newline = self.unit, sbom._newline
            opening, closing = f"<{prefix}properties>", f"</{prefix}properties>"

            def block(indent: str) -> list[str]:
                if unit is None:
                    return [opening + "".join(texts) + closing]
                inner = newline + indent + unit
                return [opening + inner + inner.join(texts) + newline + indent + closing]

            position = self._properties_position(element)
            point = None
            if position is None:
                nodes = self.nodes
                point = nodes.append_point_in_text(node) or nodes.append_point(node, element)
            if point is None:
                self._insert_child(node, position, block, prefix, element)
                return
            # Appended after the last child, found off the text (nearly every component):
            # what _insert_child and _append do, without their generality.
            at, gap = point[0], self._as_characters(point[1])
            self._edit(at, at, gap + block(gap.rsplit("\n", 1)[1] if "\n" in gap else "")[0])
            return
        properties_element = containers[0]
        nodes = self.nodes
        # Found by its start tag when the component's children are not walked yet (~40 us a
        # component with ten children): nearly every component of some generators (cdxgen)
        # has <properties>.
        container_node = (
            None if node in nodes.children else nodes.locate_descendant(node, properties_element)
        )
        if container_node is None:
            container_node = nodes.children[node][element.index(properties_element)]
        self._check(properties_element, container_node)
        ours = [
            position
            for position, child in enumerate(properties_element)
            if child.tag == sbom._q("property")
            and (child.get("name") or "").startswith(PROPERTY_PREFIX)
        ]
        if not ours and not properties:
            return
        if ours and not properties and len(ours) == len(properties_element):
            self._remove_child(node, element.index(properties_element))  # it held only ours
            return
        self._rewrite_properties(properties_element, container_node, ours, properties, prefix)

    def _properties_position(self, element: etree._Element) -> int | None:
        """Where a new ``<properties>`` goes among the component's children (None: last)."""
        sbom = self.sbom
        if sbom._one_namespace and element not in sbom._followed:
            # Every element is CycloneDX's, so only those names can follow, and reading found
            # the few components with one: no look at every child of every component.
            return None
        return _first_of(element, sbom._ns, _AFTER_COMPONENT_PROPERTIES, sbom._removed_set)

    def _new_property_template(self, prefix: str) -> _PropertyTemplate:
        template = self.templates.get(prefix)
        if template is None:
            template = self.templates[prefix] = _PropertyTemplate(
                f"<{prefix}property name=", self.sbom._quote, ">", f"</{prefix}property>"
            )
        return template

    def _rewrite_properties(
        self,
        element: etree._Element,
        node: int,
        ours: list[int],
        properties: list[tuple[str, str]],
        prefix: str,
    ) -> None:
        """Remove our old properties, append the new ones spelled like the others."""
        children = self.nodes.children[node]
        template = self._property_template(element, children) or self._new_property_template(prefix)
        rendered = template.render(properties, self.sbom)
        self._replace_ours(node, ours, lambda indent: rendered)

    def _replace_ours(self, node: int, ours: list[int], render: Callable[[str], list[str]]) -> None:
        """Remove children ``ours`` (each with the whitespace before it), append the rendered.

        ``render`` gets the indentation of the container's children.
        """
        nodes = self.nodes
        children = nodes.children[node]
        if not children:
            self._insert_child(node, None, render, "")
            return
        lead = self._characters(nodes.tag_ends[node], nodes.starts[children[0]])
        separator = self._gap_before(node, 1) if len(children) > 1 else lead
        indent = separator.rsplit("\n", 1)[1] if "\n" in separator else ""
        rendered = render(indent)
        removed = set(ours)
        kept = [position for position in range(len(children)) if position not in removed]
        if not kept:  # every child was ours: the new ones take their place
            close = self._characters(nodes.ends[children[-1]], nodes.close_starts[node])
            self._edit(
                nodes.tag_ends[node],
                nodes.close_starts[node],
                lead + separator.join(rendered) + close,
            )
            return
        for position in sorted(removed):
            if position < kept[0]:  # a leading run: up to the first kept child
                self._edit(
                    nodes.starts[children[position]], nodes.starts[children[position + 1]], ""
                )
            else:
                previous = children[position - 1]
                self._edit(nodes.ends[previous], nodes.ends[children[position]], "")
        at = nodes.ends[children[kept[-1]]]
        self._edit(at, at, "".join(separator + item for item in rendered))

    def _property_template(
        self, element: etree._Element, children: list[int]
    ) -> _PropertyTemplate | None:
        """How the input wrote a ``<property name="…">…</property>`` here, if it has one."""
        for position, child in enumerate(element):
            if (
                child.tag != self.sbom._q("property")
                or len(child)
                or list(child.attrib) != ["name"]
            ):
                continue
            node = children[position]
            raw = self._characters(self.nodes.starts[node], self.nodes.ends[node])
            match = _PROPERTY.fullmatch(raw)
            if match is not None:
                # One template a spelling, so each property name is escaped and joined once
                # a run, not once a component (every component of some SBOMs has properties).
                head, quote, middle, tail = shape = match.groups()
                template = self.shapes.get(shape)
                if template is None:
                    template = self.shapes[shape] = _PropertyTemplate(head, quote, middle, tail)
                return template
        return None

    def _tool_edits(self) -> None:
        sbom = self.sbom
        root = sbom._root
        prefix = self._prefix_of(root)
        tool = sbom._tool
        metadata_index = _index_of(root, sbom._q("metadata"))
        if metadata_index is None:
            if tool is None:
                return
            entry = self._tool_entry(tool, legacy=spec_is_legacy_tools(sbom.spec_version))
            tools = _New(
                "tools",
                children=(entry,)
                if entry.local == "tool"
                else (_New("components", children=(entry,)),),
            )
            position = _first_of(root, sbom._ns, _AFTER_BOM_METADATA, sbom._removed_set)
            self._insert_child(0, position, [_New("metadata", children=(tools,))], prefix)
            return
        metadata = root[metadata_index]
        # Found by its start tag (it is nearly always the root's first child): no walk of
        # the root, which searches the whole document for its children's end tags.
        metadata_node = self.nodes.locate_descendant(
            0,
            metadata,
            first=all(not isinstance(root[index].tag, str) for index in range(metadata_index)),
        )
        if metadata_node is None:
            metadata_node = self.nodes.children[0][metadata_index]
        self._check(metadata, metadata_node)
        prefix = self._prefix_of(metadata)
        tools_index = _index_of(metadata, sbom._q("tools"))
        if tools_index is None:
            if tool is None:
                return
            entry = self._tool_entry(tool, legacy=spec_is_legacy_tools(sbom.spec_version))
            tools = _New(
                "tools",
                children=(entry,)
                if entry.local == "tool"
                else (_New("components", children=(entry,)),),
            )
            position = _first_of(metadata, sbom._ns, _AFTER_METADATA_TOOLS)
            self._insert_child(metadata_node, position, [tools], prefix)
            return
        tools_element = metadata[tools_index]
        tools_node = self.nodes.children[metadata_node][tools_index]
        self._check(tools_element, tools_node)
        components_index = _index_of(tools_element, sbom._q("components"))
        legacy = _index_of(tools_element, sbom._q("tool")) is not None or (
            spec_is_legacy_tools(sbom.spec_version) and components_index is None
        )
        if legacy:
            entries, entries_node, entry_tag = tools_element, tools_node, "tool"
        elif components_index is None:
            if tool is None:
                return
            entry = self._tool_entry(tool, legacy=False)
            position = _first_of(tools_element, sbom._ns, _AFTER_TOOLS_COMPONENTS)
            self._insert_child(
                tools_node, position, [_New("components", children=(entry,))], prefix
            )
            return
        else:
            entries = tools_element[components_index]
            entries_node = self.nodes.children[tools_node][components_index]
            self._check(entries, entries_node)
            entry_tag = "component"
        ours = [
            position
            for position, entry_element in enumerate(entries)
            if entry_element.tag == sbom._q(entry_tag)
            and sbom._text(entry_element, "name") == (tool[0] if tool else TOOL_NAME)
        ]
        if tool is None:  # strip: remove our entries, and containers only they filled
            if not ours:
                return
            if len(ours) < len(entries):
                for position in sorted(ours, reverse=True):
                    self._remove_child(entries_node, position)
                return
            if entries is not tools_element and len(tools_element) > 1:
                self._remove_child(tools_node, components_index or 0)
            elif len(metadata) > 1:
                self._remove_child(metadata_node, tools_index)
            else:
                self._remove_child(0, metadata_index)
            return
        if not ours:
            entry = self._tool_entry(tool, legacy=entry_tag == "tool")
            self._insert_child(entries_node, None, [entry], self._prefix_of(entries))
            return
        for position in ours:
            entry_element = entries[position]
            entry_node = self.nodes.children[entries_node][position]
            self._check(entry_element, entry_node)
            version_index = _index_of(entry_element, sbom._q("version"))
            if version_index is not None:
                version_node = self.nodes.children[entry_node][version_index]
                nodes = self.nodes
                value = _escape(tool[1], None, sbom)
                if nodes.close_starts[version_node] == nodes.tag_ends[version_node]:
                    start_tag = self._characters(
                        nodes.starts[version_node], nodes.tag_ends[version_node]
                    )
                    name = start_tag[1:].split(None, 1)[0].rstrip("/>")
                    self._edit(
                        nodes.starts[version_node],
                        nodes.ends[version_node],
                        f"{_TAG_END.sub('>', start_tag)}{value}</{name}>",
                    )
                elif (entry_element[version_index].text or "") != tool[1] or len(
                    entry_element[version_index]
                ):
                    self._edit(
                        nodes.tag_ends[version_node], nodes.close_starts[version_node], value
                    )
                continue
            name_index = _index_of(entry_element, sbom._q("name"))
            assert name_index is not None  # entries are ours by their name
            after_name = name_index + 1 if name_index + 1 < len(entry_element) else None
            version_element = _New("version", text=tool[1])
            self._insert_child(
                entry_node, after_name, [version_element], self._prefix_of(entry_element)
            )

    def _add_attribute(self, node: int, name: str, value: str) -> None:
        """Add ``name="value"`` after the last attribute of the node's start tag."""
        nodes = self.nodes
        start_tag = self.text[nodes.starts[node] : nodes.tag_ends[node]]
        end = _TAG_END.search(start_tag)
        assert end is not None
        at = nodes.starts[node] + end.start()
        quote = self.sbom._quote
        escaped = _escape(value, quote, self.sbom)
        self._edit(at, at, f" {name}={quote}{escaped}{quote}")

    def _vulnerability_edits(self, entries: list[VulnerabilityEntry]) -> None:
        sbom = self.sbom
        root = sbom._root
        prefix = self._prefix_of(root)
        new = [self._vulnerability(entry) for entry in entries]
        index = _index_of(root, sbom._q("vulnerabilities"))
        if index is None:
            if new:
                position = _first_of(root, sbom._ns, _AFTER_BOM_VULNERABILITIES, sbom._removed_set)
                self._insert_child(
                    0, position, [_New("vulnerabilities", children=tuple(new))], prefix
                )
            return
        container = root[index]
        node = self.nodes.children[0][index]
        self._check(container, node)
        ours = [
            position
            for position, child in enumerate(container)
            if child.tag == sbom._q("vulnerability")
            and (sbom._text(child, "id") or "").startswith(VULNERABILITY_PREFIX)
        ]
        if not ours and not new:
            return
        if ours and not new and len(ours) == len(container):
            self._remove_child(0, index)  # it held only ours
            return
        self._replace_ours(
            node,
            ours,
            lambda indent: [self._render(item, self._prefix_of(container), indent) for item in new],
        )

    def _vulnerability(self, entry: VulnerabilityEntry) -> _New:
        return _New(
            "vulnerability",
            children=(
                _New("id", text=entry.id),
                _New(
                    "source",
                    children=(
                        _New("name", text=entry.source_name),
                        _New("url", text=entry.source_url),
                    ),
                ),
                _New("cwes", children=tuple(_New("cwe", text=str(cwe)) for cwe in entry.cwes)),
                _New("description", text=entry.description),
                _New("recommendation", text=entry.recommendation),
                _New(
                    "affects",
                    children=tuple(
                        _New("target", children=(_New("ref", text=reference),))
                        for reference in entry.affects
                    ),
                ),
            ),
        )

    def _tool_entry(self, tool: tuple[str, str, str | None], legacy: bool) -> _New:
        name, version, url = tool
        children: list[_New] = []
        if legacy:
            children.append(_New("vendor", text=name))
        children += [_New("name", text=name), _New("version", text=version)]
        if url and not (legacy and self.sbom.spec_version == "1.3"):  # 1.3 tool: no references
            reference = _New("reference", (("type", "website"),), children=(_New("url", text=url),))
            children.append(_New("externalReferences", children=(reference,)))
        if legacy:
            return _New("tool", children=tuple(children))
        return _New("component", (("type", "application"),), children=tuple(children))


def _reference_urls(component: object, namespace: str) -> tuple[str, ...]:
    """The repository URLs of a component's (first) ``<externalReferences>``."""
    assert isinstance(component, etree._Element)
    container = component.find(f"{{{namespace}}}externalReferences")
    if container is None:
        return ()
    wanted = REPOSITORY_REFERENCE_TYPES
    url_tag = f"{{{namespace}}}url"
    return repository_urls(
        [
            # Only the types that may name a repository need their URL looked up.
            (kind, _first_text(reference, url_tag) if kind in wanted else None)
            for reference in container.iterchildren(f"{{{namespace}}}reference")
            for kind in (reference.get("type"),)
        ]
    )


def _after_blanks(text: str, start: int, stop: int) -> int:
    """Where the white space that starts ``text[start:stop]`` ends."""
    return stop - len(text[start:stop].lstrip(_SPACE))


def _first_text(parent: etree._Element, tag: str) -> str | None:
    """The stripped text of the first ``tag`` child (None: no such child, or no text)."""
    # A loop over the children: the child wanted is nearly always one of the first few (a
    # name, a reference's url), and lxml's tag filter costs more to set up than they do.
    for child in parent:
        if child.tag == tag:
            return (child.text or "").strip() or None
    return None


def _index_of(parent: etree._Element, tag: str) -> int | None:
    for index, child in enumerate(parent):
        if child.tag == tag:
            return index
    return None


@cache
def _qualified(namespace: str, names: frozenset[str]) -> frozenset[str]:
    return frozenset(f"{{{namespace}}}{name}" for name in names)


def _first_of(
    parent: etree._Element,
    namespace: str,
    after: frozenset[str],
    removed: set[etree._Element] | None = None,
) -> int | None:
    """Position of the first child that must follow what we insert (None: insert last)."""
    prefix = f"{{{namespace}}}"
    tags = _qualified(namespace, after)
    for index, child in enumerate(parent):
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions do not constrain order
        if tag in tags or not tag.startswith(prefix):
            if removed and child in removed:
                continue  # going away (a signature): never an anchor
            return index
    return None


def _bytes(data: str | bytes) -> bytes:
    # tostring returns bytes whenever an encoding other than "unicode" is named.
    assert isinstance(data, bytes)
    return data


def xml_text(element: etree._Element) -> str:
    """The element's serialization as text, for schema validation (no declaration)."""
    return etree.tostring(element, encoding="unicode")


def parse_for_validation(data: bytes) -> etree._Element:
    """Parse with the same hardened parser (validation must not expand entities either)."""
    decoded = _decode_raw(data)
    if decoded is not None:
        _scan_prolog(decoded[1], "<input>")
    return etree.fromstring(data, _parser())
