"""A signed SBOM posted to the service is treated as `sbom-enrich enrich` treats it."""

from __future__ import annotations

import json
from pathlib import Path

from servicekit import MakeService

from indexserver import IndexServer

SIGNED = Path(__file__).resolve().parents[1] / "enrich" / "data" / "signed"
JSON_TYPE = "application/vnd.cyclonedx+json"


def test_a_signed_sbom_is_refused_unless_the_caller_says_what_to_do(
    make_service: MakeService, index_server: IndexServer
) -> None:
    signed = (SIGNED / "cdxgen-signed-1.5.json").read_bytes()
    service = make_service(index_server.url)
    with service.client() as http:
        refused = http.post("/v1/enrich", content=signed, headers={"Content-Type": JSON_TYPE})
        stripped = http.post(
            "/v1/enrich?signatures=strip", content=signed, headers={"Content-Type": JSON_TYPE}
        )
        kept = http.post(
            "/v1/enrich?signatures=keep&format=report",
            content=signed,
            headers={"Content-Type": JSON_TYPE},
        )
        unknown = http.post(
            "/v1/enrich?signatures=sure", content=signed, headers={"Content-Type": JSON_TYPE}
        )
    # Enriching breaks every signature: refused by default, as the CLI does (it was enriched
    # and returned with signatures that no longer verify, without a word).
    assert refused.status_code == 422, refused.text
    assert "sign" in refused.json()["error"]
    assert stripped.status_code == 200, stripped.text
    assert '"signature"' not in stripped.text
    assert kept.status_code == 200, kept.text
    assert any("no longer verif" in w for w in kept.json()["warnings"]), kept.json()["warnings"]
    assert unknown.status_code == 422
    assert json.loads(signed)["signature"]  # the fixture really is signed
