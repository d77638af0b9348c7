"""The inventory: files read with the project's own readers; add, list, remove from the CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from sbom_enrich.monitor.inventory import InventoryError, read_source

DATA = Path(__file__).resolve().parents[1] / "data"

UV_LOCK = """\
version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[[package]]
name = "Requests"
version = "2.32.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "from-git"
version = "1.0"
source = { git = "https://example.com/x.git#abc" }
"""


def test_an_sbom_made_by_cyclonedx_py_gives_its_pypi_components() -> None:
    source = read_source("shop", DATA / "sboms" / "cyclonedx-py-requirements-1.6.xml")
    assert source.kind == "cyclonedx-xml"
    assert len(source.usages) == 9
    by_name = {u.name: u for u in source.usages}
    assert by_name["django"].version == "4.2.7"
    assert by_name["flask"].version is None  # its purl names no version
    assert by_name["zope-interface"].display == "zope.interface"
    assert Path(source.path).is_absolute()


def test_a_json_sbom_leaves_out_its_own_subject() -> None:
    source = read_source("shop", DATA / "sboms" / "cdxgen-python-1.7.json")
    assert source.kind == "cyclonedx-json"
    assert source.usages  # every pkg:pypi component but metadata.component


def test_a_lock_file_is_read_as_one_with_its_pins(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK)
    source = read_source("shop", lock)
    assert source.kind == "lock"
    # The editable project itself and the git checkout come from no index.
    assert [(u.name, u.display, u.version) for u in source.usages] == [
        ("requests", "Requests", "2.32.0")
    ]


def test_manifests_keep_pins_and_skip_direct_references(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "Flask==3.0\nrich>=13\nlocal @ file:///x\nskipme  # sbom-enrich: ignore\n"
    )
    assert [(u.name, u.version) for u in read_source("p", requirements).usages] == [
        ("flask", "3.0"),
        ("rich", None),
    ]
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes((DATA / "manifests" / "demo-pyproject.toml").read_bytes())
    read = read_source("p", pyproject)
    assert read.kind == "pyproject"
    assert ("mock", "5.1.0") in [(u.name, u.version) for u in read.usages]
    assert "pep8" in [u.name for u in read.usages]  # optional dependencies too


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the input is empty"),
        (b"hello", "not a CycloneDX SBOM"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.1", "components": []}', "1.1"),
    ],
)
def test_files_that_are_nothing_we_read_are_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "thing.json"
    path.write_bytes(content)
    with pytest.raises(InventoryError, match=message):
        read_source("p", path)


def test_missing_files_and_directories_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read"):
        read_source("p", tmp_path / "nope.txt")
    with pytest.raises(InventoryError, match="is a directory"):
        read_source("p", tmp_path)


def test_a_fifo_or_a_path_in_no_utf8_is_one_line_never_a_hang_or_a_bug(tmp_path: Path) -> None:
    """A FIFO named requirements.txt with no writer hung `monitor add` for good; a directory
    whose name is no UTF-8 ended in "internal error (a bug)", exit 5."""
    fifo = tmp_path / "requirements.txt"
    os.mkfifo(fifo)
    with pytest.raises(InventoryError, match="not a regular file"):
        read_source("p", fifo)
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/\xff"))
    odd.mkdir()
    (odd / "requirements.txt").write_text("nose\n")
    with pytest.raises(InventoryError, match="its path is not valid UTF-8"):
        read_source("p", odd / "requirements.txt")


def test_add_list_readd_remove(
    monitor: Callable[..., Run], tmp_path: Path, requirements_file: Path
) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK)
    added = monitor("add", "--project", "shop", str(requirements_file), str(lock))
    assert added.code == 0, added.stderr
    assert b"(requirements, 6 names)" in added.stdout
    assert b"(lock, 1 names)" in added.stdout
    listed = json.loads(monitor("list", "--json").stdout)
    assert [(s["project"], s["kind"], len(s["names"])) for s in listed] == [
        ("shop", "requirements", 6),
        ("shop", "lock", 1),
    ] or [(s["project"], s["kind"], len(s["names"])) for s in listed] == [
        ("shop", "lock", 1),
        ("shop", "requirements", 6),
    ]
    requirements_file.write_text("alpha==1.1\n")
    assert monitor("add", "--project", "shop", str(requirements_file)).code == 0
    names = {s["file"]: s["names"] for s in json.loads(monitor("list", "--json").stdout)}[
        str(requirements_file.resolve())
    ]
    assert names == [{"name": "alpha", "version": "1.1", "index": None}]
    text = monitor("list").stdout.decode()
    assert text.startswith("shop:\n") and "uv.lock  lock  1 names" in text

    removed = monitor("remove", "--project", "shop", str(lock))
    assert removed.code == 0 and b"1 files removed" in removed.stdout
    again = monitor("remove", "--project", "shop", str(lock))
    assert again.code == 2 and "not registered" in again.stderr
    assert monitor("remove", "--project", "shop").code == 0
    assert monitor("remove", "--project", "shop").code == 2
    assert b"no projects registered" in monitor("list").stdout


def test_a_bad_file_registers_nothing(
    monitor: Callable[..., Run], tmp_path: Path, requirements_file: Path
) -> None:
    bad = tmp_path / "bom.json"
    bad.write_text("{nope")
    result = monitor("add", "--project", "shop", str(requirements_file), str(bad))
    assert result.code == 2
    assert "nothing registered" in result.stderr and "Traceback" not in result.stderr
    listed = monitor("list", "--json")  # not even a database was made
    assert listed.code == 2 and "no monitor database at" in listed.stderr


def test_an_unusable_db_url_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    result = cli("monitor", "list", "--db", "mysql://x/y")
    assert result.code == 2 and "expected sqlite:///path or postgresql" in result.stderr
    # `list` only reads: a database that is not there is refused, never made.
    twin = cli("monitor", "list", env={"SBOM_ENRICH_DB": f"sqlite:///{tmp_path}/x/y.db"})
    assert twin.code == 2 and "no monitor database" in twin.stderr
    assert not (tmp_path / "x").exists()
    (tmp_path / "requirements.txt").write_text("alpha\n")
    added = cli(
        "monitor", "add", "--project", "p", str(tmp_path / "requirements.txt"),
        env={"SBOM_ENRICH_DB": f"sqlite:///{tmp_path}/x/y.db"},
    )  # fmt: skip
    assert (tmp_path / "x" / "y.db").is_file(), added.stderr


def watched(tmp_path: Path, *purls: str) -> list[str]:
    """The names ``monitor add`` would watch of an SBOM of components with these purls."""
    components = [{"type": "library", "name": "c", "purl": purl} for purl in purls]
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    return [u.name for u in read_source("p", path).usages]


def test_names_no_index_can_have_are_not_watched(tmp_path: Path) -> None:
    purls = ("pkg:pypi/requests@2.32.3", "pkg:pypi/bad%0Aname@1.0", "pkg:pypi/..@1.0")
    assert watched(tmp_path, *purls) == ["requests"]


def test_an_sboms_components_from_a_url_or_git_are_not_watched(tmp_path: Path) -> None:
    # enrich asks their names (off-index); the monitor, as for a lock's URL entries, watches
    # index packages only.
    purls = (
        "pkg:pypi/requests@2.32.3",
        "pkg:pypi/a@1?vcs_url=git%2Bhttps://h/a",
        "pkg:pypi/b@1?download_url=https://h/b",
    )
    assert watched(tmp_path, *purls) == ["requests"]
