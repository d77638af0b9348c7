"""End to end through the CLI: what a hostile index or input file can do to a run, and cannot."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from cli_runner import Run
from indexserver import IndexServer


def sbom(*purls: str) -> bytes:
    components = [{"type": "library", "name": "x", "purl": p} for p in purls]
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    ).encode()


def test_a_token_in_a_purl_repository_url_never_reaches_the_output(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    secret_index = f"{index_server.url}?token=SECRET123"
    purl = f"pkg:pypi/nose@1.3.7?repository_url={quote(secret_index, safe='')}"
    summary = tmp_path / "summary.json"
    done = cli("enrich", "-", "--summary-json", str(summary), stdin=sbom(purl))
    assert done.code == 3  # refused: not an allowed index
    assert "SECRET123" not in done.stderr
    document = json.loads(done.stdout)
    properties = document["components"][0]["properties"]
    assert properties and not any("SECRET123" in p["value"] for p in properties), properties
    data = json.loads(summary.read_text())
    for component in data["components"]:
        # Only the input's own purl, echoed verbatim, may hold it.
        shown = {k: v for k, v in component.items() if k != "purl"}
        assert "SECRET123" not in json.dumps(shown)
