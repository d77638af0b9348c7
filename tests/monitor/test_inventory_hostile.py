"""`monitor add` on files that never end: one line, exit 2, nothing registered, no hang."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from sbom_enrich.monitor.inventory import InventoryError, read_source


def test_an_endless_device_is_refused_while_reading() -> None:
    # /dev/zero has no size to stat: checked by stat alone, it was read until memory ran out.
    # It is no regular file, refused before it is opened (as a FIFO is).
    with pytest.raises(InventoryError, match="not a regular file"):
        read_source("shop", Path("/dev/zero"))


def test_lines_that_cannot_be_read_are_registered_aside_with_one_line_and_exit_3(
    tmp_path: Path, cli: Callable[..., Run]
) -> None:
    # Before, "!!!bad" was dropped without a word: add said "1 names" and exited 0, and the
    # team believed every dependency of the file was watched.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("nose==1.3.7\n!!!bad\n")
    run = cli("monitor", "add", "--project", "shop", str(requirements),
              "--db", f"sqlite:///{tmp_path / 'm.db'}")  # fmt: skip
    assert run.code == 3, run.stderr
    assert "not watched" in run.stderr and "!!!bad" in run.stderr
    assert run.stderr.count("\n") == 1
    assert b"(requirements, 1 names)" in run.stdout


def unreadable(kind: str, tmp_path: Path) -> Path:
    """A file `monitor add` cannot register, of the given kind."""
    path = tmp_path / "files" / kind
    path.parent.mkdir(exist_ok=True)
    if kind == "sbom.json":  # neither UTF-8 JSON nor XML: no SBOM
        path.write_bytes(b"\xff\xfe\x00\xc3(not text")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    return path  # "missing.txt": nothing there


@pytest.mark.parametrize("kind", ["missing.txt", "sbom.json", "fifo", "directory"])
def test_a_file_add_cannot_read_creates_no_database(
    kind: str, db_url: str, tmp_path: Path, cli: Callable[..., Run]
) -> None:
    """The database (and its directory) was created before the file was read: a first `add`
    with a typo left an empty monitor database behind, which `status` then read as one that
    watches nothing, instead of "no monitor database" (exit 2)."""
    if db_url.startswith("sqlite:"):
        where = tmp_path / "not-yet" / "monitor.db"
        db_url = f"sqlite:///{where}"
    run = cli("monitor", "add", "--project", "shop", str(unreadable(kind, tmp_path)),
              "--db", db_url)  # fmt: skip
    assert run.code == 2, run.stderr
    assert run.stderr.endswith("; nothing registered\n") and run.stderr.count("\n") == 1
    if db_url.startswith("sqlite:"):
        assert not where.parent.exists()
    listed = cli("monitor", "list", "--db", db_url)
    assert listed.code == 2 and "no monitor database at" in listed.stderr, listed.stderr
