"""Files a repository names are read only when what was opened is a regular file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sbom_enrich._files import read_regular_file
from sbom_enrich.manifests.kinds import read_manifest_bytes


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    os.mkfifo(path)
    return path


def test_a_file_swapped_for_a_fifo_after_its_type_was_looked_at_is_refused(
    fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout (or a racing process) may swap a regular file for a FIFO between a look at
    its type and its opening: the look is made to see the regular file, as in that window.
    The reader judged by the name's stat and then waited forever on the FIFO."""
    regular = tmp_path / "regular.txt"
    regular.write_text("x\n")
    seen = regular.stat()
    monkeypatch.setattr(Path, "stat", lambda self, **kw: seen)
    monkeypatch.setattr(os, "stat", lambda *a, **kw: seen)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(read_manifest_bytes(fifo, regular_only=True))
        except OSError as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # release the old reader before failing
        with open(fifo, "wb"):
            pass
        reader.join(10)
    assert outcome and isinstance(outcome[0], OSError), outcome
    assert "not a regular file" in str(outcome[0])


@pytest.mark.parametrize("limit", [0, 3, 4])
def test_a_regular_file_is_read_up_to_its_limit(tmp_path: Path, limit: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abcd")
    if limit < 4:
        with pytest.raises(OSError, match="larger than"):
            read_regular_file(path, limit)
    else:
        assert read_regular_file(path, limit) == b"abcd"


def test_a_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="not a regular file"):
        read_regular_file(Path("/dev/zero"), 16)
