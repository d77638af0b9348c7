"""The monitor's place in the tree: only the front ends import it; it imports no front end."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _imports(path: Path) -> set[str]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    if package and package[-1] == "__init__":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module or "")
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


MODULES = {_module(p): _imports(p) for p in SRC.rglob("*.py")}


def test_only_cli_and_service_import_the_monitor() -> None:
    importers = {
        module
        for module, targets in MODULES.items()
        if any(t == "sbom_enrich.monitor" or t.startswith("sbom_enrich.monitor.") for t in targets)
        and not module.startswith("sbom_enrich.monitor")
    }
    assert importers == {"sbom_enrich.cli.monitor"}


def test_the_monitor_imports_no_front_end() -> None:
    bad = sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items()
        if module.startswith("sbom_enrich.monitor")
        for target in targets
        if target.startswith(("sbom_enrich.cli", "sbom_enrich.service", "lsp", "pygls"))
    )
    assert bad == []


def test_exports_are_what_all_says() -> None:
    monitor = importlib.import_module("sbom_enrich.monitor")
    for name in monitor.__all__:
        assert getattr(monitor, name) is not None
    assert sorted(dir(monitor)) == sorted(monitor.__all__)
