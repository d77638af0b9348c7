"""`monitor add` on files that never end: one line, exit 2, nothing registered, no hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbom_enrich.monitor.inventory import InventoryError, read_source


def test_an_endless_device_is_refused_while_reading() -> None:
    # /dev/zero has no size to stat: checked by stat alone, it was read until memory ran out.
    with pytest.raises(InventoryError, match="larger than 64 MB"):
        read_source("shop", Path("/dev/zero"))
