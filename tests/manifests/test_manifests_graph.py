"""The dependency graph of a lock file and the shortest chain that pulls a package in."""

from __future__ import annotations

from pathlib import Path

from sbom_enrich.findings.graph import DependencyGraph, chains_to, shortest_chain
from sbom_enrich.manifests import parse_lock_text
from sbom_enrich.manifests.check import direct_from_beside

CORPUS = next(
    (
        p / "shared" / "corpus" / "locks"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "corpus" / "locks").is_dir()
    ),
    Path("/nonexistent"),
)


def graph(**edges: tuple[str, ...]) -> DependencyGraph:
    return DependencyGraph(edges=edges, roots=("app",), direct=frozenset(edges.get("app", ())))


def test_the_shortest_chain_starts_at_the_project_and_ends_at_the_package() -> None:
    g = graph(app=("requests", "httpx"), requests=("urllib3", "idna"), httpx=("idna",),
              urllib3=(), idna=("deep",), deep=())  # fmt: skip
    assert shortest_chain(g, "urllib3") == ("app", "requests", "urllib3")
    # Two ways to idna of the same length: the first direct dependency in sorted order wins.
    assert shortest_chain(g, "idna") == ("app", "httpx", "idna")
    assert shortest_chain(g, "deep") == ("app", "httpx", "idna", "deep")
    assert shortest_chain(g, "requests") == ("app", "requests")
    assert shortest_chain(g, "nowhere") == ()


def test_cycles_and_unknown_direct_dependencies_are_harmless() -> None:
    g = graph(app=("a",), a=("b",), b=("a", "c"), c=("b",))
    assert chains_to(g, {"c", "b"}) == {"c": ("app", "a", "b", "c"), "b": ("app", "a", "b")}
    assert chains_to(DependencyGraph(edges={"a": ("b",)}), {"b"}) == {}


def test_uv_lock_roots_are_the_project_and_its_edges_are_direct() -> None:
    text = (CORPUS / "CycloneDX+cdxgen__test__data__uv.lock").read_text(encoding="utf-8")
    parsed = parse_lock_text("uv.lock", text)
    assert parsed.graph is not None
    assert parsed.graph.roots == ("appthreat-vulnerability-db",)
    # Its dependencies, optional dependencies and dev group, as `uv tree --depth 1` lists.
    assert {"httpx", "oras", "semver", "pytest"} <= parsed.graph.direct
    assert "h11" not in parsed.graph.direct
    assert shortest_chain(parsed.graph, "h11") == (
        "appthreat-vulnerability-db", "httpx", "httpcore", "h11",
    )  # fmt: skip
    assert {r.index_url for r in parsed.requirements if not r.source} == {"https://pypi.org/simple"}


def test_uv_workspace_members_are_roots() -> None:
    lock = """\
version = 1
[manifest]
members = ["app", "lib"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "lib" }, { name = "six" }]

[[package]]
name = "lib"
version = "0.1.0"
source = { editable = "packages/lib" }
dependencies = [{ name = "attrs" }]

[[package]]
name = "six"
version = "1.16.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "attrs"
version = "24.2.0"
source = { registry = "https://pypi.org/simple" }
"""
    parsed = parse_lock_text("uv.lock", lock)
    assert parsed.graph is not None
    assert parsed.graph.roots == ("app", "lib")
    assert parsed.graph.direct == {"lib", "six", "attrs"}
    sources = {r.name: r.source for r in parsed.requirements}
    assert sources["lib"] == "the project itself (a workspace member)"
    assert sources["six"] is None


def test_poetry_and_pdm_direct_dependencies_come_from_the_pyproject_beside(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "my-app"\n[tool.poetry.dependencies]\npython = "^3.9"\n'
        'isoduration = "*"\n[build-system]\nrequires = ["poetry-core"]\n'
    )
    name = "CycloneDX+cyclonedx-python__tests___data__infiles__environment__via-poetry__poetry.lock"
    parsed = parse_lock_text("poetry.lock", (CORPUS / name).read_text(encoding="utf-8"))
    assert parsed.graph is not None and not parsed.graph.knows_direct
    g = direct_from_beside(tmp_path / "poetry.lock", parsed.graph, lambda p: p.read_text())
    assert g.direct == {"isoduration"}
    assert shortest_chain(g, "six") == ("my-app", "isoduration", "arrow", "python-dateutil", "six")
    # No manifest beside: direct stays unknown, never guessed.
    alone = direct_from_beside(
        tmp_path / "x" / "poetry.lock", parsed.graph, lambda p: p.read_text()
    )
    assert alone.is_direct("isoduration") is None


def test_pdm_edges_are_pep508_strings() -> None:
    text = (CORPUS / "CycloneDX+cdxgen__test__data__pdm.lock").read_text(encoding="utf-8")
    parsed = parse_lock_text("pdm.lock", text)
    assert parsed.graph is not None
    assert parsed.graph.edges["cachecontrol"][:2] == ("msgpack", "requests")
    assert "resolvelib" in parsed.graph.edges["pdm"]


def test_pipfile_direct_dependencies_come_from_the_pipfile(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\nrequests = "*"\n[dev-packages]\nPyTest = "*"\n')
    name = "CycloneDX+cdxgen__test__data__Pipfile.lock"
    parsed = parse_lock_text("Pipfile.lock", (CORPUS / name).read_text(encoding="utf-8"))
    assert parsed.graph is not None and not parsed.graph.has_edges
    g = direct_from_beside(tmp_path / "Pipfile.lock", parsed.graph, lambda p: p.read_text())
    assert g.direct == {"requests", "pytest"}
    assert g.is_direct("urllib3") is False  # transitive, through what the lock does not say
