"""CycloneDX XML edited in place with lxml: prefixes, comments, CDATA and prolog survive."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

from ..errors import SbomError, UnsafeXmlError
from .document import (
    PROPERTY_PREFIX,
    TOOL_NAME,
    PypiComponent,
    Sbom,
    SbomGraph,
    check_spec_version,
    make_pypi_component,
    spec_is_legacy_tools,
)

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

# Characters XML 1.0 cannot carry at all (lxml refuses them rather than escaping).
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _parser() -> etree.XMLParser:
    # Never fetch, never expand: entities stay references, DTDs are not loaded. Documents
    # with a DOCTYPE are refused before they get here; this is the second line.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        huge_tree=False,
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


@dataclass(frozen=True)
class _Frame:
    """What surrounds the root element, copied as written, and the document's line breaks."""

    codec: str  # the _raw_codec that turns prolog and trailing back into the input's bytes
    prolog: str  # declaration, comments, processing instructions (and a byte order mark)
    trailing: str  # whitespace after the last top-level node
    crlf: bool  # every line break is CRLF, which the parser reads as LF (XML 1.0, 2.11)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _depth(element: etree._Element) -> int:
    return sum(1 for _ in element.iterancestors())


class XmlSbom(Sbom):
    """A CycloneDX XML document held as an lxml tree."""

    format = "xml"

    def __init__(
        self,
        tree: etree._ElementTree,
        spec_version: str,
        frame: _Frame | None,
        source: str,
    ) -> None:
        self._tree = tree
        self._root = tree.getroot()
        self._ns = etree.QName(self._root).namespace or ""
        self.spec_version = spec_version
        self._frame = frame
        self.source = source
        text = self._root.text or ""
        # The indentation unit, read off the root's first child; None: not pretty-printed.
        self._unit = text.rsplit("\n", 1)[1] if "\n" in text and not text.strip() else None

    @classmethod
    def parse(cls, data: bytes, source: str) -> XmlSbom:
        decoded = _decode_raw(data)
        root_offset = _scan_prolog(decoded[1], source) if decoded is not None else None
        try:
            root = etree.fromstring(data, _parser())
        except etree.XMLSyntaxError as exc:
            raise SbomError(f"{source}: not well-formed XML: {exc}") from None
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
        frame = None
        encoding = (tree.docinfo.encoding or "UTF-8").upper().replace("-", "")
        wide = encoding.startswith(("UTF16", "UTF32", "UCS"))
        if decoded is not None and root_offset is not None:
            codec, text = decoded
            # UTF-32 or UCS-4 also start like UTF-16: leave those to lxml's own serializer.
            if wide == (codec != "latin-1") and not encoding.startswith(("UTF32", "UCS")):
                breaks = text.count("\n")
                frame = _Frame(
                    codec=codec,
                    prolog=text[:root_offset],
                    trailing=text[len(text.rstrip(" \t\r\n")) :],
                    crlf=breaks > 0 and breaks == text.count("\r\n"),
                )
        return cls(tree, match[1], frame, source)

    # -- reading -------------------------------------------------------------------------

    def _q(self, local: str) -> str:
        return f"{{{self._ns}}}{local}"

    def _child(self, parent: etree._Element, local: str) -> etree._Element | None:
        return parent.find(self._q(local))

    def _walk(self, component: etree._Element) -> Iterator[etree._Element]:
        yield component
        children = self._child(component, "components")
        if children is not None:
            for child in children.iterchildren(self._q("component")):
                yield from self._walk(child)

    def _components(self) -> Iterator[etree._Element]:
        for section in self._root.iterchildren(self._q("metadata"), self._q("components")):
            if _local(section) == "metadata":
                component = self._child(section, "component")
                if component is not None:
                    yield from self._walk(component)
            else:
                for component in section.iterchildren(self._q("component")):
                    yield from self._walk(component)

    def _text(self, parent: etree._Element, local: str) -> str | None:
        child = self._child(parent, local)
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    def component_count(self) -> int:
        return sum(1 for _ in self._components())

    def pypi_components(self) -> list[PypiComponent]:
        found = []
        metadata = self._child(self._root, "metadata")
        subject = self._child(metadata, "component") if metadata is not None else None
        for node in self._components():
            component = make_pypi_component(
                node,
                self._text(node, "purl"),
                self._text(node, "version"),
                node.get("bom-ref"),
                subject=node is subject,
            )
            if component is not None:
                found.append(component)
        return found

    def dependency_graph(self) -> SbomGraph:
        names: dict[str, str] = {}
        for node in self._components():
            ref, name = node.get("bom-ref"), self._text(node, "name")
            if ref and name:
                names.setdefault(ref, name)
        edges: dict[str, tuple[str, ...]] = {}
        section = self._child(self._root, "dependencies")
        if section is not None:
            for entry in section.iterchildren(self._q("dependency")):
                ref = entry.get("ref")
                if ref:
                    depends = entry.iterchildren(self._q("dependency"))
                    edges[ref] = tuple(d for c in depends if (d := c.get("ref")))
        metadata = self._child(self._root, "metadata")
        subject = self._child(metadata, "component") if metadata is not None else None
        root = subject.get("bom-ref") if subject is not None else None
        return SbomGraph(edges, root or None, names)

    # -- editing -------------------------------------------------------------------------

    def _new(self, parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
        # SubElement (rather than a free Element) makes lxml reuse the namespace declaration
        # in scope, so new elements get the document's own prefix or default namespace.
        element = etree.SubElement(parent, self._q(local))
        if text is not None:
            element.text = _NOT_XML_CHARS.sub("", text)
        return element

    def _place(
        self, parent: etree._Element, element: etree._Element, after: frozenset[str] | None
    ) -> None:
        """Move ``element`` (already parent's last child) before the first sibling in ``after``.

        Also gives it and its subtree the document's indentation, when it has one.
        """
        index = len(parent) - 1
        if after is not None:
            for position, sibling in enumerate(parent):
                if sibling is element or not isinstance(sibling.tag, str):
                    continue  # comments and processing instructions do not constrain order
                namespace = etree.QName(sibling).namespace
                if namespace != self._ns or etree.QName(sibling).localname in after:
                    index = position
                    break
        if self._unit is None:
            if index != len(parent) - 1:
                parent.insert(index, element)
            return
        depth = _depth(element)
        self._indent_subtree(element, depth)
        child_ws = "\n" + self._unit * depth
        closing_ws = "\n" + self._unit * (depth - 1)
        if len(parent) == 1:
            parent.text = child_ws
            element.tail = closing_ws
        elif index == len(parent) - 1:
            previous = element.getprevious()
            assert previous is not None
            element.tail = previous.tail
            previous.tail = child_ws
        else:
            parent.insert(index, element)
            element.tail = child_ws

    def _new_after(self, anchor: etree._Element, local: str) -> etree._Element:
        """A new element right after ``anchor``, preceded by the same whitespace as it."""
        parent = anchor.getparent()
        assert parent is not None
        element = self._new(parent, local)
        previous = anchor.getprevious()
        element.tail = anchor.tail
        anchor.tail = parent.text if previous is None else previous.tail
        anchor.addnext(element)
        return element

    def _indent_subtree(self, element: etree._Element, depth: int) -> None:
        assert self._unit is not None
        children = list(element)
        if not children:
            return
        element.text = "\n" + self._unit * (depth + 1)
        for child in children:
            self._indent_subtree(child, depth + 1)
            child.tail = "\n" + self._unit * (depth + 1)
        children[-1].tail = "\n" + self._unit * depth

    def _remove(self, element: etree._Element) -> None:
        """Remove ``element`` and keep the whitespace its siblings need."""
        parent = element.getparent()
        assert parent is not None
        if element.getnext() is None:
            previous = element.getprevious()
            if previous is not None:
                previous.tail = element.tail
            else:
                parent.text = element.tail
        # lxml removes an element's tail with it, which is the whitespace before the next one.
        parent.remove(element)

    def set_properties(
        self, component: PypiComponent, properties: Sequence[tuple[str, str]]
    ) -> None:
        node = component.handle
        if not isinstance(node, etree._Element):
            raise TypeError("component does not belong to an XML SBOM")
        container = self._child(node, "properties")
        if container is None:
            if not properties:
                return
            container = self._new(node, "properties")
            self._place(node, container, _AFTER_COMPONENT_PROPERTIES)
        ours = self._our_properties(container)
        for existing in ours:
            self._remove(existing)
        if ours and not properties and len(container) == 0:
            self._remove(container)  # as strip_enrichment does: the container was only ours
            return
        # Appended in one pass (not _place per property): SBOMs with thousands of components.
        previous = container[-1] if len(container) else None
        child_ws = closing_ws = None
        if self._unit is not None:
            depth = _depth(container)
            child_ws = "\n" + self._unit * (depth + 1)
            closing_ws = "\n" + self._unit * depth
            if previous is None:
                container.text = child_ws
            else:
                closing_ws = previous.tail
        tag = self._q("property")
        element = previous
        for name, value in properties:
            if element is not None and child_ws is not None:
                element.tail = child_ws
            element = etree.SubElement(container, tag, name=_NOT_XML_CHARS.sub("", name))
            element.text = _NOT_XML_CHARS.sub("", value)
        if element is not None and element is not previous:
            element.tail = closing_ws

    def _our_properties(self, container: etree._Element) -> list[etree._Element]:
        return [
            element
            for element in container.iterchildren(self._q("property"))
            if (element.get("name") or "").startswith(PROPERTY_PREFIX)
        ]

    def _ensure(
        self, parent: etree._Element, local: str, after: frozenset[str] | None
    ) -> etree._Element:
        element = self._child(parent, local)
        if element is None:
            element = self._new(parent, local)
            self._place(parent, element, after)
        return element

    def add_tool(self, name: str, version: str, url: str | None) -> None:
        metadata = self._ensure(self._root, "metadata", _AFTER_BOM_METADATA)
        tools = self._ensure(metadata, "tools", _AFTER_METADATA_TOOLS)
        legacy = self._child(tools, "tool") is not None or (
            spec_is_legacy_tools(self.spec_version) and self._child(tools, "components") is None
        )
        if legacy:
            entries = tools
            entry_tag = "tool"
        else:
            entries = self._ensure(tools, "components", _AFTER_TOOLS_COMPONENTS)
            entry_tag = "component"
        ours = [
            entry
            for entry in entries.iterchildren(self._q(entry_tag))
            if self._text(entry, "name") == name
        ]
        if ours:
            for entry in ours:
                version_element = self._child(entry, "version")
                if version_element is None:
                    # version is optional but, where present, must follow name (XSD sequence).
                    name_element = self._child(entry, "name")
                    assert name_element is not None  # entries are ours by their name
                    version_element = self._new_after(name_element, "version")
                version_element.text = version
            return
        entry = self._new(entries, entry_tag)
        if legacy:
            self._new(entry, "vendor", name)
        else:
            entry.set("type", "application")
        self._new(entry, "name", name)
        self._new(entry, "version", version)
        if url and not (legacy and self.spec_version == "1.3"):  # 1.3's tool has no references
            reference = self._new(self._new(entry, "externalReferences"), "reference")
            reference.set("type", "website")
            self._new(reference, "url", url)
        self._place(entries, entry, None)

    def bump_version(self) -> None:
        current = self._root.get("version")
        self._root.set("version", str(int(current) + 1) if current is not None else "2")

    def _strip_enrichment(self) -> None:
        for node in self._components():
            container = self._child(node, "properties")
            if container is None:
                continue
            ours = self._our_properties(container)
            for element in ours:
                self._remove(element)
            if ours and len(container) == 0:
                self._remove(container)
        metadata = self._child(self._root, "metadata")
        tools = self._child(metadata, "tools") if metadata is not None else None
        if metadata is None or tools is None:
            return
        components = self._child(tools, "components")
        removed = False
        for entries, tag in ((tools, "tool"), (components, "component")):
            if entries is None:
                continue
            for entry in list(entries.iterchildren(self._q(tag))):
                if self._text(entry, "name") == TOOL_NAME:
                    self._remove(entry)
                    removed = True
        if not removed:
            return
        if components is not None and len(components) == 0:
            self._remove(components)
        if len(tools) == 0:
            self._remove(tools)
        if len(metadata) == 0:
            self._remove(metadata)

    def to_bytes(self) -> bytes:
        encoding = self._tree.docinfo.encoding or "UTF-8"
        frame = self._frame
        if frame is None:
            return _bytes(etree.tostring(self._tree, encoding=encoding, xml_declaration=True))
        # The prolog (declaration, comments, processing instructions) is copied as written:
        # lxml would respell the declaration and drop the line breaks between top-level nodes.
        # No node gets a declaration of its own (lxml adds one for encodings but UTF-8/ASCII).
        nodes = [self._root, *self._root.itersiblings()]
        if frame.codec == "latin-1":  # bytes in the document's encoding, one char per byte
            texts = [
                _bytes(etree.tostring(node, encoding=encoding, xml_declaration=False)).decode(
                    "latin-1"
                )
                for node in nodes
            ]
        else:
            texts = [etree.tostring(node, encoding="unicode") for node in nodes]
        body = "\n".join(texts)
        if frame.crlf:
            # Serialized text has no raw CR (lxml writes &#13;) and no raw LF in attributes
            # (&#10;), so every LF here is a line break the input wrote as CRLF.
            body = body.replace("\n", "\r\n")
        return (frame.prolog + body + frame.trailing).encode(frame.codec)


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
