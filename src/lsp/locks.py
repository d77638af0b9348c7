"""pyproject.toml with a lock file beside it: what each direct dependency pulls in, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from sbom_enrich.findings.graph import DependencyGraph, chains_to
from sbom_enrich.manifests import (
    ParsedManifest,
    Requirement,
    decode_manifest,
    parse_lock_text,
    read_manifest_bytes,
)
from sbom_enrich.manifests.check import namesake_told
from sbom_enrich.status.model import ProjectStatus, StatusRecord
from sbom_enrich.status.untrusted import clean_text, escape_markdown
from sbom_enrich.status.urls import project_page_link, redact_url

from .diagnostics import (
    CODE_PREFIX,
    SOURCE,
    is_checked,
    locked_elsewhere,
    lookup_key,
    namesake_key,
    to_range,
)
from .lsp_settings import LspSettings

__all__ = [
    "LOCK_DISTANCE",
    "LockBeside",
    "LockReader",
    "elsewhere_hover",
    "namesake_hover",
    "pulled_in_diagnostics",
    "pulls_in_hover",
]

#: Lock files looked for beside a pyproject.toml, in this order (the first one found counts).
LOCK_NAMES = ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml")
#: Lookup priority of locked names: after every name the document itself writes.
LOCK_DISTANCE = 1_000_000
#: What a direct dependency is blamed for pulling in (an unknown answer is not a finding).
ADVERSE = frozenset(
    {ProjectStatus.ARCHIVED, ProjectStatus.QUARANTINED, ProjectStatus.DEPRECATED,
     ProjectStatus.NOT_FOUND}
)  # fmt: skip
#: Chains listed in one hover at most.
MAX_HOVER_CHAINS = 20
#: "Pulls in" diagnostics on one direct dependency at most; the rest become one more that
#: counts them (a lock in which one dependency pulls in thousands must not flood the editor).
MAX_PULLED_IN_DIAGNOSTICS = 10


@dataclass(frozen=True)
class LockBeside:
    """The lock next to a pyproject.toml: its graph, and the locked names to look up."""

    file_name: str
    graph: DependencyGraph
    #: Canonical names locked from an index (or a URL or VCS, asked by name) and not written
    #: in the pyproject itself.
    names: frozenset[str]
    #: The locked requirements by canonical name (for the index each entry names).
    locked: Mapping[str, Requirement]

    def keys_asked(self, settings: LspSettings) -> dict[str, str]:
        """Canonical name → lookup key, for :attr:`names` the editor asks (each on the index its
        lock entry names; none locked from an index it does not ask)."""
        return {
            n: lookup_key(self.locked[n], settings)
            for n in self.names
            if locked_elsewhere(self.locked[n], settings) is None
        }

    def namesakes_asked(self, settings: LspSettings) -> dict[str, str]:
        """Canonical name → the key of that name on the configured index, for :attr:`names`
        a lock entry sends to an index the configuration does not name (:func:`namesake_key`),
        asked there too, as ``check`` asks them."""
        return {
            n: key
            for n in self.names
            if (key := namesake_key(self.locked[n], settings)) is not None
        }

    def all_keys(self, settings: LspSettings) -> set[str]:
        """Every lookup key the lock's :attr:`names` need."""
        return {*self.keys_asked(settings).values(), *self.namesakes_asked(settings).values()}


class LockReader:
    """Finds and parses the lock beside a pyproject.toml, again only when the file changes.

    Reading is a stat() per analysis; the parse (tens of milliseconds for thousands of
    packages) happens once per change of the lock's size or modification time.
    """

    def __init__(self) -> None:
        self._parsed: dict[Path, tuple[tuple[int, int], ParsedManifest]] = {}

    def _read(self, path: Path) -> ParsedManifest | None:
        try:
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            cached = self._parsed.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            # Bounded, and only a regular file: a lock that is a symlink to /dev/zero or a FIFO
            # must not hang the server or run it out of memory.
            data = read_manifest_bytes(path, regular_only=True)
            parsed = parse_lock_text(path.name, decode_manifest(path, data))
        except (OSError, ValueError):
            self._parsed.pop(path, None)
            return None
        self._parsed[path] = (key, parsed)
        return parsed

    def beside(self, pyproject: str, manifest: ParsedManifest) -> LockBeside | None:
        """The first lock file beside ``pyproject``, its direct dependencies known."""
        folder = Path(pyproject).parent
        for file_name in LOCK_NAMES:
            parsed = self._read(folder / file_name)
            if parsed is None or parsed.graph is None:
                continue
            graph = parsed.graph
            written = {
                r.canonical_name
                for r in manifest.requirements
                if r.canonical_name and r.section != "build-system.requires"
            }
            if not graph.knows_direct:
                graph = graph.with_direct(written)
            # From an index, or from a URL or VCS (asked by name, as ``check`` asks it).
            locked = {r.canonical_name: r for r in parsed.requirements if r.looked_up}
            names = frozenset(locked.keys() - written - graph.direct)
            return LockBeside(file_name, graph, names, locked)
        return None


@dataclass(frozen=True)
class PulledIn:
    """One adverse package a direct dependency pulls in, and the chain from it."""

    name: str
    record: StatusRecord
    chain: tuple[str, ...]
    #: ``record`` is the configured index's word on the name of a package the lock installs
    #: from another index (a quarantine: :meth:`LockBeside.namesakes_asked`).
    namesake: bool = False


def pulled_in(
    lock: LockBeside, records: Mapping[str, StatusRecord], settings: LspSettings
) -> dict[str, list[PulledIn]]:
    """Direct dependency → the adverse packages it pulls in (one shortest chain each)."""
    adverse = {
        name: record
        for name, key in lock.keys_asked(settings).items()
        if (record := records.get(key)) is not None
        and record.status in ADVERSE
        # A URL/VCS entry's other statuses may be a namesake's: only its quarantine is blamed.
        and (lock.locked[name].remote is None or record.status is ProjectStatus.QUARANTINED)
        and name not in settings.ignore
        and settings.severity_of(record.status.value) is not None
    }
    # The configured index's quarantine of a name the lock takes from another index is blamed
    # whatever that index said (check fails on it: namesake_told).
    adverse.update(
        (name, record)
        for name, key in lock.namesakes_asked(settings).items()
        if (record := records.get(key)) is not None
        and not record.failed
        and namesake_told(record, None)
        and settings.severity_of(record.status.value) is not None
    )
    elsewhere = {
        name
        for name, key in lock.namesakes_asked(settings).items()
        if adverse.get(name) is records.get(key)
    }
    found: dict[str, list[PulledIn]] = {}
    for name, chain in sorted(chains_to(lock.graph, set(adverse)).items()):
        steps = chain[1:] if chain and chain[0] in lock.graph.roots else chain
        if len(steps) >= 2:
            item = PulledIn(name, adverse[name], steps, namesake=name in elsewhere)
            found.setdefault(steps[0], []).append(item)
    return found


def _which_is(item: PulledIn) -> str:
    record = item.record
    if item.namesake:
        where = clean_text(redact_url(record.index_url), 300)
        return f"which is {record.status.value} on {where}, installed from another index"
    if record.status is ProjectStatus.NOT_FOUND:
        return "which is not on the index"
    return f"which is {record.status.value}"


def pulled_in_diagnostics(
    manifest: ParsedManifest,
    lock: LockBeside,
    records: Mapping[str, StatusRecord],
    settings: LspSettings,
    lines: Sequence[str],
    encoding: str,
) -> list[types.Diagnostic]:
    """On each direct dependency's name: one diagnostic per adverse package it pulls in."""
    blamed = pulled_in(lock, records, settings)
    found: list[types.Diagnostic] = []
    for requirement in manifest.requirements:
        if not is_checked(requirement, settings):
            continue
        items = blamed.get(requirement.canonical_name, [])
        range_ = to_range(requirement.name_span, lines, encoding)
        name = clean_text(requirement.name, 100)
        for item in items[:MAX_PULLED_IN_DIAGNOSTICS]:
            severity = settings.severity_of(item.record.status.value)
            if severity is None:  # pragma: no cover - pulled_in() left these out
                continue
            found.append(
                types.Diagnostic(
                    range=range_,
                    severity=severity,
                    code=f"{CODE_PREFIX}pulls-in-{item.record.status.value}",
                    code_description=types.CodeDescription(
                        href=project_page_link(item.record.index_url, item.name)
                    ),
                    source=SOURCE,
                    message=(
                        f"{name} pulls in {item.name}, {_which_is(item)} "
                        f"({' → '.join(item.chain)}, per {lock.file_name})"
                    ),
                )
            )
        rest = items[MAX_PULLED_IN_DIAGNOSTICS:]
        levels = [s for i in rest if (s := settings.severity_of(i.record.status.value))]
        if levels:
            found.append(
                types.Diagnostic(
                    range=range_,
                    severity=min(levels),  # LSP: 1 is Error, the most severe
                    code=f"{CODE_PREFIX}pulls-in-more",
                    source=SOURCE,
                    message=(
                        f"{name} pulls in {len(rest)} more archived, quarantined, deprecated "
                        f"or missing packages (per {lock.file_name}; the hover lists the first)"
                    ),
                )
            )
    return found


def pulls_in_hover(
    requirement: Requirement,
    lock: LockBeside,
    records: Mapping[str, StatusRecord],
    settings: LspSettings,
) -> str | None:
    """Markdown lines for a hover on a direct dependency: the chains to what it pulls in."""
    items = pulled_in(lock, records, settings).get(requirement.canonical_name)
    if not items:
        return None
    lines = [f"Pulls in, per {escape_markdown(lock.file_name)}:"]
    for item in items[:MAX_HOVER_CHAINS]:
        chain = " → ".join(escape_markdown(clean_text(step, 100)) for step in item.chain)
        lines.append(f"- **{escape_markdown(item.record.status.value)}**: {chain}")
    if len(items) > MAX_HOVER_CHAINS:
        lines.append(f"- … and {len(items) - MAX_HOVER_CHAINS} more")
    return "\n".join(lines)


def elsewhere_hover(requirement: Requirement, index: str) -> str:
    """Hover for a locked package whose lock names an index the editor does not ask."""
    name = escape_markdown(clean_text(requirement.name, 200))
    where = escape_markdown(clean_text(index, 300))
    return (
        f"**{name}** is locked from {where}, which the editor does not ask (the setting "
        "`lockIndexes` is off, or that index is not an http(s) URL without a query): no "
        "status of its own is shown here. Its name is still asked on the configured index, "
        "whose quarantine of it is shown."
    )


def namesake_hover(requirement: Requirement, record: StatusRecord) -> str:
    """Hover lines for a lock entry whose name the configured index quarantines while the
    lock installs it from another index (:func:`lsp.diagnostics.namesake_diagnostic`)."""
    name = escape_markdown(clean_text(requirement.name, 200))
    where = escape_markdown(clean_text(redact_url(record.index_url), 300))
    reason = f": {escape_markdown(clean_text(record.reason, 300))}" if record.reason else ""
    return (
        f"**Quarantined on {where}** (the configured index){reason}. This file installs "
        f"{name} from another index; a resolver not pinned to that index would take the "
        "quarantined project (`check` fails on it)."
    )
