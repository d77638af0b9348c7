"""`monitor add` on files that never end: one line, exit 2, nothing registered, no hang."""

from __future__ import annotations

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
