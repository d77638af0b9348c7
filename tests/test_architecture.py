"""The dependency rules of ARCHITECTURE.md and each package's public surface, as tests."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, lazy imports included."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): _imports(p) for p in SRC.rglob("*.py")}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _violations(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items()
        if _under(module, importer)
        for target in targets
        if any(_under(target, bad) for bad in forbidden)
    )


# Everything in sbom_enrich that is not the status client itself.
NOT_STATUS = (
    "sbom_enrich.findings",
    "sbom_enrich.formats",
    "sbom_enrich.enrich",
    "sbom_enrich.manifests",
    "sbom_enrich.cli",
    "sbom_enrich.service",
    "lsp",
    "cyclonedx",
    "pygls",
    "lsprotocol",
    "starlette",
)


def test_the_scan_sees_the_tree() -> None:
    # Guards the rules below against passing because the scan found nothing.
    assert "sbom_enrich.status.client" in MODULES
    assert "sbom_enrich.status.model" in MODULES["sbom_enrich.status.client"]
    assert "lsp.server" in MODULES


def test_status_imports_no_front_end() -> None:
    assert _violations("sbom_enrich.status", NOT_STATUS) == []


def test_lsp_never_imports_the_enricher() -> None:
    assert _violations("lsp", ("sbom_enrich.enrich",)) == []


def test_nothing_imports_the_cli() -> None:
    offenders = [
        line
        for line in _violations("sbom_enrich", ("sbom_enrich.cli",))
        if not line.startswith(("sbom_enrich.cli", "sbom_enrich.__main__ "))
    ]
    offenders += _violations("lsp", ("sbom_enrich.cli",))
    assert offenders == []


def test_service_does_not_import_the_cli() -> None:
    assert _violations("sbom_enrich.service", ("sbom_enrich.cli",)) == []


FRONT_ENDS = ("sbom_enrich.cli", "sbom_enrich.service", "lsp")


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        # findings: pure values; it knows no format, no input format, no front end.
        (
            "sbom_enrich.findings",
            ("sbom_enrich.formats", "sbom_enrich.enrich", "sbom_enrich.manifests", *FRONT_ENDS),
        ),
        # formats render findings; they read no input and know no front end.
        ("sbom_enrich.formats", ("sbom_enrich.enrich", "sbom_enrich.manifests", *FRONT_ENDS)),
        # The two input sides do not know each other, nor the formats, nor a front end.
        ("sbom_enrich.enrich", ("sbom_enrich.manifests", "sbom_enrich.formats", *FRONT_ENDS)),
        ("sbom_enrich.manifests", ("sbom_enrich.enrich", "sbom_enrich.formats", *FRONT_ENDS)),
        # The exception tree and the TOML shim sit below everything.
        ("sbom_enrich.errors", ("sbom_enrich", "lsp")),
        ("sbom_enrich._toml", ("sbom_enrich", "lsp")),
        # So does the garbage collector's policy, which every layer may use.
        ("sbom_enrich._collector", ("sbom_enrich", "lsp")),
    ],
)
def test_dependencies_point_one_way(importer: str, forbidden: tuple[str, ...]) -> None:
    assert importer in MODULES or any(_under(m, importer) for m in MODULES), importer
    assert _violations(importer, forbidden) == []


PACKAGES = [
    "sbom_enrich.status",
    "sbom_enrich.findings",
    "sbom_enrich.formats",
    "sbom_enrich.enrich",
    "sbom_enrich.manifests",
    "sbom_enrich.errors",
    "sbom_enrich.cli",
    "sbom_enrich.service",
    "lsp",
]


@pytest.mark.parametrize("package", PACKAGES)
def test_public_surface_is_what_all_says(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    assert exported, f"{package} exports nothing"
    for name in exported:
        # Each name resolves (a lazy surface must not promise what it cannot give) ...
        assert getattr(module, name) is not None, name
    # ... and nothing public is reachable that __all__ does not list (submodules aside, and
    # ``annotations``, the feature object ``from __future__ import annotations`` leaves).
    public = {
        name
        for name in dir(module)
        if not name.startswith("_")
        and name != "annotations"
        and not isinstance(getattr(module, name), type(importlib))
    }
    assert public == exported


def test_the_early_initialize_answer_needs_only_the_standard_library() -> None:
    # lsp/bootstrap.py answers initialize before pygls and lsprotocol load (issue 15: a ready
    # server in 0.3 s, when importing them takes 0.4 s).
    outside = sorted(
        target
        for target in MODULES["lsp.bootstrap"]
        if target.split(".")[0] not in sys.stdlib_module_names
    )
    assert outside == []
