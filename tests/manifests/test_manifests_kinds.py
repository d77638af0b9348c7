"""The one table of manifest kinds: name rules, parsers, and who uses it (check, the editor)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sbom_enrich.manifests.check as check_module
from sbom_enrich.manifests import (
    MANIFEST_KINDS,
    decode_manifest,
    discover_manifests,
    kind_of,
    manifest_kind,
    parse_as_named,
    parse_manifest,
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("uv.lock", "lock"),
        ("pylock.toml", "lock"),
        ("pylock.dev.toml", "lock"),
        ("Pipfile.lock", "lock"),
        ("poetry.lock", "lock"),
        ("pdm.lock", "lock"),
        ("pyproject.toml", "pyproject"),
        ("requirements.txt", "requirements"),
        ("MANIFEST.in", None),
        ("uv.lock.txt", None),
    ],
)
def test_each_name_has_one_kind(name: str, kind: str | None) -> None:
    assert manifest_kind(name) == kind


def test_kind_names_are_unique() -> None:
    assert len({kind.name for kind in MANIFEST_KINDS}) == len(MANIFEST_KINDS)


def test_a_named_file_of_no_kind_is_read_as_requirements() -> None:
    parsed = parse_as_named("deps/base", "requests==2.0\n")
    assert [r.name for r in parsed.requirements] == ["requests"]
    assert parse_manifest("deps/base", "requests==2.0\n") is None


def test_a_lock_file_is_read_as_a_lock_by_name() -> None:
    text = (
        'version = 1\nrequires-python = ">=3.10"\n\n[[package]]\nname = "requests"\n'
        'version = "2.32.0"\nsource = { registry = "https://pypi.org/simple" }\n'
    )
    parsed = parse_manifest("uv.lock", text)
    assert parsed is not None and parsed.problems == ()
    assert [(r.name, r.pinned_version) for r in parsed.requirements] == [("requests", "2.32.0")]


def test_only_requirements_files_take_a_utf16_byte_order_mark() -> None:
    data = "requests\n".encode("utf-16")
    assert decode_manifest("requirements.txt", data) == "requests\n"
    assert decode_manifest("uv.lock", data) != "requests\n"


def test_the_editor_handles_every_kind_lock_files_included() -> None:
    # Lock files are diagnosed where each name is written (issue 16), with no edits offered.
    assert [k.name for k in MANIFEST_KINDS if k.in_editor] == ["lock", "pyproject", "requirements"]
    assert kind_of("pyproject.toml").toml  # type: ignore[union-attr]


def test_discovery_uses_the_table(tmp_path: Path) -> None:
    for name in ("uv.lock", "pyproject.toml", "requirements.txt", "MANIFEST.in", "notes.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "dev.txt").write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_manifests(tmp_path)]
    assert found == ["pyproject.toml", "requirements.txt", "uv.lock", "requirements/dev.txt"]


def test_check_has_no_dispatch_of_its_own() -> None:
    tree = ast.parse(Path(check_module.__file__).read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    parsers = {"parse_requirements_text", "parse_pyproject_text", "parse_lock_text"}
    assert not (names | imported) & (parsers | {"is_lock_file", "manifest_kind"})
