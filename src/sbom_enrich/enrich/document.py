"""The format-neutral view of an SBOM being enriched: PyPI components and the edits we make."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from ..errors import SbomError, UnsupportedSpecError
from ..status.model import canonical
from ..status.untrusted import clean_text
from .purls import may_name_pypi, parse_pypi_purl, purl_source

#: Every property this tool writes starts with this; re-runs replace exactly these.
PROPERTY_PREFIX = "sbom-enrich:"
#: The name under which the tool lists itself in metadata.tools (and finds itself again).
TOOL_NAME = "sbom-enrich"
#: Where a document lists what built the product (CycloneDX 1.5+), as
#: :attr:`PypiComponent.build_tool` names it.
TOOLS, FORMULATION = "metadata.tools", "formulation"
#: Spec versions that have component properties and that we know the schema of.
SUPPORTED_SPECS = ("1.3", "1.4", "1.5", "1.6", "1.7")


#: A component's repository URLs, or the function of its handle that works them out when first
#: needed (one function for all of a document's components: not an object each, which the
#: garbage collector would track).
References = tuple[str, ...] | Callable[[Any], tuple[str, ...]]


class PypiComponent(msgspec.Struct, frozen=True):
    """One component with a ``pkg:pypi/`` purl, and the node to edit for it."""

    #: Opaque: the JSON object (dict) or XML element of the component.
    handle: object
    name: str
    canonical_name: str
    version: str | None
    purl: str
    repository_url: str | None
    bom_ref: str | None
    #: "local" when the purl says it is a file or checkout on this disk: asked on no index.
    skip_reason: str | None
    #: metadata.component: what the SBOM describes (often the user's own, unpublished project).
    subject: bool = False
    #: :attr:`repository_urls`, or what makes them when first asked for (the JSON reader:
    #: only ``--maintenance`` and the monitor read them, ~1 µs a component otherwise spent).
    references: References = ()
    #: Why this component cannot be enriched (properties of the wrong shape, a malformed purl,
    #: a duplicate key): it is left exactly as written and reported, the rest is enriched.
    problem: str | None = None
    #: 1-based line of the component in the input, set for components with a problem.
    line: int | None = None
    #: "url", "git" or "vcs" when the purl says it was installed from a remote URL or
    #: repository, not an index: its name is asked on the configured index, by name only.
    off_index: str | None = None
    #: Where the SBOM lists it as what built the product, not as part of it (CycloneDX
    #: 1.5+): ``metadata.tools`` or ``formulation``; None for the product and its components.
    build_tool: str | None = None

    # Equal by what the SBOM says of it: not by the node it was read from, how its
    # repository URLs are worked out, or what was wrong with it and where (the locator
    # rebuilds components from a purl line alone and matches them by equality).
    def _compared(self) -> tuple[object, ...]:
        return (
            self.name,
            self.canonical_name,
            self.version,
            self.purl,
            self.repository_url,
            self.bom_ref,
            self.skip_reason,
            self.subject,
            self.off_index,
            self.build_tool,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not PypiComponent:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        # Not the node (a whole JSON subtree, or an element) nor how references are made.
        fields = ("name", "canonical_name", "version", "purl", "repository_url", "bom_ref",
                  "skip_reason", "subject", "problem", "line", "off_index",
                  "build_tool")  # fmt: skip
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        return f"PypiComponent({shown})"

    @property
    def repository_urls(self) -> tuple[str, ...]:
        """externalReferences URLs that may name the source repository: ``vcs`` first, then
        ``website`` (untrusted text; the repository source validates it). Not part of
        equality: the locator rebuilds components from the purl line alone."""
        references = self.references
        if callable(references):
            references = references(self.handle)
            msgspec.structs.force_setattr(self, "references", references)  # worked out once
        return references


#: externalReferences types that may point at the source repository, most telling first.
REPOSITORY_REFERENCE_TYPES = ("vcs", "website")
#: References read per component (a hostile SBOM may list thousands).
MAX_REFERENCES = 50


def repository_urls(references: list[tuple[object, object]]) -> tuple[str, ...]:
    """``(type, url)`` pairs → the candidate URLs, vcs before website, strings only."""
    urls: list[str] = []
    for wanted in REPOSITORY_REFERENCE_TYPES:
        for kind, url in references[:MAX_REFERENCES]:
            if kind == wanted and isinstance(url, str) and url.strip():
                urls.append(url.strip())
    return tuple(urls)


def bumped_version(digits: str) -> str:
    """A BOM version written as decimal digits, plus one, counted on the text: JSON Schema
    bounds no integer, and Python converts none of more than 4,300 digits (such a version
    was an internal error after every lookup)."""
    kept = digits.rstrip("9")
    nines = len(digits) - len(kept)
    if not kept:
        return "1" + "0" * nines
    return kept[:-1] + str(int(kept[-1]) + 1) + "0" * nines


def make_pypi_component(
    handle: object,
    purl: str | None,
    version: str | None,
    bom_ref: str | None,
    subject: bool = False,
    references: References = (),
    problem: str | None = None,
    build_tool: str | None = None,
) -> PypiComponent | None:
    """A PypiComponent when ``purl`` is a PyPI purl; ``version`` is the component's own field.

    ``problem`` says why the component cannot be edited; a ``pkg:pypi/`` purl that cannot be
    parsed is a problem too (the component is reported, never silently counted as not PyPI).
    """
    if not purl:
        return None
    try:
        parsed = parse_pypi_purl(purl, strict=True)
    except ValueError as exc:
        return PypiComponent(
            handle=handle,
            name="",
            canonical_name="",
            version=version or None,
            purl=purl.strip(),
            repository_url=None,
            bom_ref=bom_ref,
            skip_reason=None,
            subject=subject,
            problem=problem or str(exc),
            build_tool=build_tool,
        )
    if parsed is None:
        return None
    name, purl_version, qualifiers = parsed
    # Most purls have no qualifiers: nothing to look for in them.
    skip, off_index = purl_source(qualifiers) if qualifiers else (None, None)
    if off_index is not None and subject:
        # The project itself, from its own repository: no dependency, skipped as before
        # (as check skips a lock's own entry); asking its name would judge a namesake.
        skip, off_index = off_index, None
    return PypiComponent(
        handle,
        name,
        canonical(name),
        purl_version or (version or None),
        purl.strip(),
        (qualifiers.get("repository_url") or None) if qualifiers else None,
        bom_ref,
        skip,
        subject,
        references,
        problem,
        None,
        off_index,
        build_tool,
    )


def shared_refs(refs: Sequence[object]) -> dict[str, list[int]]:
    """The bom-refs (non-empty strings) that more than one of ``refs`` (the document's
    components, in order) holds, each with the positions that hold it; nearly always none."""
    strings = [ref for ref in refs if type(ref) is str and ref]
    if len(set(strings)) == len(strings):  # one set in C: the ~10,000 refs of a large SBOM
        return {}
    positions: dict[str, list[int]] = {}
    for position, ref in enumerate(refs):
        if type(ref) is str and ref:
            positions.setdefault(ref, []).append(position)
    return {ref: found for ref, found in positions.items() if len(found) > 1}


def refuse_shared_refs(
    refs: Sequence[object],
    purl_of: Callable[[int], object],
    line_of: Callable[[int], int | None],
    source: str,
) -> None:
    """Raise SbomError when two of the document's components (``refs``: the bom-ref of
    each, in order; the purl and line of one by its position, asked only of the components
    that share a ref: nearly always none) hold one bom-ref and are not the same
    package, one of them a PyPI component. Whatever names that ref (our quarantine
    vulnerability's ``affects``, ``dependencies``) names both, and readers resolve it
    differently (cyclonedx-python-lib gives the second a new ref when it writes): a
    quarantine would be pinned on the wrong component, a chain drawn through the wrong
    one. CycloneDX requires bom-refs to be unique (the XML schema enforces it). The same
    purl twice under one ref (a merge of two SBOMs) names one package either way."""
    for ref, positions in shared_refs(refs).items():
        purls = {position: purl_of(position) for position in positions}
        if not any(isinstance(purl, str) and may_name_pypi(purl) for purl in purls.values()):
            continue  # no PyPI component: nothing we write or judge names it
        first = positions[0]
        second = next((p for p in positions if purls[p] != purls[first]), None)
        if second is None:
            continue
        places = [component_place(line_of(p), purls[p]) for p in (first, second)]
        raise SbomError(
            f"{source}: bom-ref {clean_text(ref, 80)!r} is held by two components, "
            f"{places[0]} and {places[1]}: CycloneDX requires bom-refs to be unique, "
            "and what names it (a vulnerability, a dependency) would name both"
        )


def component_place(line: int | None, purl: object) -> str:
    """``line 12 (pkg:pypi/evil-pkg@0.0.1)``: a component in a one-line error."""
    shown = clean_text(purl, 120) if isinstance(purl, str) else "no purl"
    return f"line {line} ({shown})" if line else shown


def problem_message(component: PypiComponent) -> str:
    """One line naming the component and why it was left unchanged."""
    return f"component {component.purl[:200]!r} left unchanged: {component.problem}"


#: Ids of the vulnerabilities[] entries this tool writes; re-runs replace exactly these.
VULNERABILITY_PREFIX = "SBOM-ENRICH-QUARANTINED-"


class VulnerabilityEntry(msgspec.Struct, frozen=True):
    """A ``vulnerabilities[]`` entry we write (CycloneDX 1.4+), format-neutral."""

    id: str
    source_name: str
    source_url: str
    cwes: tuple[int, ...]
    description: str
    recommendation: str
    #: bom-refs of the affected components.
    affects: tuple[str, ...]


def spec_has_vulnerabilities(spec_version: str) -> bool:
    """vulnerabilities[] exists from CycloneDX 1.4 on."""
    return SUPPORTED_SPECS.index(spec_version) >= SUPPORTED_SPECS.index("1.4")


def spec_is_legacy_tools(spec_version: str) -> bool:
    """Before 1.5, metadata.tools is only the (now deprecated) array of tool entries."""
    return SUPPORTED_SPECS.index(spec_version) < SUPPORTED_SPECS.index("1.5")


def check_spec_version(spec: str, source: str) -> None:
    """Raise UnsupportedSpecError unless ``spec`` is 1.3-1.7 (shared by JSON and XML)."""
    if spec in SUPPORTED_SPECS:
        return
    shown = spec[:20]
    match = re.fullmatch(r"(\d+)\.(\d+)", spec)
    if match and (int(match[1]), int(match[2])) < (1, 3):
        raise UnsupportedSpecError(
            f"{source}: CycloneDX {shown} has no component properties; "
            "sbom-enrich needs 1.3 or later"
        )
    raise UnsupportedSpecError(
        f"{source}: CycloneDX {shown!r} is not supported; sbom-enrich reads 1.3 to 1.7"
    )


class Sbom(ABC):
    """A parsed CycloneDX document, edited in place so everything we do not touch survives."""

    format: str
    spec_version: str
    source: str

    @abstractmethod
    def pypi_components(self) -> list[PypiComponent]:
        """Every component at any depth with a PyPI purl, in document order."""

    @abstractmethod
    def component_count(self) -> int:
        """How many components the document has at any depth (PyPI or not)."""

    @abstractmethod
    def set_properties(
        self, component: PypiComponent, properties: Sequence[tuple[str, str]]
    ) -> None:
        """Replace the component's ``sbom-enrich:`` properties with ``properties`` (at the end)."""

    @abstractmethod
    def remove_planted(self) -> None:
        """Remove the ``sbom-enrich:`` properties of every component whose properties we do
        not write (not PyPI, or left unchanged for a problem): the input's, not our word.

        Raises SbomError when one of them carries such a property where it cannot be removed
        exactly (a duplicate key, malformed properties, ``"Properties"``): the output would
        carry it beside our tool entry, as if we vouched for it.
        """

    @abstractmethod
    def add_tool(self, name: str, version: str, url: str | None) -> None:
        """List the tool in metadata.tools, or update the version of its existing entry."""

    @abstractmethod
    def bump_version(self) -> None:
        """Increment the BOM version (absent counts as 1)."""

    @abstractmethod
    def set_vulnerabilities(self, entries: Sequence[VulnerabilityEntry]) -> None:
        """Replace our vulnerabilities[] entries (ids with VULNERABILITY_PREFIX) with these."""

    @abstractmethod
    def ensure_bom_ref(self, component: PypiComponent) -> str | None:
        """The component's bom-ref; one unique in the BOM is added when it has none.

        ``None`` when it has one that is not a non-empty string (a number, an object, ""):
        that is left exactly as written, so nothing can point at the component.
        """

    @abstractmethod
    def signatures(self) -> list[str]:
        """One entry per signature in the document: the kind of thing signed ("bom", ...)."""

    @abstractmethod
    def remove_signatures(self) -> int:
        """Remove every signature; how many were removed."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        """Serialize in the input's format, spec version and layout."""

    def to_chunks(self) -> Sequence[bytes | memoryview]:
        """:meth:`to_bytes` in pieces to be written in order (one piece unless a format can do
        better: joining a large document's pieces only to write them out costs a copy)."""
        return (self.to_bytes(),)

    @abstractmethod
    def _strip_enrichment(self) -> None:
        """Remove our properties and tool entry, and containers only they filled."""

    def dependency_graph(self) -> SbomGraph:
        """The ``dependencies`` graph by bom-ref, the subject's bom-ref, and every ref's name."""
        return SbomGraph()


class SbomGraph(msgspec.Struct, frozen=True):
    """What an SBOM's ``dependencies`` say: ``ref → dependsOn`` refs, the subject's ref (whose
    dependencies are the direct ones), and each component's name by its bom-ref."""

    edges: Mapping[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    root: str | None = None
    names: Mapping[str, str] = msgspec.field(default_factory=dict)


def strip_enrichment(sbom: Sbom) -> None:
    """Undo enrichment (not the version bump): our properties, tool entry, emptied containers.

    A container (properties, tools, metadata) is removed only when removing our entries left it
    empty, so an input that already had an empty container and was then enriched loses it.
    """
    sbom._strip_enrichment()


def unique_reference(purl: str, taken: set[Any]) -> str:
    """A bom-ref for a component that has none: its purl, made unique if another uses it."""
    reference = purl
    number = 1
    while reference in taken:
        number += 1
        reference = f"{purl}#{number}"
    return reference
