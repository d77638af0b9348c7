"""HTTPS from uvicorn itself (`--tls-cert`, `--tls-key`) with a trustme CA, in a real process."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme
from servicekit import serve_process

from indexserver import IndexServer
from sbom_enrich.cli import main

TOKEN = "tls-token-0123456789abcdef"


def issue(tmp_path: Path) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for pem in leaf.cert_chain_pems[1:]:
        pem.write_to_path(str(cert), append=True)
    return ca, cert, key


def test_serve_speaks_https_with_its_own_certificate(
    index_server: IndexServer, tmp_path: Path
) -> None:
    ca, cert, key = issue(tmp_path)
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKEN + "\n")
    env = {"SBOM_ENRICH_TLS_KEY": str(key)}  # the twin, next to the flag
    args = ["--index-url", index_server.url, "--cache-dir", str(tmp_path / "cache")]
    args += ["--tls-cert", str(cert), "--token-file", str(tokens)]
    with serve_process(args, env, scheme="https", verify=trusted) as service:
        with httpx.Client(base_url=service.url, verify=trusted, timeout=30) as http:
            answer = http.get("/v1/projects/nose", headers={"Authorization": f"Bearer {TOKEN}"})
        with pytest.raises(httpx.ConnectError):  # an unknown CA is refused by the client
            httpx.get(f"{service.url}/healthz", timeout=10)
        plain = service.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.get(f"{plain}/healthz", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "deprecated"
    assert answer.url.scheme == "https"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--tls-cert", "{cert}"], "go together"),
        (["--tls-cert", "{cert}", "--tls-key", "{dir}/absent.pem"], "cannot read it"),
        (["--tls-cert", "{key}", "--tls-key", "{key}"], "not a usable PEM"),
        (["--tls-cert", "{cert}", "--tls-key", "{other}"], "not a usable PEM"),
    ],
    ids=["cert-only", "absent-key", "key-as-cert", "mismatched-key"],
)
def test_unusable_tls_files_are_one_line_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    _, cert, key = issue(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, _, other_key = issue(other)
    argv = [a.format(cert=cert, key=key, dir=tmp_path, other=other_key) for a in args]
    # An address that cannot be bound: the old code failed without listening anywhere.
    argv += ["--host", "192.0.2.1", "--no-auth"]
    assert main(["serve", *argv], env={"HOME": str(tmp_path)}) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sbom-enrich: error: ") and expected in line
    assert "PRIVATE KEY" not in line
