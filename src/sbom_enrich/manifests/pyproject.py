"""pyproject.toml dependency tables: tomllib decides what is there, a scanner says where."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.utils import InvalidName, canonicalize_name

from .._toml import TOO_DEEP, tomllib
from .._toml import loads as toml_loads
from ..findings.kinds import DYNAMIC_DEPENDENCIES, INVALID_REQUIREMENT, INVALID_TOML
from ..status.model import canonical
from ..status.untrusted import clean_text
from ..status.urls import redact_url, remote_kind
from .pep508 import parse_requirement_text, problem_message
from .spans import (
    IgnoreComment,
    Include,
    LineIndex,
    ManifestProblem,
    ParsedManifest,
    Requirement,
    Span,
    apply_ignores,
    no_version_warnings,
    read_ignore_comment,
    wide_encoding,
    without_bom,
)
from .toml_scan import (
    MAX_NESTING,
    ArrayNode,
    KeyPart,
    Node,
    StringNode,
    TableNode,
    flatten,
    scan_toml,
)

logger = logging.getLogger(__name__)

_UV_ARRAYS = ("dev-dependencies", "constraint-dependencies", "override-dependencies")
_POETRY_DIRECT_REFERENCES = ("git", "url", "path", "file")
# Poetry reads a bare version ("1.2.3"), "=1.2.3" and "==1.2.3" as an exact pin.
_POETRY_PIN_RE = re.compile(r"[ \t]*(?:==?[ \t]*)?(?P<version>[0-9][0-9A-Za-z.+!_-]*)[ \t]*")
_TOML_ERROR_AT_RE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def _array_section(names: tuple[str, ...]) -> str | None:
    """The section name when ``names`` is a key holding an array of PEP 508 strings."""
    if names in (("project", "dependencies"), ("build-system", "requires")):
        return ".".join(names)
    if len(names) == 3 and names[:2] == ("project", "optional-dependencies"):
        return ".".join(names)
    if len(names) == 2 and names[0] == "dependency-groups":
        return ".".join(names)
    if len(names) == 3 and names[:2] == ("tool", "uv") and names[2] in _UV_ARRAYS:
        return ".".join(names)
    if len(names) == 4 and names[:3] == ("tool", "pdm", "dev-dependencies"):
        return ".".join(names)
    return None


def _array_section_above(names: tuple[str, ...]) -> tuple[str, int] | None:
    """(section, length of its key) when ``names`` lies *inside* a key that should hold an
    array of PEP 508 strings: that key was written as a table."""
    for depth in range(2, min(len(names), 5)):
        section = _array_section(names[:depth])
        if section is not None:
            return section, depth
    return None


def _wrong_types(data: dict[str, Any]) -> list[str]:
    """Array sections whose value tomllib read as something else than an array."""
    found: list[str] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while stack:
        prefix, table = stack.pop()
        for key, value in table.items():
            names = (*prefix, key)
            section = _array_section(names)
            if section is not None and not isinstance(value, list):
                found.append(section)
            elif section is None and isinstance(value, dict) and len(names) < 4:
                stack.append((names, value))
    return found


#: Tables whose entries are dependency lists (or dependency tables): written as anything
#: else, tools reject or ignore them, and so none of their dependencies is read.
_CONTAINERS = (
    ("project", "optional-dependencies"),
    ("dependency-groups",),
    ("tool", "poetry", "dependencies"),
    ("tool", "poetry", "dev-dependencies"),
    ("tool", "poetry", "group"),
    ("tool", "pdm", "dev-dependencies"),
)


def _wrong_containers(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """The dependency tables (``_CONTAINERS``, and each Poetry group's ``dependencies``)
    that tomllib read as something else than a table."""
    found: list[tuple[str, ...]] = []
    for names in _CONTAINERS:
        value: Any = data
        for name in names:
            value = value.get(name) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, dict):
            found.append(names)
        elif names == ("tool", "poetry", "group") and isinstance(value, dict):
            for group, table in value.items():
                inner = table.get("dependencies") if isinstance(table, dict) else table
                if inner is not None and not isinstance(inner, dict):
                    found.append(
                        (*names, group, "dependencies") if inner is not table else (*names, group)
                    )
    return found


def _header_offsets(text: str, section: str) -> tuple[int, int]:
    """Where a ``[section]`` header is written (its last key), else the document's start."""
    *_, last = section.split(".")
    found = re.search(
        rf"^[ \t]*\[[^\]\r\n]*?[\"']?{re.escape(last)}[\"']?[ \t]*\]", text, re.MULTILINE
    )
    if found is None:
        return 0, 1
    end = found.end() - 1
    return end - len(last) - (1 if text[end - 1] in "\"'" else 0), end


#: setuptools' dynamic dependency tables (``[tool.setuptools.dynamic]``), by the length of
#: the key of their ``file`` entry: ``dependencies = {file = ["requirements.in"]}``, and
#: ``optional-dependencies.<extra> = {file = [...]}``. A ``file`` may be a string or an array.
_SETUPTOOLS_DYNAMIC: dict[tuple[str, ...], int] = {
    ("tool", "setuptools", "dynamic", "dependencies"): 5,
    ("tool", "setuptools", "dynamic", "optional-dependencies"): 6,
}


#: hatch-requirements-txt's table: ``files = [...]`` (or the older ``filename = "..."``) for
#: the dependencies, ``optional-dependencies.<extra> = [...]`` for each extra; requirements
#: files it reads from the project's folder.
_HATCH_REQUIREMENTS_TXT = ("tool", "hatch", "metadata", "hooks", "requirements_txt")
#: The file the plugin reads when its table names none (deprecated, still honoured).
_HATCH_DEFAULT_FILE = "requirements.txt"
#: The [project] fields a build backend may fill that hold dependencies (PEP 621 ``dynamic``).
_DYNAMIC_DEPENDENCY_FIELDS = ("dependencies", "optional-dependencies")


def _is_dynamic_file_key(names: tuple[str, ...]) -> bool:
    """Whether ``names`` is the key of a list of requirements files a build backend reads
    dynamic dependencies from: setuptools' ``file`` entries, hatch-requirements-txt's."""
    if names[-1:] == ("file",) and _SETUPTOOLS_DYNAMIC.get(names[:4]) == len(names):
        return True
    if names[:5] != _HATCH_REQUIREMENTS_TXT:
        return False
    return (len(names) == 6 and names[5] in ("files", "filename")) or (
        len(names) == 7 and names[5] == "optional-dependencies"
    )


def _table(data: Any, *names: str) -> dict[str, Any] | None:
    """The table at ``names`` under ``data``, or None (absent, or not a table)."""
    for name in names:
        data = data.get(name) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


def _dynamic_dependency_fields(data: dict[str, Any]) -> list[str]:
    """The dependency fields ``[project] dynamic`` lists."""
    dynamic = (_table(data, "project") or {}).get("dynamic")
    if not isinstance(dynamic, list):
        return []
    return [name for name in _DYNAMIC_DEPENDENCY_FIELDS if name in dynamic]


def _hatch_default_file(data: dict[str, Any]) -> bool:
    """Whether hatch-requirements-txt reads its default file: its table names no file, and
    ``[project] dynamic`` lists the dependencies."""
    hook = _table(data, *_HATCH_REQUIREMENTS_TXT)
    return (
        hook is not None
        and "files" not in hook
        and "filename" not in hook
        and "dependencies" in _dynamic_dependency_fields(data)
    )


def _unseen_dynamic_fields(data: dict[str, Any]) -> list[str]:
    """The dependency fields ``[project] dynamic`` lists that no table here fills: the build
    backend decides them when it builds (setup.py's install_requires, a plugin), unseen.

    Seen: setuptools' and hatch-requirements-txt's requirements files (followed as includes),
    and Poetry's own dependency tables (read; poetry-core fills the dynamic fields from them,
    extras included).
    """
    setuptools = _table(data, "tool", "setuptools", "dynamic") or {}
    hatch = _table(data, *_HATCH_REQUIREMENTS_TXT)
    poetry = _table(data, "tool", "poetry", "dependencies") is not None
    unseen = []
    for name in _dynamic_dependency_fields(data):
        if name == "dependencies":
            from_setuptools = "file" in (_table(setuptools, "dependencies") or {})
            seen = from_setuptools or hatch is not None or poetry
        else:
            from_hatch = hatch is not None and _table(hatch, name) is not None
            seen = _table(setuptools, name) is not None or from_hatch or poetry
        if not seen:
            unseen.append(name)
    return unseen


def _poetry_section(names: tuple[str, ...]) -> tuple[str, int] | None:
    """(section, length of its key) when ``names`` lies inside a Poetry dependency table."""
    for prefix in (("tool", "poetry", "dependencies"), ("tool", "poetry", "dev-dependencies")):
        if names[:3] == prefix and len(names) > 3:
            return ".".join(prefix), 3
    if names[:3] == ("tool", "poetry", "group") and names[4:5] == ("dependencies",) and names[5:]:
        return ".".join(names[:5]), 5
    return None


@dataclass
class _PoetryDependency:
    section: str
    key: KeyPart
    value: Node | None = None
    fields: dict[str, Node] = field(default_factory=dict)
    last_offset: int = 0


class _Builder:
    def __init__(self, text: str, comments: tuple[tuple[int, int], ...]) -> None:
        self.text = text
        self.index = LineIndex(text)
        self.requirements: list[Requirement] = []
        self.problems: list[ManifestProblem] = []
        #: Ignore comments by line; each requirement's lines (of its name and of its end).
        self.ignores: dict[int, IgnoreComment] = {}
        for start, end in comments:
            found = read_ignore_comment(text[start:end], self.index.span(start, end))
            if found is not None:
                self.ignores[found.span.line] = found
        self.requirement_lines: list[frozenset[int]] = []

    def add_requirement(self, requirement: Requirement, *offsets: int) -> None:
        """Keep ``requirement``; an ignore comment on the line of any of ``offsets`` covers it."""
        self.requirements.append(requirement)
        self.requirement_lines.append(frozenset(self.index.position(o)[0] for o in offsets))

    def with_ignores(self) -> tuple[list[Requirement], list[ManifestProblem]]:
        """The requirements with ignore comments applied, and the warnings about those."""
        covering = [
            (comment, [i for i, lines in enumerate(self.requirement_lines) if line in lines])
            for line, comment in sorted(self.ignores.items())
        ]
        return apply_ignores(self.requirements, covering)

    def node_span(self, start: int, end: int) -> Span:
        return self.index.span(start, max(end, start))

    # -- PEP 508 strings ----------------------------------------------------------------------

    def add_string(self, node: StringNode, section: str) -> None:
        value = node.value
        if not node.terminated:
            return  # still being typed; a name read from it would be a guess
        if section.startswith("tool.pdm.") and value.lstrip().startswith("-e"):
            return  # PDM's editable entries are paths or URLs, not names
        try:
            parsed = parse_requirement_text(value)
        except InvalidRequirement as exc:
            # An empty string has no content to underline: underline its quotes instead.
            start, end = (
                (node.start - 1, node.end + 1)
                if node.end == node.start
                else (
                    node.start,
                    node.end,
                )
            )
            self.problems.append(
                ManifestProblem(
                    problem_message(value, exc), self.node_span(start, end), INVALID_REQUIREMENT
                )
            )
            return
        version_span = None
        if parsed.version_start is not None and parsed.version_end is not None:
            version_span = self.index.span(
                *node.source_range(parsed.version_start, parsed.version_end)
            )
        self.add_requirement(
            Requirement(
                name=parsed.name,
                canonical_name=canonical(parsed.name),
                name_span=self.index.span(*node.source_range(parsed.name_start, parsed.name_end)),
                specifier=parsed.specifier,
                pinned_version=parsed.pinned_version,
                version_span=version_span,
                extras=parsed.extras,
                marker=parsed.marker,
                url=parsed.url,
                ignored=False,
                section=section,
                text_span=self.index.single_line_span(node.start, node.end),
                remote=remote_kind(parsed.url) if parsed.url is not None else None,
            ),
            node.char_starts[parsed.name_start],
            node.end,
        )

    def wrong_shape(self, node: Node, message: str) -> None:
        """A value tools would refuse: say so rather than skip it silently."""
        start = node.start - 1 if isinstance(node, StringNode) else node.start  # the quote too
        self.problems.append(
            ManifestProblem(
                message,
                self.index.single_line_span(start, _node_end(node))
                or self.node_span(start, start + 1),
                INVALID_REQUIREMENT,
            )
        )

    def wrong_shape_at(self, start: int, end: int, message: str) -> None:
        self.problems.append(
            ManifestProblem(message, self.node_span(start, end), INVALID_REQUIREMENT)
        )

    def not_an_array(self, node: Node, section: str) -> None:
        """``dependencies = "nose"``: tools ignore it."""
        self.wrong_shape(node, f"{section} must be an array of requirement strings")

    def add_array(self, node: Node, section: str, shapes: bool) -> None:
        """Requirements from an array; with ``shapes``, items that are no strings are problems."""
        if not isinstance(node, ArrayNode):
            return
        groups = section.startswith("dependency-groups.")
        for item in node.items:
            if isinstance(item, StringNode):
                self.add_string(item, section)
            elif not shapes:
                continue
            elif not groups:
                self.wrong_shape(item, f"{section} items must be requirement strings")
            elif _included_group(item) is None:
                self.wrong_shape(
                    item,
                    f"{section} items must be requirement strings or "
                    '{include-group = "name"} tables',
                )

    def check_group_includes(self, arrays: list[tuple[str, Node]]) -> None:
        """PEP 735: an included group must exist, and no group may include itself."""
        prefix = "dependency-groups."
        includes: dict[str, list[tuple[str, StringNode]]] = {}
        for section, node in arrays:
            if section.startswith(prefix) and isinstance(node, ArrayNode):
                found = (_included_group(item) for item in node.items)
                includes[canonicalize_name(section[len(prefix) :])] = [
                    (section, target) for target in found if target is not None
                ]

        # An include is circular when its target reaches back: both in one strongly connected
        # component. One search per include was quadratic (10,000 groups in a chain: 60 s).
        component = _components(
            {g: [canonicalize_name(t.value) for _, t in edges] for g, edges in includes.items()}
        )
        for group, edges in includes.items():
            for section, target in edges:
                name = canonicalize_name(target.value)
                if name not in includes:
                    message = f"{section} includes {target.value!r}, which is no group"
                elif name == group or component[name] == component[group]:
                    message = f"{section} includes {target.value!r}, which includes it back"
                else:
                    continue
                self.problems.append(
                    ManifestProblem(
                        message,
                        self.node_span(target.start, target.end),
                        INVALID_REQUIREMENT,
                    )
                )

    # -- Poetry ---------------------------------------------------------------------------------

    def add_poetry(self, dep: _PoetryDependency) -> None:
        if dep.key.name.lower() == "python":
            return
        constraints: list[tuple[Node | None, dict[str, Node]]] = []
        if isinstance(dep.value, TableNode):
            constraints.append((None, _fields(dep.value)))
        elif isinstance(dep.value, ArrayNode):
            # Multiple-constraint dependencies: an array of inline tables.
            constraints.extend(
                (None, _fields(item)) for item in dep.value.items if isinstance(item, TableNode)
            )
        elif dep.value is not None:
            constraints.append((dep.value, {}))
        else:
            constraints.append((None, dep.fields))

        versions: list[StringNode] = []
        extras: list[str] = []
        marker: str | None = None
        url: str | None = None
        from_the_index = False  # some constraint names no git, url, path or file
        for version, fields in constraints:
            version = version if version is not None else fields.get("version")
            if isinstance(version, StringNode):
                versions.append(version)
            extras_node = fields.get("extras")
            if isinstance(extras_node, ArrayNode):
                extras.extend(
                    e.value
                    for e in extras_node.items
                    if isinstance(e, StringNode) and e.value not in extras
                )
            markers = fields.get("markers")
            if marker is None and isinstance(markers, StringNode):
                marker = markers.value
            direct = [fields.get(reference) for reference in _POETRY_DIRECT_REFERENCES]
            direct_urls = [found.value for found in direct if isinstance(found, StringNode)]
            if url is None and direct_urls:
                url = direct_urls[0]
            from_the_index = from_the_index or not direct_urls
        if from_the_index:
            # A path on Windows and a version elsewhere: the other installs get it from the
            # index, so it is looked up there (it was skipped as a direct reference).
            url = None

        pinned_version: str | None = None
        version_span: Span | None = None
        if len(versions) == 1 and url is None:
            pin = _POETRY_PIN_RE.fullmatch(versions[0].value)
            if pin is not None:
                pinned_version = pin.group("version")
                version_span = self.index.span(
                    *versions[0].source_range(pin.start("version"), pin.end("version"))
                )
        name = dep.key.name
        if not _is_project_name(name):
            self.problems.append(
                ManifestProblem(
                    f"{name!r} is not a valid project name",
                    self.index.span(dep.key.start, dep.key.end),
                    INVALID_REQUIREMENT,
                )
            )
            return
        self.add_requirement(
            Requirement(
                name=name,
                canonical_name=canonical(name),
                name_span=self.index.span(dep.key.start, dep.key.end),
                specifier=" || ".join(v.value.strip() for v in versions),
                pinned_version=pinned_version,
                version_span=version_span,
                extras=tuple(extras),
                marker=marker,
                url=url,
                ignored=False,
                section=dep.section,
                text_span=self.index.single_line_span(dep.key.outer_start, dep.last_offset),
            ),
            dep.key.start,
            dep.last_offset,
        )


def declared_sources(data: dict[str, Any]) -> dict[str, str]:
    """Canonical name -> where uv or Poetry is told to take the project from, not the index.

    ``[tool.uv.sources]`` (workspace, path, git, url, index) and Poetry's ``source = "name"``.
    Only a source that holds for every install counts: one bound to a ``marker``, an
    ``extra`` or a ``group`` leaves the other installs to the default index (uv records the
    package from the registry for them), so the package is still looked up there.
    """
    tool = data.get("tool")
    if not isinstance(tool, dict):
        return {}
    found: dict[str, str] = {}
    uv = tool.get("uv")
    if isinstance(uv, dict):
        indexes = _named_urls(uv.get("index"))
        sources = uv.get("sources")
        for name, value in sources.items() if isinstance(sources, dict) else ():
            for entry in value if isinstance(value, list) else [value]:
                described = _uv_source(entry, indexes)
                if described is not None and _is_project_name(name):
                    found.setdefault(canonical(name), described)
    poetry = tool.get("poetry")
    if isinstance(poetry, dict):
        named = _named_urls(poetry.get("source"))
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        groups = poetry.get("group")
        if isinstance(groups, dict):
            tables += [g.get("dependencies") for g in groups.values() if isinstance(g, dict)]
        for table in tables:
            for name, value in table.items() if isinstance(table, dict) else ():
                for entry in value if isinstance(value, list) else [value]:
                    source = entry.get("source") if isinstance(entry, dict) else None
                    if isinstance(source, str) and _is_project_name(name):
                        found.setdefault(canonical(name), _index_source("Poetry", source, named))
    return found


#: Tool → how each of its index tables reads: (key of the array, the key and value that keep
#: an index out of the default search: uv's ``explicit``, Poetry's priority, pdm's type).
_TOOL_INDEXES: dict[str, tuple[str, str, object]] = {
    "uv": ("index", "explicit", True),
    "poetry": ("source", "priority", "explicit"),
    "pdm": ("source", "type", "find_links"),
}


def project_indexes(
    data: Mapping[str, Any], tools: Sequence[str] = ("uv", "poetry", "pdm")
) -> tuple[str, ...]:
    """The indexes ``tools`` install a project's packages from when no source names one:
    ``[[tool.uv.index]]`` and ``[tool.uv] index-url``/``extra-index-url``, Poetry's and pdm's
    sources, none that is only asked when a dependency names it (or a find-links directory).
    """
    tool = data.get("tool")
    found: list[str] = []
    for name in tools:
        table = tool.get(name) if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            continue
        key, aside, value = _TOOL_INDEXES[name]
        listed = table.get(key)
        found.extend(
            index["url"]
            for index in (listed if isinstance(listed, list) else ())
            if isinstance(index, dict)
            and isinstance(index.get("url"), str)
            and index.get(aside) != value
        )
        if name == "uv":
            extra = table.get("extra-index-url")
            found.extend(
                url
                for url in (table.get("index-url"), *(extra if isinstance(extra, list) else ()))
                if isinstance(url, str)
            )
    return tuple(dict.fromkeys(found))


def _named_urls(tables: object) -> dict[str, str | None]:
    """``[[tool.uv.index]]`` / ``[[tool.poetry.source]]``: name -> URL."""
    named: dict[str, str | None] = {}
    for table in tables if isinstance(tables, list) else ():
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            url = table.get("url")
            named[table["name"]] = url if isinstance(url, str) else None
    return named


def _index_source(tool: str, name: str, named: dict[str, str | None]) -> str:
    url = named.get(name)
    where = f" ({redact_url(url)})" if url else ""
    return clean_text(f"{tool} index {name!r}{where}", 200)


#: Keys that bind a uv source to some installs only.
_UV_CONDITIONS = ("marker", "extra", "group")


def _uv_source(entry: object, indexes: dict[str, str | None]) -> str | None:
    if not isinstance(entry, dict) or any(key in entry for key in _UV_CONDITIONS):
        return None
    if entry.get("workspace") is True:
        return "a uv workspace member"
    for key in ("git", "url", "path"):
        if isinstance(entry.get(key), str):
            return clean_text(f"uv source {key} {redact_url(entry[key])}", 200)
    if isinstance(entry.get("index"), str):
        return _index_source("uv", entry["index"], indexes)
    return None


def _is_project_name(name: str) -> bool:
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        return False
    return True


def _components(graph: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each node of ``graph`` → a name for its strongly connected component (Kosaraju's two
    searches, iterative: a chain of groups is as deep as it is long)."""
    finished: list[str] = []
    seen: set[str] = set()
    for start in graph:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(graph[start]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child in graph and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(graph[child])))
                    break
            else:
                stack.pop()
                finished.append(node)
    reverse: dict[str, list[str]] = {}
    for node, targets in graph.items():
        for target in targets:
            reverse.setdefault(target, []).append(node)
    component: dict[str, str] = {}
    for root in reversed(finished):
        if root in component:
            continue
        component[root] = root
        pending = [root]
        while pending:
            for parent in reverse.get(pending.pop(), ()):
                if parent not in component:
                    component[parent] = root
                    pending.append(parent)
    return component


def _included_group(node: Node) -> StringNode | None:
    """The group name of a ``{include-group = "name"}`` table (PEP 735), else ``None``."""
    if not isinstance(node, TableNode) or len(node.entries) != 1:
        return None
    [entry] = node.entries
    names = tuple(part.name for part in entry.key)
    if names != ("include-group",) or not isinstance(entry.value, StringNode):
        return None
    return entry.value if entry.value.terminated else None


def _fields(table: TableNode) -> dict[str, Node]:
    return {entry.key[0].name: entry.value for entry in table.entries if len(entry.key) == 1}


def _node_end(node: Node) -> int:
    # A string's end is its closing quote; include it so the entry's text span is whole.
    return node.end + 1 if isinstance(node, StringNode) and node.terminated else node.end


def _scanned_sections(
    arrays: list[tuple[str, Node]], poetry: dict[tuple[str, str], _PoetryDependency]
) -> dict[str, list[str]]:
    """What the scanner found, in tomllib's terms, to cross-check the two."""
    seen: dict[str, list[str]] = {}
    for section, node in arrays:
        if isinstance(node, ArrayNode):
            seen[section] = [item.value for item in node.items if isinstance(item, StringNode)]
        else:
            seen[section] = []
    for section, name in poetry:
        seen.setdefault(section, []).append(name)
    return seen


def _tomllib_sections(data: dict[str, Any]) -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while stack:
        prefix, table = stack.pop()
        for key, value in table.items():
            names = (*prefix, key)
            section = _array_section(names)
            if section is not None:
                expected[section] = (
                    [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
                )
                continue
            found = _poetry_section(names)
            if found is not None and len(names) == found[1] + 1:
                expected.setdefault(found[0], []).append(key)
            elif isinstance(value, dict):
                stack.append((names, value))
    return expected


def _toml_problem(error: Exception, index: LineIndex, text: str) -> ManifestProblem:
    message = str(error)
    match = _TOML_ERROR_AT_RE.search(message)
    if match is not None and match.group(1):
        line, column = int(match.group(1)) - 1, int(match.group(2)) - 1
    else:
        line, column = index.position(len(text.rstrip()))
    message = _TOML_ERROR_AT_RE.sub("", message).splitlines()[0] if message else "invalid"
    end = index.line_end(line)
    start = min(column, end)
    span = Span(line, start, start + 1) if start < end else Span(line, max(start - 1, 0), end)
    return ManifestProblem(f"Invalid TOML: {message}", span, INVALID_TOML)


def parse_pyproject_text(text: str) -> ParsedManifest:
    """Dependencies of a pyproject.toml with exact spans; never raises on bad content.

    A document tomllib rejects gets one invalid-toml problem, and the dependencies the
    forgiving scanner can still find (the user is probably typing).
    """
    text = without_bom(text)
    if encoding := wide_encoding(text):
        # Not a TOML document to recover dependencies from: uv, pip and Poetry refuse it.
        message = f"the file is {encoding}; TOML files must be UTF-8 — convert it"
        problem = ManifestProblem(message, Span(0, 0, 0), INVALID_TOML)
        return ParsedManifest(kind="pyproject", requirements=(), problems=(problem,))
    problems: list[ManifestProblem] = []
    data: dict[str, Any] | None
    try:
        data = toml_loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        data = None
        problems.append(_toml_problem(exc, LineIndex(text), text))
    except RecursionError:  # tomllib recurses per nested array: 100 kB of "[[[[" is enough
        data = None
        problems.append(_toml_problem(ValueError(TOO_DEEP), LineIndex(text), text))
    scanned = scan_toml(text, recover=data is None)
    if data is not None and scanned.errors:
        # Harmless unless a dependency section is misread, which is a problem below.
        logger.debug("TOML scanner disagrees with tomllib: %s", scanned.errors[:3])

    arrays: list[tuple[str, Node]] = []
    poetry: dict[tuple[str, str], _PoetryDependency] = {}
    #: Array sections written as tables ([project.dependencies] + keys): the key part naming each.
    as_tables: dict[str, KeyPart] = {}
    #: The requirements files a build backend reads dynamic dependencies from.
    dynamic_files: list[StringNode] = []
    #: ``[project] dynamic`` (where an unseen field is shown) and the hatch plugin's table.
    dynamic_array: Node | None = None
    hatch_table: KeyPart | None = None
    #: Where each dependency table's key is written (for a problem if it is no table).
    container_keys: dict[tuple[str, ...], KeyPart] = {}
    for key, node in flatten(scanned.entries):
        names = tuple(part.name for part in key)
        if not isinstance(node, TableNode):
            container_keys.setdefault(names, key[-1])
        if names[:5] == _HATCH_REQUIREMENTS_TXT and hatch_table is None:
            hatch_table = key[4]
        if _is_dynamic_file_key(names):
            items = node.items if isinstance(node, ArrayNode) else (node,)
            dynamic_files.extend(item for item in items if isinstance(item, StringNode))
            continue
        if names == ("project", "dynamic"):
            dynamic_array = node
        section = _array_section(names)
        if section is not None:
            arrays.append((section, node))
            continue
        table = _array_section_above(names)
        if table is not None:
            as_tables.setdefault(table[0], key[table[1] - 1])
            continue
        found = _poetry_section(names)
        if found is None:
            continue
        section, depth = found
        dep = poetry.setdefault((section, names[depth]), _PoetryDependency(section, key[depth]))
        if len(names) == depth + 1:
            if dep.value is None:
                dep.value = node
        elif len(names) == depth + 2 and dep.value is None:
            # [tool.poetry.dependencies.name] tables and dotted keys (name.version = "...").
            dep.fields[names[depth + 1]] = node
        dep.last_offset = max(dep.last_offset, _node_end(node))

    trusted: set[str] | None = None
    if data is not None:
        # tomllib is right about what the document holds; positions come from the scanner,
        # so a section where the two disagree is left out rather than underlined wrongly.
        expected = _tomllib_sections(data)
        seen = _scanned_sections(arrays, poetry)
        trusted = {section for section, values in expected.items() if seen.get(section) == values}
        misread = sorted(set(expected) - trusted - set(_wrong_types(data)))
    else:
        misread = []

    builder = _Builder(text, scanned.comments)
    for section in misread:
        # Never silently: a gate that passed without them would pass what it never checked.
        builder.wrong_shape_at(
            *_header_offsets(text, section),
            f"{section}: its requirements could not be located in the text (values nested "
            f"more than {MAX_NESTING} deep?), so none of them was checked",
        )
    for section in {s for s, _ in arrays}:
        as_tables.pop(section, None)  # an inline table's keys: the value is reported below
    for section, part in as_tables.items():
        builder.wrong_shape_at(
            part.outer_start,
            part.end + int(part.quoted),
            f"{section} must be an array of requirement strings, not a table: tools ignore it",
        )
    if data is not None:
        for names in _wrong_containers(data):
            section = ".".join(names)
            written = container_keys.get(names)
            builder.wrong_shape_at(
                *((written.outer_start, written.end + int(written.quoted)) if written else (0, 1)),
                f"{section} must be a table of dependencies: tools reject or ignore it, "
                "and none of what it holds was checked",
            )
        # A wrong type the scanner found no key under (an empty [project.dependencies] table).
        for section in sorted(set(_wrong_types(data)) - set(as_tables) - {s for s, _ in arrays}):
            builder.wrong_shape_at(
                *_header_offsets(text, section),
                f"{section} must be an array of requirement strings: tools ignore it",
            )
    for section, node in arrays:
        if not isinstance(node, ArrayNode):
            builder.not_an_array(node, section)
        elif trusted is None or section in trusted:
            builder.add_array(node, section, shapes=trusted is not None)
    for dep in poetry.values():
        if trusted is None or dep.section in trusted:
            builder.add_poetry(dep)
    # Shapes are judged on documents tomllib accepts: a half-typed one has its TOML problem.
    if trusted is not None and all(
        section in trusted for section, _ in arrays if section.startswith("dependency-groups.")
    ):
        builder.check_group_includes(arrays)

    sources = {} if data is None else declared_sources(data)
    checked, warnings = builder.with_ignores()
    requirements = sorted(
        (
            replace(r, source=sources[r.canonical_name])
            if r.url is None and r.canonical_name in sources
            else r
            for r in checked
        ),
        key=lambda r: (r.name_span.line, r.name_span.start),
    )
    # The build backends read them as requirements files: followed as pip's -r includes are.
    includes = tuple(
        Include("requirement", node.value, builder.node_span(node.start, node.end))
        for node in dynamic_files
        if node.terminated and node.value.strip()
    )
    if data is not None and _hatch_default_file(data):
        # At the table's key: its header when the table holds no key (the usual way).
        at = (
            builder.node_span(hatch_table.outer_start, hatch_table.end + int(hatch_table.quoted))
            if hatch_table is not None
            else builder.node_span(*_header_offsets(text, ".".join(_HATCH_REQUIREMENTS_TXT)))
        )
        includes += (Include("requirement", _HATCH_DEFAULT_FILE, at),)
    unseen = _unseen_dynamic_fields(data) if data is not None else []
    return ParsedManifest(
        kind="pyproject",
        requirements=tuple(requirements),
        includes=includes,
        problems=(*problems, *builder.problems),
        ignore_comments=tuple(comment for _, comment in sorted(builder.ignores.items())),
        warnings=(*warnings, *no_version_warnings(checked)),
        dynamic_unseen=tuple(_unseen(name, dynamic_array, builder, text) for name in unseen),
        index_urls=project_indexes(data) if data is not None else (),
    )


def _unseen(name: str, dynamic: Node | None, builder: _Builder, text: str) -> ManifestProblem:
    """The problem of a dynamic dependency field no table fills, at its name in ``dynamic``."""
    items = dynamic.items if isinstance(dynamic, ArrayNode) else ()
    written = next((i for i in items if isinstance(i, StringNode) and i.value == name), None)
    if written is not None:
        span = builder.node_span(written.start, written.end)
    else:
        span = builder.node_span(*_header_offsets(text, "project"))
    return ManifestProblem(
        f"[project] {name} are dynamic: the build backend decides them when it builds "
        "(setup.py, a plugin), so none of them was checked; check the lock or requirements "
        "file that pins them in the same run",
        span,
        DYNAMIC_DEPENDENCIES,
    )
